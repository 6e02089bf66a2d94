package jobs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/internal/whsig"
	"github.com/pollhook/pollhook/receiver"
)

// simPersonCode is the personal code of the simulator's test person.
const simPersonCode = "60001017705"

// inserter is an insert-only River client on the harness's schema, for the
// operator's commands (replay, enable).
func (h *harness) inserter(t *testing.T) *river.Client[pgx.Tx] {
	t.Helper()
	c, err := river.NewClient(riverpgxv5.New(h.tdb.Pool), &river.Config{Schema: h.tdb.Schema})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deliveryOf returns the id, state and logged attempts of session id's
// delivery (0 if none).
func (h *harness) deliveryOf(t *testing.T, sessionID string) (int64, string, int) {
	t.Helper()
	var id int64
	var state string
	var n int
	err := h.tdb.Pool.QueryRow(context.Background(), `SELECT d.id, d.state,
			(SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id)
		FROM deliveries d WHERE d.session_id = $1`, sessionID).Scan(&id, &state, &n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return id, state, n
}

// waitDelivery waits until session id's delivery is in state.
func (h *harness) waitDelivery(t *testing.T, sessionID, state string, within time.Duration) {
	t.Helper()
	waitUntil(t, within, func() bool { _, s, _ := h.deliveryOf(t, sessionID); return s == state })
}

// TestReplayUsesConfiguredSchedule: the retry budget is the delivery
// worker's, so a replay (inserted by an operator's command, which knows no
// schedule) gets the configured schedule's attempts, not the default's.
func TestReplayUsesConfiguredSchedule(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 20*time.Millisecond, 20*time.Millisecond) // 3 attempts; the default allows 8
	h.receiver.script = func(int) (int, http.Header, time.Duration) { return http.StatusInternalServerError, nil, 0 }
	h.start(t, nil)
	id := h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	h.waitDelivery(t, id, "failed", 20*time.Second)
	deliveryID, _, n := h.deliveryOf(t, id)
	if n != 3 {
		t.Fatalf("first run: %d attempts, want 3", n)
	}
	ctx := context.Background()
	tx, err := h.tdb.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := webhook.ReplayFailed(ctx, tx, h.inserter(t), "app", time.Now().Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("ReplayFailed = %d, %v", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, func() bool {
		_, state, n := h.deliveryOf(t, id)
		return state == "failed" && n >= 6
	})
	time.Sleep(200 * time.Millisecond) // room for a wrong 4th attempt to show
	if _, state, n := h.deliveryOf(t, id); state != "failed" || n != 6 {
		t.Fatalf("after replay: %s with %d attempts, want failed after 3 more (6)", state, n)
	}
	_ = deliveryID
}

// TestSealedAtRestAfterFullRun runs sessions to their webhooks with a main
// key and personal-data sealing on, with a receiver that echoes the body,
// then reads every row of every table as text: no signing secret, personal
// code or certificate is in clear anywhere, and the receiver still got
// verified webhooks.
func TestSealedAtRestAfterFullRun(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	keys := testdb.MainKeys(t)
	h.cfg.Webhook.AtRest = webhook.AtRest{Keys: keys, Personal: true}
	ctx := context.Background()
	// The harness inserted the subscriber's secret in clear, by SQL, as an
	// app may: the worker seals it at start.
	if err := jobs.PrepareWebhooks(ctx, h.tdb.Pool, h.cfg.Webhook, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	// A subscriber added by SQL later, with a secret in clear, is sealed by
	// its first delivery. Its receiver echoes the body, so the attempt log
	// holds the payload, personal data included.
	late := whsig.NewSecret()
	lateVerifier, err := receiver.New(receiver.Options{Secrets: []string{late}})
	if err != nil {
		t.Fatal(err)
	}
	echo := httptest.NewServer(lateVerifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})))
	t.Cleanup(echo.Close)
	h.exec(t, `INSERT INTO subscribers (name, url) VALUES ('late', $1)`, echo.URL+"/late")
	h.exec(t, `INSERT INTO subscriber_secrets (subscriber, secret) VALUES ('late', $1)`, late)
	h.start(t, nil)
	ids := []string{
		h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0)),
		h.insert(t, "marksign", "mobileid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 1)),
		h.insertFor(t, "late", simulator.MarksignToken(simulator.OutcomeSucceeded, 0)),
	}
	var cert string
	for _, id := range ids[:2] {
		ev := h.eventFor(t, id, 20*time.Second)
		var out struct {
			PersonalCode string `json:"personal_code"`
			Certificate  struct {
				Value string `json:"value"`
			} `json:"certificate"`
		}
		if err := json.Unmarshal(ev.event.Data.Outcome, &out); err != nil || out.PersonalCode != simPersonCode || out.Certificate.Value == "" {
			t.Fatalf("webhook outcome %s: want the simulator's person with a certificate", ev.event.Data.Outcome)
		}
		cert = out.Certificate.Value
	}
	h.waitDelivery(t, ids[2], "succeeded", 20*time.Second)
	var echoed string
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT a.response_body FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
		WHERE d.session_id = $1`, ids[2]).Scan(&echoed); err != nil || !seal.IsSealed(echoed) {
		t.Fatalf("echoed attempt body %.30q, %v: want it sealed", echoed, err)
	}
	for _, id := range ids[:2] {
		waitUntil(t, 5*time.Second, func() bool { _, state, n := h.deliveryOf(t, id); return state == "succeeded" && n > 0 })
	}

	// The terminal handoff seals sessions.outcome and answer itself: no
	// reseal runs before the dump.
	needles := []string{"whsec_", "whsk_", simPersonCode, cert[:40], strings.TrimPrefix(h.secret, "whsec_")[:20], strings.TrimPrefix(late, "whsec_")[:20]}
	dumpContains(t, h.tdb, needles)

	// What is sealed still opens: the payload with the key, and the
	// secrets the app holds are the ones the worker signs with.
	var payload []byte
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT payload FROM deliveries WHERE session_id = $1`, ids[0]).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	plain, err := keys.OpenJSON("deliveries.payload", payload)
	if err != nil || !bytes.Contains(plain, []byte(simPersonCode)) {
		t.Errorf("sealed payload opens to %q, %v", plain, err)
	}
	if got, err := webhook.RevealSecret(ctx, h.tdb.Pool, keys, "late"); err != nil || got != late {
		t.Errorf("RevealSecret(late) = %v, want the secret inserted by SQL", err)
	}
}

