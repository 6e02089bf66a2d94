// Package event defines the webhooks pollhook sends, for subscribers written
// in Go: decode a verified body into Event.
//
// Every webhook is a Standard Webhooks message {"type", "timestamp", "data"}
// whose type names the terminal state the session reached, and whose data
// is a SessionData carrying everything a receiver needs to act.
package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// Type is a webhook's event type.
type Type string

// The event types, one per terminal session state.
const (
	// TypeSucceeded: the user completed the session; Outcome holds the result.
	TypeSucceeded Type = "session.succeeded"
	// TypeFailed: the provider ended the session unsuccessfully, or pollhook
	// could not poll it (credentials) until its deadline.
	TypeFailed Type = "session.failed"
	// TypeRefused: the user refused or cancelled at the provider.
	TypeRefused Type = "session.refused"
	// TypeExpired: the session timed out at the provider or reached its
	// deadline in pollhook.
	TypeExpired Type = "session.expired"
	// TypeNotFound: the provider does not know the session.
	TypeNotFound Type = "session.not_found"
	// TypeRejected: the provider refused the session id or parameters.
	TypeRejected Type = "session.rejected"
	// TypeCancelled: an app or operator cancelled tracking.
	TypeCancelled Type = "session.cancelled"
)

// TypeForState returns the event type of a terminal session state.
func TypeForState(state string) (Type, error) {
	switch t := Type("session." + state); t {
	case TypeSucceeded, TypeFailed, TypeRefused, TypeExpired, TypeNotFound, TypeRejected, TypeCancelled:
		return t, nil
	}
	return "", fmt.Errorf("event: state %q is not terminal", state)
}

// Event is a webhook body.
type Event struct {
	// Type is the event type.
	Type Type `json:"type"`
	// Timestamp is when the session reached its terminal state.
	Timestamp time.Time `json:"timestamp"`
	// Data describes the session.
	Data SessionData `json:"data"`
}

// SessionData is the data of every session event.
type SessionData struct {
	// SessionID is pollhook's id of the session (a UUID).
	SessionID string `json:"session_id"`
	// Provider is "fortid" or "marksign".
	Provider string `json:"provider"`
	// Flow is the provider flow, e.g. "verification", "smartid_identification".
	Flow string `json:"flow"`
	// ExternalID is the provider's session id or token.
	ExternalID string `json:"external_id"`
	// Account is the provider account pollhook polled with.
	Account string `json:"account"`
	// AppRef is the app's own reference given at registration, if any.
	AppRef *string `json:"app_ref"`
	// State is the terminal state: succeeded, failed, refused, expired,
	// not_found, rejected or cancelled.
	State string `json:"state"`
	// Outcome is the normalized outcome: an identification, a signature or
	// a verification (see docs/WEBHOOKS.md); null when the state carries none.
	Outcome json.RawMessage `json:"outcome"`
	// Error says why a session failed, expired or was rejected, if known.
	Error string `json:"error,omitempty"`
	// RegisteredAt is when the session was registered with pollhook.
	RegisteredAt time.Time `json:"registered_at"`
	// FinishedAt is when pollhook saw the terminal state.
	FinishedAt time.Time `json:"finished_at"`
}
