// Package upstream reads the identity and signing providers pollhook watches.
//
// Each provider family has one small client (FortID, Marksign) behind the
// provider-neutral Poller interface: a Session goes in, a Result comes out
// that tells the polling engine exactly what to do next: keep polling, stop
// with an outcome, back off after a transient failure, or alert the operator
// about credentials.
package upstream

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pollhook/pollhook/internal/session"
)

// Provider names a provider family: session.Provider, whose home is the
// session package.
type Provider = session.Provider

// Flow names one status endpoint of a provider: session.Flow.
type Flow = session.Flow

// The providers and flows, from the session package.
const (
	ProviderFortID             = session.ProviderFortID
	ProviderMarksign           = session.ProviderMarksign
	FlowFortIDVerification     = session.FlowFortIDVerification
	FlowSmartIDIdentification  = session.FlowSmartIDIdentification
	FlowSmartIDSigning         = session.FlowSmartIDSigning
	FlowSmartIDHashSigning     = session.FlowSmartIDHashSigning
	FlowMobileIDIdentification = session.FlowMobileIDIdentification
	FlowMobileIDSigning        = session.FlowMobileIDSigning
	FlowMobileIDHashSigning    = session.FlowMobileIDHashSigning
)

// Target is what a poll needs to reach a session at its provider:
// session.Target.
type Target = session.Target

// Providers returns every provider: session.Providers.
func Providers() []Provider { return session.Providers() }

// State is the normalized state of a session after one poll: in progress,
// or one of the terminal states of the sessions table (session.State), whose
// names and meanings live there.
type State string

const (
	// StateInProgress means the session has not ended: poll again later. A
	// transient failure (see Result.Transient) also reports StateInProgress.
	StateInProgress State = "in_progress"
	// StateSucceeded: the outcome holds the identification, signature or
	// presented claims.
	StateSucceeded = State(session.StateSucceeded)
	// StateFailed: verification failed, user not found, document corrupted,
	// account not qualified (any end but the user's refusal).
	StateFailed = State(session.StateFailed)
	// StateRefused: session.StateRefused.
	StateRefused = State(session.StateRefused)
	// StateExpired: session.StateExpired, as the provider reports it.
	StateExpired = State(session.StateExpired)
	// StateNotFound: session.StateNotFound.
	StateNotFound = State(session.StateNotFound)
	// StateRejected: bad parameters, an id that is not a UUID; polling again
	// cannot help.
	StateRejected = State(session.StateRejected)
)

// Terminal reports whether the state ends the session.
func (s State) Terminal() bool { return s != StateInProgress && s != "" }

// Session is what a poll needs to know about a tracked session. It carries
// no credentials: the client looks the account up in its own configuration.
type Session struct {
	// Target identifies the session at its provider: ids, flow, account
	// and locale.
	Target
	// RegisteredAt is when pollhook registered the session.
	RegisteredAt time.Time
	// ProviderTimeout is, for FortID, when the session has timed out at the
	// latest as far as pollhook knows: RegisteredAt + session_timeout_secs
	// (the provider's session started at or before registration). A 404
	// after it means FortID removed an expired session (expired); before it,
	// that the session never existed (not found). Zero if unknown.
	ProviderTimeout time.Time
}

// Result is the normalized answer of one poll.
type Result struct {
	// State is the normalized state.
	State State
	// Transient is set when the poll failed in a way that may heal (5xx,
	// timeout, connection error, malformed or oversized body). State is then
	// StateInProgress and Err says what happened.
	Transient bool
	// CredentialsProblem is set when the provider refused the account's
	// credentials (Marksign 40003/50003/50004, FortID 401/403). State is then
	// StateInProgress: the engine backs off slowly and alerts the operator.
	CredentialsProblem bool
	// UnknownStatus holds a status value the client did not recognise; State
	// is then StateInProgress. It is provider text: the engine logs and
	// records its length only.
	UnknownStatus string
	// HTTPStatus is the HTTP status of the answer, 0 if none arrived.
	HTTPStatus int
	// Answer is the provider's answer body as received, when it was valid
	// JSON; nil otherwise.
	Answer json.RawMessage
	// Outcome is the normalized outcome for a terminal state: one of
	// *Identification, *Signature, *Verification, or nil.
	Outcome any
	// ErrorCode is the provider's error code (Marksign error_code), 0 if none.
	ErrorCode int
	// Message is the provider's human message (Marksign message, FortID
	// message or description), if any. It is provider text, possibly
	// personal: stored with a terminal state and delivered, never logged.
	Message string
	// RetryAfter is the provider's Retry-After, 0 if none.
	RetryAfter time.Duration
	// Err describes a transient or credentials failure. It never contains a
	// credential nor provider text (messages, statuses, bodies): it may be
	// logged.
	Err error
}

// Poller polls one session's status once.
type Poller interface {
	// Poll asks the provider for the session's status once. An error is
	// returned only for a misuse that no retry can fix (unknown flow, unknown
	// account, an id the provider would refuse); every answer of the
	// provider, including transport failures, is a Result.
	Poll(ctx context.Context, s Session) (Result, error)
}
