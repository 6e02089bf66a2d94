package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pollhook/pollhook/internal/session"
)

// marksignPaths maps each Marksign flow to its status endpoint; %s is the
// session token.
var marksignPaths = map[Flow]string{
	FlowSmartIDIdentification:  "/smartid/status/%s.json",
	FlowSmartIDSigning:         "/smartid/sign/status/%s.json",
	FlowSmartIDHashSigning:     "/smartid/sign/hash/status/%s.json",
	FlowMobileIDIdentification: "/mobile/status/%s.json",
	FlowMobileIDSigning:        "/mobile/sign/status/%s.json",
	FlowMobileIDHashSigning:    "/mobile/sign-hash/status/%s.json",
}

// MarksignPath returns the status endpoint path of a Marksign flow for token
// and locale ("lt" or "": no prefix; "en": the /en prefix).
func MarksignPath(flow Flow, locale, token string) (string, error) {
	pattern, ok := marksignPaths[flow]
	if !ok {
		return "", fmt.Errorf("unknown Marksign flow %q", flow)
	}
	var prefix string
	switch strings.ToLower(locale) {
	case "", "lt":
	case "en":
		prefix = "/en"
	default:
		return "", fmt.Errorf("unknown Marksign locale %q (want \"lt\" or \"en\")", locale)
	}
	// The sessions table refuses any other token (one rule, in the session
	// package): a registered session is never refused here.
	if err := session.ValidateExternalID(session.ProviderMarksign, token); err != nil {
		return "", err
	}
	return prefix + fmt.Sprintf(pattern, token), nil
}

// isIdentificationFlow reports whether flow identifies a person (its success
// carries an Identification rather than a Signature).
func isIdentificationFlow(flow Flow) bool {
	return flow == FlowSmartIDIdentification || flow == FlowMobileIDIdentification
}

// pollMarksign polls a Marksign session: POST {base}[/en]{path} with body
// {"access_token": ...}.
func (c *Client) pollMarksign(ctx context.Context, s Session) (Result, error) {
	path, err := MarksignPath(s.Flow, s.Locale, s.ExternalID)
	if err != nil {
		return Result{}, fmt.Errorf("marksign: session %s: %w", s.ID, err)
	}
	token, err := credential("marksign", c.cfg.Marksign.Accounts, s)
	if err != nil {
		return Result{}, err
	}
	body, err := json.Marshal(struct {
		AccessToken string `json:"access_token"`
	}{token})
	if err != nil {
		return Result{}, fmt.Errorf("marksign: session %s: encode request", s.ID)
	}
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("Accept", "application/json")
	ans, err := c.exchange(ctx, http.MethodPost, c.cfg.Marksign.BaseURL+path, header, body)
	var res Result
	if err != nil {
		res = transientResult(ans.status, err)
	} else {
		res = decodeMarksign(s.Flow, ans.status, ans.body)
		if res.Transient {
			res.RetryAfter = retryAfter(ans.header, c.now())
		}
	}
	if res.Err != nil {
		res.Err = fmt.Errorf("marksign: poll session %s: %w", s.ID, res.Err)
	}
	return redact(res, token), nil
}

