package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Planner statistics of River's job table. River's scheduling query
// (JobSchedule, run by River's scheduler and by the look-ahead scheduler)
// joins the jobs it moves against river_job's unique index; its plan
// depends on the planner's idea of the table's size. A table that grows
// from nothing to tens of thousands of hot rows in seconds (a new
// deployment's first surge, a bench's fresh schema) outruns autovacuum's
// one-minute naptime: planned as a tiny table, the query took 10-15 s per
// run at 20 000 sessions, both schedulers queued behind its row locks, and
// polls lagged by tens of seconds. An ANALYZE brought the run back to
// milliseconds at once (docs/BENCHMARKS.md). So the look-ahead scheduler
// refreshes the statistics itself when they are far off.
const (
	// statsCheckEvery is how often the planner's row count is compared with
	// the live one.
	statsCheckEvery = 5 * time.Second
	// statsMinRows is the live row count below which any plan is fast.
	statsMinRows = 1_000
)

// statsStale reports whether river_job's planner statistics (reltuples,
// -1 when never analyzed) are far enough from its live row count to ask
// for an ANALYZE: a table of at least statsMinRows rows that the planner
// has never measured, or that holds more than twice what it believes.
func statsStale(reltuples float64, live int64) bool {
	if live < statsMinRows {
		return false
	}
	return reltuples < 0 || float64(live) > 2*reltuples
}

// analyzeIfStale runs ANALYZE on the schema's river_job when statsStale
// says so, and reports whether it did.
func analyzeIfStale(ctx context.Context, pool *pgxpool.Pool, schema string) (bool, error) {
	var reltuples float64
	var live int64
	err := pool.QueryRow(ctx, `SELECT c.reltuples, s.n_live_tup
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE s.schemaname = $1 AND s.relname = 'river_job'`, schema).Scan(&reltuples, &live)
	if err != nil {
		return false, fmt.Errorf("river_job statistics: %w", err)
	}
	if !statsStale(reltuples, live) {
		return false, nil
	}
	if _, err := pool.Exec(ctx, "ANALYZE "+pgx.Identifier{schema, "river_job"}.Sanitize()); err != nil {
		return false, fmt.Errorf("analyze river_job: %w", err)
	}
	return true, nil
}
