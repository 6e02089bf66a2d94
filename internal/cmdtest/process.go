package cmdtest

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
)

// Process is this test binary running as its command, started by Start.
type Process struct {
	*harness.Process
}

// Start starts this test binary as its command, named name in its log and
// errors, with args and env (which, with PATH and HOME, is its whole
// environment: see harness.Options). Its output goes to a log file in t's
// temporary directory; it is killed when t ends, if still running.
func Start(t testing.TB, name string, env map[string]string, args ...string) *Process {
	t.Helper()
	full := map[string]string{asCommand: "1"}
	maps.Copy(full, env)
	p, err := harness.Start(context.Background(), harness.Options{
		Path:    os.Args[0],
		Args:    selfArgs(args),
		Name:    name,
		Env:     full,
		LogPath: filepath.Join(t.TempDir(), name+".log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.Exited() {
			_ = p.Kill()
		}
	})
	return &Process{p}
}

// Stop sends SIGTERM and fails t unless the process, running until then,
// exits with status 0 within grace.
func (p *Process) Stop(t testing.TB, grace time.Duration) {
	t.Helper()
	if p.Exited() {
		t.Fatalf("%s exited before SIGTERM (%v)\n%s", p.Name(), p.Err(), p.Output())
	}
	if err := p.Process.Stop(grace); err != nil {
		t.Fatalf("%v\n%s", err, p.Output())
	}
}

// Output is everything the process has printed so far, stdout and stderr
// together.
func (p *Process) Output() string {
	b, err := os.ReadFile(p.LogPath())
	if err != nil {
		return "(no output: " + err.Error() + ")"
	}
	return string(b)
}
