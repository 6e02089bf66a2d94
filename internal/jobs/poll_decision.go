package jobs

import (
	"fmt"
	"net/http"
	"time"

	sess "github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/upstream"
)

// PollPolicy is what the polling decision needs of the configuration for one
// session's flow.
type PollPolicy struct {
	// Backoff is the flow's schedule.
	Backoff Backoff
	// CredentialsBackoff is the wait after a credentials failure.
	CredentialsBackoff time.Duration
	// RetryAfterMax bounds a provider's Retry-After.
	RetryAfterMax time.Duration
	// FinalPollLead is how long before the deadline the final poll is made
	// at most; see Decide.
	FinalPollLead time.Duration
}

// Action is what a poll job run does.
type Action int

const (
	// ActionPoll calls the provider now.
	ActionPoll Action = iota
	// ActionSnooze waits Decision.Wait for the next run.
	ActionSnooze
	// ActionEnd ends the session as Decision.State.
	ActionEnd
)

// Decision is the outcome of Decide.
type Decision struct {
	// Action is what to do.
	Action Action
	// Wait is the time until the next run (ActionSnooze).
	Wait time.Duration
	// State is the terminal state (ActionEnd).
	State sess.State
	// Reason is the error stored with a terminal state other than
	// succeeded (ActionEnd); it may quote the provider's message, and is
	// stored and delivered, never logged.
	Reason string
	// Progress is the progress to record.
	Progress PollProgress
}

// PollInput is what one run of a poll job knows.
type PollInput struct {
	// Progress is the progress recorded by earlier runs.
	Progress PollProgress
	// Now is the current time.
	Now time.Time
	// Registered is the session's registration time.
	Registered time.Time
	// Deadline is the session's effective deadline.
	Deadline time.Time
	// CancelRequested is set when the app asked to stop tracking.
	CancelRequested bool
	// Account is the session's account, quoted in a failure's reason.
	Account string
	// Polled is set when this run called the provider: Result, PolledAt
	// and Misconfigured describe the call.
	Polled bool
	// Result is the call's answer.
	Result upstream.Result
	// PolledAt is when the call was made.
	PolledAt time.Time
	// Misconfigured is set when the worker could not make the call for lack
	// of configuration (an unconfigured account): handled like a
	// credentials failure.
	Misconfigured bool
}

// FinalPollAt is when the final poll of a session is due: shortly before
// the deadline, leaving the call up to FinalPollLead to answer. Within a
// short window the lead shrinks to a tenth of the window, so that the
// session still gets its regular polls, but never below
// finalPollLeadFloor (or half the window, if that is shorter): a lead
// shorter than the worker's own delay in picking a due job up would let
// the deadline pass before the final poll is sent.
func FinalPollAt(p PollPolicy, registered, deadline time.Time) time.Time {
	lead := p.FinalPollLead
	if window := deadline.Sub(registered); window > 0 {
		lead = min(lead, max(window/10, min(finalPollLeadFloor, window/2)))
	}
	return deadline.Add(-max(lead, 0))
}

// finalPollLeadFloor is the shortest final-poll lead of a short window:
// several fetch intervals (100 ms by default) plus the scheduling and
// pickup lag of a loaded worker, measured by the invariant suite at up to
// about 450 ms on two busy cores.
const finalPollLeadFloor = 750 * time.Millisecond

