package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// loopbackGuard lets tests reach httptest servers.
func loopbackGuard() Guard {
	return Guard{AllowHTTP: true, AllowCIDRs: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	}}
}

func testMessage(t testing.TB, url string, secrets ...string) Message {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []string{mustSecret(t)}
	}
	return Message{
		ID:        NewMessageID(),
		Timestamp: time.Now(),
		Body:      []byte(`{"type":"session.succeeded","timestamp":"2025-01-02T03:04:05Z","data":{"session_id":"x"}}`),
		Secrets:   secrets,
		URL:       url,
	}
}

// request is what a test receiver saw.
type request struct {
	header http.Header
	body   []byte
}

// recorder starts an httptest server that keeps every request and then
// answers with handler.
func recorder(t *testing.T, handler http.HandlerFunc) (*httptest.Server, func() []request) {
	t.Helper()
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{header: r.Header.Clone(), body: body})
		mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), got...)
	}
}

func TestSenderSuccessVerifiesWithReference(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret := mustSecret(t), mustSecret(t)
	srv, requests := recorder(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	s := NewSender(SenderConfig{Guard: loopbackGuard(), UserAgent: "pollhook/test"})
	m := testMessage(t, srv.URL+"/hook?x=1", newSecret, oldSecret)
	a := s.Send(context.Background(), m)
	if !a.Succeeded() || a.Err != nil || a.StatusCode != http.StatusNoContent || a.ErrorString() != "" || a.Gone() {
		t.Fatalf("Send = %+v (%s), want 204 success", a, a.ErrorString())
	}
	if a.Duration <= 0 || a.StartedAt.IsZero() {
		t.Errorf("Send timing = %s from %s, want both set", a.Duration, a.StartedAt)
	}
	reqs := requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	for name, want := range map[string]string{
		"content-type":      "application/json",
		"user-agent":        "pollhook/test",
		"webhook-id":        m.ID,
		"webhook-timestamp": strconv.FormatInt(m.Timestamp.Unix(), 10),
	} {
		if v := got.header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if sig := got.header.Get("webhook-signature"); len(strings.Fields(sig)) != 2 {
		t.Errorf("webhook-signature = %q, want two signatures", sig)
	}
	if string(got.body) != string(m.Body) {
		t.Errorf("body = %s, want %s", got.body, m.Body)
	}
	// A receiver holding either secret accepts the message with the
	// reference library's Verify; one holding another secret does not.
	for i, secret := range []string{oldSecret, newSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(got.body, got.header); err != nil {
			t.Errorf("reference Verify with secret %d: %v", i, err)
		}
	}
	other, err := standardwebhooks.NewWebhook(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Verify(got.body, got.header); err == nil {
		t.Error("reference Verify accepted the message with an unrelated secret")
	}
}

func TestSenderResponses(t *testing.T) {
	t.Parallel()
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		succeeded  bool
		gone       bool
		errString  string
		retryAfter [2]time.Duration // bounds
	}{
		{"200 with body", 200, nil, "thanks", true, false, "", [2]time.Duration{}},
		{"202", 202, nil, "", true, false, "", [2]time.Duration{}},
		{"500", 500, map[string]string{"retry-after": "30"}, "boom", false, false, "HTTP 500", [2]time.Duration{}},
		{"429 seconds", 429, map[string]string{"retry-after": "120"}, "", false, false, "HTTP 429", [2]time.Duration{120 * time.Second, 120 * time.Second}},
		{"503 date", 503, map[string]string{"retry-after": httpDate}, "", false, false, "HTTP 503", [2]time.Duration{80 * time.Second, 90 * time.Second}},
		{"429 garbage", 429, map[string]string{"retry-after": "soon"}, "", false, false, "HTTP 429", [2]time.Duration{}},
		{"410 gone", 410, nil, "go away", false, true, "HTTP 410", [2]time.Duration{}},
		{"400", 400, nil, "", false, false, "HTTP 400", [2]time.Duration{}},
		{"304", 304, nil, "", false, false, "HTTP 304 (redirects are not followed)", [2]time.Duration{}},
	}
	s := NewSender(SenderConfig{Guard: loopbackGuard()})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, requests := recorder(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			a := s.Send(context.Background(), testMessage(t, srv.URL))
			if a.Err != nil {
				t.Fatalf("Send error: %v", a.Err)
			}
			if a.StatusCode != tt.status || a.Succeeded() != tt.succeeded || a.Gone() != tt.gone {
				t.Errorf("Send = status %d succeeded %t gone %t, want %d %t %t", a.StatusCode, a.Succeeded(), a.Gone(), tt.status, tt.succeeded, tt.gone)
			}
			if got := a.ErrorString(); got != tt.errString {
				t.Errorf("ErrorString = %q, want %q", got, tt.errString)
			}
			if string(a.ResponseBody) != tt.body {
				t.Errorf("ResponseBody = %q, want %q", a.ResponseBody, tt.body)
			}
			if a.RetryAfter < tt.retryAfter[0] || a.RetryAfter > tt.retryAfter[1] {
				t.Errorf("RetryAfter = %s, want within [%s, %s]", a.RetryAfter, tt.retryAfter[0], tt.retryAfter[1])
			}
			if n := len(requests()); n != 1 {
				t.Errorf("receiver got %d requests, want 1", n)
			}
		})
	}
}

func TestSenderRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	target, targetRequests := recorder(t, func(w http.ResponseWriter, _ *http.Request) {})
	for _, status := range []int{301, 302, 307, 308} {
		src, _ := recorder(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/elsewhere", status)
		})
		a := NewSender(SenderConfig{Guard: loopbackGuard()}).Send(context.Background(), testMessage(t, src.URL))
		if a.Succeeded() || a.StatusCode != status || a.Err != nil {
			t.Errorf("%d: Send = %d, %v; want the redirect itself as a failure", status, a.StatusCode, a.Err)
		}
		if want := "HTTP " + strconv.Itoa(status) + " (redirects are not followed)"; a.ErrorString() != want {
			t.Errorf("%d: ErrorString = %q, want %q", status, a.ErrorString(), want)
		}
	}
	if n := len(targetRequests()); n != 0 {
		t.Errorf("redirect target got %d requests, want none", n)
	}
}

func TestSenderTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := recorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s := NewSender(SenderConfig{Guard: loopbackGuard(), Timeout: 150 * time.Millisecond})
	a := s.Send(context.Background(), testMessage(t, srv.URL))
	if a.Err == nil || a.StatusCode != 0 || a.Succeeded() {
		t.Fatalf("Send = %d, %v; want a timeout error", a.StatusCode, a.Err)
	}
	var nerr net.Error
	if !errors.As(a.Err, &nerr) || !nerr.Timeout() {
		t.Errorf("Send error %v is not a timeout", a.Err)
	}
	if a.Duration < 150*time.Millisecond || a.Duration > 5*time.Second {
		t.Errorf("Duration = %s, want about the 150ms timeout", a.Duration)
	}
	if s := a.ErrorString(); !strings.Contains(s, "Client.Timeout exceeded") || strings.Contains(s, srv.URL) {
		t.Errorf("ErrorString = %q, want the timeout without the URL", s)
	}
}

func TestSenderContextCancelled(t *testing.T) {
	t.Parallel()
	srv, _ := recorder(t, func(w http.ResponseWriter, _ *http.Request) {})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := NewSender(SenderConfig{Guard: loopbackGuard()}).Send(ctx, testMessage(t, srv.URL))
	if !errors.Is(a.Err, context.Canceled) {
		t.Errorf("Send with cancelled context = %v, want context.Canceled", a.Err)
	}
}

func TestSenderRefused(t *testing.T) {
	t.Parallel()
	srv, requests := recorder(t, func(w http.ResponseWriter, _ *http.Request) {})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	tests := []struct {
		name  string
		guard Guard
		url   string
		want  string
	}{
		{"loopback address", Guard{AllowHTTP: true}, srv.URL, "webhook: target 127.0.0.1 refused: loopback address (allow it with POLLHOOK_WEBHOOK_ALLOW_CIDRS)"},
		{"localhost by name", Guard{AllowHTTP: true}, "http://localhost:" + port, "webhook: target localhost ("},
		{"plain http", loopbackGuard(), "https://127.0.0.1:" + port, ""}, // https to an http server: fails, but not refused
		{"http without AllowHTTP", Guard{AllowCIDRs: loopbackGuard().AllowCIDRs}, srv.URL, "webhook: target " + srv.URL + " refused: scheme http is not https"},
		{"credentials", loopbackGuard(), "http://u:p@127.0.0.1:" + port, "refused: URL carries credentials"},
	}
	for _, tt := range tests {
		a := NewSender(SenderConfig{Guard: tt.guard}).Send(context.Background(), testMessage(t, tt.url))
		if a.Err == nil {
			t.Errorf("%s: Send = %d, want an error", tt.name, a.StatusCode)
			continue
		}
		var r *RefusedError
		if refused := errors.As(a.Err, &r); refused != (tt.want != "") {
			t.Errorf("%s: Send error %v: refused %t, want %t", tt.name, a.Err, refused, tt.want != "")
		}
		if !strings.Contains(a.ErrorString(), tt.want) {
			t.Errorf("%s: ErrorString = %q, want it to contain %q", tt.name, a.ErrorString(), tt.want)
		}
	}
	if n := len(requests()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}

func TestSenderResponseBodyCapAndKeepAlive(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 20_000))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s := NewSender(SenderConfig{Guard: loopbackGuard()})
	for range 3 {
		a := s.Send(context.Background(), testMessage(t, srv.URL))
		if !a.Succeeded() {
			t.Fatalf("Send = %d, %v", a.StatusCode, a.Err)
		}
		if len(a.ResponseBody) != DefaultMaxResponseBody {
			t.Errorf("ResponseBody is %d bytes, want the first %d", len(a.ResponseBody), DefaultMaxResponseBody)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 sends opened %d connections, want 1 kept alive", n)
	}
	small := NewSender(SenderConfig{Guard: loopbackGuard(), MaxResponseBody: 10})
	if a := small.Send(context.Background(), testMessage(t, srv.URL)); len(a.ResponseBody) != 10 {
		t.Errorf("MaxResponseBody 10: ResponseBody is %d bytes", len(a.ResponseBody))
	}
}

func TestSenderNoSecret(t *testing.T) {
	t.Parallel()
	srv, requests := recorder(t, func(w http.ResponseWriter, _ *http.Request) {})
	m := testMessage(t, srv.URL)
	m.Secrets = nil
	a := NewSender(SenderConfig{Guard: loopbackGuard()}).Send(context.Background(), m)
	if a.Err == nil || a.ErrorString() != "webhook: no signing secret" {
		t.Errorf("Send without secrets = %v, want the signing error", a.Err)
	}
	if n := len(requests()); n != 0 {
		t.Errorf("receiver got %d unsigned requests", n)
	}
}
