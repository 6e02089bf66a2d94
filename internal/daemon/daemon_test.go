package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/testdb"
)

func get(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDaemonServesHealthMetricsRiverUIAndTraces starts a whole daemon: it
// must answer health and readiness, expose pollhook's metrics after a
// session ran, guard River UI with basic auth, and export a trace of the
// session's jobs to the configured OTLP endpoint.
func TestDaemonServesHealthMetricsRiverUIAndTraces(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	sim := httptest.NewServer(simulator.New(simulator.Options{}))
	t.Cleanup(sim.Close)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	var spans atomic.Int32
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			spans.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(otlp.Close)

	cfg, err := config.Load(config.Lookup(map[string]string{
		"DATABASE_URL":                            tdb.URL,
		"POLLHOOK_SCHEMA":                         tdb.Schema,
		"POLLHOOK_HTTP_ADDR":                      "127.0.0.1:0",
		"POLLHOOK_MARKSIGN_URL":                   sim.URL,
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN":          "t",
		"POLLHOOK_WEBHOOK_ALLOW_HTTP":             "true",
		"POLLHOOK_MAIN_KEY":                       testdb.MainKey(),
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":            "127.0.0.0/8",
		"POLLHOOK_BACKOFF_SMARTID_IDENTIFICATION": "50ms,1,50ms,0",
		"POLLHOOK_RIVERUI_USER":                   "ops",
		"POLLHOOK_RIVERUI_PASSWORD":               "s3cret",
		"POLLHOOK_OTLP_ENDPOINT":                  otlp.URL + "/v1/traces",
		"POLLHOOK_FETCH_POLL_INTERVAL":            "50ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := daemon.Start(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + w.Addr

	if code, body := get(t, base+"/healthz", "", ""); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz", "", ""); code != 200 {
		t.Fatalf("/readyz = %d, want 200", code)
	}
	if code, _ := get(t, base+"/riverui/", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("/riverui/ without credentials = %d, want 401", code)
	}
	if code, _ := get(t, base+"/riverui/", "ops", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("/riverui/ with a wrong password = %d, want 401", code)
	}
	if code, body := get(t, base+"/riverui/", "ops", "s3cret"); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("/riverui/ with credentials = %d", code)
	}

	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('app', $1)`, hook.URL); err != nil {
		t.Fatal(err)
	}
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO subscriber_secrets (subscriber, secret) VALUES ('app', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`); err != nil {
		t.Fatal(err)
	}
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber) VALUES ('marksign', 'smartid_identification', 'sim-succeeded-1-x', 'app')`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var metrics string
	for time.Now().Before(deadline) {
		_, metrics = get(t, base+"/metrics", "", "")
		if strings.Contains(metrics, `pollhook_delivery_attempts_total{result="succeeded"} 1`) &&
			strings.Contains(metrics, `pollhook_deliveries_pending 0`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`pollhook_polls_total{flow="smartid_identification",result="in_progress"} 1`,
		`pollhook_polls_total{flow="smartid_identification",result="succeeded"} 1`,
		`pollhook_sessions_terminal_total{flow="smartid_identification",state="succeeded"} 1`,
		`pollhook_delivery_attempts_total{result="succeeded"} 1`,
		`pollhook_deliveries_finished_total{state="succeeded"} 1`,
		`pollhook_delivery_latency_seconds_count 1`,
		`pollhook_poll_duration_seconds_bucket`,
		`pollhook_poll_lag_seconds_bucket`,
		// Series of labels not seen yet exist at zero.
		`pollhook_polls_total{flow="verification",result="expired"} 0`,
		`pollhook_sessions_terminal_total{flow="mobileid_signing",state="cancelled"} 0`,
		`pollhook_credentials_failures_total{account="unconfigured",provider="fortid"} 0`,
		`pollhook_deliveries_finished_total{state="failed"} 0`,
		// Read from the database at scrape time.
		`pollhook_river_jobs{queue="poll_marksign",state="running"} 0`,
		`pollhook_river_jobs{queue="deliver",state="available"} 0`,
		`pollhook_deliveries_pending 0`,
		`pollhook_delivery_oldest_pending_age_seconds 0`,
		`pollhook_subscribers{status="healthy"} 1`,
		`pollhook_subscribers{status="disabled"} 0`,
		`pollhook_sessions_active{state="polling"} 0`,
		`pollhook_state_scrape_error 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := w.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if spans.Load() == 0 {
		t.Fatal("no trace was exported to the OTLP endpoint")
	}
}

func TestRiverUIRefusedWithoutCredentials(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	cfg, err := config.Load(config.Lookup(map[string]string{
		"DATABASE_URL": tdb.URL, "POLLHOOK_SCHEMA": tdb.Schema, "POLLHOOK_HTTP_ADDR": "127.0.0.1:0",
		"POLLHOOK_MAIN_KEY": testdb.MainKey(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := daemon.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	if code, body := get(t, "http://"+w.Addr+"/riverui/", "", ""); code != http.StatusForbidden || !strings.Contains(body, "POLLHOOK_RIVERUI_USER") {
		t.Fatalf("/riverui/ = %d %q, want 403 explaining how to enable it", code, body)
	}
}

func TestStartRefusesAnUnmigratedSchema(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(config.Lookup(map[string]string{
		"DATABASE_URL": testdb.URL(), "POLLHOOK_SCHEMA": "never_migrated", "POLLHOOK_HTTP_ADDR": "127.0.0.1:0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = daemon.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "cmd/migrate up") {
		t.Fatalf("Start on an unmigrated schema: %v, want advice to migrate", err)
	}
}
