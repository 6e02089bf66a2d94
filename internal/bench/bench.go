// Package bench measures pollhook against a real Postgres: River's raw job
// rate, pollhook's poll rate, the end-to-end latency from a provider's
// terminal answer to the subscriber's webhook, how many sessions one worker
// process holds in flight at the default cadence, and the webhook delivery
// rate. cmd/bench runs it; docs/BENCHMARKS.md records a run.
//
// Every measurement works in a fresh schema named bench_<random> (created
// with migrate.Up, dropped when the measurement ends, Ctrl-C included) and
// talks to an in-process simulator (package simulator) and an in-process
// webhook receiver (package receiver) on loopback ports.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/jobs"
)

// Config says what to measure and how much.
type Config struct {
	// DatabaseURL is the Postgres the schemas are created in.
	DatabaseURL string
	// FetchPollInterval is River's fetch poll interval for the River,
	// poll-rate, latency and delivery measurements; zero keeps pollhook's
	// default (jobs.DefaultConfig), as cmd/worker does.
	FetchPollInterval time.Duration
	// FetchCooldown is River's fetch cooldown of the in-process River
	// clients (no-op and floor); zero keeps pollhook's (25 ms, at most
	// FetchPollInterval). pollhook's worker has no such knob.
	FetchCooldown time.Duration
	// PollWorkers is the poll queue's MaxWorkers (pollhook's default, jobs.DefaultConfig).
	PollWorkers int

	// Anchors sweeps River's no-op rate, the floor and pollhook's poll rate
	// over these worker counts and fetch settings, with RiverJobs jobs and
	// PollSessions x (PollsInProgress+1) polls; empty skips the sweep (the
	// plain River and poll measurements then run at PollWorkers).
	Anchors AnchorsConfig
	// Cost configures the per-poll cost windows; zero Window skips them.
	Cost CostConfig
	// Detection configures the detection-delay run; zero PerFlow skips it.
	Detection DetectionConfig
	// Scheduler configures the River scheduler measurement; zero
	// Completed skips it.
	Scheduler SchedulerConfig

	// RiverJobs is N of the raw River measurement; zero skips it.
	RiverJobs int
	// PollSessions is N of the poll-rate measurement; zero skips it.
	PollSessions int
	// PollsInProgress is K: the in-progress polls of each session before
	// its success.
	PollsInProgress int
	// LatencySessions is how many sessions the latency measurement tracks;
	// zero skips it.
	LatencySessions int
	// LatencySpacing is the pause between two registrations there (light
	// load: one session at a time).
	LatencySpacing time.Duration
	// Deliveries is D of the delivery-rate measurement; zero skips it.
	Deliveries int
	// TwoWorkersSessions is the number of sessions two worker processes
	// share in the two-workers measurement; zero skips it.
	TwoWorkersSessions int

	// Scale configures the sessions-in-flight ladder.
	Scale ScaleConfig
	// Timeout bounds each of the rate measurements.
	Timeout time.Duration
	// Progress receives a line per step; nil discards.
	Progress io.Writer

	// build shares one build of ./cmd/worker among the measurements of a
	// run (nil: each builds its own).
	build *workerBuild
}

// DefaultConfig is the full run: a few minutes on a 2-core machine.
func DefaultConfig() Config {
	return Config{
		DatabaseURL:        db.DefaultURL,
		PollWorkers:        jobs.DefaultConfig().PollWorkers,
		RiverJobs:          20_000,
		PollSessions:       2_000,
		PollsInProgress:    10,
		LatencySessions:    300,
		LatencySpacing:     20 * time.Millisecond,
		Deliveries:         5_000,
		TwoWorkersSessions: 2_000,
		Anchors: AnchorsConfig{
			Workers: []int{200, 1_000, 2_000},
			Fetch:   []Fetch{DefaultFetch(), {PollInterval: 25 * time.Millisecond, Cooldown: 5 * time.Millisecond}},
		},
		Cost:      CostConfig{Sessions: 2_000, Warmup: 5 * time.Second, Window: 15 * time.Second},
		Detection: DetectionConfig{PerFlow: 60, After: 2 * time.Second, Spread: 20 * time.Second},
		Scheduler: SchedulerConfig{Completed: 300_000, Due: 10_000},
		Scale:     DefaultScaleConfig(),
		Timeout:   3 * time.Minute,
	}
}

