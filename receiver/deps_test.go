package receiver_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestDependencies keeps the receiver light: an app that verifies webhooks
// links the standard library and pollhook's signing primitive, nothing of
// the worker.
func TestDependencies(t *testing.T) {
	t.Parallel()
	allowed := []string{
		"github.com/pollhook/pollhook/internal/whsig",
		"github.com/pollhook/pollhook/receiver",
	}
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps",
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if !slices.Contains(allowed, p) {
			t.Errorf("receiver depends on %s; it may import only the standard library and %v", p, allowed)
		}
	}
}
