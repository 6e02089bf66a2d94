package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/upstream"
)

func newSimHarness(t *testing.T, opts simulator.Options) (*harness, *simulator.Simulator) {
	t.Helper()
	opts.FortIDAPIKey, opts.MarksignAccessToken = testAPIKey, testAccessToken
	sim := simulator.New(opts)
	return newHarness(t, sim), sim
}

// insert registers a session by SQL and returns its id.
func (h *harness) insert(t *testing.T, provider, flow, externalID string, extra ...string) string {
	t.Helper()
	cols, vals := "provider, flow, external_id, subscriber", "$1, $2, $3, 'app'"
	for _, e := range extra {
		col, val, _ := strings.Cut(e, "=")
		cols += ", " + col
		vals += ", " + val
	}
	ctx := context.Background()
	tx, err := h.tdb.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if strings.Contains(cols, "created_at") {
		// A fixture back-dating a registration: apps cannot (migration
		// 00002), pollhook's own writes and fixtures can.
		if _, err := tx.Exec(ctx, `SELECT set_config('pollhook.internal', 'on', true)`); err != nil {
			t.Fatal(err)
		}
	}
	var id string
	if err := tx.QueryRow(ctx,
		`INSERT INTO sessions (`+cols+`) VALUES (`+vals+`) RETURNING id::text`, provider, flow, externalID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

type sessionRow struct {
	State, Error string
	Polls        int
}

func (h *harness) session(t *testing.T, id string) sessionRow {
	t.Helper()
	var r sessionRow
	var meta []byte
	err := h.tdb.Pool.QueryRow(context.Background(), `SELECT s.state, coalesce(s.error, ''), coalesce(j.metadata, '{}')
		FROM sessions s LEFT JOIN river_job j ON j.id = s.poll_job_id WHERE s.id = $1`, id).Scan(&r.State, &r.Error, &meta)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		P struct {
			Polls int `json:"polls"`
		} `json:"pollhook"`
	}
	_ = json.Unmarshal(meta, &m)
	r.Polls = m.P.Polls
	return r
}

// eventFor waits for the webhook of session id.
func (h *harness) eventFor(t *testing.T, id string, timeout time.Duration) received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		h.receiver.mu.Lock()
		for _, r := range h.receiver.received {
			if r.event.Data.SessionID == id {
				h.receiver.mu.Unlock()
				return r
			}
		}
		h.receiver.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no webhook for session %s within %s (session %+v)", id, timeout, h.session(t, id))
	return received{}
}

func TestTerminalPathsEndToEnd(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	h.start(t, nil)

	tests := []struct {
		provider, flow string
		outcome        simulator.Outcome
		want           event.Type
		wantError      string
	}{
		{"marksign", "smartid_identification", simulator.OutcomeSucceeded, event.TypeSucceeded, ""},
		{"marksign", "smartid_signing", simulator.OutcomeSucceeded, event.TypeSucceeded, ""},
		{"marksign", "smartid_hash_signing", simulator.OutcomeRefused, event.TypeRefused, "40020"},
		{"marksign", "mobileid_identification", simulator.OutcomeFailed, event.TypeFailed, "40401"},
		{"marksign", "mobileid_signing", simulator.OutcomeExpired, event.TypeExpired, "40021"},
		{"marksign", "mobileid_hash_signing", simulator.OutcomeNotFound, event.TypeNotFound, "40402"},
		{"marksign", "smartid_identification", simulator.OutcomeRejected, event.TypeRejected, "40001"},
		{"marksign", "smartid_identification", simulator.OutcomeFlaky, event.TypeSucceeded, ""},
		{"marksign", "mobileid_identification", simulator.OutcomeUnknownStatus, event.TypeSucceeded, ""},
		{"fortid", "verification", simulator.OutcomeSucceeded, event.TypeSucceeded, ""},
		{"fortid", "verification", simulator.OutcomeFailed, event.TypeFailed, ""},
		{"fortid", "verification", simulator.OutcomeExpired, event.TypeExpired, "expired"},
		{"fortid", "verification", simulator.OutcomeRejected, event.TypeRejected, ""},
		{"fortid", "verification", simulator.OutcomeFlaky, event.TypeSucceeded, ""},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ext := simulator.MarksignToken(tt.outcome, 1)
		if tt.provider == "fortid" {
			ext = simulator.FortIDSessionID(tt.outcome, 1)
		}
		ids[i] = h.insert(t, tt.provider, tt.flow, ext)
		_ = sim
	}
	for i, tt := range tests {
		got := h.eventFor(t, ids[i], 30*time.Second)
		if got.event.Type != tt.want || got.event.Data.Flow != tt.flow || !strings.Contains(got.event.Data.Error, tt.wantError) {
			t.Errorf("%s %s: event %s error %q, want %s with %q", tt.flow, tt.outcome, got.event.Type, got.event.Data.Error, tt.want, tt.wantError)
		}
		if tt.want == event.TypeSucceeded && len(got.event.Data.Outcome) < 10 {
			t.Errorf("%s %s: succeeded without an outcome: %s", tt.flow, tt.outcome, got.event.Data.Outcome)
		}
	}
}

