package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/testdb"
)

// TestSchedulerMovesOnlyPollhooksDueJobs puts jobs in River's table as
// snoozes, retries and other clients would leave them, and checks that one
// scheduling pass makes available exactly pollhook's jobs due within the
// look-ahead, keeping their scheduled_at (River's fetch still waits for it).
func TestSchedulerMovesOnlyPollhooksDueJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	s := &scheduler{pool: tdb.Pool, queues: []string{"poll_fortid", "deliver"}, logger: slog.New(slog.DiscardHandler)}

	// Unique states as bit(8), River's order: scheduled, running,
	// retryable, pending, discarded, completed, cancelled, available.
	const live, liveButAvailable, none = "11110001", "11110000", ""
	cases := []struct {
		name   string
		queue  string
		state  string
		in     time.Duration // scheduled_at from now
		unique string
		want   string
	}{
		{"poll snoozed past River's interval, due within the look-ahead", "poll_fortid", "scheduled", 3 * time.Second, live, "available"},
		{"poll due at the edge of the look-ahead", "poll_fortid", "scheduled", scheduleAhead - time.Second, live, "available"},
		{"poll already overdue", "poll_fortid", "scheduled", -time.Minute, live, "available"},
		{"poll due later", "poll_fortid", "scheduled", scheduleAhead + 10*time.Second, live, "scheduled"},
		{"delivery retry due", "deliver", "retryable", time.Second, live, "available"},
		{"delivery retry later", "deliver", "retryable", time.Hour, live, "retryable"},
		{"job not unique", "deliver", "scheduled", time.Second, none, "available"},
		{"unique states that tell scheduled from available: left to River", "poll_fortid", "scheduled", time.Second, liveButAvailable, "scheduled"},
		{"another queue", "default", "scheduled", time.Second, live, "scheduled"},
		{"running", "poll_fortid", "running", -time.Second, live, "running"},
	}
	ids := make([]int64, len(cases))
	scheduledAt := make([]time.Time, len(cases))
	for i, c := range cases {
		var key []byte
		var states *string
		if c.unique != none {
			key, states = []byte(c.name), &c.unique
		}
		if err := tdb.Pool.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, scheduled_at, unique_key, unique_states)
			VALUES ('pollhook.poll', '{}', $1, $2::river_job_state, 25, now() + make_interval(secs => $3), $4, $5::bit(8))
			RETURNING id, scheduled_at`, c.queue, c.state, c.in.Seconds(), key, states).Scan(&ids[i], &scheduledAt[i]); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}

	n, err := s.once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i, c := range cases {
		var state string
		var at time.Time
		if err := tdb.Pool.QueryRow(ctx, `SELECT state::text, scheduled_at FROM river_job WHERE id = $1`, ids[i]).Scan(&state, &at); err != nil {
			t.Fatal(err)
		}
		if state != c.want {
			t.Errorf("%s: state %s, want %s", c.name, state, c.want)
		}
		if !at.Equal(scheduledAt[i]) {
			t.Errorf("%s: scheduled_at moved from %s to %s", c.name, scheduledAt[i], at)
		}
		if state != c.state {
			moved++
		}
	}
	if n != moved {
		t.Errorf("once reported %d jobs moved, the table shows %d", n, moved)
	}
	if n, err := s.once(ctx); err != nil || n != 0 {
		t.Errorf("second pass moved %d (%v), want 0", n, err)
	}
}

// TestSchedulerMovesEveryDueJobInBatches checks that one pass moves more
// due jobs than one statement's batch.
func TestSchedulerMovesEveryDueJobInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	s := &scheduler{pool: tdb.Pool, queues: []string{"poll_fortid"}, logger: slog.New(slog.DiscardHandler)}
	const jobs = scheduleBatch + 7
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, scheduled_at, unique_key, unique_states)
		SELECT 'pollhook.poll', jsonb_build_object('session_id', g::text), 'poll_fortid', 'scheduled', 25,
			now() + interval '2 seconds', sha256(g::text::bytea), B'11110001'
		FROM generate_series(1, $1) g`, jobs); err != nil {
		t.Fatal(err)
	}
	n, err := s.once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var available int
	if err := tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'available'`).Scan(&available); err != nil {
		t.Fatal(err)
	}
	if n != jobs || available != jobs {
		t.Errorf("moved %d, %d available; want all %d", n, available, jobs)
	}
}
