package main

import (
	"bytes"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/version"
)

func TestMain(m *testing.M) {
	cmdtest.Main(m, func(args []string) int { return run(args, os.Stdout, os.Stderr, os.LookupEnv) })
}

// runIn runs the command in this process with env as its environment.
func runIn(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errOut.String()
}

func TestHelpVersionAndWrongArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		code       int
		stdoutPart string
		stderrPart string
	}{
		{args: []string{"-h"}, code: 0, stdoutPart: "usage: simulator"},
		{args: []string{"--help"}, code: 0, stdoutPart: "-marksign-access-token"},
		{args: []string{"--version"}, code: 0, stdoutPart: version.Line("simulator")},
		{args: []string{"-port", "1"}, code: 2, stderrPart: "not defined: -port"},
		{args: []string{"serve"}, code: 2, stderrPart: `unexpected argument "serve"`},
		{args: []string{"healthcheck", "now"}, code: 2, stderrPart: `unexpected argument "healthcheck"`},
		{args: []string{"-addr", "127.0.0.1:0", "healthcheck"}, code: 2, stderrPart: "no fixed port"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runIn(nil, tt.args...)
		if code != tt.code || !strings.Contains(stdout, tt.stdoutPart) || !strings.Contains(stderr, tt.stderrPart) {
			t.Errorf("simulator %q: exit %d (want %d)\nstdout: %s\nstderr: %s", tt.args, code, tt.code, stdout, stderr)
		}
		if code == 2 && !strings.Contains(stderr, "usage: simulator") && !strings.Contains(stderr, "healthcheck:") {
			t.Errorf("simulator %q: no usage on stderr: %s", tt.args, stderr)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(simulator.New(simulator.Options{}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	if code, stdout, stderr := runIn(map[string]string{"SIMULATOR_ADDR": addr}, "healthcheck"); code != 0 || !strings.Contains(stdout, "ok") {
		t.Errorf("healthcheck of a simulator: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runIn(nil, "-addr", freeAddr(t), "healthcheck"); code != 1 || !strings.Contains(stderr, "not healthy") {
		t.Errorf("healthcheck of nothing: exit %d, want 1\n%s", code, stderr)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestProcessServesAndStops runs this test binary as the simulator process:
// its healthcheck turns 0, and SIGTERM stops it with exit 0.
func TestProcessServesAndStops(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	p := cmdtest.Start(t, "simulator", map[string]string{"SIMULATOR_ADDR": addr})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := runIn(map[string]string{"SIMULATOR_ADDR": addr}, "healthcheck")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck still %d after 10 s\n%s", code, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.Stop(t, 15*time.Second)
}
