package upstream

import (
	"encoding/json"
	"testing"
)

// checkInvariants asserts what every decoded Result must satisfy, whatever
// the answer: success only for a 2xx whose status member (key) says
// successValue, an error exactly for transient and credentials results, and
// an outcome only for terminal states.
func checkInvariants(t *testing.T, status int, body []byte, res Result, key, successValue string) {
	t.Helper()
	if res.State == StateSucceeded {
		var doc map[string]any
		if status < 200 || status > 299 || json.Unmarshal(body, &doc) != nil || doc[key] != successValue {
			t.Fatalf("HTTP %d %q decoded as succeeded", status, body)
		}
	}
	if res.HTTPStatus != status {
		t.Fatalf("HTTPStatus = %d, want %d", res.HTTPStatus, status)
	}
	if res.Transient || res.CredentialsProblem || res.UnknownStatus != "" {
		if res.State != StateInProgress {
			t.Fatalf("state %s with transient %v credentials %v unknown %q", res.State, res.Transient, res.CredentialsProblem, res.UnknownStatus)
		}
	}
	if (res.Transient || res.CredentialsProblem) != (res.Err != nil) {
		t.Fatalf("transient %v credentials %v but Err = %v", res.Transient, res.CredentialsProblem, res.Err)
	}
	if res.Outcome != nil && !res.State.Terminal() {
		t.Fatalf("outcome %#v in state %s", res.Outcome, res.State)
	}
	if res.Answer != nil && !json.Valid(res.Answer) {
		t.Fatalf("Answer %q is not valid JSON", res.Answer)
	}
	if res.State == "" {
		t.Fatal("empty state")
	}
	if len(res.UnknownStatus) > 80 || len(res.Message) > 1100 {
		t.Fatalf("unbounded unknown status or message: %d, %d bytes", len(res.UnknownStatus), len(res.Message))
	}
}

func FuzzFortIDDecode(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, fortIDInProgressBody},
		{200, fortIDSucceededBody},
		{200, fortIDFailedBody},
		{200, `{"verificationSessionStatus":"NEW_STATE"}`},
		{400, fortIDBadUUID},
		{404, fortIDNotFoundBody},
		{410, fortIDExpiredBody},
		{500, fortIDServerError},
		{401, ``},
		{200, `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED"`},
		{201, `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED","presentedClaims":null}`},
		{500, fortIDSucceededBody},
		{200, `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED","verificationSessionStatus":"IN_PROGRESS"}`},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		res := decodeFortID(status, body)
		checkInvariants(t, status, body, res, "verificationSessionStatus", fortIDSucceeded)
		if res.State == StateSucceeded {
			if _, ok := res.Outcome.(*Verification); !ok {
				t.Fatalf("success outcome %T", res.Outcome)
			}
		}
	})
}

func FuzzMarksignDecode(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, marksignIdentificationOK()},
		{200, marksignIdentificationOKLT()},
		{200, marksignSigningOK},
		{200, marksignWaiting},
		{200, marksignNotFound},
		{404, marksignNotFound},
		{401, `{"status":"error","message":"Invalid access token","error_code":40003}`},
		{500, `{"status":"error","message":"Processing issue","error_code":50000}`},
		{200, `{"status":"pending"}`},
		{200, `{"status":"error","error_code":"40020"}`},
		{400, marksignSigningOK},
		{502, `<html></html>`},
		{200, `{"status":"ok"`},
		{200, `[]`},
		{200, `{"status":"ok","certificate":{"subject":7,"issuer":null}}`},
	}
	for i, seed := range seeds {
		f.Add(seed.status, []byte(seed.body), uint8(i))
	}
	flows := []Flow{FlowSmartIDIdentification, FlowSmartIDSigning, FlowSmartIDHashSigning, FlowMobileIDIdentification, FlowMobileIDSigning, FlowMobileIDHashSigning}
	f.Fuzz(func(t *testing.T, status int, body []byte, flowIndex uint8) {
		flow := flows[int(flowIndex)%len(flows)]
		res := decodeMarksign(flow, status, body)
		checkInvariants(t, status, body, res, "status", "ok")
		if res.State == StateSucceeded {
			_, isID := res.Outcome.(*Identification)
			_, isSig := res.Outcome.(*Signature)
			if isID != isIdentificationFlow(flow) || isSig == isIdentificationFlow(flow) {
				t.Fatalf("flow %s success outcome %T", flow, res.Outcome)
			}
		}
		if res.ErrorCode != 0 && res.State == StateSucceeded {
			t.Fatalf("error code %d with success", res.ErrorCode)
		}
	})
}
