package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/jobargs"
)

// RiverResult is River's raw rate: no-op jobs worked by a client with the
// poll queue's settings.
type RiverResult struct {
	// Jobs is N.
	Jobs int `json:"jobs"`
	// Workers is the queue's MaxWorkers.
	Workers int `json:"workers"`
	// Setting is the River setting of the run (workers, fetch poll
	// interval / cooldown).
	Setting Setting `json:"setting"`
	// JobsPerSecond is the completion rate over the middle 80 % of the jobs.
	JobsPerSecond float64 `json:"jobs_per_s"`
	// WholeRunPerSecond is N over the time from Start to the last
	// completion.
	WholeRunPerSecond float64 `json:"whole_run_jobs_per_s"`
	// Elapsed is the time from Start to the last completion.
	Elapsed Seconds `json:"elapsed_s"`
}

// noopArgs are the arguments of the no-op job.
type noopArgs struct {
	// Seq numbers the job.
	Seq int `json:"seq"`
}

// Kind implements river.JobArgs.
func (noopArgs) Kind() string { return "bench.noop" }

// noopWorker does nothing.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

// Work returns at once.
func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// riverMaxConns is the pool size of the in-process River clients (no-op and
// floor): well under the shared server's max_connections.
const riverMaxConns = 20

// insertChunk bounds one InsertMany.
const insertChunk = 5_000

// MeasureRiver inserts cfg.RiverJobs no-op jobs with InsertMany into the
// poll queue, then starts a River client configured as pollhook's (same
// MaxWorkers, fetch poll interval and cooldown) and times the completions.
func MeasureRiver(ctx context.Context, cfg Config) (_ *RiverResult, err error) {
	// A no-op job queries nothing: River's producer, completer and
	// notifier need a handful of connections, whatever MaxWorkers says.
	env, err := newSchemaVia(ctx, cfg.DatabaseURL, cfg.DatabaseURL, riverMaxConns, true)
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := env.drop(); err == nil && derr != nil {
			err = derr
		}
	}()
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	set := cfg.riverSetting()
	fetch, cooldown := set.FetchPollInterval.duration(), set.FetchCooldown.duration()
	rc := &river.Config{
		Schema:            env.schema,
		Logger:            discardLogger(),
		Queues:            map[string]river.QueueConfig{jobargs.QueuePoll: {MaxWorkers: cfg.PollWorkers}},
		Workers:           workers,
		FetchPollInterval: fetch,
		FetchCooldown:     cooldown,
	}
	client, err := river.NewClient(riverpgxv5.New(env.pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	for lo := 0; lo < cfg.RiverJobs; lo += insertChunk {
		params := make([]river.InsertManyParams, 0, insertChunk)
		for i := lo; i < min(lo+insertChunk, cfg.RiverJobs); i++ {
			params = append(params, river.InsertManyParams{Args: noopArgs{Seq: i}, InsertOpts: &river.InsertOpts{Queue: jobargs.QueuePoll}})
		}
		if _, err := client.InsertMany(ctx, params); err != nil {
			return nil, fmt.Errorf("insert jobs: %w", err)
		}
	}

	m := newMeter(cfg.RiverJobs)
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{ChanSize: cfg.RiverJobs + 1000, Kinds: []river.EventKind{river.EventKindJobCompleted}})
	defer cancel()
	go func() {
		for range events {
			m.mark()
		}
	}()
	m.begin()
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start river: %w", err)
	}
	werr := m.wait(ctx, cfg.Timeout)
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer scancel()
	if err := client.Stop(sctx); err != nil && werr == nil {
		werr = fmt.Errorf("stop river: %w", err)
	}
	if werr != nil {
		return nil, werr
	}
	mid, whole, elapsed := m.rates()
	return &RiverResult{Jobs: cfg.RiverJobs, Workers: cfg.PollWorkers, Setting: set, JobsPerSecond: mid, WholeRunPerSecond: whole, Elapsed: Seconds(elapsed.Seconds())}, nil
}
