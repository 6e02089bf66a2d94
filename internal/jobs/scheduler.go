package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Scheduling of pollhook's own jobs. A poll job snoozes its whole wait, one
// job run per poll. River makes a job snoozed within its scheduler interval
// (5 s, not configurable in River v0.51.1) available at once with a future
// scheduled_at, and the fetch poll runs it when due; a longer snooze (a
// FortID poll every 15 s), like a delivery's retry, leaves it scheduled or
// retryable for River's scheduler, the leader's JobSchedule query every 5 s.
//
// That query is not fit for this load. It checks every job it moves for a
// unique conflict with a join that, when the planner's statistics show few
// such rows (a table whose jobs were available when last analyzed, which is
// every table where thousands of polls just snoozed), is planned as a nested
// loop recomputing the conflict set per moved row: quadratic in the batch.
// Measured on this machine (docs/BENCHMARKS.md, "River's scheduler"): 7 225
// due poll jobs took 190 s in one call, past River's own 10 s timeout, so
// the call rolled back and nothing moved. (River issue #785, the unique
// check against retained completed jobs, is a second, smaller cost; pollhook's
// unique states leave completed out.)
//
// So each worker runs its own scheduling statement for its own queues every
// scheduleEvery: one UPDATE through River's fetch index (state, queue,
// priority, scheduled_at), linear in the rows it moves, whatever the
// statistics say. It looks further ahead than River's scheduler does (its
// interval), so River's finds nothing of pollhook's left to move, and it
// makes nothing runnable early: River's fetch takes an available job only
// once its scheduled_at has passed. A job whose unique states tell scheduled
// or retryable from available is left to River, whose query resolves the
// conflict; pollhook's jobs are unique in all three alike.
const (
	// scheduleEvery is how often each worker runs the statement.
	scheduleEvery = time.Second
	// scheduleAhead is how far ahead of its scheduled_at a job is made
	// available: River's own look-ahead (its 5 s interval) plus
	// scheduleEvery, so every job River's scheduler would move was moved
	// by the run before.
	scheduleAhead = 5*time.Second + scheduleEvery
	// scheduleBatch bounds the rows one statement moves.
	scheduleBatch = 5_000
)

// scheduleSQL makes available the scheduled and retryable jobs of the given
// queues that are due within the look-ahead. SKIP LOCKED lets two workers,
// or River's scheduler, move the same rows without waiting on each other.
const scheduleSQL = `
WITH due AS (
	SELECT id FROM river_job
	WHERE state = ANY('{scheduled,retryable}'::river_job_state[])
		AND queue = ANY($1::text[])
		AND priority = ANY('{1,2,3,4}'::smallint[])
		AND scheduled_at <= now() + make_interval(secs => $2)
		AND (unique_states IS NULL
			OR river_job_state_in_bitmask(unique_states, state) = river_job_state_in_bitmask(unique_states, 'available'))
	LIMIT $3
	FOR UPDATE SKIP LOCKED
)
UPDATE river_job j SET state = 'available'
FROM due WHERE j.id = due.id`

// scheduler makes pollhook's due jobs available ahead of River's scheduler.
type scheduler struct {
	pool   *pgxpool.Pool
	queues []string
	logger *slog.Logger
}

// run schedules every scheduleEvery until ctx ends (Service.Start runs
// once before River starts).
func (s *scheduler) run(ctx context.Context) {
	everyTick(ctx, scheduleEvery, func() {
		if _, err := s.once(ctx); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "scheduling due jobs failed; River's own scheduler still runs", "error", err)
		}
	})
}

// once makes available every job of s.queues due within scheduleAhead, in
// batches, and returns how many it moved.
func (s *scheduler) once(ctx context.Context) (int, error) {
	return inBatches(scheduleBatch, func() (int, error) {
		tag, err := s.pool.Exec(ctx, scheduleSQL, s.queues, scheduleAhead.Seconds(), scheduleBatch)
		if err != nil {
			return 0, fmt.Errorf("schedule due jobs: %w", err)
		}
		return int(tag.RowsAffected()), nil
	})
}
