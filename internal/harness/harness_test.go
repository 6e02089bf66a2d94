package harness_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/webhook"
)

var bins harness.Binaries

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// TestProcessLifecycle builds the worker once, starts it on a fresh schema,
// waits for /readyz, stops it with SIGTERM (a clean exit), starts it again
// and kills it with SIGKILL; both runs are in the one log file.
func TestProcessLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	bin := bins.Path(t, harness.WorkerPackage)
	if again := bins.Path(t, harness.WorkerPackage); again != bin {
		t.Fatalf("second Path = %s, want the first build %s", again, bin)
	}
	logPath := filepath.Join(t.TempDir(), "worker.log")
	start := func(name string) *harness.Process {
		addr, err := harness.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		p, err := harness.Start(ctx, harness.Options{Path: bin, Name: name, LogPath: logPath, Addr: addr, Env: map[string]string{
			"DATABASE_URL": tdb.URL, "POLLHOOK_SCHEMA": tdb.Schema, "POLLHOOK_HTTP_ADDR": addr,
			"POLLHOOK_LOG_FORMAT": "json", "POLLHOOK_MAIN_KEY": testdb.MainKey(),
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
		resp, err := http.Get("http://" + p.Addr() + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s /readyz after Start: %v %v", name, resp, err)
		}
		resp.Body.Close()
		return p
	}

	first := start("first")
	if err := first.Stop(20 * time.Second); err != nil {
		t.Fatalf("stop: %v\n%s", err, harness.LogTail(logPath, 20))
	}
	if err := first.Err(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	second := start("second")
	if err := second.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := second.Err(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("exit after SIGKILL: %v, want killed", err)
	}
	if err := second.Kill(); err == nil {
		t.Fatal("Kill of an exited process: no error")
	}
	for _, marker := range []string{"--- first starting", "--- first exited: <nil>", "--- second starting", "--- second exited: signal: killed"} {
		if n, err := harness.CountLines(logPath, marker); err != nil || n != 1 {
			t.Errorf("log has %d lines %q (%v), want 1\n%s", n, marker, err, harness.LogTail(logPath, 30))
		}
	}
}

// TestReceiver records what verifies under its webhook-id, refuses a bad
// signature, and fails requests while told to.
func TestReceiver(t *testing.T) {
	t.Parallel()
	secret, other := newSecret(t), newSecret(t)
	rc, url := harness.ServeReceiver(t, secret)
	post := func(secret, id, session string) int {
		t.Helper()
		body := []byte(`{"type":"session.succeeded","data":{"session_id":"` + session + `","state":"succeeded"}}`)
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		sig, err := wh.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if code := post(secret, "msg_1", "s1"); code != http.StatusNoContent {
		t.Fatalf("verified request answered %d", code)
	}
	if code := post(other, "msg_2", "s2"); code != http.StatusUnauthorized {
		t.Fatalf("request signed with another secret answered %d, want 401", code)
	}
	rc.FailWith(func(n int) harness.Failure {
		if n == 3 {
			return harness.Failure{Status: http.StatusServiceUnavailable}
		}
		return harness.Failure{}
	})
	if code := post(secret, "msg_1", "s1"); code != http.StatusServiceUnavailable {
		t.Fatalf("third request answered %d, want the failure 503", code)
	}
	if code := post(secret, "msg_1", "s1"); code != http.StatusNoContent {
		t.Fatalf("fourth request answered %d", code)
	}
	if code := post(secret, "msg_1", "s3"); code != http.StatusNoContent {
		t.Fatalf("fifth request answered %d", code)
	}

	verified, failed, bad := rc.Counts()
	if verified != 3 || failed != 1 || bad != 1 {
		t.Fatalf("counts: verified %d failed %d bad %d; want 3, 1, 1", verified, failed, bad)
	}
	if got := rc.Of("s1"); len(got) != 2 || got[0].WebhookID != "msg_1" || got[1].WebhookID != "msg_1" || got[0].Event.Data.State != "succeeded" {
		t.Fatalf("copies of s1: %+v", got)
	}
	if rc.Sessions() != 2 || len(rc.Of("s2")) != 0 {
		t.Fatalf("sessions %d, s2 copies %d; want 2 and 0", rc.Sessions(), len(rc.Of("s2")))
	}
	if c := rc.Conflicts(); len(c) != 1 || !strings.Contains(c[0], "s1 and s3") {
		t.Fatalf("conflicts %q, want msg_1 for s1 and s3", c)
	}
	if _, err := rc.WaitFor(context.Background(), 4, 100*time.Millisecond); err == nil {
		t.Fatal("WaitFor(4) with 3 copies: no error")
	}
}

func newSecret(t *testing.T) string {
	t.Helper()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
