package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/jobs"
)

// stack is pollhook in-process: a fresh schema, the simulator, a receiver
// and a worker started with daemon.Start.
type stack struct {
	env       *schemaEnv
	providers *providers
	sub       *subscriber
	worker    *daemon.Daemon
}

// stackOptions configure a stack.
type stackOptions struct {
	// backoff, if set, is the schedule of every flow
	// ("initial,multiplier,max,randomization").
	backoff string
	// onPoll is called per provider poll, onWebhook per verified webhook.
	onPoll    func()
	onWebhook func(arrival)
	// extra overrides configuration variables.
	extra map[string]string
}

// startStack starts everything; the caller must call stop.
func startStack(ctx context.Context, cfg Config, opts stackOptions) (_ *stack, err error) {
	s := &stack{}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.stop())
		}
	}()
	if s.env, err = newSchema(ctx, cfg.DatabaseURL, 10); err != nil {
		return s, err
	}
	if s.providers, err = startProviders(opts.onPoll); err != nil {
		return s, err
	}
	if s.sub, err = startSubscriber(opts.onWebhook); err != nil {
		return s, err
	}
	if err = s.sub.register(ctx, s.env.pool); err != nil {
		return s, err
	}
	vars := workerEnv(cfg.DatabaseURL, s.env.schema, s.providers.srv.url, "127.0.0.1:0")
	vars["POLLHOOK_POLL_WORKERS"] = fmt.Sprint(cfg.PollWorkers)
	if cfg.FetchPollInterval > 0 {
		vars["POLLHOOK_FETCH_POLL_INTERVAL"] = cfg.FetchPollInterval.String()
	}
	if opts.backoff != "" {
		for f := range jobs.DefaultConfig().Flows {
			vars["POLLHOOK_BACKOFF_"+strings.ToUpper(string(f))] = opts.backoff
		}
	}
	c, err := config.Load(config.Lookup(opts.extra, vars))
	if err != nil {
		return s, fmt.Errorf("worker config: %w", err)
	}
	// Logged at info level as in production, into the void: the cost of
	// formatting the records is part of what is measured.
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if s.worker, err = daemon.Start(ctx, c, logger); err != nil {
		return s, fmt.Errorf("start worker: %w", err)
	}
	return s, nil
}

// stop stops the worker and the servers and drops the schema.
func (s *stack) stop() error {
	var errs []error
	if s.worker != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, s.worker.Stop(ctx))
		cancel()
	}
	if s.sub != nil {
		s.sub.srv.close()
	}
	if s.providers != nil {
		s.providers.srv.close()
	}
	if s.env != nil {
		errs = append(errs, s.env.drop())
	}
	return errors.Join(errs...)
}