func TestSQLDuplicateRegistrationConcurrently(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 1)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.tdb.Pool.Exec(context.Background(), `INSERT INTO sessions (provider, flow, external_id, subscriber)
				VALUES ('marksign', 'smartid_identification', $1, 'app') ON CONFLICT (provider, external_id) DO NOTHING`, token)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	h.start(t, nil)
	h.receiver.waitFor(1, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a wrong second webhook
	var sessions, jobsN, deliveries int
	if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM river_job WHERE kind = 'pollhook.poll'), (SELECT count(*) FROM deliveries)`).
		Scan(&sessions, &jobsN, &deliveries); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || jobsN != 1 || deliveries != 1 || len(h.receiver.received) != 1 {
		t.Fatalf("sessions=%d poll jobs=%d deliveries=%d webhooks=%d, want 1 each", sessions, jobsN, deliveries, len(h.receiver.received))
	}
	if n := sim.Polls(token); n != 2 {
		t.Fatalf("provider polled %d times, want 2", n)
	}
}

func TestRestartResumesTheBackoffSequence(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	b := jobs.Backoff{Initial: 40 * time.Millisecond, Multiplier: 2, Max: 2 * time.Second}
	for flow, fc := range h.cfg.Flows {
		fc.Backoff = b
		h.cfg.Flows[flow] = fc
	}
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 999)
	id := h.insert(t, "marksign", "smartid_identification", token)

	stop := h.start(t, nil)
	waitUntil(t, 20*time.Second, func() bool { return sim.Polls(token) >= 4 })
	stop()
	before := h.progress(t, id)

	h.start(t, nil)
	waitUntil(t, 20*time.Second, func() bool { return h.progress(t, id).Polls >= before.Polls+1 })
	after := h.progress(t, id)
	// The interval after poll n is Initial*2^(n-1): a restarted worker goes
	// on from n rather than from the first interval, or from the step the
	// session's age gives if the restart made the poll late. next_poll_at
	// is set when the poll returns, so the gap also holds the poll's own
	// duration.
	var registered time.Time
	if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT created_at FROM sessions WHERE id = $1`, id).Scan(&registered); err != nil {
		t.Fatal(err)
	}
	want := b.Interval(max(after.Polls-1, b.StepsWithin(after.LastPolledAt.Sub(registered))))
	got := after.NextPollAt.Sub(after.LastPolledAt)
	if got < want || got > want+250*time.Millisecond {
		t.Fatalf("after restart at poll %d the wait is %s, want %s; before restart: poll %d", after.Polls, got, want, before.Polls)
	}
	if want <= b.Initial {
		t.Fatalf("test did not reach a grown interval (polls %d)", after.Polls)
	}
}

