package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/testdb"
)

// TestLookaheadSchedulerMovesJobsDueSoon checks the scheduling pollhook
// runs every second: River's own query with River's 5 s look-ahead, so a
// job snoozed past 5 s is made available (its scheduled_at kept) once it is
// due within 5 s, and not before.
func TestLookaheadSchedulerMovesJobsDueSoon(t *testing.T) {
	ctx := context.Background()
	tdb := testdb.New(t)
	driver := riverpgxv5.New(tdb.Pool)
	client, err := river.NewClient(driver, &river.Config{Schema: tdb.Schema})
	if err != nil {
		t.Fatal(err)
	}
	soon, later := time.Now().Add(3*time.Second), time.Now().Add(30*time.Second)
	for _, at := range []time.Time{soon, later} {
		if _, err := client.Insert(ctx, RetentionArgs{}, &river.InsertOpts{ScheduledAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	s := &lookaheadScheduler{pool: tdb.Pool, driver: driver, schema: tdb.Schema}
	n, err := s.once(ctx)
	if err != nil || n != 1 {
		t.Fatalf("moved %d jobs (%v), want the one due within 5 s", n, err)
	}
	rows, err := tdb.Pool.Query(ctx, `SELECT state, scheduled_at FROM river_job ORDER BY scheduled_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var state string
		var at time.Time
		if err := rows.Scan(&state, &at); err != nil {
			t.Fatal(err)
		}
		got = append(got, state)
		if at.Before(soon.Add(-time.Millisecond)) {
			t.Errorf("scheduled_at moved to %s", at)
		}
	}
	if len(got) != 2 || got[0] != "available" || got[1] != "scheduled" {
		t.Errorf("states %v, want [available scheduled]", got)
	}
}
