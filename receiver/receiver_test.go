package receiver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/receiver"
)

func newSecret(t testing.TB) string {
	t.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const body = `{"type":"session.succeeded","timestamp":"2025-01-02T03:04:05Z","data":{"session_id":"abc"}}`

// signed builds a request as pollhook's Sender does.
func signed(t testing.TB, id string, ts time.Time, payload string, secrets ...string) *http.Request {
	t.Helper()
	sig, err := webhook.Sign(id, ts, []byte(payload), secrets)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(payload))
	r.Header.Set("content-type", "application/json")
	r.Header.Set(receiver.HeaderID, id)
	r.Header.Set(receiver.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set(receiver.HeaderSignature, sig)
	return r
}

// handler records what reaches it.
type handler struct {
	calls  atomic.Int32
	status int
	last   receiver.Message
	body   string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	m, ok := receiver.MessageFrom(r.Context())
	if !ok {
		http.Error(w, "no message in context", http.StatusInternalServerError)
		return
	}
	b, _ := io.ReadAll(r.Body)
	h.last, h.body = m, string(b)
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func mustNew(t testing.TB, opts receiver.Options) *receiver.Verifier {
	t.Helper()
	v, err := receiver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	secret, other := newSecret(t), newSecret(t)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	id := webhook.NewMessageID()

	tests := []struct {
		name     string
		req      func() *http.Request
		status   int
		text     string // response substring
		reachesH bool
	}{
		{"valid", func() *http.Request { return signed(t, id, now, body, secret) }, 200, "", true},
		{"valid, signed with several", func() *http.Request { return signed(t, id, now, body, other, secret) }, 200, "", true},
		{"valid at the tolerance's edge, past", func() *http.Request { return signed(t, id, now.Add(-5*time.Minute), body, secret) }, 200, "", true},
		{"valid at the tolerance's edge, future", func() *http.Request { return signed(t, id, now.Add(5*time.Minute), body, secret) }, 200, "", true},
		{"bad signature", func() *http.Request { return signed(t, id, now, body, other) }, 401, "no signature matches", false},
		{"tampered body", func() *http.Request {
			r := signed(t, id, now, body, secret)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "abc", "abd", 1)))
			return r
		}, 401, "no signature matches", false},
		{"tampered id", func() *http.Request {
			r := signed(t, id, now, body, secret)
			r.Header.Set(receiver.HeaderID, id+"x")
			return r
		}, 401, "no signature matches", false},
		{"stale timestamp", func() *http.Request { return signed(t, id, now.Add(-5*time.Minute-time.Second), body, secret) }, 401, "too old", false},
		{"future timestamp", func() *http.Request { return signed(t, id, now.Add(5*time.Minute+time.Second), body, secret) }, 401, "too far in the future", false},
		{"missing signature", func() *http.Request {
			r := signed(t, id, now, body, secret)
			r.Header.Del(receiver.HeaderSignature)
			return r
		}, 400, "missing", false},
		{"missing id", func() *http.Request {
			r := signed(t, id, now, body, secret)
			r.Header.Del(receiver.HeaderID)
			return r
		}, 400, "missing", false},
		{"malformed timestamp", func() *http.Request {
			r := signed(t, id, now, body, secret)
			r.Header.Set(receiver.HeaderTimestamp, "2025-06-01T12:00:00Z")
			return r
		}, 400, "malformed", false},
		{"v1a only", func() *http.Request {
			r := signed(t, id, now, body, secret)
			r.Header.Set(receiver.HeaderSignature, strings.Replace(r.Header.Get(receiver.HeaderSignature), "v1,", "v1a,", 1))
			return r
		}, 401, "no signature matches", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &handler{}
			// A fresh store per case: dedupe is tested on its own.
			v := mustNew(t, receiver.Options{Secrets: []string{secret}, Now: clock})
			w := serve(v.Middleware(h), tt.req())
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.text) {
				t.Errorf("status %d %q, want %d containing %q", w.Code, w.Body.String(), tt.status, tt.text)
			}
			if reached := h.calls.Load() == 1; reached != tt.reachesH {
				t.Errorf("handler reached: %t, want %t", reached, tt.reachesH)
			}
			if tt.reachesH && (h.last.ID != id || h.body != body || string(h.last.Body) != body) {
				t.Errorf("handler saw id %q body %q, want %q and the signed body", h.last.ID, h.body, id)
			}
		})
	}
}

func TestMiddlewareDedupe(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	h := &handler{}
	v := mustNew(t, receiver.Options{Secrets: []string{secret}})
	mw := v.Middleware(h)
	id := webhook.NewMessageID()

	// A failing handler does not mark the id processed: the retry gets in.
	h.status = http.StatusInternalServerError
	if w := serve(mw, signed(t, id, time.Now(), body, secret)); w.Code != 500 {
		t.Fatalf("first delivery: %d", w.Code)
	}
	h.status = 0
	if w := serve(mw, signed(t, id, time.Now(), body, secret)); w.Code != 200 {
		t.Fatalf("retry: %d", w.Code)
	}
	// Now it is processed: a later duplicate, with a fresh timestamp as
	// pollhook's retries have, is answered without the handler.
	w := serve(mw, signed(t, id, time.Now().Add(time.Second), body, secret))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "duplicate") {
		t.Errorf("duplicate: %d %q, want 200 duplicate", w.Code, w.Body.String())
	}
	if n := h.calls.Load(); n != 2 {
		t.Errorf("handler called %d times, want 2", n)
	}
	// A forged duplicate is refused before the store is asked.
	if w := serve(mw, signed(t, id, time.Now(), body, newSecret(t))); w.Code != 401 {
		t.Errorf("forged duplicate: %d, want 401", w.Code)
	}
	// Another id goes through.
	if w := serve(mw, signed(t, webhook.NewMessageID(), time.Now(), body, secret)); w.Code != 200 || h.calls.Load() != 3 {
		t.Errorf("new id: %d, handler calls %d", w.Code, h.calls.Load())
	}
}

