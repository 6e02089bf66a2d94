package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/pollhook/pollhook/internal/session"
)

// FortID verificationSessionStatus values.
const (
	fortIDInProgress = "IN_PROGRESS"
	fortIDSucceeded  = "VERIFICATION_SUCCEEDED"
	fortIDFailed     = "VERIFICATION_FAILED"
)

// pollFortID polls a FortID verification session:
// GET {base}/verification-session/status/{id} with header X-API-KEY.
func (c *Client) pollFortID(ctx context.Context, s Session) (Result, error) {
	if s.Flow != FlowFortIDVerification {
		return Result{}, fmt.Errorf("fortid: session %s: unknown flow %q (FortID has only %q)", s.ID, s.Flow, FlowFortIDVerification)
	}
	if !IsUUID(s.ExternalID) {
		return Result{}, fmt.Errorf("fortid: session %s: verification session id %q is not a UUID", s.ID, truncate(s.ExternalID, 64))
	}
	if c.cfg.FortID.BaseURL == "" {
		return Result{}, fmt.Errorf("fortid: session %s: no FortID base URL is configured", s.ID)
	}
	key, err := credential("fortid", c.cfg.FortID.Accounts, s)
	if err != nil {
		return Result{}, err
	}
	header := http.Header{}
	header.Set("X-API-KEY", key)
	header.Set("Accept", "application/json")
	ans, err := c.exchange(ctx, http.MethodGet, c.cfg.FortID.BaseURL+"/verification-session/status/"+s.ExternalID, header, nil)
	var res Result
	if err != nil {
		res = transientResult(ans.status, err)
	} else {
		res = decodeFortID(ans.status, ans.body)
		if res.State == StateNotFound && !s.ProviderTimeout.IsZero() && c.now().After(s.ProviderTimeout) {
			// FortID removes a timed-out session after its grace period:
			// past the window a 404 means it expired.
			res.State = StateExpired
		}
		if res.Transient {
			res.RetryAfter = retryAfter(ans.header, c.now())
		}
	}
	if res.Err != nil {
		res.Err = fmt.Errorf("fortid: poll session %s: %w", s.ID, res.Err)
	}
	return redact(res, key), nil
}

// decodeFortID turns FortID's answer (HTTP status and body) into a Result. A
// 404 reads as not found: pollFortID decides whether it means expired.
func decodeFortID(status int, body []byte) Result {
	res, doc, perr := beginDecode(status, body)
	switch {
	case status >= 200 && status < 300:
		if perr != nil {
			res.Transient, res.Err = true, fmt.Errorf("HTTP %d: %w", status, perr)
			return res
		}
		switch st := doc.str("verificationSessionStatus"); st {
		case fortIDInProgress:
		case fortIDSucceeded:
			res.State = StateSucceeded
			res.Outcome = &Verification{PresentedClaims: doc.raw("presentedClaims")}
		case fortIDFailed:
			desc := truncate(doc.str("description"), 1024)
			res.State, res.Message = StateFailed, desc
			res.Outcome = &Verification{Description: desc}
		case "":
			res.Transient, res.Err = true, fmt.Errorf("HTTP %d: answer has no verificationSessionStatus", status)
		default:
			res.UnknownStatus = truncate(st, 64)
		}
	case status == http.StatusBadRequest:
		res.State = StateRejected
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		res.CredentialsProblem = true
		res.Err = fmt.Errorf("HTTP %d: FortID refused the account's API key", status)
	case status == http.StatusNotFound:
		res.State = StateNotFound
	case status == http.StatusGone:
		res.State = StateExpired
	case status == http.StatusTooManyRequests:
		res.Transient, res.Err = true, errors.New("HTTP 429: rate limited")
	case status >= 500:
		res.Transient, res.Err = true, fmt.Errorf("HTTP %d: server error", status)
	default:
		res.Transient, res.Err = true, fmt.Errorf("unexpected HTTP status %d", status)
	}
	return res
}

// IsUUID reports whether s is a UUID in its canonical textual form
// (8-4-4-4-12 hexadecimal digits, any version and case), as FortID requires
// of a session id: session.IsUUID.
func IsUUID(s string) bool { return session.IsUUID(s) }
