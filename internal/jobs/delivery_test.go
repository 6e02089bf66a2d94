package jobs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/webhook"
)

type attemptRow struct {
	Attempt int
	Status  *int
	Error   *string
	URL     string
}

func (h *harness) attempts(t *testing.T, sessionID string) (webhookID, state string, rows []attemptRow) {
	t.Helper()
	ctx := context.Background()
	var deliveryID int64
	err := h.tdb.Pool.QueryRow(ctx, `SELECT id, webhook_id, state FROM deliveries WHERE session_id = $1`, sessionID).
		Scan(&deliveryID, &webhookID, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil // not ended yet
	}
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.tdb.Pool.Query(ctx, `SELECT attempt, status_code, error, url FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id`, deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = pgx.CollectRows(r, pgx.RowToStructByPos[attemptRow])
	if err != nil {
		t.Fatal(err)
	}
	return webhookID, state, rows
}

func fastSchedule(h *harness, s ...time.Duration) {
	h.cfg.Webhook.Schedule = webhook.Schedule(s)
}

func TestDeliveryRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond)
	h.receiver.script = func(n int) (int, http.Header, time.Duration) {
		if n <= 2 {
			return http.StatusInternalServerError, nil, 0
		}
		return 0, nil, 0
	}
	h.start(t, nil)
	id := h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	got := h.eventFor(t, id, 20*time.Second)
	var (
		webhookID, state string
		rows             []attemptRow
	)
	waitUntil(t, 5*time.Second, func() bool { webhookID, state, rows = h.attempts(t, id); return state == "succeeded" })
	if webhookID != got.id || len(rows) != 3 {
		t.Fatalf("webhook-id %s (received %s), %d attempts; want the same id and 3 attempts", webhookID, got.id, len(rows))
	}
	for i, r := range rows {
		wantStatus := 500
		if i == 2 {
			wantStatus = 204
		}
		if r.Status == nil || *r.Status != wantStatus || r.Attempt != i+1 {
			t.Errorf("attempt %d: %+v, want status %d", i+1, r, wantStatus)
		}
	}
}

func TestDeliveryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 50*time.Millisecond)
	retried := retryAfterOnce(h)
	h.start(t, nil)
	id := h.insert(t, "fortid", "verification", simulator.FortIDSessionID(simulator.OutcomeSucceeded, 0))
	h.eventFor(t, id, 20*time.Second)
	retried.check(t)
	// The receiver answered before the worker recorded the attempt.
	var rows []attemptRow
	waitUntil(t, 5*time.Second, func() bool { _, _, rows = h.attempts(t, id); return len(rows) == 2 })
	if len(rows) != 2 || rows[0].Status == nil || *rows[0].Status != 429 {
		t.Fatalf("attempts %+v, want a 429 then a success", rows)
	}
}

// retryAfterAnswer scripts the receiver to answer a delivery's first
// attempt 429 with Retry-After: 1 and later ones as usual.
type retryAfterAnswer struct{ first atomic.Int64 }

func retryAfterOnce(h *harness) *retryAfterAnswer {
	a := &retryAfterAnswer{}
	h.receiver.script = func(n int) (int, http.Header, time.Duration) {
		if n == 1 {
			a.first.Store(time.Now().UnixNano())
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, 0
		}
		return 0, nil, 0
	}
	return a
}

// check fails t unless the second attempt (just seen) came about the asked
// second after the first.
func (a *retryAfterAnswer) check(t *testing.T) {
	t.Helper()
	if gap := time.Since(time.Unix(0, a.first.Load())); gap < 900*time.Millisecond {
		t.Fatalf("second attempt %s after a 429 with Retry-After: 1, want about 1 s", gap)
	}
}