// Decide is the polling decision, a pure function of in and p.
//
// Before a call (in.Polled false): a cancelled session ends cancelled; a
// session at or past its deadline ends expired (failed if the provider last
// refused the account's credentials) without a call, since no request may
// go out past the deadline; otherwise the provider is called.
//
// After a call: a terminal answer ends the session with it. Otherwise the
// next call waits the flow's backoff interval (the credentials backoff
// after a credentials failure), or the provider's Retry-After up to
// RetryAfterMax if longer. The last poll is guaranteed: a wait that would
// pass FinalPollAt is cut to it, so the provider is asked once more in the
// session's last moments, and only after that final call answered in
// progress (or failed) does the job wait for the deadline and end the
// session there.
func Decide(in PollInput, p PollPolicy) Decision {
	prog := in.Progress
	if !in.Polled {
		switch {
		case in.CancelRequested:
			return Decision{Action: ActionEnd, State: sess.StateCancelled, Reason: "tracking cancelled by request", Progress: prog}
		case !in.Now.Before(in.Deadline):
			return Decision{Action: ActionEnd, State: deadlineState(prog), Reason: deadlineReason(prog, in), Progress: prog}
		}
		return Decision{Action: ActionPoll, Progress: prog}
	}

	res := in.Result
	prog.Polls++
	prog.LastPolledAt = in.PolledAt
	prog.LastHTTPStatus = res.HTTPStatus
	if res.State.Terminal() && !in.Misconfigured {
		prog.LastResult, prog.LastError = string(res.State), ""
		return Decision{Action: ActionEnd, State: sess.State(res.State), Reason: terminalMessage(res), Progress: prog}
	}

	// The schedule follows the poll count, or the session's age when the
	// polls came late (see Backoff.StepsWithin).
	wait := p.Backoff.Interval(max(prog.Polls-1, p.Backoff.StepsWithin(in.PolledAt.Sub(in.Registered))))
	switch {
	case in.Misconfigured || res.CredentialsProblem:
		prog.LastResult, prog.CredentialsFailures = resultCredentials, prog.CredentialsFailures+1
		prog.LastError = ResultClass(res, in.Misconfigured)
		wait = p.CredentialsBackoff
	case res.Transient:
		prog.LastResult, prog.Transient = resultTransient, prog.Transient+1
		prog.LastError = ResultClass(res, false)
	case res.UnknownStatus != "":
		prog.LastResult, prog.UnknownStatusLen = resultUnknownStatus, len(res.UnknownStatus)
	default:
		prog.LastResult, prog.LastError = string(upstream.StateInProgress), ""
	}
	if prog.LastResult != resultTransient {
		prog.LastAnswer = prog.LastResult
	}
	wait = max(wait, min(res.RetryAfter, p.RetryAfterMax))

	final := FinalPollAt(p, in.Registered, in.Deadline)
	switch {
	case !in.PolledAt.Before(final):
		// That was the final poll: the session ends at its deadline.
		wait = in.Deadline.Sub(in.Now)
	case in.Now.Add(wait).After(final):
		wait = final.Sub(in.Now)
	}
	wait = max(wait, 0)
	prog.NextPollAt = in.Now.Add(wait)
	return Decision{Action: ActionSnooze, Wait: wait, Progress: prog}
}

// WaitBeforePoll is how long a job woken early (snoozed in steps by an
// older version, or run early by hand) must still wait before its next
// call.
func WaitBeforePoll(prog PollProgress, now time.Time) time.Duration {
	if prog.Polls == 0 || !now.Before(prog.NextPollAt) {
		return 0
	}
	return prog.NextPollAt.Sub(now)
}

// deadlineState is how a session ends at its deadline.
func deadlineState(prog PollProgress) sess.State {
	if prog.LastAnswer == resultCredentials {
		return sess.StateFailed
	}
	return sess.StateExpired
}

// deadlineReason is the stored error of a session ended by its deadline.
func deadlineReason(prog PollProgress, in PollInput) string {
	if prog.LastAnswer == resultCredentials {
		return fmt.Sprintf("could not poll with account %q until the deadline (%s)", in.Account, prog.LastError)
	}
	return fmt.Sprintf("deadline %s reached after %d polls", in.Deadline.UTC().Format(time.RFC3339), prog.Polls)
}

// ResultClass names the kind of failure of a non-terminal result with a
// bounded set of values, safe for logs, metrics and job metadata (unlike
// Result.Err, which may quote the provider).
func ResultClass(res upstream.Result, misconfigured bool) string {
	switch {
	case misconfigured:
		return "unconfigured"
	case res.CredentialsProblem && res.ErrorCode != 0:
		return fmt.Sprintf("credentials_error_code_%d", res.ErrorCode)
	case res.CredentialsProblem:
		return fmt.Sprintf("credentials_http_%d", res.HTTPStatus)
	case res.HTTPStatus == 0:
		return "no_answer"
	case res.ErrorCode != 0:
		return fmt.Sprintf("error_code_%d", res.ErrorCode)
	case res.HTTPStatus == http.StatusTooManyRequests:
		return "rate_limited"
	case res.HTTPStatus >= 500:
		return "http_5xx"
	case res.HTTPStatus >= 200 && res.HTTPStatus < 300:
		return "bad_answer"
	}
	return fmt.Sprintf("http_%d", res.HTTPStatus)
}
