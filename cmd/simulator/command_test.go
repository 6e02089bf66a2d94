package main

import (
	"bytes"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/version"
)

func TestMain(m *testing.M) {
	if os.Getenv("POLLHOOK_SIMULATOR_AS_COMMAND") == "1" {
		var args []string
		for _, a := range os.Args[1:] {
			if !strings.HasPrefix(a, "-test.") {
				args = append(args, a)
			}
		}
		os.Exit(run(args, os.Stdout, os.Stderr, os.LookupEnv))
	}
	os.Exit(m.Run())
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestMain$")
	cmd.Env = append(os.Environ(), "POLLHOOK_SIMULATOR_AS_COMMAND=1", "SIMULATOR_ADDR="+addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := runIn(map[string]string{"SIMULATOR_ADDR": addr}, "healthcheck")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("healthcheck still %d after 10 s\n%s", code, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("simulator exited with %v after SIGTERM\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("simulator still running 15 s after SIGTERM")
	}
}
