package faults

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/whsig"
	"github.com/pollhook/pollhook/receiver"
)

// TestThrottleAcrossWorkerProcesses runs two worker binaries on one schema
// against a subscriber limited to one request in flight and 10 webhooks per
// second. The receiver never sees two requests at once nor more than the
// token bucket allows in any window, both processes work the deliveries,
// and every delivery succeeds: throttled ones wait, they do not fail.
func TestThrottleAcrossWorkerProcesses(t *testing.T) {
	const (
		sessions = 30
		rate     = 10.0
	)
	bin := workerBinary(t)
	ctx := context.Background()
	tdb := testdb.New(t)
	_, simURL := newSimulator(t, simulator.Options{})

	secret := whsig.NewSecret()
	v, err := receiver.New(receiver.Options{Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, maxInFlight, verified atomic.Int32
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(20 * time.Millisecond) // long enough for a second request to overlap if allowed
		verified.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(srv.Close)
	if err := harness.AddSubscriber(ctx, tdb.Pool, subscriber, srv.URL+"/hooks", secret); err != nil {
		t.Fatal(err)
	}
	if _, err := tdb.Pool.Exec(ctx, `UPDATE subscribers SET max_in_flight = 1, rate_per_second = $1`, rate); err != nil {
		t.Fatal(err)
	}

	s := baseSettings(tdb.URL, tdb.Schema, simURL)
	dir := t.TempDir()
	var logs []string
	for _, name := range []string{"a", "b"} {
		logPath := filepath.Join(dir, "worker-"+name+".log")
		startWorkerProc(ctx, t, bin, "worker "+name, s, logPath, true)
		logs = append(logs, logPath)
	}
	for range sessions {
		if _, err := tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
			VALUES ('marksign', 'smartid_identification', $1, $2)`, simulator.MarksignToken(simulator.OutcomeSucceeded, 0), subscriber); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for verified.Load() < sessions && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := verified.Load(); got != sessions {
		t.Fatalf("%d of %d webhooks arrived\n%s\n%s", got, sessions, harness.LogTail(logs[0], 10), harness.LogTail(logs[1], 10))
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("the receiver saw %d requests at once, the subscriber allows 1", m)
	}
	mu.Lock()
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			// A bucket of rate tokens refilled at rate: at most rate +
			// rate*w requests in w seconds (50 ms of slack for clocks).
			w := times[j].Sub(times[i]).Seconds()
			if n, allowed := float64(j-i+1), rate+rate*(w+0.05); n > allowed {
				t.Fatalf("%.0f requests within %.3fs, the rate limit allows %.1f", n, w, allowed)
			}
		}
	}
	mu.Unlock()
	// The receiver counts a webhook before the worker records its attempt:
	// give the last attempt's row time to land before reading states.
	var failed, clients int
	for settle := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err = tdb.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'succeeded')::int FROM deliveries`).Scan(&failed)
		if err != nil || failed == 0 || time.Now().After(settle) {
			break
		}
	}
	if err != nil || failed != 0 {
		t.Errorf("%d deliveries not succeeded (%v): throttled deliveries must wait, not fail", failed, err)
	}
	if err := tdb.Pool.QueryRow(ctx, `SELECT count(DISTINCT c)::int FROM river_job, unnest(attempted_by) AS c
		WHERE kind = 'pollhook.deliver'`).Scan(&clients); err != nil || clients != 2 {
		t.Errorf("delivery jobs ran on %d River clients (%v), want both processes", clients, err)
	}
}