// dumpContains reads every row of every table of the schema (River's
// included) as text and fails for each needle found.
func dumpContains(t *testing.T, tdb *testdb.DB, needles []string) {
	t.Helper()
	ctx := context.Background()
	rows, err := tdb.Pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, tdb.Schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 8 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	for _, table := range tables {
		rows, err := tdb.Pool.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range texts {
			for _, n := range needles {
				if strings.Contains(row, n) {
					t.Errorf("table %s holds %q in clear: %.200s", table, n, row)
				}
			}
		}
	}
}

// insertFor registers a Smart-ID identification for subscriber by SQL.
func (h *harness) insertFor(t *testing.T, subscriber, token string) string {
	t.Helper()
	var id string
	if err := h.tdb.Pool.QueryRow(context.Background(), `INSERT INTO sessions (provider, flow, external_id, subscriber)
		VALUES ('marksign', 'smartid_identification', $1, $2) RETURNING id::text`, token, subscriber).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *harness) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := h.tdb.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// TestEventFilter: a subscriber that wants only failures gets no delivery
// row for a success, and gets its failure.
func TestEventFilter(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	h.exec(t, `UPDATE subscribers SET event_types = '{session.failed,session.refused}' WHERE name = 'app'`)
	h.start(t, nil)
	ok := h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	refused := h.insert(t, "marksign", "mobileid_identification", simulator.MarksignToken(simulator.OutcomeRefused, 0))
	h.eventFor(t, refused, 20*time.Second)
	waitUntil(t, 10*time.Second, func() bool { return h.session(t, ok).State == "succeeded" })
	if id, _, _ := h.deliveryOf(t, ok); id != 0 {
		t.Errorf("session.succeeded got delivery %d though the subscriber does not want it", id)
	}
	// The receiver answered before the worker recorded the attempt.
	h.waitDelivery(t, refused, "succeeded", 10*time.Second)
	// The SQL filter and MatchEvent agree (the CLI explains with the latter).
	if wants, err := webhook.Wants(context.Background(), h.tdb.Pool, "app", string(event.TypeSucceeded)); err != nil || wants {
		t.Errorf("Wants(session.succeeded) = %t, %v", wants, err)
	}
}