// failingStore fails every call.
type failingStore struct{}

func (failingStore) Seen(context.Context, string) (bool, error) { return false, errors.New("down") }
func (failingStore) Remember(context.Context, string) error     { return errors.New("down") }

func TestMiddlewareStoreDown(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	h := &handler{}
	v := mustNew(t, receiver.Options{Secrets: []string{secret}, Store: failingStore{}})
	w := serve(v.Middleware(h), signed(t, webhook.NewMessageID(), time.Now(), body, secret))
	if w.Code != http.StatusServiceUnavailable || h.calls.Load() != 0 {
		t.Errorf("store down: %d, handler calls %d; want 503 and none", w.Code, h.calls.Load())
	}
}

func TestMiddlewareBodyLimit(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	h := &handler{}
	v := mustNew(t, receiver.Options{Secrets: []string{secret}, MaxBodyBytes: 64})
	big := `{"data":"` + strings.Repeat("x", 100) + `"}`
	if w := serve(v.Middleware(h), signed(t, webhook.NewMessageID(), time.Now(), big, secret)); w.Code != http.StatusRequestEntityTooLarge || h.calls.Load() != 0 {
		t.Errorf("large body: %d, want 413", w.Code)
	}
}

// TestRotation: pollhook signs with the old and new secret during the
// overlap; receivers holding either, or both, accept.
func TestRotation(t *testing.T) {
	t.Parallel()
	oldSecret, newS := newSecret(t), newSecret(t)
	ts := time.Now()
	id := webhook.NewMessageID()
	sig, err := webhook.Sign(id, ts, []byte(body), []string{newS, oldSecret})
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	header.Set(receiver.HeaderID, id)
	header.Set(receiver.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	header.Set(receiver.HeaderSignature, sig)

	tests := []struct {
		name    string
		secrets []string
		ok      bool
	}{
		{"old only", []string{oldSecret}, true},
		{"new only", []string{newS}, true},
		{"both", []string{oldSecret, newS}, true},
		{"unrelated", []string{newSecret(t)}, false},
	}
	for _, tt := range tests {
		v := mustNew(t, receiver.Options{Secrets: tt.secrets})
		m, err := v.Verify(header, []byte(body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify = %v, want ok=%t", tt.name, err, tt.ok)
		}
		if tt.ok && (m.ID != id || m.Timestamp.Unix() != ts.Unix() || string(m.Body) != body) {
			t.Errorf("%s: Verify = %+v", tt.name, m)
		}
		if !tt.ok && !errors.Is(err, receiver.ErrNoMatchingSignature) {
			t.Errorf("%s: Verify error %v, want ErrNoMatchingSignature", tt.name, err)
		}
	}
}

// TestVerifyReference: what the reference library signs, Verify accepts.
func TestVerifyReference(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now()
	sig, err := wh.Sign("msg_ref", ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	header.Set(receiver.HeaderID, "msg_ref")
	header.Set(receiver.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	header.Set(receiver.HeaderSignature, sig)
	if _, err := mustNew(t, receiver.Options{Secrets: []string{secret}}).Verify(header, []byte(body)); err != nil {
		t.Errorf("Verify of a reference signature: %v", err)
	}
}

func TestVerifyTolerance(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	now := time.Now()
	v := mustNew(t, receiver.Options{Secrets: []string{secret}, Tolerance: time.Hour, Now: func() time.Time { return now }})
	for _, tt := range []struct {
		offset time.Duration
		err    error
	}{
		{-59 * time.Minute, nil},
		{59 * time.Minute, nil},
		{-61 * time.Minute, receiver.ErrTooOld},
		{61 * time.Minute, receiver.ErrTooNew},
	} {
		r := signed(t, "msg_1", now.Add(tt.offset), body, secret)
		if _, err := v.Verify(r.Header, []byte(body)); !errors.Is(err, tt.err) {
			t.Errorf("offset %s: Verify = %v, want %v", tt.offset, err, tt.err)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	short := "whsec_c2hvcnQtc2VjcmV0LWtleQ==" // "short-secret-key", 16 bytes
	tests := []struct {
		name    string
		secrets []string
		want    string
	}{
		{"none", nil, "no secret"},
		{"no prefix", []string{"c2hvcnQtc2VjcmV0LWtleQ=="}, "secret 1 of 1: secret does not start with whsec_"},
		{"short", []string{newSecret(t), short}, "secret 2 of 2: secret decodes to 16 bytes"},
		{"not base64", []string{"whsec_***"}, "not valid base64"},
	}
	for _, tt := range tests {
		_, err := receiver.New(receiver.Options{Secrets: tt.secrets})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, want error containing %q", tt.name, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("%s: error %q reveals the secret", tt.name, err)
		}
	}
}
