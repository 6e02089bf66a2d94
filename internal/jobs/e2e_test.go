package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/event"
	testharness "github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// fortIDFake answers IN_PROGRESS for the first inProgress polls of each id,
// then the terminal body.
type fortIDFake struct {
	inProgress int
	terminal   string
	apiKey     string

	mu    sync.Mutex
	polls map[string]int
}

func (f *fortIDFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/verification-session/status/")
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-API-KEY") != f.apiKey {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.polls[id]++
	n := f.polls[id]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if n <= f.inProgress {
		_, _ = io.WriteString(w, `{"verificationSessionStatus":"IN_PROGRESS"}`)
		return
	}
	_, _ = io.WriteString(w, f.terminal)
}

func (f *fortIDFake) pollsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls[id]
}

// receiverFake is the recording receiver of internal/harness, with the
// view these tests read: every verified webhook in order, a script that
// fails requests, and a count of all requests.
type receiverFake struct {
	*testharness.Receiver
	t *testing.T

	// script, if set before the worker starts, answers request n (from 1)
	// instead of the verifying handler when it returns a non-zero status.
	script func(n int) (status int, header http.Header, delay time.Duration)
	calls  atomic.Int32

	mu       sync.Mutex
	received []received
}

type received struct {
	id    string
	event event.Event
}

func newReceiver(t *testing.T, secret string) *receiverFake {
	rc, err := testharness.NewReceiver(secret)
	if err != nil {
		t.Fatal(err)
	}
	rf := &receiverFake{Receiver: rc, t: t}
	rc.FailWith(func(n int) testharness.Failure {
		if rf.script == nil {
			return testharness.Failure{}
		}
		status, header, delay := rf.script(n)
		return testharness.Failure{Status: status, Header: header, Delay: delay}
	})
	rc.Observe(func(d testharness.Delivery) {
		rf.mu.Lock()
		rf.received = append(rf.received, received{id: d.WebhookID, event: d.Event})
		rf.mu.Unlock()
	})
	return rf
}

func (rf *receiverFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rf.calls.Add(1)
	rf.Receiver.ServeHTTP(w, r)
}

func (rf *receiverFake) waitFor(n int, timeout time.Duration) []received {
	rf.t.Helper()
	if _, err := rf.WaitFor(context.Background(), n, timeout); err != nil {
		rf.t.Fatal(err)
	}
	rf.mu.Lock()
	defer rf.mu.Unlock()
	return append([]received(nil), rf.received...)
}

// Credentials the fake providers accept; tests check they never leak.
const (
	testAPIKey      = "test-api-key-do-not-log"
	testAccessToken = "test-access-token-do-not-log"
)

// harness is a migrated schema, a fake provider, a verifying receiver and a
// subscriber "app" pointing at it.
type harness struct {
	tdb         *testdb.DB
	providerURL string
	receiver    *receiverFake
	receiverURL string
	secret      string
	cfg         jobs.Config
	deps        func(*jobs.Deps)
}

func newFortIDHarness(t *testing.T, fake *fortIDFake) *harness {
	fake.apiKey = testAPIKey
	fake.polls = map[string]int{}
	return newHarness(t, fake)
}

func newHarness(t *testing.T, provider http.Handler) *harness {
	t.Helper()
	tdb := testdb.New(t)
	fsrv := httptest.NewServer(provider)
	t.Cleanup(fsrv.Close)

	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, secret)
	rsrv := httptest.NewServer(rcv)
	t.Cleanup(rsrv.Close)

	ctx := context.Background()
	if err := testharness.AddSubscriber(ctx, tdb.Pool, "app", rsrv.URL+"/hooks", secret); err != nil {
		t.Fatal(err)
	}

	cfg := jobs.DefaultConfig()
	fast := jobs.Backoff{Initial: 20 * time.Millisecond, Multiplier: 1.5, Max: 100 * time.Millisecond}
	for flow, fc := range cfg.Flows {
		fc.Backoff = fast
		cfg.Flows[flow] = fc
	}
	cfg.SweepInterval = 200 * time.Millisecond
	cfg.PollWorkers, cfg.DeliverWorkers = 20, 10
	cfg.FetchPollInterval = 50 * time.Millisecond
	return &harness{tdb: tdb, providerURL: fsrv.URL, receiver: rcv, receiverURL: rsrv.URL, secret: secret, cfg: cfg}
}