type progress struct {
	Polls        int       `json:"polls"`
	LastPolledAt time.Time `json:"last_polled_at"`
	NextPollAt   time.Time `json:"next_poll_at"`
	LastResult   string    `json:"last_result"`
	LastError    string    `json:"last_error"`
}

func (h *harness) progress(t *testing.T, sessionID string) progress {
	t.Helper()
	var (
		meta        []byte
		scheduled   *time.Time
		attemptedAt *time.Time
	)
	if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT coalesce(j.metadata, '{}'), j.scheduled_at, j.attempted_at FROM sessions s
		LEFT JOIN river_job j ON j.id = s.poll_job_id WHERE s.id = $1`, sessionID).Scan(&meta, &scheduled, &attemptedAt); err != nil {
		t.Fatal(err)
	}
	// The progress as pollhook reads it: polls since the last write are
	// derived from River's snooze count, the times from the job's columns.
	row := &rivertype.JobRow{Metadata: meta, AttemptedAt: attemptedAt}
	if scheduled != nil {
		row.ScheduledAt = *scheduled
	}
	p := jobs.ProgressFromJob(row)
	return progress{Polls: p.Polls, LastPolledAt: p.LastPolledAt, NextPollAt: p.NextPollAt, LastResult: p.LastResult, LastError: p.LastError}
}

func TestDeadlineEndsASessionThatNeverFinishes(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	h.start(t, nil)
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 999)
	deadline := time.Now().Add(1500 * time.Millisecond)
	id := h.insert(t, "marksign", "mobileid_signing", token, fmt.Sprintf("deadline='%s'", deadline.Format(time.RFC3339Nano)))

	got := h.eventFor(t, id, 20*time.Second)
	if got.event.Type != event.TypeExpired || !strings.Contains(got.event.Data.Error, "deadline") {
		t.Fatalf("event %s %q, want session.expired at the deadline", got.event.Type, got.event.Data.Error)
	}
	if got.event.Data.FinishedAt.Before(deadline.Add(-10 * time.Millisecond)) {
		t.Fatalf("ended at %s, before its deadline %s", got.event.Data.FinishedAt, deadline)
	}
	if since, terminal := sim.TerminalSince(token); terminal {
		t.Fatalf("provider answered terminal at %s: the scenario should never end", since)
	}
	polls := sim.Polls(token)
	time.Sleep(300 * time.Millisecond)
	if sim.Polls(token) != polls || polls < 2 {
		t.Fatalf("polls went from %d to %d after the deadline (want ≥2 and no more)", polls, sim.Polls(token))
	}
}

func TestFortIDTimeoutRules(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	h.cfg.FortIDTimeout = 2 * time.Second
	h.cfg.FortIDGrace = 5 * time.Second
	h.start(t, nil)

	// 410: expired at once, whatever the window.
	gone := simulator.FortIDSessionID(simulator.OutcomeExpired, 0)
	goneID := h.insert(t, "fortid", "verification", gone)
	// 404 after the session's timeout: FortID removed an expired session.
	late := simulator.FortIDSessionID(simulator.OutcomeNotFound, 0)
	lateID := h.insert(t, "fortid", "verification", late, "created_at=now() - interval '3 seconds'")
	// 404 within the window: the session never existed.
	early := simulator.FortIDSessionID(simulator.OutcomeNotFound, 0)
	earlyID := h.insert(t, "fortid", "verification", early)

	for _, tt := range []struct {
		id, ext string
		want    event.Type
	}{{goneID, gone, event.TypeExpired}, {lateID, late, event.TypeExpired}, {earlyID, early, event.TypeNotFound}} {
		got := h.eventFor(t, tt.id, 20*time.Second)
		if got.event.Type != tt.want {
			t.Errorf("session %s: %s (%q), want %s", tt.ext, got.event.Type, got.event.Data.Error, tt.want)
		}
		if n := sim.Polls(tt.ext); n != 1 {
			t.Errorf("session %s polled %d times, want 1: the first answer is terminal", tt.ext, n)
		}
	}
}

func TestCancelStopsPollingWithoutCallingTheProvider(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	b := jobs.Backoff{Initial: 300 * time.Millisecond, Multiplier: 1, Max: 300 * time.Millisecond}
	fc := h.cfg.Flows["smartid_signing"]
	fc.Backoff = b
	h.cfg.Flows["smartid_signing"] = fc
	h.start(t, nil)
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 999)
	id := h.insert(t, "marksign", "smartid_signing", token)
	waitUntil(t, 10*time.Second, func() bool { return sim.Polls(token) >= 1 })
	if _, err := h.tdb.Pool.Exec(context.Background(), `UPDATE sessions SET cancel_requested_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	polls := sim.Polls(token)
	got := h.eventFor(t, id, 10*time.Second)
	if got.event.Type != event.TypeCancelled {
		t.Fatalf("event %s, want session.cancelled", got.event.Type)
	}
	if sim.Polls(token) > polls+1 {
		t.Fatalf("provider polled %d times after the cancel", sim.Polls(token)-polls)
	}
	if s := h.session(t, id); s.State != string(jobs.StateCancelled) {
		t.Fatalf("state %s, want cancelled", s.State)
	}
}

