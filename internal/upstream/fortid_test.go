package upstream

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/version"
)

func TestFortIDPoll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		body        string
		header      map[string]string
		want        State
		transient   bool
		credentials bool
		unknown     string
		message     string
		retryAfter  time.Duration
		check       func(t *testing.T, res Result)
	}{
		{name: "in progress", status: 200, body: fortIDInProgressBody, want: StateInProgress},
		{name: "succeeded", status: 200, body: fortIDSucceededBody, want: StateSucceeded, check: func(t *testing.T, res Result) {
			v, ok := res.Outcome.(*Verification)
			if !ok {
				t.Fatalf("Outcome = %T, want *Verification", res.Outcome)
			}
			var claims struct {
				Name    string `json:"name"`
				Age     int    `json:"age"`
				Address struct {
					PostalCode string `json:"postalCode"`
				} `json:"address"`
				Nationalities []string `json:"nationalities"`
			}
			if err := json.Unmarshal(v.PresentedClaims, &claims); err != nil {
				t.Fatalf("claims: %v", err)
			}
			if claims.Name != "John" || claims.Age != 27 || claims.Address.PostalCode != "NW1" || len(claims.Nationalities) != 1 {
				t.Errorf("claims = %+v", claims)
			}
			if v.Description != "" {
				t.Errorf("Description = %q on success", v.Description)
			}
		}},
		{name: "failed", status: 200, body: fortIDFailedBody, want: StateFailed, message: "Credential signature is invalid", check: func(t *testing.T, res Result) {
			v, ok := res.Outcome.(*Verification)
			if !ok || v.Description != "Credential signature is invalid" || v.PresentedClaims != nil {
				t.Errorf("Outcome = %#v", res.Outcome)
			}
		}},
		{name: "unknown status", status: 200, body: `{"verificationSessionStatus": "AWAITING_WALLET", "extra": null}`, want: StateInProgress, unknown: "AWAITING_WALLET"},
		{name: "missing status", status: 200, body: `{"presentedClaims": {}}`, want: StateInProgress, transient: true},
		{name: "malformed JSON", status: 200, body: `{"verificationSessionStatus": "VERIFICATION_SUCC`, want: StateInProgress, transient: true},
		{name: "array body", status: 200, body: `["VERIFICATION_SUCCEEDED"]`, want: StateInProgress, transient: true},
		{name: "400 not a UUID", status: 400, body: fortIDBadUUID, want: StateRejected, message: "Session ID is not a valid UUID."},
		{name: "404 no window", status: 404, body: fortIDNotFoundBody, want: StateNotFound, message: "Verification Session not found"},
		{name: "410 expired", status: 410, body: fortIDExpiredBody, want: StateExpired, message: "Verification Session expired"},
		{name: "401", status: 401, body: `{"message": "Unauthorized"}`, want: StateInProgress, credentials: true},
		{name: "403", status: 403, body: ``, want: StateInProgress, credentials: true},
		{name: "500", status: 500, body: fortIDServerError, want: StateInProgress, transient: true, message: "Internal Server Error"},
		{name: "503 with Retry-After", status: 503, body: `upstream unavailable`, header: map[string]string{"Retry-After": "7"}, want: StateInProgress, transient: true, retryAfter: 7 * time.Second},
		{name: "429 with Retry-After", status: 429, body: `{"message": "Too Many Requests"}`, header: map[string]string{"Retry-After": "30"}, want: StateInProgress, transient: true, retryAfter: 30 * time.Second},
		{name: "418 other 4xx", status: 418, body: `teapot`, want: StateInProgress, transient: true},
		{name: "302 redirect not followed", status: 302, body: ``, header: map[string]string{"Location": "http://127.0.0.1:1/steal"}, want: StateInProgress, transient: true},
		{name: "200 success with null claims", status: 200, body: `{"verificationSessionStatus": "VERIFICATION_SUCCEEDED", "presentedClaims": null}`, want: StateSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeProvider(t, tt.status, tt.body, tt.header)
			c := newTestClient(t, srv.URL)
			res, err := c.Poll(context.Background(), fortIDSession())
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if res.State != tt.want || res.Transient != tt.transient || res.CredentialsProblem != tt.credentials || res.UnknownStatus != tt.unknown {
				t.Fatalf("Result = state %s transient %v credentials %v unknown %q (err %v); want %s %v %v %q",
					res.State, res.Transient, res.CredentialsProblem, res.UnknownStatus, res.Err, tt.want, tt.transient, tt.credentials, tt.unknown)
			}
			if res.HTTPStatus != tt.status {
				t.Errorf("HTTPStatus = %d, want %d", res.HTTPStatus, tt.status)
			}
			if (tt.transient || tt.credentials) != (res.Err != nil) {
				t.Errorf("Err = %v; want an error exactly for transient and credentials results", res.Err)
			}
			if tt.message != "" && res.Message != tt.message {
				t.Errorf("Message = %q, want %q", res.Message, tt.message)
			}
			if res.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %s, want %s", res.RetryAfter, tt.retryAfter)
			}
			if json.Valid([]byte(tt.body)) != (res.Answer != nil) {
				t.Errorf("Answer = %q; want the body exactly when it is valid JSON", res.Answer)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("provider got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodGet || r.Path != "/verification-session/status/"+testFortIDID {
				t.Errorf("request = %s %s", r.Method, r.Path)
			}
			if got := r.Header.Get("X-API-KEY"); got != testAPIKey {
				t.Errorf("X-API-KEY = %q", got)
			}
			if got := r.Header.Get("User-Agent"); got != version.UserAgent() {
				t.Errorf("User-Agent = %q", got)
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), testAPIKey) {
				t.Errorf("Err contains the API key: %v", res.Err)
			}
		})
	}
}

func TestFortID404Window(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		timeout time.Time
		want    State
	}{
		{name: "window unknown", timeout: time.Time{}, want: StateNotFound},
		{name: "before the window ends", timeout: now.Add(time.Minute), want: StateNotFound},
		{name: "after the window ended", timeout: now.Add(-time.Second), want: StateExpired},
	}
	srv := newFakeProvider(t, 404, fortIDNotFoundBody, nil)
	c := newTestClient(t, srv.URL)
	c.now = func() time.Time { return now }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fortIDSession()
			s.RegisteredAt = now.Add(-10 * time.Minute)
			s.ProviderTimeout = tt.timeout
			res, err := c.Poll(context.Background(), s)
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if res.State != tt.want {
				t.Errorf("State = %s, want %s", res.State, tt.want)
			}
		})
	}
}

func TestFortIDRejectsNonUUIDBeforeHTTP(t *testing.T) {
	t.Parallel()
	srv := newFakeProvider(t, 200, fortIDSucceededBody, nil)
	c := newTestClient(t, srv.URL)
	for _, id := range []string{"", "not-a-uuid", "497f6eca-6276-4993-bfeb-53cbbbba6f0", "497f6eca-6276-4993-bfeb-53cbbbba6f08/../x", "497f6eca_6276_4993_bfeb_53cbbbba6f08", "497f6eca-6276-4993-bfeb-53cbbbba6g08"} {
		s := fortIDSession()
		s.ExternalID = id
		if _, err := c.Poll(context.Background(), s); err == nil {
			t.Errorf("Poll(%q) returned no error", id)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("provider got %d requests, want none", n)
	}
	for _, id := range []string{testFortIDID, strings.ToUpper(testFortIDID), "00000000-0000-0000-0000-000000000000"} {
		if !IsUUID(id) {
			t.Errorf("IsUUID(%q) = false", id)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.value, got, tt.want)
		}
	}
}
