package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
)

// workerProc is a pollhook worker running as a child process.
type workerProc struct {
	*harness.Process
	addr string // its HTTP address, host:port
}

// buildWorker compiles ./cmd/worker into dir.
func buildWorker(ctx context.Context, dir string) (string, error) {
	return harness.Build(ctx, dir, harness.WorkerPackage)
}

// stop sends SIGTERM, gives the worker 30 s to finish its running jobs,
// then kills it.
func (p *workerProc) stop() error { return p.Stop(30 * time.Second) }

// memory reads the worker's resident set size and its peak from
// /proc/<pid>/status, in bytes.
func (p *workerProc) memory() (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.Pid()))
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

// startBenchWorker runs the worker binary bin on a free loopback port,
// configured to poll the simulator at simURL and deliver from schema, with
// JSON logs to logPath; extra adds or overrides variables. It waits for the
// worker's /readyz.
func startBenchWorker(ctx context.Context, bin, databaseURL, schema, simURL, logPath string, extra map[string]string) (*workerProc, error) {
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	vars := workerEnv(databaseURL, schema, simURL, addr)
	vars["POLLHOOK_LOG_FORMAT"] = "json"
	for k, v := range extra {
		vars[k] = v
	}
	p, err := harness.Start(ctx, harness.Options{Path: bin, Name: "worker", Env: vars, LogPath: logPath, Addr: addr})
	if err != nil {
		return nil, err
	}
	return &workerProc{Process: p, addr: addr}, nil
}
