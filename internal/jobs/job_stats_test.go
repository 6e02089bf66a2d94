package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/testdb"
)

func TestStatsStale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		reltuples float64
		live      int64
		want      bool
	}{
		{-1, 0, false},          // never analyzed, empty: any plan is fast
		{-1, 999, false},        // below the floor
		{-1, 1_000, true},       // never analyzed, grown
		{0, 20_000, true},       // analyzed empty, now large
		{5_000, 10_001, true},   // more than twice the belief
		{5_000, 10_000, false},  // twice: close enough
		{20_000, 19_000, false}, // shrinking needs no new plan
	} {
		if got := statsStale(tt.reltuples, tt.live); got != tt.want {
			t.Errorf("statsStale(%v, %d) = %v, want %v", tt.reltuples, tt.live, got, tt.want)
		}
	}
}

// TestAnalyzeIfStale grows a fresh schema's river_job past the floor with
// no ANALYZE: the first check analyzes it, and the planner then knows the
// rows; a second check finds nothing to do.
func TestAnalyzeIfStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, scheduled_at)
		SELECT '{}', 'stats_test', 1, 'stats', 'scheduled', now() + interval '1 hour' FROM generate_series(1, 3000)`); err != nil {
		t.Fatal(err)
	}
	// The statistics collector sees the inserts once the backend flushes
	// them; pg_stat_force_next_flush makes that immediate (PostgreSQL 15).
	if _, err := tdb.Pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		analyzed, err := analyzeIfStale(ctx, tdb.Pool, tdb.Schema)
		if err != nil {
			t.Fatal(err)
		}
		if analyzed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("3 000 unanalyzed rows never asked for an ANALYZE")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var reltuples float64
	if err := tdb.Pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, tdb.Schema+".river_job").Scan(&reltuples); err != nil {
		t.Fatal(err)
	}
	if reltuples < 2_000 {
		t.Fatalf("reltuples after the analyze = %v, want the 3 000 rows", reltuples)
	}
	if again, err := analyzeIfStale(ctx, tdb.Pool, tdb.Schema); err != nil || again {
		t.Fatalf("second check analyzed = %v, %v; want nothing to do", again, err)
	}
}