func TestCredentialsFailureBacksOffAndFailsAtTheDeadline(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	h.cfg.CredentialsBackoff = 400 * time.Millisecond
	var logs cmdtest.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 0)
	id := h.insert(t, "marksign", "smartid_identification", token, "account='revoked'",
		fmt.Sprintf("deadline='%s'", time.Now().Add(2*time.Second).Format(time.RFC3339Nano)))
	// The "revoked" account's token is wrong: the simulator answers 40003.
	h.deps = func(d *jobs.Deps) { d.Poller = revokedAccountPoller(t, h.providerURL, logger) }
	h.start(t, logger)

	got := h.eventFor(t, id, 20*time.Second)
	if got.event.Type != event.TypeFailed || !strings.Contains(got.event.Data.Error, `account "revoked"`) {
		t.Fatalf("event %s %q, want session.failed naming the account", got.event.Type, got.event.Data.Error)
	}
	// 2 s at one poll per 400 ms: a handful of polls, not a hammering.
	if n := sim.Polls(token); n < 2 || n > 7 {
		t.Fatalf("polled %d times in 2 s with a 400 ms credentials backoff", n)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"provider refused credentials`) || !strings.Contains(logs.String(), `"account":"revoked"`) {
		t.Fatalf("no error log naming the account:\n%s", logs.String())
	}
	for _, secret := range []string{testAccessToken, "wrong-token-do-not-log"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("logs contain a credential %q", secret)
		}
	}
}

