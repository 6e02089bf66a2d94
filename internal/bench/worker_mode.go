package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/logging"
	"github.com/pollhook/pollhook/internal/worker"
)

// WorkerFetchPollIntervalVar names the variable RunWorker reads River's
// fetch poll interval from; cmd/worker has no such setting.
const WorkerFetchPollIntervalVar = "BENCH_FETCH_POLL_INTERVAL"

// RunWorker runs a worker exactly as cmd/worker does, configured by lookup,
// except that River's fetch poll interval comes from
// WorkerFetchPollIntervalVar. The scale ladder runs it as a child process
// (cmd/bench worker) to measure what that setting would change. It returns
// when ctx ends and the worker stopped.
func RunWorker(ctx context.Context, lookup func(string) (string, bool), stderr io.Writer) error {
	cfg, err := config.Load(lookup)
	if err != nil {
		return err
	}
	var opts worker.Options
	if v, ok := lookup(WorkerFetchPollIntervalVar); ok && v != "" {
		if opts.FetchPollInterval, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("%s: %w", WorkerFetchPollIntervalVar, err)
		}
	}
	w, err := worker.Start(ctx, cfg, logging.New(stderr, cfg.LogLevel, cfg.LogFormat), opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return w.Stop(sctx)
}
