package jobs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/metrics"
	sess "github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// Deps are the parts a Service works with.
type Deps struct {
	// Pool must be opened with db.Open on Schema.
	Pool *pgxpool.Pool
	// Schema is pollhook's schema.
	Schema string
	// Poller reads the providers.
	Poller upstream.Poller
	// Sender delivers webhooks.
	Sender *webhook.Sender
	// Logger receives pollhook's and River's logs.
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *metrics.Metrics
	// JobTimeout bounds one job run: one provider call or one webhook POST
	// plus a few queries (DefaultJobTimeout if zero).
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may stay running before River
	// presumes its worker dead (killed mid-run) and runs it again
	// (DefaultRescueAfter, or JobTimeout if longer, when zero; never shorter
	// than JobTimeout).
	RescueStuckJobsAfter time.Duration
	// Middleware wraps every job run (OpenTelemetry tracing, when enabled).
	Middleware []rivertype.Middleware
}

// Service runs pollhook's River client and its session listener.
type Service struct {
	// Client is the River client; use it to insert jobs or to mount River UI.
	Client   *river.Client[pgx.Tx]
	enqueuer *Enqueuer
	sched    *lookaheadScheduler
	logger   *slog.Logger
	started  atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewService builds the River client with pollhook's workers and queues.
func NewService(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jobs: config: %w", err)
	}
	deps.JobTimeout = cmp.Or(deps.JobTimeout, DefaultJobTimeout)
	deps.RescueStuckJobsAfter = cmp.Or(deps.RescueStuckJobsAfter, max(DefaultRescueAfter, deps.JobTimeout))
	if deps.RescueStuckJobsAfter < deps.JobTimeout {
		return nil, fmt.Errorf("jobs: rescue-after %s is shorter than the job timeout %s", deps.RescueStuckJobsAfter, deps.JobTimeout)
	}
	svc := &Service{logger: deps.Logger, done: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, NewPollWorker(deps.Pool, deps.Poller, cfg, deps.Logger, deps.Metrics))
	river.AddWorker(workers, NewDeliverWorker(deps.Pool, deps.Sender, cfg.Webhook, deps.Logger, deps.Metrics))
	sweep := &SweepWorker{}
	river.AddWorker(workers, sweep)
	river.AddWorker(workers, NewRetentionWorker(deps.Pool, cfg.Retention, deps.Logger))

	queues := map[string]river.QueueConfig{
		// Poll jobs inserted before they named their provider.
		jobargs.QueuePoll:    {MaxWorkers: cfg.PollWorkers},
		jobargs.QueueDeliver: {MaxWorkers: cfg.DeliverWorkers},
		river.QueueDefault:   {MaxWorkers: 5},
	}
	for _, p := range sess.Providers() {
		queues[jobargs.QueuePollFor(string(p))] = river.QueueConfig{MaxWorkers: cfg.PollWorkersFor(p)}
	}
	driver := riverpgxv5.New(deps.Pool)
	svc.sched = &lookaheadScheduler{pool: deps.Pool, driver: driver, schema: deps.Schema, logger: deps.Logger}
	client, err := river.NewClient(driver, &river.Config{
		Schema:     deps.Schema,
		Logger:     deps.Logger.With("component", "river"),
		Queues:     queues,
		Workers:    workers,
		JobTimeout: deps.JobTimeout,
		// Completed jobs hold no personal data (ids and poll progress only),
		// and are kept as long as the data they led to.
		CompletedJobRetentionPeriod: cfg.Retention.RedactAfter,
		RescueStuckJobsAfter:        deps.RescueStuckJobsAfter,
		FetchPollInterval:           cfg.FetchPollInterval,
		FetchCooldown:               cfg.RiverFetchCooldown(),
		Middleware:                  deps.Middleware,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(cfg.Retention.Interval),
				func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	svc.Client = client
	svc.enqueuer = NewEnqueuer(deps.Pool, client, deps.Schema, deps.Logger)
	sweep.enqueuer = svc.enqueuer
	return svc, nil
}

// Start starts working jobs and listening for sessions inserted by SQL. It
// returns once River runs and the listener is in place (or ctx ends).
func (s *Service) Start(ctx context.Context) error {
	if err := s.Client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start river: %w", err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	ready := make(chan struct{})
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		s.sched.run(lctx)
	}()
	go func() {
		defer close(s.done)
		s.enqueuer.Listen(lctx, ready)
		<-schedDone
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		s.logger.WarnContext(ctx, "session listener not ready after 10s; the sweep covers new sessions meanwhile")
	}
	s.started.Store(true)
	return nil
}

// Started reports whether Start succeeded and Stop has not been called.
func (s *Service) Started() bool { return s.started.Load() }

// Stop stops the listener, then River: running jobs get until ctx ends to
// finish; past that they are cancelled and go back to be worked again.
func (s *Service) Stop(ctx context.Context) error {
	s.started.Store(false)
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	if err := s.Client.Stop(ctx); err != nil {
		// Soft stop timed out: cancel what still runs. Cancelled jobs are
		// retried, snoozed ones keep their schedule: nothing is lost.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err2 := s.Client.StopAndCancel(cctx); err2 != nil {
			return fmt.Errorf("jobs: stop river: %w", err2)
		}
	}
	return nil
}

// EnqueuePending runs the sweep once, now.
func (s *Service) EnqueuePending(ctx context.Context) (int, error) {
	return s.enqueuer.EnqueuePending(ctx)
}
