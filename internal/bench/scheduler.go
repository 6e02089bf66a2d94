package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// SchedulerConfig configures the River scheduler measurement (River issue
// #785: JobSchedule slow when unique jobs' unique states include
// completed).
type SchedulerConfig struct {
	// Completed is how many completed jobs the table retains; zero skips
	// the measurement.
	Completed int
	// Due is how many scheduled jobs are due (one JobSchedule batch moves
	// at most 10 000).
	Due int
}

// SchedulerResult is the time of River's JobSchedule query (the leader's
// scheduler, every 5 s) moving Due scheduled jobs to available beside
// Completed retained completed jobs, per uniqueness variant.
type SchedulerResult struct {
	// Completed and Due are the table's contents.
	Completed int `json:"completed"`
	Due       int `json:"due"`
	// Variants has one entry per uniqueness setting.
	Variants []SchedulerVariant `json:"variants"`
}

// SchedulerVariant is one uniqueness setting's JobSchedule time.
type SchedulerVariant struct {
	// Name says the setting.
	Name string `json:"name"`
	// Scheduled is how many jobs one call moved.
	Scheduled int `json:"scheduled"`
	// Median and Max are over three calls, each rolled back.
	Median Millis `json:"median_ms"`
	Max    Millis `json:"max_ms"`
}

// schedArgs are the measured jobs' arguments.
type schedArgs struct {
	// Seq makes every job's unique key its own, as every session's poll
	// job has its own.
	Seq int `json:"seq"`
}

// Kind implements river.JobArgs.
func (schedArgs) Kind() string { return "bench.sched" }

// MeasureScheduler fills a fresh schema per variant and times River's own
// JobSchedule query through its driver.
func MeasureScheduler(ctx context.Context, cfg Config) (*SchedulerResult, error) {
	sc := cfg.Scheduler
	res := &SchedulerResult{Completed: sc.Completed, Due: sc.Due}
	withoutCompleted := []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled}
	for _, v := range []struct {
		name   string
		unique *river.UniqueOpts
	}{
		{"unique by args, River's default states (completed included): pollhook's poll jobs", &river.UniqueOpts{ByArgs: true}},
		{"unique by args, states without completed", &river.UniqueOpts{ByArgs: true, ByState: withoutCompleted}},
		{"not unique", nil},
	} {
		sv, err := schedulerVariant(ctx, cfg, v.name, v.unique)
		if err != nil {
			return res, fmt.Errorf("%s: %w", v.name, err)
		}
		res.Variants = append(res.Variants, *sv)
	}
	return res, nil
}

func schedulerVariant(ctx context.Context, cfg Config, name string, unique *river.UniqueOpts) (_ *SchedulerVariant, err error) {
	sc := cfg.Scheduler
	env, err := newSchema(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.drop()) }()
	driver := riverpgxv5.New(env.pool)
	client, err := river.NewClient(driver, &river.Config{Schema: env.schema, Logger: discardLogger()})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	insert := func(lo, n int, at time.Time) error {
		for c := lo; c < lo+n; c += insertChunk {
			params := make([]river.InsertManyParams, 0, insertChunk)
			for i := c; i < min(c+insertChunk, lo+n); i++ {
				opts := &river.InsertOpts{Queue: "bench_sched", ScheduledAt: at}
				if unique != nil {
					opts.UniqueOpts = *unique
				}
				params = append(params, river.InsertManyParams{Args: schedArgs{Seq: i}, InsertOpts: opts})
			}
			if _, err := client.InsertMany(ctx, params); err != nil {
				return fmt.Errorf("insert jobs: %w", err)
			}
		}
		return nil
	}
	if err := insert(0, sc.Completed, time.Now()); err != nil {
		return nil, err
	}
	if _, err := env.pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(), attempt = 1`); err != nil {
		return nil, fmt.Errorf("complete jobs: %w", err)
	}
	if err := insert(sc.Completed, sc.Due, time.Now().Add(2*time.Second)); err != nil {
		return nil, err
	}
	if _, err := env.pool.Exec(ctx, `ANALYZE river_job`); err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	sv := &SchedulerVariant{Name: name}
	var times []time.Duration
	for range 3 {
		tx, err := env.pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		now := time.Now().Add(5 * time.Second) // the scheduler's look-ahead
		start := time.Now()
		out, err := driver.UnwrapExecutor(tx).JobSchedule(ctx, &riverdriver.JobScheduleParams{Max: 10_000, Now: &now, Schema: env.schema})
		times = append(times, time.Since(start))
		_ = tx.Rollback(ctx)
		if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			return nil, fmt.Errorf("JobSchedule: %w", err)
		}
		sv.Scheduled = len(out)
	}
	slices.Sort(times)
	sv.Median, sv.Max = millis(times[1]), millis(times[2])
	return sv, nil
}