// QuickConfig finishes in about a minute: small numbers, one fetch
// setting in the sweep, short windows, one ladder step, no two-workers run.
func QuickConfig() Config {
	c := DefaultConfig()
	c.RiverJobs = 10_000
	c.PollSessions = 1_000
	c.PollsInProgress = 6
	c.LatencySessions = 50
	c.Deliveries = 500
	c.TwoWorkersSessions = 0
	c.Anchors.Fetch = c.Anchors.Fetch[:1]
	c.Cost = CostConfig{Sessions: 1_000, Warmup: 2 * time.Second, Window: 4 * time.Second}
	c.Detection = DetectionConfig{PerFlow: 8, After: time.Second, Spread: 6 * time.Second}
	c.Scheduler = SchedulerConfig{Completed: 20_000, Due: 5_000}
	c.Scale.Steps = []int{2_000}
	c.Scale.Warmup = 3 * time.Second
	c.Scale.Window = 5 * time.Second
	c.Timeout = time.Minute
	return c
}

// Results holds every figure of one run; a skipped measurement is nil.
type Results struct {
	// Machine describes where the run happened.
	Machine Machine `json:"machine"`
	// Started is when the run began.
	Started time.Time `json:"started"`
	// Duration is how long the whole run took.
	Duration Seconds `json:"duration_s"`
	// River is the raw River rate at pollhook's default setting.
	River *RiverResult `json:"river,omitempty"`
	// Poll is pollhook's poll rate at its default setting.
	Poll *PollResult `json:"poll,omitempty"`
	// Anchors compares pollhook's best poll rate with River's and the
	// floor's best.
	Anchors *AnchorsResult `json:"anchors,omitempty"`
	// Cost is what an in-progress poll costs, pollhook beside the floor.
	Cost *CostResult `json:"cost,omitempty"`
	// Detection is the delay from a session's terminal instant to its
	// webhook, per flow, at the default cadence.
	Detection *DetectionResult `json:"detection,omitempty"`
	// Scheduler is River's JobSchedule time per uniqueness setting.
	Scheduler *SchedulerResult `json:"scheduler,omitempty"`
	// Latency is the end-to-end latency.
	Latency *LatencyResult `json:"latency,omitempty"`
	// Scale is the sessions-in-flight ladder.
	Scale *ScaleResult `json:"scale,omitempty"`
	// Delivery is the webhook delivery rate.
	Delivery *DeliveryResult `json:"delivery,omitempty"`
	// TwoWorkers is what two worker processes did together.
	TwoWorkers *TwoWorkersResult `json:"two_workers,omitempty"`
}

// PollToRiver is pollhook's poll rate over River's raw rate (0 when either
// was not measured).
func (r *Results) PollToRiver() float64 {
	if r.River == nil || r.Poll == nil || r.River.JobsPerSecond == 0 {
		return 0
	}
	return r.Poll.PollsPerSecond / r.River.JobsPerSecond
}

