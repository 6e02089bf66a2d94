package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPollMisuse(t *testing.T) {
	t.Parallel()
	srv := newFakeProvider(t, 200, marksignWaiting, nil)
	c := newTestClient(t, srv.URL)
	tests := []struct {
		name    string
		mutate  func(*Session)
		wantErr string
	}{
		{name: "unknown provider", mutate: func(s *Session) { s.Provider = "acme" }, wantErr: `unknown provider "acme"`},
		{name: "unknown marksign flow", mutate: func(s *Session) { s.Flow = "smartid_dance" }, wantErr: `unknown Marksign flow "smartid_dance"`},
		{name: "fortid flow on marksign", mutate: func(s *Session) { s.Flow = FlowFortIDVerification }, wantErr: `unknown Marksign flow "verification"`},
		{name: "marksign flow on fortid", mutate: func(s *Session) {
			s.Provider, s.ExternalID = ProviderFortID, testFortIDID
		}, wantErr: `unknown flow "smartid_identification"`},
		{name: "unknown marksign account", mutate: func(s *Session) { s.Account = "acme" }, wantErr: `unknown account "acme"`},
		{name: "unknown fortid account", mutate: func(s *Session) {
			s.Provider, s.Flow, s.ExternalID, s.Account = ProviderFortID, FlowFortIDVerification, testFortIDID, "acme"
		}, wantErr: `unknown account "acme"`},
		{name: "unknown locale", mutate: func(s *Session) { s.Locale = "fr" }, wantErr: `unknown Marksign locale "fr"`},
		{name: "bad token", mutate: func(s *Session) { s.ExternalID = "../../admin" }, wantErr: "session token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := marksignSession(FlowSmartIDIdentification, "")
			tt.mutate(&s)
			_, err := c.Poll(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Poll error = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, secret := range []string{testAPIKey, testAccessToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error names a credential: %v", err)
				}
			}
		})
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("provider got %d requests, want none", n)
	}
}

func TestPollNamedAccount(t *testing.T) {
	t.Parallel()
	srv := newFakeProvider(t, 200, marksignWaiting, nil)
	c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Marksign.Accounts["acme"] = "acme-token" })
	s := marksignSession(FlowMobileIDSigning, "")
	s.Account = "acme"
	if _, err := c.Poll(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if body := srv.requests()[0].Body; body != `{"access_token":"acme-token"}` {
		t.Errorf("body = %s", body)
	}
}

func TestPollTransportFailures(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(done) }) // runs first: frees the handlers

	huge := newFakeProvider(t, 200, `{"status":"ok","pad":"`+strings.Repeat("x", 2048)+`"}`, nil)
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()

	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		wantErr string
		maxTime time.Duration
	}{
		{name: "connection refused", url: refused, wantErr: "refused", maxTime: 3 * time.Second},
		{name: "request timeout", url: slow.URL, timeout: 200 * time.Millisecond, wantErr: "request timeout", maxTime: 3 * time.Second},
		{name: "caller cancels mid-request", url: slow.URL, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 150*time.Millisecond)
		}, wantErr: "cancelled", maxTime: 3 * time.Second},
		{name: "caller cancelled before", url: slow.URL, ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, wantErr: "not sent", maxTime: time.Second},
		{name: "oversized body", url: huge.URL, wantErr: "larger than the 1024 bytes limit", maxTime: 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, tt.url, func(cfg *Config) {
				cfg.MaxBodyBytes = 1024
				if tt.timeout != 0 {
					cfg.RequestTimeout = tt.timeout
				}
			})
			for _, s := range []Session{fortIDSession(), marksignSession(FlowSmartIDSigning, "en")} {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if tt.ctx != nil {
					ctx, cancel = tt.ctx()
				}
				start := time.Now()
				res, err := c.Poll(ctx, s)
				cancel()
				if err != nil {
					t.Fatalf("Poll: %v", err)
				}
				if elapsed := time.Since(start); elapsed > tt.maxTime {
					t.Errorf("Poll took %s", elapsed)
				}
				if !res.Transient || res.State != StateInProgress || res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
					t.Fatalf("%s: Result = %s transient %v err %v; want transient with %q", s.Provider, res.State, res.Transient, res.Err, tt.wantErr)
				}
				if !strings.HasPrefix(res.Err.Error(), string(s.Provider)+": poll session "+s.ID) {
					t.Errorf("Err lacks context: %v", res.Err)
				}
			}
		})
	}
}