// TestV1aCustomHeadersEndToEnd: a v1a subscriber with an Authorization
// header; the receiver checks the header and verifies with the public key,
// through the receiver package and through an independent ed25519.
func TestV1aCustomHeadersEndToEnd(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	keys := testdb.MainKeys(t)
	h.cfg.Webhook.AtRest = webhook.AtRest{Keys: keys}
	ctx := context.Background()

	var got atomic.Int32
	var bad atomic.Value
	fail := func(s string) { bad.Store(s) }
	var verifier *receiver.Verifier
	var pubKey []byte
	const token = "Bearer app-token-do-not-log"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Authorization") != token || r.Header.Get("X-Tenant") != "42" {
			fail("custom headers missing: " + r.Header.Get("X-Tenant"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := verifier.Verify(r.Header, body); err != nil {
			fail("receiver: " + err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sig, ok := strings.CutPrefix(r.Header.Get("webhook-signature"), "v1a,")
		raw, err := base64.StdEncoding.DecodeString(sig)
		content := whsig.Content(r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		if !ok || err != nil || !voi.Verify(voi.PublicKey(pubKey), content, raw) {
			fail("curve25519-voi refused the v1a signature")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	pub, err := webhook.CreateSubscriber(ctx, h.tdb.Pool, keys, "edge", srv.URL+"/hooks", webhook.SubscriberOptions{
		Scheme:  webhook.SchemeV1a,
		Headers: map[string]string{"Authorization": token, "X-Tenant": "42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "whpk_") {
		t.Fatalf("v1a subscriber handed %q, want a whpk_ key", pub[:5])
	}
	pubKey, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(pub, "whpk_"))
	if verifier, err = receiver.New(receiver.Options{PublicKeys: []string{pub}}); err != nil {
		t.Fatal(err)
	}
	var logs cmdtest.Buffer
	h.start(t, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	id := h.insertFor(t, "edge", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	h.waitDelivery(t, id, "succeeded", 20*time.Second)
	if b := bad.Load(); b != nil || got.Load() != 1 {
		t.Fatalf("receiver: %v, %d verified", b, got.Load())
	}
	dumpContains(t, h.tdb, []string{"app-token-do-not-log", "whsk_"})
	if strings.Contains(logs.String(), "app-token-do-not-log") {
		t.Error("a custom header value reached the logs")
	}
}

// TestOperationalEvents: a 410 disables the subscriber and the operator's
// endpoint gets a signed subscriber.disabled; enabling sends
// subscriber.enabled; a delivery that exhausts the schedule sends
// delivery.exhausted.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 20*time.Millisecond)
	opSecret := whsig.NewSecret()
	opVerifier, err := receiver.New(receiver.Options{Secrets: []string{opSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ops []event.OperationalEvent
	opSrv := httptest.NewServer(opVerifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev event.OperationalEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		ops = append(ops, ev)
		mu.Unlock()
	})))
	t.Cleanup(opSrv.Close)
	h.cfg.Webhook.OperatorURL, h.cfg.Webhook.OperatorSecret = opSrv.URL+"/ops", opSecret
	h.cfg.Webhook.AllowNoMainKey = true
	ctx := context.Background()
	if err := jobs.PrepareWebhooks(ctx, h.tdb.Pool, h.cfg.Webhook, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	h.receiver.script = func(int) (int, http.Header, time.Duration) {
		if calls.Add(1) == 1 {
			return http.StatusGone, nil, 0
		}
		return http.StatusInternalServerError, nil, 0
	}
	h.start(t, nil)
	opsOf := func(typ event.Type) []event.OperationalEvent {
		mu.Lock()
		defer mu.Unlock()
		var out []event.OperationalEvent
		for _, e := range ops {
			if e.Type == typ {
				out = append(out, e)
			}
		}
		return out
	}
	id := h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	waitUntil(t, 20*time.Second, func() bool { return len(opsOf(event.TypeSubscriberDisabled)) == 1 })
	if d := opsOf(event.TypeSubscriberDisabled)[0].Data; d.Subscriber != "app" || !strings.Contains(d.Reason, "410") {
		t.Errorf("subscriber.disabled data = %+v", d)
	}
	tx, err := h.tdb.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.Enable(ctx, tx, h.inserter(t), h.cfg.Webhook.AtRest, "app"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, func() bool { return len(opsOf(event.TypeSubscriberEnabled)) == 1 })
	if d := opsOf(event.TypeSubscriberEnabled)[0].Data; d.Subscriber != "app" || d.Requeued == nil || *d.Requeued != 1 {
		t.Errorf("subscriber.enabled data = %+v", d)
	}
	// The resumed delivery fails its 2 attempts (500): exhausted.
	waitUntil(t, 20*time.Second, func() bool { return len(opsOf(event.TypeDeliveryExhausted)) == 1 })
	deliveryID, _, _ := h.deliveryOf(t, id)
	if d := opsOf(event.TypeDeliveryExhausted)[0].Data; d.DeliveryID != deliveryID || d.SessionID == nil || *d.SessionID != id || d.LastError != "HTTP 500" {
		t.Errorf("delivery.exhausted data = %+v, want delivery %d of session %s", d, deliveryID, id)
	}
	// The operator's messages went through deliveries and the attempt log.
	// (recorded just after the operator's endpoint answered)
	waitUntil(t, 10*time.Second, func() bool {
		var n int
		if err := h.tdb.Pool.QueryRow(ctx, `SELECT count(*)::int FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
			WHERE d.subscriber = $1 AND d.state = 'succeeded'`, webhook.OperatorName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 3
	})
	// Disabling a disabled subscriber keeps its first reason and sends
	// nothing more.
	if _, err := webhook.Disable(ctx, h.tdb.Pool, h.inserter(t), webhook.AtRest{}, "app", "first"); err != nil {
		t.Fatal(err)
	}
	if changed, err := webhook.Disable(ctx, h.tdb.Pool, h.inserter(t), webhook.AtRest{}, "app", "second"); err != nil || changed {
		t.Errorf("second Disable changed=%t, %v", changed, err)
	}
	var reason string
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT disabled_reason FROM subscribers WHERE name = 'app'`).Scan(&reason); err != nil || reason != "first" {
		t.Errorf("reason %q after disabling twice, want the first", reason)
	}
	waitUntil(t, 20*time.Second, func() bool { return len(opsOf(event.TypeSubscriberDisabled)) == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := len(opsOf(event.TypeSubscriberDisabled)); n != 2 {
		t.Errorf("%d subscriber.disabled events, want 2 (the second disable changed nothing)", n)
	}
}

// TestPrepareWebhooksRefusesWithoutMainKey: the worker does not start
// without a main key unless told it may.
func TestPrepareWebhooksRefusesWithoutMainKey(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	err := jobs.PrepareWebhooks(ctx, tdb.Pool, jobs.WebhookConfig{}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, jobs.ErrNoMainKey) || !strings.Contains(err.Error(), "POLLHOOK_ALLOW_NO_MAIN_KEY") {
		t.Fatalf("PrepareWebhooks without a key = %v, want ErrNoMainKey naming the way out", err)
	}
	if err := jobs.PrepareWebhooks(ctx, tdb.Pool, jobs.WebhookConfig{AllowNoMainKey: true}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("PrepareWebhooks allowed without a key = %v", err)
	}
}

// TestThrottleAcrossTwoWorkers runs two River clients (as two worker
// processes would) on one schema against a subscriber limited to one
// request in flight and 20 per second: the receiver never sees two at once,
// never more than the bucket allows in any window, and every delivery
// succeeds (throttled ones wait, they do not fail).
func TestThrottleAcrossTwoWorkers(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	const rate = 20.0
	h.exec(t, `UPDATE subscribers SET max_in_flight = 1, rate_per_second = $1 WHERE name = 'app'`, rate)
	var inFlight, maxInFlight atomic.Int32
	var mu sync.Mutex
	var times []time.Time
	h.receiver.script = func(int) (int, http.Header, time.Duration) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		return 0, nil, 0 // then verify and accept
	}
	h.start(t, nil)
	h.start(t, nil)
	const n = 30
	ids := make([]string, n)
	for i := range ids {
		ids[i] = h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	}
	for _, id := range ids {
		h.eventFor(t, id, 60*time.Second)
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("receiver saw %d requests at once, want at most 1", m)
	}
	mu.Lock()
	defer mu.Unlock()
	// Token bucket: in any window of w seconds at most burst + rate*w
	// requests (burst = rate), with a little room for clock skew.
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			w := times[j].Sub(times[i]).Seconds()
			if allowed := rate + rate*(w+0.05); float64(j-i+1) > allowed {
				t.Fatalf("%d requests within %.3fs, the bucket allows %.1f", j-i+1, w, allowed)
			}
		}
	}
	// Recorded after the receiver answered: wait, then none may have failed.
	var failed int
	waitUntil(t, 10*time.Second, func() bool {
		if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT count(*)::int FROM deliveries WHERE state <> 'succeeded'`).Scan(&failed); err != nil {
			t.Fatal(err)
		}
		return failed == 0
	})
}

// TestRetentionRedactsSealedPayloads: a payload sealed as personal data (a
// JSON string) is redacted whole; a payload in clear keeps its shape.
func TestRetentionRedactsSealedPayloads(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	keys := testdb.MainKeys(t)
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('app', 'https://app.example/')`); err != nil {
		t.Fatal(err)
	}
	sealed := keys.SealJSON("deliveries.payload", []byte(`{"type":"session.succeeded","data":{"outcome":{"personal_code":"1"}}}`))
	for i, p := range [][]byte{sealed, []byte(`{"type":"session.succeeded","data":{"outcome":{"personal_code":"1"}}}`)} {
		if _, err := tdb.Pool.Exec(ctx, `INSERT INTO deliveries (webhook_id, subscriber, event_type, payload, state, created_at)
			VALUES ($1, 'app', 'session.succeeded', $2, 'succeeded', now() - interval '40 days')`, "msg_r"+strconv.Itoa(i), p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := jobs.Retain(ctx, tdb.Pool, jobs.DefaultConfig().Retention, time.Now()); err != nil {
		t.Fatal(err)
	}
	rows, err := tdb.Pool.Query(ctx, `SELECT payload::text FROM deliveries ORDER BY webhook_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != `{"redacted": true}` || got[1] != `{"data": {"outcome": {"redacted": true}}, "type": "session.succeeded"}` {
		t.Errorf("after retention: %q", got)
	}
}

// TestRetryAfterHonouredAfterThrottleWaits: a delivery that waited many
// times for a throttle slot still honours its receiver's Retry-After (the
// throttle's snoozes do not use up the Retry-After allowance).
func TestRetryAfterHonouredAfterThrottleWaits(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	fastSchedule(h, 50*time.Millisecond)
	retried := retryAfterOnce(h)
	ctx := context.Background()
	// The only slot is held for 3 s by a lease of another delivery:
	// the delivery snoozes many times before its first attempt.
	h.exec(t, `UPDATE subscribers SET max_in_flight = 1 WHERE name = 'app'`)
	h.exec(t, `INSERT INTO deliveries (webhook_id, subscriber, event_type, payload, state) VALUES ('msg_holder', 'app', 'session.failed', '{}', 'succeeded')`)
	h.exec(t, `INSERT INTO delivery_leases (delivery_id, subscriber, expires_at)
		SELECT id, 'app', now() + interval '3 seconds' FROM deliveries WHERE webhook_id = 'msg_holder'`)
	h.start(t, nil)
	id := h.insert(t, "marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, 0))
	h.eventFor(t, id, 20*time.Second)
	retried.check(t)
	var snoozes int
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT coalesce((metadata->>'snoozes')::int, 0) FROM river_job WHERE kind = 'pollhook.deliver'`).Scan(&snoozes); err != nil {
		t.Fatal(err)
	}
	if snoozes < 6 {
		t.Errorf("the delivery snoozed %d times; the test needs more than 5 throttle waits to mean anything", snoozes)
	}
}