// decodeMarksign turns Marksign's answer (HTTP status and body) to a poll of
// flow into a Result. Only a 2xx answer with status "ok" is a success.
func decodeMarksign(flow Flow, status int, body []byte) Result {
	res, doc, perr := beginDecode(status, body)
	switch {
	case status >= 200 && status < 300:
		if perr != nil {
			res.Transient, res.Err = true, fmt.Errorf("HTTP %d: %w", status, perr)
			return res
		}
		switch st := doc.str("status"); st {
		case "waiting":
		case "ok":
			res.State = StateSucceeded
			if isIdentificationFlow(flow) {
				res.Outcome = identificationFrom(doc)
			} else {
				res.Outcome = signatureFrom(doc)
			}
		case "error":
			classifyMarksignError(&res, doc.int("error_code"))
		case "":
			res.Transient, res.Err = true, fmt.Errorf("HTTP %d: answer has no status", status)
		default:
			res.UnknownStatus = truncate(st, 64)
		}
	case status >= 400 && doc != nil && doc.int("error_code") != 0:
		// An error body: its code says what happened, whatever the HTTP
		// status.
		classifyMarksignError(&res, doc.int("error_code"))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		res.CredentialsProblem = true
		res.Err = fmt.Errorf("HTTP %d without an error code: Marksign refused the account's access token", status)
	case status == http.StatusTooManyRequests:
		res.Transient, res.Err = true, errors.New("HTTP 429: rate limited")
	case status >= 500:
		res.Transient, res.Err = true, fmt.Errorf("HTTP %d: server error", status)
	default:
		res.Transient, res.Err = true, fmt.Errorf("unexpected HTTP status %d without a Marksign error body", status)
	}
	return res
}

// classifyMarksignError sets res from a Marksign error_code, per the table in
// PROVIDERS.md.
func classifyMarksignError(res *Result, code int) {
	res.ErrorCode = code
	// The provider's message stays in res.Message (stored with a terminal
	// state, never logged): Err names the code only, since it reaches logs.
	describe := func(what string) error {
		return fmt.Errorf("HTTP %d: error_code %d (%s)", res.HTTPStatus, code, what)
	}
	switch code {
	case 40001, 40004, 40005:
		res.State = StateRejected
	case 40020:
		res.State = StateRefused
	case 40021, 40801:
		res.State = StateExpired
	case 40022, 40401, 40403:
		res.State = StateFailed
	case 40402:
		res.State = StateNotFound
	case 40003, 50003, 50004:
		res.CredentialsProblem = true
		res.Err = describe("Marksign refused the account's access token")
	case 50000, 50001, 50002:
		res.Transient = true
		res.Err = describe("provider-side failure")
	case 0:
		res.Transient = true
		res.Err = fmt.Errorf("HTTP %d: error answer without an error_code", res.HTTPStatus)
	default:
		res.Transient = true
		res.Err = describe("unknown error code")
	}
}

// identificationFrom reads the Identification of an "ok" answer.
func identificationFrom(doc object) *Identification {
	id := &Identification{
		Country:       doc.str("country"),
		PersonalCode:  doc.str("code"),
		GivenName:     doc.str("name"),
		Surname:       doc.str("surname"),
		ControlCode:   doc.str("control_code"),
		SanctionsData: doc.raw("sanctions_data"),
		PEPsData:      doc.raw("peps_data"),
	}
	if cert := doc.obj("certificate"); cert != nil {
		subject, issuer := cert.obj("subject"), cert.obj("issuer")
		id.Certificate = &Certificate{
			Name: cert.str("name"),
			Subject: CertificateSubject{
				Country:          subject.str("country"),
				Organisation:     subject.str("organisation"),
				OrganisationUnit: subject.str("organisation_unit"),
				CommonName:       subject.str("common_name"),
				Surname:          subject.str("surname"),
				GivenName:        subject.str("name"),
				SerialNumber:     subject.str("serial_number"),
			},
			Issuer: CertificateIssuer{
				Country:      issuer.str("country"),
				Organisation: issuer.str("organisation"),
				CommonName:   issuer.str("common_name"),
			},
			ValidFrom: cert.str("valid_from"),
			ValidTo:   cert.str("valid_to"),
			Value:     cert.str("value"),
		}
	}
	return id
}

// signatureFrom reads the Signature of an "ok" answer.
func signatureFrom(doc object) *Signature {
	sig := &Signature{
		SignatureID: doc.str("signature_id"),
		Person:      doc.raw("person"),
	}
	if file := doc.obj("file"); file != nil {
		sig.File = &SignedFile{Name: file.str("name"), Digest: file.str("digest")}
	}
	return sig
}
