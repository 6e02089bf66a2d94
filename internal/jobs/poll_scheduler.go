package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Scheduling of long snoozes. A poll job snoozes its whole wait (one job
// run per poll). A snooze within River's scheduler interval (5 s) leaves the
// job available with a future scheduled_at, and the fetch poll runs it when
// due; a longer one leaves it scheduled, and River's scheduler, every 5 s,
// makes available what is due within the next 5 s. A job due just after one
// of those runs is only made available by the next, which comes after the
// run's own duration on top of the 5 s: measured at 5 000 sessions on a busy
// machine, lag p99 2.9 s (docs/BENCHMARKS.md). River v0.51 does not let the
// interval be configured. So pollhook runs River's own scheduling query
// (the driver's JobSchedule, with River's 5 s look-ahead) every second:
// River's scheduler, more often, so a job is made available 4 s or more
// before it is due and no run's duration can make it late.
const (
	// scheduleEvery is how often pollhook runs River's scheduling query.
	scheduleEvery = time.Second
	// scheduleAhead is its look-ahead: River's own scheduler interval, so
	// nothing is made available earlier than River would.
	scheduleAhead = 5 * time.Second
	// scheduleBatch is River's own batch size for the query.
	scheduleBatch = 10_000
)

// lookaheadScheduler runs River's scheduling query every scheduleEvery.
type lookaheadScheduler struct {
	pool   *pgxpool.Pool
	driver *riverpgxv5.Driver
	schema string
	logger *slog.Logger
}

// run schedules until ctx ends, and keeps river_job's planner statistics
// fresh enough for the scheduling query (see analyzeIfStale).
func (s *lookaheadScheduler) run(ctx context.Context) {
	var lastCheck time.Time
	everyTick(ctx, scheduleEvery, func() {
		if time.Since(lastCheck) >= statsCheckEvery {
			lastCheck = time.Now()
			analyzed, err := analyzeIfStale(ctx, s.pool, s.schema)
			switch {
			case err != nil && ctx.Err() == nil:
				s.logger.WarnContext(ctx, "refreshing river_job's planner statistics failed", "error", err)
			case analyzed:
				s.logger.DebugContext(ctx, "river_job's planner statistics were stale: analyzed")
			}
		}
		if _, err := s.once(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "scheduling snoozed jobs ahead failed; River's own scheduler still runs", "error", err)
		}
	})
}

// once makes available every scheduled or retryable job due within
// scheduleAhead, in batches, and returns how many it moved.
func (s *lookaheadScheduler) once(ctx context.Context) (int, error) {
	return inBatches(scheduleBatch, func() (int, error) { return s.batch(ctx) })
}

func (s *lookaheadScheduler) batch(ctx context.Context) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("schedule: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	ahead := time.Now().Add(scheduleAhead)
	res, err := s.driver.UnwrapExecutor(tx).JobSchedule(ctx, &riverdriver.JobScheduleParams{Max: scheduleBatch, Now: &ahead, Schema: s.schema})
	if err != nil {
		return 0, fmt.Errorf("schedule: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("schedule: commit: %w", err)
	}
	return len(res), nil
}
