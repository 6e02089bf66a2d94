package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
)

// TestTwoWorkers runs two worker binaries on one database and schema. Both
// must poll (River spreads the jobs), and no webhook may be sent twice: with
// nothing failing, every copy the subscriber received is one attempt
// pollhook recorded, and each delivery succeeded exactly once.
func TestTwoWorkers(t *testing.T) {
	const sessions = 600
	bin := workerBinary(t)
	ctx := context.Background()
	sc := newScene(t, simulator.Options{})
	tdb := sc.tdb
	rc := newSubscriber(ctx, t, tdb.Pool)
	env := sc.settings()
	dir := t.TempDir()
	var procs []*harness.Process
	var logs []string
	for _, name := range []string{"a", "b"} {
		logPath := filepath.Join(dir, "worker-"+name+".log")
		procs = append(procs, startWorkerProc(ctx, t, bin, "worker "+name, env, logPath, true))
		logs = append(logs, logPath)
	}

	registered := registerScripted(ctx, t, tdb.Pool, makePlans(sc.rng, sessions, endingOutcomes, 2, 8))
	start := time.Now()
	waitDone(ctx, t, tdb.Pool, rc, sessions, 90*time.Second, logs...)
	elapsed := time.Since(start)
	for i, p := range procs {
		if err := p.Stop(40 * time.Second); err != nil {
			t.Errorf("%v\n%s", err, harness.LogTail(logs[i], 20))
		}
	}
	f := checkRun(ctx, t, tdb.Pool, rc, registered)

	// Poll runs by River client: attempted_by lists the client of each run
	// (River keeps the last 100).
	rows, err := tdb.Pool.Query(ctx, `SELECT c, count(*) FROM river_job, unnest(attempted_by) AS c
		WHERE kind = 'pollhook.poll' GROUP BY c ORDER BY c`)
	if err != nil {
		t.Fatal(err)
	}
	var shares []string
	var runs []int
	for rows.Next() {
		var client string
		var n int
		if err := rows.Scan(&client, &n); err != nil {
			t.Fatal(err)
		}
		// River's client id ends with its start time: its microseconds
		// tell the two apart in the figures.
		shares, runs = append(shares, fmt.Sprintf("…%s=%d", client[max(len(client)-6, 0):], n)), append(runs, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0] == 0 || runs[1] == 0 {
		t.Errorf("poll runs by River client: %v; want both workers polling", shares)
	}

	// With nothing failing, a copy is an attempt and one attempt succeeds.
	arows, err := tdb.Pool.Query(ctx, `SELECT d.session_id::text, d.attempts,
			count(a.id) FILTER (WHERE a.status_code BETWEEN 200 AND 299)
		FROM deliveries d LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
		GROUP BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	twice := 0
	for arows.Next() {
		var sid string
		var attempts, succeeded int
		if err := arows.Scan(&sid, &attempts, &succeeded); err != nil {
			t.Fatal(err)
		}
		copies := len(rc.Of(sid))
		if succeeded != 1 || copies != attempts {
			twice++
			if twice <= 10 {
				t.Errorf("session %s: received %d copies, %d attempts recorded, %d succeeded; want one of each", sid, copies, attempts, succeeded)
			}
		}
	}
	arows.Close()
	if err := arows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("faults: two_workers sessions=%d poll_runs_by_client=[%s] webhooks=%d copies=%d duplicates=%d sent_twice=%d lost=%d elapsed=%s",
		f.sessions, strings.Join(shares, " "), f.webhooks, f.copies, f.duplicates, twice, f.lost, elapsed.Round(100*time.Millisecond))
}
