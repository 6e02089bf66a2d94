package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

var marksignFlows = []struct {
	flow           Flow
	path           string
	identification bool
}{
	{FlowSmartIDIdentification, "/smartid/status/%s.json", true},
	{FlowSmartIDSigning, "/smartid/sign/status/%s.json", false},
	{FlowSmartIDHashSigning, "/smartid/sign/hash/status/%s.json", false},
	{FlowMobileIDIdentification, "/mobile/status/%s.json", true},
	{FlowMobileIDSigning, "/mobile/sign/status/%s.json", false},
	{FlowMobileIDHashSigning, "/mobile/sign-hash/status/%s.json", false},
}

// TestMarksignFlowsAndLocales polls every flow on the LT and EN paths with
// the flow's success body and checks the request and the outcome.
func TestMarksignFlowsAndLocales(t *testing.T) {
	t.Parallel()
	for _, f := range marksignFlows {
		for _, locale := range []string{"", "lt", "en", "EN"} {
			t.Run(fmt.Sprintf("%s/%q", f.flow, locale), func(t *testing.T) {
				t.Parallel()
				body := marksignSigningOK
				if f.identification {
					body = marksignIdentificationOK()
				}
				srv := newFakeProvider(t, 200, body, nil)
				c := newTestClient(t, srv.URL)
				res, err := c.Poll(context.Background(), marksignSession(f.flow, locale))
				if err != nil {
					t.Fatalf("Poll: %v", err)
				}
				if res.State != StateSucceeded || res.Transient || res.Err != nil {
					t.Fatalf("Result = %s transient %v err %v", res.State, res.Transient, res.Err)
				}
				wantPath := fmt.Sprintf(f.path, testToken)
				if strings.EqualFold(locale, "en") {
					wantPath = "/en" + wantPath
				}
				reqs := srv.requests()
				if len(reqs) != 1 {
					t.Fatalf("provider got %d requests", len(reqs))
				}
				r := reqs[0]
				if r.Method != http.MethodPost || r.Path != wantPath {
					t.Errorf("request = %s %s, want POST %s", r.Method, r.Path, wantPath)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				var sent map[string]string
				if err := json.Unmarshal([]byte(r.Body), &sent); err != nil || len(sent) != 1 || sent["access_token"] != testAccessToken {
					t.Errorf("request body = %s (%v)", r.Body, err)
				}
				if f.identification {
					checkIdentification(t, res.Outcome)
				} else {
					checkSignature(t, res.Outcome)
				}
			})
		}
	}
}

func checkIdentification(t *testing.T, outcome any) {
	t.Helper()
	id, ok := outcome.(*Identification)
	if !ok {
		t.Fatalf("Outcome = %T, want *Identification", outcome)
	}
	if id.Country != "EE" || id.PersonalCode != "60001017705" || id.GivenName != "TEN" || id.Surname != "TESTNUMBER" || id.ControlCode != "6223" {
		t.Errorf("Identification = %+v", id)
	}
	if string(id.SanctionsData) != "[]" || string(id.PEPsData) != "[]" {
		t.Errorf("sanctions %s peps %s, want [] as received", id.SanctionsData, id.PEPsData)
	}
	c := id.Certificate
	if c == nil {
		t.Fatal("Certificate is nil")
	}
	want := Certificate{
		Name: "/C=EE/CN=TESTNUMBER,TEN,60001017705/SN=TESTNUMBER/GN=TEN/serialNumber=PNOEE-60001017705",
		Subject: CertificateSubject{Country: "EE", CommonName: "TESTNUMBER,TEN,60001017705", Surname: "TESTNUMBER",
			GivenName: "TEN", SerialNumber: "PNOEE-60001017705"},
		Issuer:    CertificateIssuer{Country: "EE", Organisation: "AS Sertifitseerimiskeskus", CommonName: "TEST of ESTEID-SK 2015"},
		ValidFrom: "2020-11-13",
		ValidTo:   "2025-11-12",
		Value:     testCertValue(),
	}
	if *c != want {
		t.Errorf("Certificate =\n%+v\nwant\n%+v", *c, want)
	}
	// The outcome is marshalled into webhook payloads with snake_case keys.
	out, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"personal_code":"60001017705"`, `"given_name":"TEN"`, `"valid_from":"2020-11-13"`, `"serial_number":"PNOEE-60001017705"`, `"peps_data":[]`} {
		if !strings.Contains(string(out), key) {
			t.Errorf("marshalled Identification lacks %s: %s", key, out)
		}
	}
}

func checkSignature(t *testing.T, outcome any) {
	t.Helper()
	sig, ok := outcome.(*Signature)
	if !ok {
		t.Fatalf("Outcome = %T, want *Signature", outcome)
	}
	if sig.SignatureID != "7d9b1c0e-5f3a-4c62-9a51-2b8e4f6d0c13" || sig.File == nil ||
		sig.File.Name != "contract.pdf" || sig.File.Digest != "q2Yd0yQW3QmI3x7uTQ0F2yq1sJ0Hh6V7C8M0nJ7b5bE=" {
		t.Errorf("Signature = %+v file %+v", sig, sig.File)
	}
	var person map[string]string
	if err := json.Unmarshal(sig.Person, &person); err != nil || person["code"] != "60001017705" {
		t.Errorf("Person = %s (%v)", sig.Person, err)
	}
}

func TestMarksignLTSample(t *testing.T) {
	t.Parallel()
	res := decodeMarksign(FlowMobileIDIdentification, 200, []byte(marksignIdentificationOKLT()))
	id, ok := res.Outcome.(*Identification)
	if res.State != StateSucceeded || !ok {
		t.Fatalf("Result = %s %T", res.State, res.Outcome)
	}
	if id.Country != "LT" || id.PersonalCode != "30303039914" || id.ControlCode != "" ||
		id.Certificate.Name != "/C=LT/CN=SURNAME,NAME/SN=SURNAME/GN=NAME/serialNumber=PNOLT-30303039914" ||
		id.Certificate.Issuer.CommonName != "TEST of EID-SK 2016" {
		t.Errorf("Identification = %+v cert %+v", id, id.Certificate)
	}
}

// TestMarksignStatuses covers every status value and every error_code row of
// PROVIDERS.md, as 200 answers and as answers with the code's HTTP status.
func TestMarksignStatuses(t *testing.T) {
	t.Parallel()
	type want struct {
		state       State
		transient   bool
		credentials bool
		unknown     string
	}
	inProgress := want{state: StateInProgress}
	transient := want{state: StateInProgress, transient: true}
	credentials := want{state: StateInProgress, credentials: true}
	type pollCase struct {
		name   string
		status int
		body   string
		want   want
		code   int
	}
	tests := []pollCase{
		{name: "waiting", status: 200, body: marksignWaiting, want: inProgress},
		{name: "ok", status: 200, body: marksignIdentificationOK(), want: want{state: StateSucceeded}},
		{name: "unknown status", status: 200, body: `{"status": "pending_confirmation"}`, want: want{state: StateInProgress, unknown: "pending_confirmation"}},
		{name: "missing status", status: 200, body: `{"message": "hi"}`, want: transient},
		{name: "null status", status: 200, body: `{"status": null}`, want: transient},
		{name: "error without code", status: 200, body: `{"status": "error", "message": "?"}`, want: transient},
		{name: "error code as string", status: 200, body: `{"status": "error", "error_code": "40020"}`, want: want{state: StateRefused}, code: 40020},
		{name: "unknown error code", status: 400, body: `{"status": "error", "message": "new", "error_code": 40999}`, want: transient, code: 40999},
		{name: "ok body with 4xx is no success", status: 400, body: marksignIdentificationOK(), want: transient},
		{name: "ok body with 5xx is no success", status: 500, body: marksignSigningOK, want: transient},
		{name: "malformed JSON", status: 200, body: `{"status": "ok", "country": "EE"`, want: transient},
		{name: "empty 200", status: 200, body: ``, want: transient},
		{name: "404 without body", status: 404, body: ``, want: transient},
		{name: "400 HTML", status: 400, body: `<html>bad</html>`, want: transient},
		{name: "401 without body", status: 401, body: ``, want: credentials},
		{name: "502 HTML", status: 502, body: `<html>bad gateway</html>`, want: transient},
		{name: "429", status: 429, body: ``, want: transient},
	}
	codes := []struct {
		code int
		want want
	}{
		{40001, want{state: StateRejected}},
		{40003, credentials},
		{40004, want{state: StateRejected}},
		{40005, want{state: StateRejected}},
		{40020, want{state: StateRefused}},
		{40021, want{state: StateExpired}},
		{40022, want{state: StateFailed}},
		{40401, want{state: StateFailed}},
		{40402, want{state: StateNotFound}},
		{40403, want{state: StateFailed}},
		{40801, want{state: StateExpired}},
		{50000, transient},
		{50001, transient},
		{50002, transient},
		{50003, credentials},
		{50004, credentials},
	}
	for _, c := range codes {
		body := fmt.Sprintf(`{"status": "error", "message": "message of %d", "error_code": %d}`, c.code, c.code)
		tests = append(tests,
			pollCase{fmt.Sprintf("%d as HTTP 200", c.code), 200, body, c.want, c.code},
			pollCase{fmt.Sprintf("%d as HTTP %d", c.code, c.code/100), c.code / 100, body, c.want, c.code},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeProvider(t, tt.status, tt.body, nil)
			c := newTestClient(t, srv.URL)
			res, err := c.Poll(context.Background(), marksignSession(FlowSmartIDIdentification, "en"))
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			got := want{state: res.State, transient: res.Transient, credentials: res.CredentialsProblem, unknown: res.UnknownStatus}
			if got != tt.want {
				t.Fatalf("Result = %+v (err %v), want %+v", got, res.Err, tt.want)
			}
			if res.ErrorCode != tt.code {
				t.Errorf("ErrorCode = %d, want %d", res.ErrorCode, tt.code)
			}
			if (res.Transient || res.CredentialsProblem) != (res.Err != nil) {
				t.Errorf("Err = %v; want an error exactly for transient and credentials results", res.Err)
			}
			if res.State != StateSucceeded && res.Outcome != nil {
				t.Errorf("Outcome = %#v for state %s", res.Outcome, res.State)
			}
			if tt.code != 0 && tt.code != 40999 && !strings.Contains(tt.body, `"40020"`) && res.Message != fmt.Sprintf("message of %d", tt.code) {
				t.Errorf("Message = %q", res.Message)
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), testAccessToken) {
				t.Errorf("Err contains the access token: %v", res.Err)
			}
		})
	}
}

func TestMarksignPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flow          Flow
		locale, token string
		want          string
		wantErr       bool
	}{
		{flow: FlowMobileIDHashSigning, locale: "en", token: "abc", want: "/en/mobile/sign-hash/status/abc.json"},
		{flow: FlowSmartIDHashSigning, locale: "lt", token: "abc", want: "/smartid/sign/hash/status/abc.json"},
		{flow: FlowFortIDVerification, token: "abc", wantErr: true},
		{flow: "smartid_sometimes", token: "abc", wantErr: true},
		{flow: FlowSmartIDSigning, locale: "de", token: "abc", wantErr: true},
		{flow: FlowSmartIDSigning, token: "", wantErr: true},
		{flow: FlowSmartIDSigning, token: "..", wantErr: true},
		{flow: FlowSmartIDSigning, token: "a/b", wantErr: true},
		{flow: FlowSmartIDSigning, token: "a?b", wantErr: true},
		{flow: FlowSmartIDSigning, token: strings.Repeat("a", 129), wantErr: true},
	}
	for _, tt := range tests {
		got, err := MarksignPath(tt.flow, tt.locale, tt.token)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("MarksignPath(%s, %q, %q) = %q, %v", tt.flow, tt.locale, tt.token, got, err)
		}
	}
}

// TestMarksignTolerance checks that unexpected types and nulls in a success
// body neither fail the poll nor lose the fields that are well formed.
func TestMarksignTolerance(t *testing.T) {
	t.Parallel()
	body := `{"status": "ok", "country": null, "code": 60001017705, "name": ["x"], "surname": "S",
		"certificate": "none", "sanctions_data": null, "peps_data": {"hits": 0}, "new_field": {"a": 1}}`
	res := decodeMarksign(FlowSmartIDIdentification, 200, []byte(body))
	id, ok := res.Outcome.(*Identification)
	if res.State != StateSucceeded || !ok {
		t.Fatalf("Result = %s %T", res.State, res.Outcome)
	}
	if id.Country != "" || id.PersonalCode != "60001017705" || id.GivenName != "" || id.Surname != "S" ||
		id.Certificate != nil || id.SanctionsData != nil || string(id.PEPsData) != `{"hits": 0}` {
		t.Errorf("Identification = %+v", id)
	}
	res = decodeMarksign(FlowSmartIDSigning, 200, []byte(`{"status":"ok","file":[1],"person":null}`))
	sig, ok := res.Outcome.(*Signature)
	if res.State != StateSucceeded || !ok || sig.File != nil || sig.Person != nil {
		t.Errorf("Signature = %+v", res.Outcome)
	}
	// Keys are matched exactly: "Status" is not "status".
	res = decodeMarksign(FlowSmartIDSigning, 200, []byte(`{"Status":"ok"}`))
	if res.State == StateSucceeded || !res.Transient {
		t.Errorf(`{"Status":"ok"} = %s transient %v`, res.State, res.Transient)
	}
}
