package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/receiver"
)

// Delivery is one verified webhook request the Receiver accepted.
type Delivery struct {
	// WebhookID is the webhook-id header.
	WebhookID string
	// Event is the decoded body.
	Event event.Event
	// Body is the body as received.
	Body []byte
	// At is when it arrived.
	At time.Time
}

// Failure is how the Receiver answers a request it was told to fail.
type Failure struct {
	// Status is the HTTP status to answer; zero means do not fail.
	Status int
	// Header is added to the answer (e.g. Retry-After).
	Header http.Header
	// Delay is waited before answering.
	Delay time.Duration
}

// Receiver is a webhook subscriber that verifies every request twice, with
// pollhook's receiver package and with the Standard Webhooks reference
// library (so a bad signature is counted, never recorded), and records each
// verified copy, duplicates included. It is an http.Handler;
// ServeReceiver serves it on a loopback port.
type Receiver struct {
	verifier  *receiver.Verifier
	reference []*standardwebhooks.Webhook

	mu        sync.Mutex
	fail      func(n int) Failure
	observe   func(Delivery)
	requests  int
	all       []Delivery
	bySession map[string][]Delivery
	sessionOf map[string]string // webhook-id -> session id
	conflicts []string
	failed    int
	bad       int
	notify    chan struct{}
}

// NewReceiver returns a Receiver verifying with secrets (whsec_...).
func NewReceiver(secrets ...string) (*Receiver, error) {
	v, err := receiver.New(receiver.Options{Secrets: secrets})
	if err != nil {
		return nil, fmt.Errorf("harness receiver: %w", err)
	}
	var reference []*standardwebhooks.Webhook
	for _, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, fmt.Errorf("harness receiver: reference library: %w", err)
		}
		reference = append(reference, wh)
	}
	return &Receiver{verifier: v, reference: reference, bySession: map[string][]Delivery{}, sessionOf: map[string]string{}, notify: make(chan struct{}, 1)}, nil
}

// ServeReceiver serves a new Receiver for secret on a loopback port until
// t ends and returns it with its hook URL.
func ServeReceiver(t testing.TB, secret string) (*Receiver, string) {
	t.Helper()
	rc, err := NewReceiver(secret)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/hooks"
}

// FailWith makes the Receiver ask fail for every request (n counts them
// from 1) and answer with its Failure instead of accepting when Status is
// not zero. nil accepts every verified request again.
func (rc *Receiver) FailWith(fail func(n int) Failure) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = fail
}

// ServeHTTP verifies and records a webhook request.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.requests++
	n, fail := rc.requests, rc.fail
	rc.mu.Unlock()
	if fail != nil {
		if f := fail(n); f.Status != 0 {
			time.Sleep(f.Delay)
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			rc.mu.Lock()
			rc.failed++
			rc.mu.Unlock()
			http.Error(w, http.StatusText(f.Status), f.Status)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, receiver.DefaultMaxBodyBytes))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	msg, err := rc.verifier.Verify(r.Header, body)
	if err == nil {
		err = rc.verifyReference(r.Header, body)
	}
	var ev event.Event
	if err == nil {
		err = json.Unmarshal(msg.Body, &ev)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil || ev.Data.SessionID == "" {
		rc.bad++
		http.Error(w, "unverified", http.StatusUnauthorized)
		return
	}
	d := Delivery{WebhookID: msg.ID, Event: ev, Body: body, At: time.Now()}
	sid := ev.Data.SessionID
	rc.all = append(rc.all, d)
	rc.bySession[sid] = append(rc.bySession[sid], d)
	if prev, ok := rc.sessionOf[msg.ID]; ok && prev != sid {
		rc.conflicts = append(rc.conflicts, fmt.Sprintf("webhook-id %s for sessions %s and %s", msg.ID, prev, sid))
	}
	rc.sessionOf[msg.ID] = sid
	if rc.observe != nil {
		rc.observe(d)
	}
	select {
	case rc.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// verifyReference checks the signature with the reference library: one of
// the secrets must match.
func (rc *Receiver) verifyReference(header http.Header, body []byte) error {
	var errs []error
	for _, wh := range rc.reference {
		err := wh.Verify(body, header)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("reference library: %w", errors.Join(errs...))
}

// Observe makes the Receiver call f with each verified copy as it records
// it (under its lock: f must not call the Receiver). nil stops.
func (rc *Receiver) Observe(f func(Delivery)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.observe = f
}

// Deliveries returns every verified copy in arrival order.
func (rc *Receiver) Deliveries() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.all...)
}

// Of returns the verified copies for session, in arrival order.
func (rc *Receiver) Of(session string) []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.bySession[session]...)
}

// Sessions returns how many sessions have at least one verified copy.
func (rc *Receiver) Sessions() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bySession)
}

// Conflicts lists every webhook-id seen for two different sessions.
func (rc *Receiver) Conflicts() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.conflicts...)
}

// Counts returns the verified copies, the requests answered with a
// Failure, and the requests that failed verification.
func (rc *Receiver) Counts() (verified, failed, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.all), rc.failed, rc.bad
}

// WaitFor waits until at least n verified copies arrived and returns them;
// it returns an error when ctx ends or timeout passes first.
func (rc *Receiver) WaitFor(ctx context.Context, n int, timeout time.Duration) ([]Delivery, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		rc.mu.Lock()
		if len(rc.all) >= n {
			out := append([]Delivery(nil), rc.all...)
			rc.mu.Unlock()
			return out, nil
		}
		got, bad := len(rc.all), rc.bad
		rc.mu.Unlock()
		select {
		case <-rc.notify:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil, fmt.Errorf("receiver: %d of %d webhooks: %w", got, n, ctx.Err())
		case <-deadline.C:
			return nil, fmt.Errorf("receiver: %d verified webhooks within %s, want %d (%d failed verification)", got, timeout, n, bad)
		}
	}
}

// AddSubscriber inserts the subscriber name pointing at url, with its
// signing secret, as an app would by SQL.
func AddSubscriber(ctx context.Context, pool *pgxpool.Pool, name, url, secret string) error {
	if _, err := pool.Exec(ctx, `WITH s AS (INSERT INTO subscribers (name, url) VALUES ($1, $2) RETURNING name)
		INSERT INTO subscriber_secrets (subscriber, secret) SELECT name, $3 FROM s`, name, url, secret); err != nil {
		return fmt.Errorf("add subscriber %s at %s: %w", name, url, err)
	}
	return nil
}
