package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/version"
)

func TestMain(m *testing.M) {
	cmdtest.Main(m, func(args []string) int { return run(args, os.Stdout, os.Stderr, os.LookupEnv) })
}

// runIn runs the command in this process with env as its environment.
func runIn(env map[string]string, args ...string) cmdtest.Result {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return cmdtest.Result{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}

func TestHelpVersionAndWrongArguments(t *testing.T) {
	t.Parallel()
	tests := []cmdtest.Case{
		{Args: []string{"-h"}, Code: 0, Stdout: "usage: simulator"},
		{Args: []string{"--help"}, Code: 0, Stdout: "-marksign-access-token"},
		{Args: []string{"--version"}, Code: 0, Stdout: version.Line("simulator")},
		{Args: []string{"-port", "1"}, Code: 2, Stderr: "not defined: -port"},
		{Args: []string{"serve"}, Code: 2, Stderr: `unexpected argument "serve"`},
		{Args: []string{"healthcheck", "now"}, Code: 2, Stderr: `unexpected argument "healthcheck"`},
		{Args: []string{"-addr", "127.0.0.1:0", "healthcheck"}, Code: 2, Stderr: "no fixed port"},
	}
	for _, tc := range tests {
		r := runIn(nil, tc.Args...)
		tc.Check(t, "simulator", r)
		if r.Code == 2 && !strings.Contains(r.Stderr, "usage: simulator") && !strings.Contains(r.Stderr, "healthcheck:") {
			t.Errorf("simulator %q: no usage on stderr: %s", tc.Args, r.Stderr)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(simulator.New(simulator.Options{}))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	if r := runIn(map[string]string{"SIMULATOR_ADDR": addr}, "healthcheck"); r.Code != 0 || !strings.Contains(r.Stdout, "ok") {
		t.Errorf("healthcheck of a simulator: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := runIn(nil, "-addr", harness.MustFreeAddr(t), "healthcheck"); r.Code != 1 || !strings.Contains(r.Stderr, "not healthy") {
		t.Errorf("healthcheck of nothing: exit %d, want 1\n%s", r.Code, r.Stderr)
	}
}

// TestProcessServesAndStops runs this test binary as the simulator process:
// its healthcheck turns 0, and SIGTERM stops it with exit 0.
func TestProcessServesAndStops(t *testing.T) {
	t.Parallel()
	addr := harness.MustFreeAddr(t)
	p := cmdtest.Start(t, "simulator", map[string]string{"SIMULATOR_ADDR": addr})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := runIn(map[string]string{"SIMULATOR_ADDR": addr}, "healthcheck").Code
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
