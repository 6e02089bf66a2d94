package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/testdb"
)

func TestMain(m *testing.M) {
	cmdtest.Main(m, func(args []string) int {
		return run(args, os.Stdout, os.Stderr, config.Environ(os.Environ()))
	})
}

// TestSIGTERMStopsCleanlyAndLosesNothing stops a worker with SIGTERM while
// provider calls are in flight: it must exit 0 promptly, leave no job
// running, and a new worker must finish every session.
func TestSIGTERMStopsCleanlyAndLosesNothing(t *testing.T) {
	tdb := testdb.New(t)
	ctx := context.Background()
	sim := simulator.New(simulator.Options{DefaultScenario: simulator.Scenario{InProgressPolls: 2, Outcome: simulator.OutcomeSucceeded, Delay: 300 * time.Millisecond}})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	var mu sync.Mutex
	got := map[string]bool{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	for _, q := range []string{
		`INSERT INTO subscribers (name, url) VALUES ('app', '` + hook.URL + `')`,
		`INSERT INTO subscriber_secrets (subscriber, secret) VALUES ('app', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')`,
		`INSERT INTO sessions (provider, flow, external_id, subscriber)
			SELECT 'marksign', 'smartid_signing', 'tok-' || i, 'app' FROM generate_series(1, 40) AS i`,
	} {
		if _, err := tdb.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"DATABASE_URL": tdb.URL, "POLLHOOK_SCHEMA": tdb.Schema, "POLLHOOK_HTTP_ADDR": "127.0.0.1:0",
		"POLLHOOK_MARKSIGN_URL": simSrv.URL, "POLLHOOK_MARKSIGN_ACCESS_TOKEN": "t",
		"POLLHOOK_WEBHOOK_ALLOW_HTTP": "true", "POLLHOOK_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8", "POLLHOOK_MAIN_KEY": testdb.MainKey(),
		"POLLHOOK_BACKOFF_SMARTID_SIGNING": "100ms,1,100ms,0", "POLLHOOK_LOG_FORMAT": "json", "POLLHOOK_DB_MAX_CONNS": "10",
	}
	worker := cmdtest.Start(t, "worker", env)
	// Wait until provider calls are in flight, then stop.
	deadline := time.Now().Add(20 * time.Second)
	for sim.Polls("tok-1")+sim.Polls("tok-2")+sim.Polls("tok-3") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	worker.Stop(t, 20*time.Second)
	var running int
	if err := tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Fatalf("%d jobs left running by a clean shutdown", running)
	}

	cmdtest.Start(t, "worker#2", env)
	deadline = time.Now().Add(60 * time.Second)
	for {
		var open int
		if err := tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions s LEFT JOIN deliveries d ON d.session_id = s.id
			WHERE d.state IS DISTINCT FROM 'succeeded'`).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions without a delivered webhook after the restart", open)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 40 {
		t.Fatalf("receiver got %d distinct webhook-ids, want 40", len(got))
	}
}
