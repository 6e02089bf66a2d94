package harness

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Options say how to start a process.
type Options struct {
	// Path is the binary (see Build).
	Path string
	// Args are its arguments, without the program name.
	Args []string
	// Name labels the process in its log and in errors ("worker#2").
	Name string
	// Env is the process's whole environment besides PATH and HOME, which
	// come from this process: nothing else is inherited, so a DATABASE_URL
	// or POLLHOOK_ variable of the developer's shell cannot leak in.
	Env map[string]string
	// LogPath receives the process's stdout and stderr, appended, with a
	// line marking each start and exit: several runs of one worker share a
	// file that a test scans afterwards.
	LogPath string
	// Addr is the process's HTTP address (host:port); when set, Start
	// waits until http://Addr/readyz answers 200.
	Addr string
	// ReadyTimeout bounds that wait; 30 s when zero.
	ReadyTimeout time.Duration
}

// Process is a running child process.
type Process struct {
	opts    Options
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// Start starts the process described by opts and, if opts.Addr is set,
// waits for its /readyz. On a failed start the process is killed.
func Start(ctx context.Context, opts Options) (*Process, error) {
	if opts.Name == "" {
		opts.Name = opts.Path
	}
	if opts.LogPath == "" {
		return nil, fmt.Errorf("start %s: no LogPath", opts.Name)
	}
	logFile, err := os.OpenFile(opts.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", opts.Name, err)
	}
	fmt.Fprintf(logFile, "--- %s starting at %s\n", opts.Name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(opts.Path, opts.Args...)
	cmd.Env = environ(opts.Env)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	configureChild(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", opts.Name, err)
	}
	p := &Process{opts: opts, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		fmt.Fprintf(logFile, "--- %s exited: %v\n", opts.Name, p.waitErr)
		_ = logFile.Close()
		close(p.done)
	}()
	if opts.Addr != "" {
		if err := p.WaitReady(ctx, cmp.Or(opts.ReadyTimeout, 30*time.Second)); err != nil {
			return nil, errors.Join(err, p.Kill())
		}
	}
	return p, nil
}

// environ is env plus PATH and HOME, sorted.
func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Name is the process's label.
func (p *Process) Name() string { return p.opts.Name }

// Addr is the HTTP address it was started with.
func (p *Process) Addr() string { return p.opts.Addr }

// Pid is its process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// LogPath is the file its output goes to.
func (p *Process) LogPath() string { return p.opts.LogPath }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended (nil for exit status 0); valid after Done.
func (p *Process) Err() error {
	<-p.done
	return p.waitErr
}

// WaitReady waits until http://Addr/readyz answers 200, the process exits,
// ctx ends or timeout passes.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) error {
	if p.opts.Addr == "" {
		return fmt.Errorf("%s: no HTTP address to ask /readyz", p.opts.Name)
	}
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited at start (%v): %s", p.opts.Name, p.waitErr, LogTail(p.opts.LogPath, 20))
		}
		resp, err := client.Get("http://" + p.opts.Addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s: %s", p.opts.Name, timeout, LogTail(p.opts.LogPath, 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s ready: %w", p.opts.Name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM and waits up to grace for the process to finish its
// work and exit with status 0; after grace it kills it and says so. A
// process that had already exited returns how it ended.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		if p.waitErr != nil {
			return fmt.Errorf("%s had exited by itself before the stop: %w", p.opts.Name, p.waitErr)
		}
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", p.opts.Name, err)
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("stop %s: exit after SIGTERM: %w", p.opts.Name, p.waitErr)
		}
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed", p.opts.Name, grace)
	}
}

// Kill sends SIGKILL and waits for the process to be gone. It fails if the
// process had already exited by itself: a crash the caller did not cause.
func (p *Process) Kill() error {
	if p.Exited() {
		return fmt.Errorf("%s exited by itself before the kill: %v", p.opts.Name, p.waitErr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.opts.Name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s still running 10s after SIGKILL", p.opts.Name)
	}
}

// FreeAddr returns a loopback address that was free a moment ago, for a
// process's HTTP listener.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}

// MustFreeAddr is FreeAddr for a test: it fails t when no port is free.
func MustFreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// LogTail returns the last n lines of the file at path, for failure
// messages.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(log %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "--- last lines of " + path + ":\n" + strings.Join(lines, "\n")
}

// CountLines returns how many lines of the file at path contain any of
// substrings.
func CountLines(path string, substrings ...string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("count lines: %w", err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		for _, s := range substrings {
			if strings.Contains(line, s) {
				n++
				break
			}
		}
	}
	return n, nil
}
