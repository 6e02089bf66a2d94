package faults

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/whsig"
)

// TestSubscriberDown starts with the subscriber's port closed (connection
// refused), then has it answer 503, each for at least a second and until
// pollhook has met it, then accept. Every webhook must arrive, retried on
// the webhook schedule under its one webhook-id.
func TestSubscriberDown(t *testing.T) {
	const sessions = 150
	ctx := context.Background()
	sc := newScene(t, simulator.Options{})
	tdb := sc.tdb
	// Reserve a port, then close it: the subscriber is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := whsig.NewSecret()
	rc, err := harness.NewReceiver(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := harness.AddSubscriber(ctx, tdb.Pool, subscriber, "http://"+addr+"/hooks", secret); err != nil {
		t.Fatal(err)
	}

	logPath := filepath.Join(t.TempDir(), "worker.log")
	startInProcessWorker(ctx, t, sc.settings(), logPath)
	registered := registerScripted(ctx, t, tdb.Pool, makePlans(sc.rng, sessions, endingOutcomes, 0, 1))
	start := time.Now()

	// Phase 1: connection refused.
	waitFor(ctx, t, 30*time.Second, "an attempt refused by the closed port", func(ctx context.Context) (bool, string) {
		n, err := riverCount(ctx, tdb.Pool, `SELECT count(*) FROM delivery_attempts WHERE status_code IS NULL`)
		if err != nil {
			return false, err.Error()
		}
		return n > 0 && time.Since(start) >= time.Second, fmt.Sprintf("%d attempts without a response", n)
	})
	refusedFor := time.Since(start)

	// Phase 2: the port is open, the subscriber answers 503.
	rc.FailWith(func(int) harness.Failure { return harness.Failure{Status: http.StatusServiceUnavailable} })
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	t.Cleanup(func() { _ = srv.Close() })
	if ln, err = listenAgain(ctx, addr); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	unavailableStart := time.Now()
	waitFor(ctx, t, 30*time.Second, "an attempt answered 503", func(context.Context) (bool, string) {
		_, gated, _ := rc.Counts()
		return gated > 0 && time.Since(unavailableStart) >= time.Second, fmt.Sprintf("%d answered 503", gated)
	})
	rc.FailWith(nil)
	down := time.Since(start)

	waitDone(ctx, t, tdb.Pool, rc, sessions, 60*time.Second, logPath)
	f := checkRun(ctx, t, tdb.Pool, rc, registered)

	var refused, unavailable, retried, maxAttempts int
	err = tdb.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM delivery_attempts WHERE status_code IS NULL),
			(SELECT count(*) FROM delivery_attempts WHERE status_code = 503),
			(SELECT count(*) FROM deliveries WHERE attempts > 1),
			(SELECT coalesce(max(attempts), 0) FROM deliveries)`).Scan(&refused, &unavailable, &retried, &maxAttempts)
	if err != nil {
		t.Fatal(err)
	}
	_, gated, _ := rc.Counts()
	if refused == 0 || unavailable == 0 {
		t.Errorf("%d refused and %d 503 attempts recorded: want both", refused, unavailable)
	}
	if unavailable != gated {
		t.Errorf("%d attempts recorded with 503, the subscriber answered %d", unavailable, gated)
	}
	if f.attempts != refused+unavailable+f.sessions {
		t.Errorf("%d attempts recorded, want %d refused + %d 503 + %d successes", f.attempts, refused, unavailable, f.sessions)
	}
	t.Logf("faults: subscriber_down sessions=%d down=%s (refused %s) retries=%d (refused=%d 503=%d) deliveries_retried=%d max_attempts=%d webhooks=%d duplicates=%d lost=%d",
		f.sessions, down.Round(100*time.Millisecond), refusedFor.Round(100*time.Millisecond), refused+unavailable,
		refused, unavailable, retried, maxAttempts, f.webhooks, f.duplicates, f.lost)
}

// listenAgain binds addr again, retrying for a few seconds in case a
// short-lived socket holds the port.
func listenAgain(ctx context.Context, addr string) (net.Listener, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, errors.Join(fmt.Errorf("listen again on %s", addr), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