func TestCancelledErrorsWrapContext(t *testing.T) {
	t.Parallel()
	srv := newFakeProvider(t, 200, marksignWaiting, nil)
	c := newTestClient(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := c.Poll(ctx, marksignSession(FlowSmartIDSigning, ""))
	if err != nil || !res.Transient || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("Result = %+v, %v; want transient wrapping context.Canceled", res, err)
	}
}

// TestLogsRedacted runs full polls of both providers, failing and
// succeeding, with debug logging and checks that no credential, personal
// code or certificate reaches the log.
func TestLogsRedacted(t *testing.T) {
	t.Parallel()
	// Some answers echo the credential the request carried: the client must
	// not pass it on.
	bodies := []struct {
		status int
		body   string
	}{
		{200, marksignIdentificationOK()},
		{200, fortIDSucceededBody},
		{401, `{"status":"error","message":"Invalid access token ` + testAccessToken + `","error_code":40003}`},
		{401, `{"message":"Invalid API key ` + testAPIKey + `"}`},
		{500, `oops ` + testAPIKey},
		{200, `{"status":"` + testAccessToken + `"}`},
		{200, `{"verificationSessionStatus":"` + testAPIKey + `"}`},
	}
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	type polled struct {
		Result
		provider Provider
	}
	var results []polled
	for _, b := range bodies {
		srv := newFakeProvider(t, b.status, b.body, nil)
		c, err := New(Config{
			FortID:   ProviderConfig{BaseURL: srv.URL, Accounts: Accounts{DefaultAccount: testAPIKey}},
			Marksign: ProviderConfig{BaseURL: srv.URL, Accounts: Accounts{DefaultAccount: testAccessToken}},
		}, logger)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []Session{fortIDSession(), marksignSession(FlowSmartIDIdentification, "en"), marksignSession(FlowMobileIDSigning, "")} {
			res, err := c.Poll(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, polled{res, s.Provider})
		}
		c.CloseIdleConnections()
	}
	logs := buf.String()
	if n := strings.Count(logs, `"msg":"upstream poll"`); n != len(bodies)*3 {
		t.Fatalf("got %d debug poll logs, want %d:\n%s", n, len(bodies)*3, logs)
	}
	for _, field := range []string{`"flow":"smartid_identification"`, `"session_id":"`, `"http_status":401`, `"duration":`} {
		if !strings.Contains(logs, field) {
			t.Errorf("logs lack %s", field)
		}
	}
	for _, secret := range []string{testAccessToken, testAPIKey, "60001017705", testCertValue()[:40]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	for _, res := range results {
		text := fmt.Sprint(res.Err, res.Message, res.UnknownStatus, string(res.Answer))
		secret := testAccessToken
		if res.provider == ProviderFortID {
			secret = testAPIKey
		}
		if strings.Contains(text, secret) {
			t.Errorf("result carries a credential: %s", text)
		}
	}
}

func TestConnectionPoolReused(t *testing.T) {
	t.Parallel()
	var conns int
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(marksignWaiting))
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns++
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	for range 5 {
		res, err := c.Poll(context.Background(), marksignSession(FlowSmartIDSigning, ""))
		if err != nil || res.State != StateInProgress || res.Transient {
			t.Fatalf("Poll = %+v, %v", res, err)
		}
	}
	c.CloseIdleConnections()
	srv.Close()
	if conns != 1 {
		t.Errorf("sequential polls opened %d connections, want 1", conns)
	}
}
