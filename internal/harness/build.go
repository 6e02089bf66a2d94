package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// WorkerPackage is the import path of the worker's main package.
const WorkerPackage = "github.com/pollhook/pollhook/cmd/worker"

// GoTool returns the path of the go command on PATH. go test puts its own
// GOROOT/bin first on PATH, so a test always finds the go that runs it; the
// bench, run with go run, needs go on PATH.
func GoTool() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command on PATH: %w", err)
	}
	return p, nil
}

// Build compiles the main package pkg (an import path, or a path relative
// to the module such as "./cmd/worker") into the directory dir and returns
// the binary's path. It builds inside the module found with `go env GOMOD`
// from the current directory, without the caller's GOFLAGS (a test run with
// -race still gets a production build of the process under test).
func Build(ctx context.Context, dir, pkg string) (string, error) {
	goTool, err := GoTool()
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("build %s: go env GOMOD: %w", pkg, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("build " + pkg + ": not inside pollhook's module (run from the repository)")
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, pkg)
	cmd.Dir = filepath.Dir(gomod)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// Binaries builds each main package at most once and keeps the binaries in
// one temporary directory. A test package holds one Binaries in a variable
// and calls Remove from TestMain after m.Run. The zero value is ready.
type Binaries struct {
	mu    sync.Mutex
	dir   string
	built map[string]*built
}

type built struct {
	once sync.Once
	path string
	err  error
}

// Path returns the binary of pkg, building it the first time any test asks
// (for at most 3 minutes); it fails t if the build fails.
func (b *Binaries) Path(t testing.TB, pkg string) string {
	t.Helper()
	path, err := b.path(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func (b *Binaries) path(pkg string) (string, error) {
	b.mu.Lock()
	if b.dir == "" {
		dir, err := os.MkdirTemp("", "pollhook-harness-")
		if err != nil {
			b.mu.Unlock()
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
		b.dir = dir
	}
	if b.built == nil {
		b.built = map[string]*built{}
	}
	e, ok := b.built[pkg]
	if !ok {
		e = &built{}
		b.built[pkg] = e
	}
	dir := filepath.Join(b.dir, fmt.Sprintf("%d", len(b.built)))
	b.mu.Unlock()
	e.once.Do(func() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			e.err = fmt.Errorf("build %s: %w", pkg, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		e.path, e.err = Build(ctx, dir, pkg)
	})
	return e.path, e.err
}

// Remove deletes the binaries.
func (b *Binaries) Remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
		b.dir, b.built = "", nil
	}
}
