package faults

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/simulator"
)

// TestPostgresRestart runs a worker on a private PostgreSQL cluster and
// restarts the cluster (fast stop, 2 s down, start) while sessions are being
// polled and delivered. The worker must recover by itself, without a
// restart: every session, those registered before and after the outage,
// ends in its scripted state and its webhook arrives.
func TestPostgresRestart(t *testing.T) {
	const (
		before = 300 // sessions registered before the restart
		after  = 60  // and after it, found through the re-established LISTEN or the sweep
		schema = "pollhook"
	)
	ctx := context.Background()
	cluster := startPGCluster(ctx, t)
	pool := openPool(ctx, t, cluster.URL, schema)
	if _, err := migrate.Up(ctx, pool, schema, discardLogger()); err != nil {
		t.Fatal(err)
	}
	rng, _ := seededRand(t)

	sim, simURL := newSimulator(t, simulator.Options{})
	rc := newSubscriber(ctx, t, pool)
	logPath := filepath.Join(t.TempDir(), "worker.log")
	w := startInProcessWorker(ctx, t, baseSettings(cluster.URL, schema, simURL), logPath)

	plans := makePlans(rng, before, endingOutcomes, 3, 12)
	// A third of the sessions answer slowly: their polls are out at the
	// provider when the database goes, and write their outcome after.
	for i, p := range plans {
		if i%3 == 0 {
			sc := sim.Scenario(p.externalID)
			sc.Delay = 700 * time.Millisecond
			if err := sim.SetScenario(p.externalID, sc); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := registerScripted(ctx, t, pool, plans)
	// Mid-run: some webhooks arrived, most sessions are still polling.
	waitFor(ctx, t, 60*time.Second, "a quarter of the webhooks", func(context.Context) (bool, string) {
		n := rc.Sessions()
		return n >= before/4, fmt.Sprintf("%d received", n)
	})
	atRestart, _ := look(ctx, pool, rc, before)
	pool.Close()

	down := time.Now()
	if err := cluster.stop(ctx); err != nil {
		t.Fatalf("%v\n%s", err, harness.LogTail(cluster.logPath, 20))
	}
	time.Sleep(2 * time.Second)
	if err := cluster.start(ctx); err != nil {
		t.Fatalf("%v\n%s", err, harness.LogTail(cluster.logPath, 20))
	}
	outage := time.Since(down)
	t.Logf("restarted Postgres (down %s) with %v", outage.Round(time.Millisecond), atRestart)

	pool = openPool(ctx, t, cluster.URL, schema)
	second := registerScripted(ctx, t, pool, makePlans(rng, after, endingOutcomes, 0, 3))
	all := merge(first, second)
	recoverStart := time.Now()
	waitDone(ctx, t, pool, rc, len(all), 120*time.Second, logPath)
	recovery := time.Since(recoverStart)

	// The same worker, never restarted, reports ready again.
	waitFor(ctx, t, 10*time.Second, "worker /readyz", func(ctx context.Context) (bool, string) {
		resp, err := http.Get("http://" + w.Addr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	f := checkRun(ctx, t, pool, rc, all)
	rescued, err := riverCount(ctx, pool, `SELECT count(*) FROM river_job
		WHERE EXISTS (SELECT 1 FROM unnest(errors) e WHERE e->>'error' LIKE 'Stuck job rescued%')`)
	if err != nil {
		t.Fatal(err)
	}
	errored, err := riverCount(ctx, pool, `SELECT count(*) FROM river_job WHERE cardinality(errors) > 0`)
	if err != nil {
		t.Fatal(err)
	}
	// The worker felt the outage: its connections were cut.
	dbErrors, err := harness.CountLines(logPath, "SQLSTATE 57P01", "connection refused", "SQLSTATE 57P03")
	if err != nil {
		t.Fatal(err)
	}
	if dbErrors == 0 {
		t.Errorf("the worker logged no database error: the restart did not reach it\n%s", harness.LogTail(logPath, 20))
	}
	t.Logf("faults: pg_restart sessions=%d (before=%d after=%d) received_before_restart=%d webhooks=%d copies=%d duplicates=%d (same webhook-id) lost=%d db_errors_logged=%d jobs_with_errors=%d rescued_jobs=%d outage=%s recovery=%s",
		f.sessions, before, after, atRestart.received, f.webhooks, f.copies, f.duplicates, f.lost, dbErrors, errored, rescued,
		outage.Round(100*time.Millisecond), recovery.Round(100*time.Millisecond))
}

// openPool opens a pool on schema at url, closed when t ends.
func openPool(ctx context.Context, t testing.TB, url, schema string) *pgxpool.Pool {
	t.Helper()
	pool, err := db.Open(ctx, db.Config{URL: url, Schema: schema, MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
