package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
)

// TestKill9Worker registers 1,000 sessions, then SIGKILLs the worker binary
// at random instants, again and again, restarting it each time, and lets
// the last one finish. Jobs left running by a killed process are reclaimed
// by the next worker as soon as it starts (the dead one's liveness lock is
// free), else rescued by River after POLLHOOK_RESCUE_AFTER. Nothing may be lost, and a
// webhook sent twice (killed between the POST and recording it) must carry
// the same webhook-id.
func TestKill9Worker(t *testing.T) {
	const (
		sessions = 1000
		kills    = 12
	)
	bin := workerBinary(t)
	ctx := context.Background()
	sc := newScene(t, simulator.Options{})
	tdb, rng := sc.tdb, sc.rng
	rc := newSubscriber(ctx, t, tdb.Pool)

	// Slow scripts hold a poll worker 2 s per answer: more jobs caught
	// running by a kill.
	outcomes := append(append([]simulator.Outcome(nil), endingOutcomes...), simulator.OutcomeSlow)
	registered := registerScripted(ctx, t, tdb.Pool, makePlans(rng, sessions, outcomes, 2, 8))

	env := sc.settings()
	logPath := filepath.Join(t.TempDir(), "worker.log")
	start := time.Now()
	maxRunning, stranded := 0, 0
	for k := range kills {
		p := startWorkerProc(ctx, t, bin, fmt.Sprintf("worker#%d", k+1), env, logPath, false)
		time.Sleep(time.Duration(300+rng.IntN(1201)) * time.Millisecond)
		if err := p.Kill(); err != nil {
			t.Fatalf("%v\n%s", err, harness.LogTail(logPath, 20))
		}
		// Jobs the dead process was working: only the rescuer frees them.
		n, err := riverCount(ctx, tdb.Pool, `SELECT count(*) FROM river_job WHERE state = 'running'`)
		if err != nil {
			t.Fatal(err)
		}
		maxRunning = max(maxRunning, n)
		stranded = n
	}
	killPhase := time.Since(start)
	p, _ := look(ctx, tdb.Pool, rc, sessions)
	t.Logf("after %d kills in %s: %d jobs left running by the last kill; %v", kills, killPhase.Round(time.Millisecond), stranded, p)

	last := startWorkerProc(ctx, t, bin, "worker#last", env, logPath, true)
	finish := time.Now()
	// Bounded: River's leader lease (up to ~15 s after the last leader
	// died), the rescuer's first run, one retry of rescued jobs (1 s for a
	// first rescue, 16 s for a second) and the remaining polls.
	waitDone(ctx, t, tdb.Pool, rc, sessions, 120*time.Second, logPath)
	recovery := time.Since(finish)
	if err := last.Stop(40 * time.Second); err != nil {
		t.Errorf("%v\n%s", err, harness.LogTail(logPath, 20))
	}

	f := checkRun(ctx, t, tdb.Pool, rc, registered)
	rescued, err := riverCount(ctx, tdb.Pool, `SELECT count(*) FROM river_job
		WHERE EXISTS (SELECT 1 FROM unnest(errors) e WHERE e->>'error' LIKE 'Stuck job rescued%' OR e->>'error' LIKE 'Stranded job reclaimed%')`)
	if err != nil {
		t.Fatal(err)
	}
	// When River rescued: during the kills (a leader elected between two
	// kills), and how long after the last worker started.
	var rescuedEarly int
	var firstRescue *time.Time
	if err := tdb.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE at < $1), min(at) FILTER (WHERE at >= $1)
		FROM (SELECT (e->>'at')::timestamptz AS at FROM river_job, unnest(errors) e
			WHERE e->>'error' LIKE 'Stuck job rescued%' OR e->>'error' LIKE 'Stranded job reclaimed%') r`, finish).Scan(&rescuedEarly, &firstRescue); err != nil {
		t.Fatal(err)
	}
	rescueAfter := "none"
	if firstRescue != nil {
		rescueAfter = firstRescue.Sub(finish).Round(100 * time.Millisecond).String()
	}
	running, err := riverCount(ctx, tdb.Pool, `SELECT count(*) FROM river_job WHERE state = 'running'`)
	if err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d River jobs still running after the last worker stopped", running)
	}
	// The subscriber never fails: one recorded attempt per delivery, the
	// success. A second would be a delivery sent again after it succeeded.
	if f.attempts != f.sessions {
		t.Errorf("%d delivery attempts recorded for %d deliveries: want exactly one each", f.attempts, f.sessions)
	}
	if maxRunning == 0 || rescued == 0 {
		t.Errorf("no kill caught a job running (max %d stranded, %d rescued): the test did not test anything", maxRunning, rescued)
	}
	t.Logf("faults: kill9 sessions=%d kills=%d webhooks=%d copies=%d duplicates=%d (same webhook-id) lost=%d attempts=%d running_after_kill_max=%d rescued_jobs=%d (during_kills=%d) kill_phase=%s first_rescue_after_restart=%s recovery=%s",
		f.sessions, kills, f.webhooks, f.copies, f.duplicates, f.lost, f.attempts, maxRunning, rescued, rescuedEarly,
		killPhase.Round(100*time.Millisecond), rescueAfter, recovery.Round(100*time.Millisecond))
}
