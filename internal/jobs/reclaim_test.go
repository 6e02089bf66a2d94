package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestReclaimerFreesOnlyJobsOfDeadWorkers puts running jobs in River's
// table as workers in every situation would leave them, and checks that
// one reclaim round frees exactly those whose last worker is a pollhook
// worker holding no liveness lock.
func TestReclaimerFreesOnlyJobsOfDeadWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	logger := slog.New(slog.DiscardHandler)

	self := jobs.NewClientID()
	live := jobs.NewClientID()
	dead := jobs.NewClientID()
	if !strings.HasPrefix(self, "pollhook_") || self == live {
		t.Fatalf("client ids %q, %q: want distinct pollhook_ ids", self, live)
	}
	me := jobs.NewReclaimer(tdb.Pool, self, logger, time.Second)
	if err := me.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { me.Unlock(ctx) })
	other := jobs.NewReclaimer(tdb.Pool, live, logger, time.Second)
	if err := other.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	type job struct {
		name        string
		state       string
		attemptedBy []string
		attempt     int
		metadata    string
		want        string // state after reclaiming
	}
	cases := []job{
		{"dead worker", "running", []string{dead}, 1, `{}`, "available"},
		{"dead worker, earlier attempt by a live one", "running", []string{live, dead}, 2, `{}`, "available"},
		{"dead worker, attempts spent", "running", []string{dead}, 3, `{}`, "discarded"},
		{"dead worker, cancel requested", "running", []string{dead}, 1, `{"cancel_attempted_at":"2026-01-01T00:00:00Z"}`, "cancelled"},
		{"live worker", "running", []string{dead, live}, 2, `{}`, "running"},
		{"this worker", "running", []string{self}, 1, `{}`, "running"},
		{"a River client that is not pollhook", "running", []string{"somehost_2026_01_01T00_00_00_000000"}, 1, `{}`, "running"},
		{"dead worker, job no longer running", "scheduled", []string{dead}, 1, `{}`, "scheduled"},
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		if err := tdb.Pool.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, attempt, max_attempts,
				attempted_at, attempted_by, metadata, scheduled_at)
			VALUES ('pollhook.poll', '{}', 'poll', $1::river_job_state, $2, 3, now() - interval '1 second', $3, $4::jsonb,
				now() + CASE WHEN $1 = 'scheduled' THEN interval '1 hour' ELSE interval '0' END)
			RETURNING id`, c.state, c.attempt, c.attemptedBy, c.metadata).Scan(&ids[i]); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}

	n, err := me.ReclaimOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("reclaimed %d jobs, want 4", n)
	}
	for i, c := range cases {
		var state string
		var finalized bool
		var lastError *string
		if err := tdb.Pool.QueryRow(ctx, `SELECT state::text, finalized_at IS NOT NULL, errors[cardinality(errors)]->>'error'
			FROM river_job WHERE id = $1`, ids[i]).Scan(&state, &finalized, &lastError); err != nil {
			t.Fatal(err)
		}
		if state != c.want {
			t.Errorf("%s: state %s, want %s", c.name, state, c.want)
		}
		reclaimed := c.want != c.state
		if reclaimed != (lastError != nil && strings.HasPrefix(*lastError, "Stranded job reclaimed: worker "+dead)) {
			t.Errorf("%s: last error %v", c.name, lastError)
		}
		if finalized != (c.want == "discarded" || c.want == "cancelled") {
			t.Errorf("%s: finalized %v in state %s", c.name, finalized, state)
		}
	}

	// Once the live worker's lock goes (its connection closed, as when its
	// process dies; the backend lets go of it a moment later), its job is
	// reclaimed too; this worker's own job never is.
	other.Unlock(ctx)
	var total int64
	waitUntil(t, 5*time.Second, func() bool {
		n, err := me.ReclaimOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		return total > 0
	})
	if n, err := me.ReclaimOnce(ctx); err != nil || total+n != 1 {
		t.Fatalf("after the live worker's lock went: reclaimed %d, %v; want 1", total+n, err)
	}
	var states []string
	rows, err := tdb.Pool.Query(ctx, `SELECT state::text FROM river_job WHERE id = ANY($1) ORDER BY id`, []int64{ids[4], ids[5]})
	if err != nil {
		t.Fatal(err)
	}
	if states, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if strings.Join(states, ",") != "available,running" {
		t.Errorf("states %v, want the dead worker's job available and this worker's still running", states)
	}
}