func TestDeliveryGoneDisablesAndEnableResumes(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	h.receiver.script = func(n int) (int, http.Header, time.Duration) {
		if n == 1 {
			return http.StatusGone, nil, 0
		}
		return 0, nil, 0
	}
	stop := h.start(t, nil)
	_ = stop
	id := h.insert(t, "marksign", "mobileid_identification", simulator.MarksignToken(simulator.OutcomeRefused, 0))
	ctx := context.Background()
	waitUntil(t, 20*time.Second, func() bool {
		_, state, _ := h.attempts(t, id)
		return state == "paused"
	})
	var enabled bool
	var reason string
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT enabled, coalesce(disabled_reason, '') FROM subscribers WHERE name = 'app'`).Scan(&enabled, &reason); err != nil {
		t.Fatal(err)
	}
	if enabled || !strings.Contains(reason, "410") {
		t.Fatalf("subscriber enabled=%v reason=%q after 410, want disabled", enabled, reason)
	}
	// A second session for the disabled subscriber waits too.
	id2 := h.insert(t, "marksign", "mobileid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	h.waitDelivery(t, id2, "paused", 20*time.Second)
	if n := h.receiver.calls.Load(); n != 1 {
		t.Fatalf("the disabled subscriber got %d requests, want only the one answered 410", n)
	}

	client := insertClient(t, h)
	if n, err := webhook.Enable(ctx, h.tdb.Pool, client, webhook.AtRest{}, "app"); err != nil || n != 2 {
		t.Fatalf("Enable = %d, %v; want 2 paused deliveries queued again", n, err)
	}
	h.eventFor(t, id, 20*time.Second)
	h.eventFor(t, id2, 20*time.Second)
}

func TestDeliveryExhaustedThenReplayedKeepsWebhookID(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 30*time.Millisecond, 30*time.Millisecond)
	var down atomic.Bool
	down.Store(true)
	h.receiver.script = func(int) (int, http.Header, time.Duration) {
		if down.Load() {
			return http.StatusServiceUnavailable, nil, 0
		}
		return 0, nil, 0
	}
	h.start(t, nil)
	id := h.insert(t, "marksign", "smartid_signing", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	h.waitDelivery(t, id, "failed", 20*time.Second)
	webhookID, _, rows := h.attempts(t, id)
	if len(rows) != 3 {
		t.Fatalf("%d attempts before failing, want 3 (1 + 2 retries)", len(rows))
	}
	down.Store(false)

	ctx := context.Background()
	client := insertClient(t, h)
	var n int
	err := pgx.BeginFunc(ctx, h.tdb.Pool, func(tx pgx.Tx) error {
		var err error
		n, err = webhook.ReplayFailed(ctx, tx, client, "app", time.Now().Add(-time.Hour))
		return err
	})
	if err != nil || n != 1 {
		t.Fatalf("ReplayFailed = %d, %v; want 1", n, err)
	}
	got := h.eventFor(t, id, 20*time.Second)
	if got.id != webhookID {
		t.Fatalf("replayed with webhook-id %s, first sent as %s", got.id, webhookID)
	}
}

func TestDeliveryToAPrivateAddressIsRefusedAndLogged(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 30*time.Millisecond)
	h.deps = func(d *jobs.Deps) {
		// Production defaults: https only, no exemptions.
		d.Sender = webhook.NewSender(webhook.SenderConfig{Timeout: time.Second})
	}
	h.start(t, nil)
	id := h.insert(t, "fortid", "verification", simulator.FortIDSessionID(simulator.OutcomeSucceeded, 0))
	h.waitDelivery(t, id, "failed", 20*time.Second)
	_, _, rows := h.attempts(t, id)
	if len(rows) == 0 || rows[0].Error == nil || !strings.Contains(*rows[0].Error, "refused") {
		t.Fatalf("attempts %+v, want a refusal on record", rows)
	}
	if n := h.receiver.calls.Load(); n != 0 {
		t.Fatalf("the private receiver got %d requests", n)
	}
}

func TestDeliveryTimeoutAndRedirectAreFailures(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 30*time.Millisecond, 30*time.Millisecond)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("a redirect was followed")
	}))
	t.Cleanup(elsewhere.Close)
	h.receiver.script = func(n int) (int, http.Header, time.Duration) {
		switch n {
		case 1:
			return http.StatusOK, nil, 700 * time.Millisecond // past the sender's timeout
		case 2:
			return http.StatusFound, http.Header{"Location": {elsewhere.URL}}, 0
		}
		return 0, nil, 0
	}
	h.deps = func(d *jobs.Deps) {
		d.Sender = webhook.NewSender(webhook.SenderConfig{Timeout: 300 * time.Millisecond, Guard: loopbackGuard()})
	}
	h.start(t, nil)
	id := h.insert(t, "fortid", "verification", simulator.FortIDSessionID(simulator.OutcomeFailed, 0))
	h.eventFor(t, id, 20*time.Second)
	h.waitDelivery(t, id, "succeeded", 5*time.Second)
	_, _, rows := h.attempts(t, id)
	if len(rows) != 3 || rows[0].Error == nil || rows[1].Status == nil || *rows[1].Status != 302 {
		t.Fatalf("attempts %+v, want a timeout, a 302 and a success", rows)
	}
}

func loopbackGuard() webhook.Guard {
	return webhook.Guard{AllowHTTP: true, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
}

// insertClient is an insert-only River client on the harness's schema.
func insertClient(t *testing.T, h *harness) *river.Client[pgx.Tx] {
	t.Helper()
	c, err := river.NewClient(riverpgxv5.New(h.tdb.Pool), &river.Config{Schema: h.tdb.Schema})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
