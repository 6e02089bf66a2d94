package webhook

import (
	"github.com/pollhook/pollhook/internal/seal"
)

// The purposes values are sealed for: the table and column that hold them.
const (
	purposeSecret      = "subscriber_secrets.secret"
	purposeHeaders     = "subscribers.headers"
	purposePayload     = "deliveries.payload"
	purposeAttemptBody = "delivery_attempts.response_body"
	purposeOutcome     = "sessions.outcome"
	purposeAnswer      = "sessions.answer"
)

// AtRest says how pollhook stores what it must protect. Keys (from
// POLLHOOK_MAIN_KEY; nil when the worker was allowed to run without one)
// seal signing keys and custom header values always; with Personal
// (POLLHOOK_ENCRYPT_PERSONAL_DATA) they also seal personal data: session
// outcomes and answers, delivery payloads and attempt response bodies.
type AtRest struct {
	// Keys is the main keyring; nil stores everything in clear.
	Keys *seal.Keyring
	// Personal seals personal data too.
	Personal bool
}

// personal returns the keyring that seals personal data, nil if it is kept
// in clear.
func (a AtRest) personal() *seal.Keyring {
	if !a.Personal {
		return nil
	}
	return a.Keys
}

// SealOutcome returns a session's outcome document as the sessions.outcome
// column stores it: sealed (as a JSON string) when personal data is
// encrypted, unchanged otherwise. The terminal handoff calls it.
func (a AtRest) SealOutcome(doc []byte) []byte { return a.personal().SealJSON(purposeOutcome, doc) }

// SealAnswer is SealOutcome for the sessions.answer column.
func (a AtRest) SealAnswer(doc []byte) []byte { return a.personal().SealJSON(purposeAnswer, doc) }

// OpenOutcome reverses SealOutcome; a document in clear opens as itself.
func (a AtRest) OpenOutcome(doc []byte) ([]byte, error) { return a.Keys.OpenJSON(purposeOutcome, doc) }

// OpenAnswer reverses SealAnswer.
func (a AtRest) OpenAnswer(doc []byte) ([]byte, error) { return a.Keys.OpenJSON(purposeAnswer, doc) }