// start runs a Service until the test ends (or stop is called).
func (h *harness) start(t *testing.T, logger *slog.Logger) (stop func()) {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	poller, err := upstream.New(upstream.Config{
		FortID:         upstream.ProviderConfig{BaseURL: h.providerURL, Accounts: upstream.Accounts{"default": testAPIKey}},
		Marksign:       upstream.ProviderConfig{BaseURL: h.providerURL, Accounts: upstream.Accounts{"default": testAccessToken}},
		RequestTimeout: 2 * time.Second,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	deps := jobs.Deps{
		Pool:   h.tdb.Pool,
		Schema: h.tdb.Schema,
		Poller: poller,
		Sender: webhook.NewSender(webhook.SenderConfig{Timeout: 5 * time.Second, Guard: webhook.Guard{AllowHTTP: true, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}),
		Logger: logger,
	}
	if h.deps != nil {
		h.deps(&deps)
	}
	svc, err := jobs.NewService(h.cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := svc.Stop(sctx); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (h *harness) insertFortID(t *testing.T, id, appRef string) {
	t.Helper()
	_, err := h.tdb.Pool.Exec(context.Background(), `INSERT INTO sessions (provider, flow, external_id, subscriber, app_ref)
		VALUES ('fortid', 'verification', $1, 'app', $2)`, id, appRef)
	if err != nil {
		t.Fatal(err)
	}
}

func uuidN(n int) string { return fmt.Sprintf("7b0c3a52-1f4e-4d7a-9c3b-%012d", n) }

func TestSQLInsertToVerifiedWebhook(t *testing.T) {
	t.Parallel()
	fake := &fortIDFake{
		inProgress: 2,
		terminal:   `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED","presentedClaims":{"name":"John","age":27}}`,
	}
	h := newFortIDHarness(t, fake)
	h.start(t, nil)
	h.insertFortID(t, uuidN(1), "order-42")

	got := h.receiver.waitFor(1, 20*time.Second)[0]
	if got.event.Type != event.TypeSucceeded {
		t.Fatalf("event type = %s, want %s", got.event.Type, event.TypeSucceeded)
	}
	d := got.event.Data
	if d.ExternalID != uuidN(1) || d.Provider != "fortid" || d.Flow != "verification" || d.AppRef == nil || *d.AppRef != "order-42" || d.State != "succeeded" {
		t.Fatalf("event data = %+v", d)
	}
	if !strings.Contains(string(d.Outcome), `"John"`) {
		t.Fatalf("outcome %s lacks the presented claims", d.Outcome)
	}
	if !strings.HasPrefix(got.id, "msg_") {
		t.Fatalf("webhook-id %q", got.id)
	}
	if n := fake.pollsOf(uuidN(1)); n != 3 {
		t.Fatalf("FortID polled %d times, want 3 (2 in progress + 1 terminal)", n)
	}

	ctx := context.Background()
	var state, webhookID, dstate string
	var attempts int
	waitUntil(t, 10*time.Second, func() bool {
		err := h.tdb.Pool.QueryRow(ctx, `SELECT s.state, d.webhook_id, d.state, d.attempts FROM sessions s JOIN deliveries d ON d.session_id = s.id WHERE s.external_id = $1`, uuidN(1)).
			Scan(&state, &webhookID, &dstate, &attempts)
		return err == nil && dstate == "succeeded"
	})
	if state != "succeeded" || webhookID != got.id || attempts != 1 {
		t.Fatalf("session %s, delivery %s %s attempts %d; want succeeded, %s, 1 attempt", state, webhookID, dstate, attempts, got.id)
	}
}

func TestSweepPicksUpRowsInsertedWhileStopped(t *testing.T) {
	t.Parallel()
	h := newFortIDHarness(t, &fortIDFake{inProgress: 0, terminal: `{"verificationSessionStatus":"VERIFICATION_FAILED","description":"issuer not trusted"}`})
	// Rows inserted before any worker listens: only the sweep can find them.
	for i := range 5 {
		h.insertFortID(t, uuidN(100+i), "")
	}
	h.start(t, nil)
	got := h.receiver.waitFor(5, 20*time.Second)
	for _, r := range got {
		if r.event.Type != event.TypeFailed || r.event.Data.Error != "issuer not trusted" {
			t.Fatalf("event %s %+v, want session.failed with the description", r.event.Type, r.event.Data)
		}
	}
}

func waitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
