package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestKill9StallAtDefaults measures what a person at a login screen waits
// after the only worker dies mid-poll and a new one is started at once.
func TestKill9StallAtDefaults(t *testing.T) { measureKill9Stall(t, false) }

// TestKill9StallWithASurvivor measures the same with a second worker
// already running and no restart.
func TestKill9StallWithASurvivor(t *testing.T) { measureKill9Stall(t, true) }

// measureKill9Stall runs the worker binary at default settings (default
// timeouts, rescue, backoff and worker counts) and kills it with SIGKILL
// while its polls wait on a slow provider; then a new worker starts, or,
// with survivor, a second worker started before the kill carries on alone.
// The stall is the time from the kill until every poll the dead worker was
// running has started again. It is reported, not asserted (speed is
// measured, never asserted): README quotes it. The test asserts that every
// stranded poll runs again and every session still ends with its outcome
// and one webhook.
func measureKill9Stall(t *testing.T, survivor bool) {
	const sessions = 28 // four per flow
	bin := workerBinary(t)
	ctx := context.Background()
	tdb := testdb.New(t)
	_, simURL := newSimulator(t, simulator.Options{})
	rc := newSubscriber(ctx, t, tdb.Pool)

	// Slow scripts: every answer takes 2 s, so polls are caught in flight.
	plans := make([]plan, sessions)
	for i := range plans {
		plans[i] = newPlan(i, simulator.OutcomeSlow, 2, "lt")
	}
	registered := registerScripted(ctx, t, tdb.Pool, plans)

	// Only what a deployment must set: no timeout, rescue or backoff.
	env := deploymentSettings(tdb.URL, tdb.Schema, simURL).with("POLLHOOK_LOG_LEVEL", "info")
	logPath := filepath.Join(t.TempDir(), "worker.log")

	victim := startWorkerProc(ctx, t, bin, "worker#1", env, logPath, true)
	// The victim's River client id: the last attempt of a job it runs.
	var victimID string
	waitFor(ctx, t, 30*time.Second, "polls in flight", func(ctx context.Context) (bool, string) {
		var n int
		if err := tdb.Pool.QueryRow(ctx, `SELECT count(*), coalesce(min(attempted_by[cardinality(attempted_by)]), '')
			FROM river_job WHERE state = 'running' AND kind = 'pollhook.poll'`).Scan(&n, &victimID); err != nil {
			return false, err.Error()
		}
		return n >= sessions/2, fmt.Sprintf("running polls: %d", n)
	})
	var next *harness.Process
	if survivor {
		next = startWorkerProc(ctx, t, bin, "worker#2", env, logPath, true)
		// Past the survivor's reclaim round at start: what follows is its
		// periodic round.
		time.Sleep(time.Second)
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	// What the dead process really left running.
	rows, err := tdb.Pool.Query(ctx, `SELECT id FROM river_job
		WHERE state = 'running' AND attempted_by[cardinality(attempted_by)] = $1`, victimID)
	if err != nil {
		t.Fatal(err)
	}
	stranded, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	if len(stranded) == 0 {
		t.Fatal("the kill caught no poll running: the test did not test anything")
	}
	var ready time.Duration
	if !survivor {
		next = startWorkerProc(ctx, t, bin, "worker#2", env, logPath, true)
		ready = time.Since(killedAt)
	}
	var stall time.Duration
	waitFor(ctx, t, 120*time.Second, "stranded polls running again", func(ctx context.Context) (bool, string) {
		var left int
		if err := tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job
			WHERE id = ANY($1) AND state = 'running' AND attempted_by[cardinality(attempted_by)] = $2`,
			stranded, victimID).Scan(&left); err != nil {
			return false, err.Error()
		}
		if left == 0 && stall == 0 {
			stall = time.Since(killedAt)
		}
		return left == 0, fmt.Sprintf("%d stranded polls not yet run again", left)
	})
	var reclaimed, rescued int
	if err := tdb.Pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(errors) e WHERE e->>'error' LIKE 'Stranded job reclaimed%')),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(errors) e WHERE e->>'error' LIKE 'Stuck job rescued%'))
		FROM river_job WHERE id = ANY($1)`, stranded).Scan(&reclaimed, &rescued); err != nil {
		t.Fatal(err)
	}
	waitDone(ctx, t, tdb.Pool, rc, sessions, 120*time.Second, logPath)
	if err := next.Stop(40 * time.Second); err != nil {
		t.Errorf("%v\n%s", err, harness.LogTail(logPath, 20))
	}
	f := checkRun(ctx, t, tdb.Pool, rc, registered)
	scenario := "restart"
	if survivor {
		scenario = "survivor"
	}
	t.Logf("faults: kill9_stall defaults scenario=%s sessions=%d stranded_polls=%d reclaimed=%d rescued_by_river=%d new_worker_ready_after=%s stall=%s lost=%d",
		scenario, f.sessions, len(stranded), reclaimed, rescued, ready.Round(10*time.Millisecond), stall.Round(10*time.Millisecond), f.lost)
}
