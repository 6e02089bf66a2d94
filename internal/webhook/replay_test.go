package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/jobargs"
)

func TestRedeliver(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app")
	ctx := context.Background()
	pool := f.db.Pool
	id := f.delivery(t, "app", StateFailed, 0)
	before, _ := LoadDelivery(ctx, pool, id)

	redeliver := func() {
		t.Helper()
		if err := f.inTx(func(tx pgx.Tx) error { return Redeliver(ctx, tx, f.river, id) }); err != nil {
			t.Fatal(err)
		}
	}

	redeliver()
	after, _ := LoadDelivery(ctx, pool, id)
	if after.State != StatePending || after.WebhookID != before.WebhookID {
		t.Errorf("after Redeliver: state %s, webhook id %s; want pending, %s", after.State, after.WebhookID, before.WebhookID)
	}
	jobs := f.jobs(t, id)
	if len(jobs) != 1 || jobs[0].State != "available" || jobs[0].Queue != jobargs.QueueDeliver {
		t.Fatalf("jobs = %+v, want one available", jobs)
	}

	// While that job waits, another Redeliver adds none.
	redeliver()
	if jobs := f.jobs(t, id); len(jobs) != 1 {
		t.Errorf("second Redeliver: %d jobs, want still 1", len(jobs))
	}

	// A job waiting to retry hours from now runs now instead.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'retryable', attempt = 3, scheduled_at = now() + interval '5 hours' WHERE id = $1`, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	redeliver()
	if jobs := f.jobs(t, id); len(jobs) != 1 || jobs[0].State != "available" || !jobs[0].Due {
		t.Errorf("Redeliver of a retrying job: jobs = %+v, want the one job available now", jobs)
	}

	// Once the job is finished, Redeliver inserts a fresh one, whatever the
	// delivery's state.
	for i, state := range []string{"completed", "discarded", "cancelled"} {
		if _, err := pool.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state, finalized_at = now()
			WHERE kind = 'pollhook.deliver' AND (args->>'delivery_id')::bigint = $1 AND finalized_at IS NULL`, id, state); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE deliveries SET state = 'succeeded' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		redeliver()
		if jobs := f.jobs(t, id); len(jobs) != i+2 || jobs[i+1].State != "available" {
			t.Errorf("Redeliver after a %s job: jobs = %+v, want a fresh one", state, jobs)
		}
		if got := f.state(t, id); got != StatePending {
			t.Errorf("Redeliver of a succeeded delivery: state %s, want pending", got)
		}
	}
}

func TestRedeliverRollsBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app")
	ctx := context.Background()
	id := f.delivery(t, "app", StateFailed, 0)
	tx, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Redeliver(ctx, tx, f.river, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.state(t, id); got != StateFailed || len(f.jobs(t, id)) != 0 {
		t.Errorf("after rollback: state %s, %d jobs; want failed and none", got, len(f.jobs(t, id)))
	}
}

func TestReplayFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app", "other")
	ctx := context.Background()
	oldFailed := f.delivery(t, "app", StateFailed, 3*24*time.Hour)
	failed1 := f.delivery(t, "app", StateFailed, 2*time.Hour)
	failed2 := f.delivery(t, "app", StateFailed, time.Minute)
	succeeded := f.delivery(t, "app", StateSucceeded, time.Minute)
	paused := f.delivery(t, "app", StatePaused, time.Minute)
	otherFailed := f.delivery(t, "other", StateFailed, time.Minute)

	var n int
	err := f.inTx(func(tx pgx.Tx) error {
		var err error
		n, err = ReplayFailed(ctx, tx, f.river, "app", time.Now().Add(-24*time.Hour))
		return err
	})
	if err != nil || n != 2 {
		t.Fatalf("ReplayFailed = %d, %v; want 2", n, err)
	}
	tests := []struct {
		id    int64
		state DeliveryState
		jobs  int
	}{
		{oldFailed, StateFailed, 0},
		{failed1, StatePending, 1},
		{failed2, StatePending, 1},
		{succeeded, StateSucceeded, 0},
		{paused, StatePaused, 0},
		{otherFailed, StateFailed, 0},
	}
	for _, tt := range tests {
		if got, jobs := f.state(t, tt.id), len(f.jobs(t, tt.id)); got != tt.state || jobs != tt.jobs {
			t.Errorf("delivery %d: %s with %d jobs, want %s with %d", tt.id, got, jobs, tt.state, tt.jobs)
		}
	}

	// Nothing left to replay.
	err = f.inTx(func(tx pgx.Tx) error {
		var err error
		n, err = ReplayFailed(ctx, tx, f.river, "app", time.Now().Add(-24*time.Hour))
		return err
	})
	if err != nil || n != 0 {
		t.Errorf("second ReplayFailed = %d, %v; want 0", n, err)
	}
}
