package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workerProc is a pollhook worker running as a child process.
type workerProc struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	done    chan struct{}
	waitErr error
}

// buildWorker compiles ./cmd/worker of the module at moduleDir (found with
// `go env GOMOD` when empty) into dir.
func buildWorker(ctx context.Context, moduleDir, dir string) (string, error) {
	if moduleDir == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("find the module: go env GOMOD: %w", err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return "", errors.New("find the module: not inside pollhook's module (run from the repository)")
		}
		moduleDir = filepath.Dir(gomod)
	}
	bin := filepath.Join(dir, "worker")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/worker")
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/worker: %w: %s", err, out)
	}
	return bin, nil
}

// startWorkerProc runs argv with env (and nothing else of this process's
// environment but PATH and HOME), its output going to logPath, and waits
// until its /readyz answers on addr.
func startWorkerProc(ctx context.Context, argv []string, env map[string]string, addr, logPath string) (*workerProc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("worker log: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	configureChild(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	p := &workerProc{cmd: cmd, addr: addr, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	if err := p.waitReady(ctx, 30*time.Second); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

func (p *workerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("worker exited at start (%v): %s", p.waitErr, p.logTail())
		default:
		}
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("worker not ready within %s: %s", timeout, p.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, gives the worker 30 s to finish its running jobs,
// then kills it.
func (p *workerProc) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("worker did not stop within 30s of SIGTERM: killed")
	}
}

// memory reads the worker's resident set size and its peak from
// /proc/<pid>/status, in bytes.
func (p *workerProc) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, fmt.Errorf("worker memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("worker memory: %s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("worker memory: %w", err)
	}
	return rss, hwm, nil
}

// logTail is the end of the worker's output, for error messages.
func (p *workerProc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// startBenchWorker runs the worker binary bin on a free loopback port,
// configured to poll the simulator at simURL and deliver from schema, with
// JSON logs to logPath; extra adds or overrides variables.
func startBenchWorker(ctx context.Context, bin, databaseURL, schema, simURL, logPath string, extra map[string]string) (*workerProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	vars := workerEnv(databaseURL, schema, simURL, addr)
	vars["POLLHOOK_LOG_FORMAT"] = "json"
	for k, v := range extra {
		vars[k] = v
	}
	return startWorkerProc(ctx, []string{bin}, vars, addr, logPath)
}
