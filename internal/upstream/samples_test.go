package upstream

import (
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/simulator/personcert"
)

// Secrets used by the tests; the redaction tests search the logs for them.
const (
	testAPIKey      = "9LFHJCyxgzDjMsFLUf2FfpiI9ZLTlaLi"
	testAccessToken = "52900c96-3f60-5307-3719-5948f0191da6"
	testFortIDID    = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	testToken       = "381ed84f-0851-ce1e-a048-fa1e13a53bba"
)

// testCertValue is a whole certificate in the form Marksign sends it (the
// seed's truncated "value": base64 of the base64 DER), made once.
var testCertValue = sync.OnceValue(func() string {
	person := personcert.Person{Country: "EE", Surname: "TESTNUMBER", GivenName: "TEN", Code: "60001017705"}
	der, err := personcert.New(person, big.NewInt(0x5e85128),
		time.Date(2020, 11, 13, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 12, 23, 59, 59, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return personcert.MarksignValue(der)
})

// Marksign sample bodies, shaped like the seed pages.
func marksignIdentificationOK() string {
	return `{
  "status": "ok",
  "country": "EE",
  "certificate": {
    "name": "/C=EE/CN=TESTNUMBER,TEN,60001017705/SN=TESTNUMBER/GN=TEN/serialNumber=PNOEE-60001017705",
    "subject": {
      "country": "EE",
      "organisation": null,
      "organisation_unit": null,
      "common_name": "TESTNUMBER,TEN,60001017705",
      "surname": "TESTNUMBER",
      "name": "TEN",
      "serial_number": "PNOEE-60001017705"
    },
    "issuer": {
      "country": "EE",
      "organisation": "AS Sertifitseerimiskeskus",
      "common_name": "TEST of ESTEID-SK 2015"
    },
    "valid_from": "2020-11-13",
    "valid_to": "2025-11-12",
    "value": "` + testCertValue() + `"
  },
  "code": "60001017705",
  "name": "TEN",
  "token": "381ed84f-0851-ce1e-a048-fa1e13a53bba",
  "control_code": "6223",
  "surname": "TESTNUMBER",
  "sanctions_data": [],
  "peps_data": []
}`
}

// marksignIdentificationOKLT is the seed's second sample (a Lithuanian
// person, escaped slashes, no control code).
func marksignIdentificationOKLT() string {
	return `{
  "status": "ok",
  "certificate": {
    "name": "\/C=LT\/CN=SURNAME,NAME\/SN=SURNAME\/GN=NAME\/serialNumber=PNOLT-30303039914",
    "subject": {"country": "LT", "organisation": null, "organisation_unit": null, "common_name": "SURNAME,NAME",
      "surname": "SURNAME", "name": "TEN", "serial_number": "PNOLT-30303039914"},
    "issuer": {"country": "EE", "organisation": "AS Sertifitseerimiskeskus", "common_name": "TEST of EID-SK 2016"},
    "valid_from": "2021-09-17",
    "valid_to": "2024-09-17",
    "value": "` + testCertValue() + `"
  },
  "code": "30303039914",
  "country": "LT",
  "name": "NAME",
  "surname": "SURNAME",
  "token": "1c5cd62c-bbf7-779e-3fb4-bad3433ad83f",
  "sanctions_data": [],
  "peps_data": []
}`
}

const (
	marksignSigningOK = `{
  "status": "ok",
  "signature_id": "7d9b1c0e-5f3a-4c62-9a51-2b8e4f6d0c13",
  "file": {
    "name": "contract.pdf",
    "content": "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K",
    "digest": "q2Yd0yQW3QmI3x7uTQ0F2yq1sJ0Hh6V7C8M0nJ7b5bE="
  },
  "person": {"name": "TEN", "surname": "TESTNUMBER", "code": "60001017705", "country": "EE"}
}`
	marksignWaiting  = `{"status": "waiting"}`
	marksignNotFound = `{
  "status": "error",
  "message": "Session for given token was not found",
  "error_code": 40402
}`
)

// FortID sample bodies, from the seed page.
const (
	fortIDSucceededBody = `{
  "verificationSessionStatus": "VERIFICATION_SUCCEEDED",
  "presentedClaims": {
    "name": "John",
    "age": 27,
    "address": {
      "street": "Baker Street",
      "postalCode": "NW1"
    },
    "nationalities": [
      "UK"
    ]
  }
}`
	fortIDInProgressBody = `{"verificationSessionStatus": "IN_PROGRESS"}`
	fortIDFailedBody     = `{"verificationSessionStatus": "VERIFICATION_FAILED", "description": "Credential signature is invalid"}`
	fortIDBadUUID        = `{"message": "Session ID is not a valid UUID."}`
	fortIDNotFoundBody   = `{"message": "Verification Session not found"}`
	fortIDExpiredBody    = `{"message": "Verification Session expired"}`
	fortIDServerError    = `{"message": "Internal Server Error"}`
)

// recorded is one request a fake provider received.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// fakeProvider answers every request with a fixed status, headers and body
// and records what it received.
type fakeProvider struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFakeProvider(t *testing.T, status int, body string, header map[string]string) *fakeProvider {
	t.Helper()
	f := &fakeProvider{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(b)})
		f.mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(strings.TrimSpace(body), "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns the requests received so far.
func (f *fakeProvider) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// newTestClient returns a Client whose both providers point at baseURL, with
// the test credentials as account "default".
func newTestClient(t *testing.T, baseURL string, mutate ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		FortID:         ProviderConfig{BaseURL: baseURL, Accounts: Accounts{DefaultAccount: testAPIKey}},
		Marksign:       ProviderConfig{BaseURL: baseURL, Accounts: Accounts{DefaultAccount: testAccessToken}},
		RequestTimeout: 5 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func fortIDSession() Session {
	return Session{Target: Target{ID: "11111111-2222-4333-8444-555555555555", Provider: ProviderFortID, Flow: FlowFortIDVerification, ExternalID: testFortIDID}}
}

func marksignSession(flow Flow, locale string) Session {
	return Session{Target: Target{ID: "11111111-2222-4333-8444-666666666666", Provider: ProviderMarksign, Flow: flow, ExternalID: testToken, Locale: locale}}
}