// Run performs every measurement cfg enables, one after the other, and
// returns what it measured. A failed measurement stops the run; the results
// gathered so far are returned with the error.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	res := &Results{Started: time.Now()}
	p := newProgress(cfg.Progress)
	m, err := DescribeMachine(ctx, cfg.DatabaseURL)
	if err != nil {
		return res, err
	}
	res.Machine = m
	defer func() { res.Duration = Seconds(time.Since(res.Started).Seconds()) }()
	build := &workerBuild{}
	defer build.remove()
	cfg.build = build

	if len(cfg.Anchors.Workers) > 0 && len(cfg.Anchors.Fetch) > 0 {
		p.printf("anchors: sweeping workers %v x fetch %v", cfg.Anchors.Workers, cfg.Anchors.Fetch)
		if res.Anchors, err = MeasureAnchors(ctx, cfg, p); err != nil {
			return res, fmt.Errorf("bench: anchors: %w", err)
		}
		// The same-settings figures are the sweep's runs at pollhook's
		// default setting: not measured twice.
		def := cfg.withSetting(cfg.PollWorkers, DefaultFetch()).riverSetting()
		for i := range res.Anchors.River {
			if res.Anchors.River[i].Setting == def {
				res.River = &res.Anchors.River[i]
			}
		}
		for i := range res.Anchors.Pollhook {
			if res.Anchors.Pollhook[i].Setting == def {
				res.Poll = &res.Anchors.Pollhook[i]
			}
		}
	}
	if cfg.Cost.Window > 0 && cfg.Cost.Sessions > 0 {
		if res.Cost, err = MeasureCost(ctx, cfg, build, p); err != nil {
			return res, fmt.Errorf("bench: cost: %w", err)
		}
	}
	if cfg.Detection.PerFlow > 0 {
		p.printf("detection: %d sessions per flow, terminal %s..%s after registration", cfg.Detection.PerFlow, cfg.Detection.After, cfg.Detection.After+cfg.Detection.Spread)
		if res.Detection, err = MeasureDetection(ctx, cfg); err != nil {
			return res, fmt.Errorf("bench: detection: %w", err)
		}
		for _, f := range res.Detection.Flows {
			p.printf("detection: %s p50 %s p99 %s, %.1f polls/session", f.Flow, f.P50, f.P99, f.PollsPerSession)
		}
	}
	if cfg.Scheduler.Completed > 0 {
		p.printf("scheduler: JobSchedule of %d due jobs beside %d completed ones", cfg.Scheduler.Due, cfg.Scheduler.Completed)
		if res.Scheduler, err = MeasureScheduler(ctx, cfg); err != nil {
			return res, fmt.Errorf("bench: scheduler: %w", err)
		}
		for _, v := range res.Scheduler.Variants {
			p.printf("scheduler: %s: %d moved in %s (max %s)", v.Name, v.Scheduled, v.Median, v.Max)
		}
	}
	if cfg.RiverJobs > 0 && res.River == nil {
		p.printf("river: %d no-op jobs, %d workers", cfg.RiverJobs, cfg.PollWorkers)
		if res.River, err = MeasureRiver(ctx, cfg); err != nil {
			return res, fmt.Errorf("bench: river rate: %w", err)
		}
		p.printf("river: %.0f jobs/s", res.River.JobsPerSecond)
	}
	if cfg.PollSessions > 0 && res.Poll == nil {
		p.printf("poll: %d sessions x %d polls", cfg.PollSessions, cfg.PollsInProgress+1)
		if res.Poll, err = MeasurePoll(ctx, cfg); err != nil {
			return res, fmt.Errorf("bench: poll rate: %w", err)
		}
		p.printf("poll: %.0f polls/s", res.Poll.PollsPerSecond)
	}
	if cfg.LatencySessions > 0 {
		p.printf("latency: %d sessions, one every %s", cfg.LatencySessions, cfg.LatencySpacing)
		if res.Latency, err = MeasureLatency(ctx, cfg); err != nil {
			return res, fmt.Errorf("bench: latency: %w", err)
		}
		p.printf("latency: p50 %s p99 %s", res.Latency.P50, res.Latency.P99)
	}
	if cfg.Deliveries > 0 {
		p.printf("delivery: %d webhooks", cfg.Deliveries)
		if res.Delivery, err = MeasureDelivery(ctx, cfg); err != nil {
			return res, fmt.Errorf("bench: delivery rate: %w", err)
		}
		p.printf("delivery: %.0f deliveries/s", res.Delivery.PerSecond)
	}
	if cfg.TwoWorkersSessions > 0 {
		p.printf("two workers: %d sessions", cfg.TwoWorkersSessions)
		if res.TwoWorkers, err = MeasureTwoWorkers(ctx, cfg, p); err != nil {
			return res, fmt.Errorf("bench: two workers: %w", err)
		}
		p.printf("two workers: runs %v, %d webhooks, lost %d", res.TwoWorkers.RunsByWorker, res.TwoWorkers.Webhooks, res.TwoWorkers.Lost)
	}
	if len(cfg.Scale.Steps) > 0 {
		if res.Scale, err = MeasureScale(ctx, cfg, p); err != nil {
			return res, fmt.Errorf("bench: scale: %w", err)
		}
	}
	return res, nil
}

// progress prints timestamped progress lines.
type progress struct {
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, start: time.Now()}
}

func (p *progress) printf(format string, args ...any) {
	fmt.Fprintf(p.w, "%7.1fs  %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// discardLogger drops every record.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
