package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/version"
)

// runIn runs the command in this process with env as its whole environment.
func runIn(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut, config.Lookup(env))
	return code, out.String(), errOut.String()
}

// TestArgumentsNeverStartTheWorker checks help, version and wrong
// arguments: each returns at once (the worker itself only returns on a
// signal) with its exit code, and the environment has no database.
func TestArgumentsNeverStartTheWorker(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
	tests := []struct {
		args       []string
		code       int
		stdout     string
		stderrPart string
	}{
		{args: []string{"-h"}, code: 0, stdout: usage},
		{args: []string{"--help"}, code: 0, stdout: usage},
		{args: []string{"-help"}, code: 0, stdout: usage},
		{args: []string{"--version"}, code: 0, stdout: version.Line("worker") + "\n"},
		{args: []string{"-version"}, code: 0, stdout: version.Line("worker") + "\n"},
		{args: []string{"--port", "8080"}, code: 2, stderrPart: "flag provided but not defined: -port"},
		{args: []string{"-x"}, code: 2, stderrPart: "not defined: -x"},
		{args: []string{"start"}, code: 2, stderrPart: `unknown command "start"`},
		{args: []string{"healthcheck", "now"}, code: 2, stderrPart: "healthcheck takes no arguments"},
		{args: []string{"--version=maybe"}, code: 2, stderrPart: "invalid boolean value"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runIn(env, tt.args...)
		if code != tt.code {
			t.Errorf("worker %q: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.code, stdout, stderr)
			continue
		}
		if tt.code == 0 && (stdout != tt.stdout || stderr != "") {
			t.Errorf("worker %q: stdout %q stderr %q, want stdout %q", tt.args, stdout, stderr, tt.stdout)
		}
		if tt.code != 0 && (stdout != "" || !strings.Contains(stderr, tt.stderrPart) || !strings.Contains(stderr, "usage: worker")) {
			t.Errorf("worker %q: stdout %q stderr %q, want usage and %q on stderr", tt.args, stdout, stderr, tt.stderrPart)
		}
	}
}

func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	code, _, stderr := runIn(map[string]string{"POLLHOOK_POLL_WORKERS": "many"})
	if code != 2 || !strings.Contains(stderr, "POLLHOOK_POLL_WORKERS") {
		t.Fatalf("exit %d, stderr %q; want 2 naming the variable", code, stderr)
	}
}

// TestHealthcheckExitCodes checks the healthcheck against loopback servers
// that answer ready, not ready, nothing, and a bad address.
func TestHealthcheckExitCodes(t *testing.T) {
	t.Parallel()
	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte("answer\n"))
		}))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}
	tests := []struct {
		name, addr string
		code       int
	}{
		{"ready", status(200), 0},
		{"not ready", status(503), 1},
		{"redirect is not ready", status(302), 1},
		{"nothing listening", harness.MustFreeAddr(t), 1},
		{"random port", "127.0.0.1:0", 2},
		{"no port", "localhost", 2},
	}
	for _, tt := range tests {
		code, stdout, stderr := runIn(map[string]string{"POLLHOOK_HTTP_ADDR": tt.addr}, "healthcheck")
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tt.name, code, tt.code, stdout, stderr)
		}
	}
}

// TestHealthcheckOfARealWorker starts the worker on a fixed port: its
// healthcheck turns 0 once it is ready and 1 after it stopped.
func TestHealthcheckOfARealWorker(t *testing.T) {
	tdb := testdb.New(t)
	addr := harness.MustFreeAddr(t)
	env := map[string]string{"POLLHOOK_HTTP_ADDR": addr}
	if code, _, _ := runIn(env, "healthcheck"); code != 1 {
		t.Fatalf("healthcheck before start: exit %d, want 1", code)
	}
	worker := cmdtest.Start(t, "worker", map[string]string{"DATABASE_URL": tdb.URL, "POLLHOOK_SCHEMA": tdb.Schema,
		"POLLHOOK_HTTP_ADDR": addr, "POLLHOOK_DB_MAX_CONNS": "4", "POLLHOOK_MAIN_KEY": testdb.MainKey()})
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, stdout, _ := runIn(env, "healthcheck")
		if code == 0 {
			if !strings.Contains(stdout, "ready") {
				t.Fatalf("healthy but says %q", stdout)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck still %d after 20 s\n%s", code, worker.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(worker.Output(), `"version"`) {
		t.Errorf("the worker does not log its version:\n%s", worker.Output())
	}
	_ = worker.Kill()
	if code, _, _ := runIn(env, "healthcheck"); code != 1 {
		t.Fatalf("healthcheck after the worker died: exit %d, want 1", code)
	}
}

// TestStampedBinary builds the real worker binary with the version
// ldflags the Makefile and Dockerfile pass, and checks what --version, -h and
// a wrong argument do to a process.
func TestStampedBinary(t *testing.T) {
	t.Parallel()
	goBin, err := harness.GoTool()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "worker")
	build := exec.Command(goBin, "build", "-o", bin,
		"-ldflags", "-X github.com/pollhook/pollhook/internal/version.stamp=v9.8.7-test", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--version"}, 0, "worker pollhook v9.8.7-test (go"},
		{[]string{"-h"}, 0, "usage: worker"},
		{[]string{"--help"}, 0, "worker healthcheck"},
		{[]string{"serve"}, 2, `unknown command "serve"`},
		{[]string{"--config", "x"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL=postgres://nobody@127.0.0.1:1/none")
		r := cmdtest.RunCmd(t, cmd)
		if out := r.Stdout + r.Stderr; r.Code != tt.code || !strings.Contains(out, tt.out) {
			t.Errorf("worker %q: exit %d, want %d with %q\n%s", tt.args, r.Code, tt.code, tt.out, out)
		}
	}
}
