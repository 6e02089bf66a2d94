package jobs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
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
	// RiverPool, when set, carries River's own statements (fetch, snooze,
	// completion, maintenance) and the scheduler's: opened with
	// db.Config.AsyncCommit, so a poll's snooze does not wait for a WAL
	// flush. Everything pollhook must not lose (the handoff with its
	// outcome, delivery row and job, deliveries' attempts) goes through Pool.
	// Zero: Pool.
	RiverPool *pgxpool.Pool
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
	// JobTimeout bounds one run of a maintenance job (retention;
	// DefaultJobTimeout if zero). Polls and deliveries are bounded by
	// UpstreamTimeout and WebhookTimeout plus a margin (see DeriveTimeouts).
	JobTimeout time.Duration
	// UpstreamTimeout is the provider request timeout (default
	// upstream.DefaultRequestTimeout).
	UpstreamTimeout time.Duration
	// WebhookTimeout is the webhook POST timeout (default
	// webhook.DefaultTimeout).
	WebhookTimeout time.Duration
	// RescueStuckJobsAfter is how long a poll or delivery may stay running
	// before River's rescuer presumes its worker dead and runs it again
	// (zero: derived from the timeouts, see DeriveTimeouts). A worker known
	// dead is reclaimed sooner (see Reclaimer).
	RescueStuckJobsAfter time.Duration
	// ClientID is the River client id (default NewClientID()).
	ClientID string
	// Middleware wraps every job run (OpenTelemetry tracing, when enabled).
	Middleware []rivertype.Middleware
}

// Service runs pollhook's River client and its session listener.
type Service struct {
	// Client is the River client; use it to insert jobs or to mount River UI.
	Client    *river.Client[pgx.Tx]
	enqueuer  *Enqueuer
	sweeper   *sweeper
	reclaimer *Reclaimer
	scheduler *scheduler
	queues    []string
	logger    *slog.Logger
	started   atomic.Bool
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

// NewService builds the River client with pollhook's workers and queues.
func NewService(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("jobs: config: %w", err)
	}
	timeouts, err := DeriveTimeouts(cmp.Or(deps.UpstreamTimeout, upstream.DefaultRequestTimeout),
		cmp.Or(deps.WebhookTimeout, webhook.DefaultTimeout), cmp.Or(deps.JobTimeout, DefaultJobTimeout), deps.RescueStuckJobsAfter)
	if err != nil {
		return nil, err
	}
	clientID := cmp.Or(deps.ClientID, NewClientID())
	svc := &Service{logger: deps.Logger}
	workers := river.NewWorkers()
	river.AddWorker(workers, withTimeout(NewPollWorker(deps.Pool, deps.Poller, cfg, deps.Logger, deps.Metrics), timeouts.Poll))
	river.AddWorker(workers, withTimeout(NewDeliverWorker(deps.Pool, deps.Sender, cfg.Webhook, deps.Logger, deps.Metrics), timeouts.Deliver))
	river.AddWorker(workers, withTimeout(NewRetentionWorker(deps.Pool, cfg.Retention, deps.Logger), timeouts.Maintenance))

	// The poll queues fetch at most every FetchCooldown, in batches; the
	// deliver queue and River's insert notifications follow
	// DeliverFetchCooldown, and the deliver queue polls every
	// DeliverFetchPollInterval, so a handoff's delivery is fetched at once.
	pollCooldown := cfg.RiverFetchCooldown()
	queues := map[string]river.QueueConfig{
		// Poll jobs inserted before they named their provider.
		jobargs.QueuePoll:    {MaxWorkers: cfg.PollWorkers, FetchCooldown: pollCooldown},
		jobargs.QueueDeliver: {MaxWorkers: cfg.DeliverWorkers, FetchPollInterval: cfg.RiverDeliverFetchPollInterval()},
		river.QueueDefault:   {MaxWorkers: 5},
	}
	for _, p := range sess.Providers() {
		queues[jobargs.QueuePollFor(string(p))] = river.QueueConfig{MaxWorkers: cfg.PollWorkersFor(p), FetchCooldown: pollCooldown}
	}
	svc.queues = slices.Sorted(maps.Keys(queues))
	riverPool := cmp.Or(deps.RiverPool, deps.Pool)
	driver := riverpgxv5.New(riverPool)
	client, err := river.NewClient(driver, &river.Config{
		ID:      clientID,
		Schema:  deps.Schema,
		Logger:  deps.Logger.With("component", "river"),
		Queues:  queues,
		Workers: workers,
		// River's client-wide timeout, which its rescue horizon may not
		// undercut; each kind's own Timeout applies first.
		JobTimeout: max(timeouts.Poll, timeouts.Deliver),
		// Completed jobs hold no personal data (ids and poll progress only),
		// and are kept as long as the data they led to.
		CompletedJobRetentionPeriod: cfg.Retention.RedactAfter,
		RescueStuckJobsAfter:        timeouts.RescueAfter,
		FetchPollInterval:           cfg.FetchPollInterval,
		FetchCooldown:               cfg.RiverDeliverFetchCooldown(),
		Middleware:                  deps.Middleware,
		// The only periodic job: retention, once per Retention.Interval.
		// The sweep is a goroutine (see sweeper), not a job.
		PeriodicJobs: []*river.PeriodicJob{
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
	svc.sweeper = &sweeper{enqueuer: svc.enqueuer, interval: cfg.SweepInterval, logger: deps.Logger}
	svc.reclaimer = NewReclaimer(deps.Pool, clientID, deps.Logger, ReclaimInterval)
	svc.scheduler = &scheduler{pool: riverPool, queues: slices.DeleteFunc(slices.Clone(svc.queues), func(q string) bool { return q == river.QueueDefault }),
		logger: deps.Logger}
	return svc, nil
}

// Start takes the worker's liveness lock, makes due jobs available (see
// scheduler), starts working jobs, listening for sessions inserted by SQL,
// the sweep, the reclaimer and the scheduler. It returns once
// River runs and the listener is in place (or ctx ends).
func (s *Service) Start(ctx context.Context) error {
	if err := s.reclaimer.Lock(ctx); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	// Jobs that fell due while no worker ran are made available before
	// River's scheduler can take them (see scheduler).
	if _, err := s.scheduler.once(ctx); err != nil {
		s.logger.WarnContext(ctx, "scheduling due jobs at start failed; River's own scheduler still runs", "error", err)
	}
	if err := s.Client.Start(ctx); err != nil {
		s.reclaimer.Unlock(context.WithoutCancel(ctx))
		return fmt.Errorf("jobs: start river: %w", err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	ready := make(chan struct{})
	for _, run := range []func(context.Context){
		func(ctx context.Context) { s.enqueuer.Listen(ctx, ready) },
		s.sweeper.run,
		s.reclaimer.Run,
		s.scheduler.run,
	} {
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			run(lctx)
		}()
	}
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

// Stop stops the listener, the sweep and the reclaimer, then River: running
// jobs get until ctx ends to finish; past that they are cancelled and go
// back to be worked again. The liveness lock goes last.
func (s *Service) Stop(ctx context.Context) error {
	s.started.Store(false)
	if s.cancel != nil {
		s.cancel()
		s.done.Wait()
	}
	defer s.reclaimer.Unlock(context.WithoutCancel(ctx))
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

// Queues are the River queues the service works.
func (s *Service) Queues() []string { return slices.Clone(s.queues) }

// EnqueuePending runs the sweep once, now.
func (s *Service) EnqueuePending(ctx context.Context) (int, error) {
	return s.enqueuer.EnqueuePending(ctx)
}