func TestFiveThousandSessionsFromOneStatement(t *testing.T) {
	t.Parallel()
	h, _ := newSimHarness(t, simulator.Options{})
	h.cfg.PollWorkers, h.cfg.DeliverWorkers = 50, 50
	h.start(t, nil)
	const n = 5000
	start := time.Now()
	if _, err := h.tdb.Pool.Exec(context.Background(), `INSERT INTO sessions (provider, flow, external_id, subscriber, app_ref)
		SELECT 'marksign', 'smartid_identification', 'sim-succeeded-1-' || i, 'app', 'bulk-' || i FROM generate_series(1, $1) AS i`, n); err != nil {
		t.Fatal(err)
	}
	h.receiver.waitFor(n, 3*time.Minute)
	var terminal, delivered, hooks int
	if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM sessions WHERE state = 'succeeded'),
		(SELECT count(*) FROM deliveries WHERE state = 'succeeded'),
		(SELECT count(DISTINCT webhook_id) FROM deliveries)`).Scan(&terminal, &delivered, &hooks); err != nil {
		t.Fatal(err)
	}
	if terminal != n || hooks != n {
		t.Fatalf("succeeded sessions %d, deliveries %d, want %d", terminal, hooks, n)
	}
	seen := map[string]bool{}
	h.receiver.mu.Lock()
	for _, r := range h.receiver.received {
		seen[r.event.Data.SessionID] = true
	}
	h.receiver.mu.Unlock()
	if len(seen) != n {
		t.Fatalf("webhooks for %d distinct sessions, want %d", len(seen), n)
	}
	t.Logf("5000 sessions: registered, polled twice each and delivered in %s", time.Since(start).Round(time.Millisecond))
}

// revokedAccountPoller polls with an extra Marksign account "revoked" whose
// token the simulator refuses.
func revokedAccountPoller(t *testing.T, url string, logger *slog.Logger) *upstream.Client {
	t.Helper()
	c, err := upstream.New(upstream.Config{
		Marksign: upstream.ProviderConfig{BaseURL: url, Accounts: upstream.Accounts{"default": testAccessToken, "revoked": "wrong-token-do-not-log"}},
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUnconfiguredAccountFailsAtTheDeadlineWithoutCallingTheProvider(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	h.cfg.CredentialsBackoff = 300 * time.Millisecond
	h.start(t, nil)
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 0)
	id := h.insert(t, "marksign", "smartid_signing", token, "account='nobody'",
		fmt.Sprintf("deadline='%s'", time.Now().Add(time.Second).Format(time.RFC3339Nano)))
	got := h.eventFor(t, id, 20*time.Second)
	if got.event.Type != event.TypeFailed || !strings.Contains(got.event.Data.Error, `"nobody"`) {
		t.Fatalf("event %s %q, want session.failed naming the unconfigured account", got.event.Type, got.event.Data.Error)
	}
	if n := sim.Polls(token); n != 0 {
		t.Fatalf("the provider was called %d times with an account the worker does not have", n)
	}
}

// TestInProgressPollsWriteNoProgress checks the floor's shape of a poll:
// plain in-progress answers write no metadata of pollhook's (River's own
// snooze update remains), every job run is one poll, and the poll count
// read back still matches the provider's.
func TestInProgressPollsWriteNoProgress(t *testing.T) {
	t.Parallel()
	h, sim := newSimHarness(t, simulator.Options{})
	for flow, fc := range h.cfg.Flows {
		fc.Backoff = jobs.Backoff{Initial: 20 * time.Millisecond, Multiplier: 1, Max: 20 * time.Millisecond}
		h.cfg.Flows[flow] = fc
	}
	token := simulator.MarksignToken(simulator.OutcomeSucceeded, 999)
	id := h.insert(t, "marksign", "smartid_identification", token)
	h.start(t, nil)
	waitUntil(t, 20*time.Second, func() bool { return sim.Polls(token) >= 8 })
	before := sim.Polls(token)
	var meta []byte
	if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT j.metadata FROM sessions s JOIN river_job j ON j.id = s.poll_job_id
		WHERE s.id = $1`, id).Scan(&meta); err != nil {
		t.Fatal(err)
	}
	var m struct {
		P       jobs.PollProgress `json:"pollhook"`
		Snoozes int               `json:"snoozes"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		t.Fatal(err)
	}
	if m.P != (jobs.PollProgress{}) {
		t.Errorf("progress written for plain in-progress polls: %s", meta)
	}
	derived := h.progress(t, id).Polls
	after := sim.Polls(token)
	// Polls go on meanwhile; a job may be between its call and its snooze.
	if m.Snoozes < before-1 || m.Snoozes > after {
		t.Errorf("River counted %d snoozes while the provider counted %d to %d polls, want one run per poll", m.Snoozes, before, after)
	}
	if derived < m.Snoozes || derived > after {
		t.Errorf("derived polls %d, want between %d and %d", derived, m.Snoozes, after)
	}
}
