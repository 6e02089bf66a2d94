package session

// State is a session's state as stored in the sessions table's state column.
type State string

const (
	// StatePending is a registered session whose first poll has not run.
	StatePending State = "pending"
	// StatePolling is a session being polled.
	StatePolling State = "polling"
	// StateSucceeded: the user completed the session at the provider.
	StateSucceeded State = "succeeded"
	// StateFailed: the provider ended the session unsuccessfully, or the
	// worker could not poll it with its account until the deadline.
	StateFailed State = "failed"
	// StateRefused: the user refused or cancelled at the provider.
	StateRefused State = "refused"
	// StateExpired: the session timed out at the provider, or its deadline
	// passed after a final poll that did not end it.
	StateExpired State = "expired"
	// StateNotFound: the provider does not know the session.
	StateNotFound State = "not_found"
	// StateRejected: the provider refused the request as malformed.
	StateRejected State = "rejected"
	// StateCancelled: the app cancelled tracking.
	StateCancelled State = "cancelled"
)

// States returns every state the sessions table accepts, active ones first.
func States() []State {
	return []State{StatePending, StatePolling, StateSucceeded, StateFailed, StateRefused,
		StateExpired, StateNotFound, StateRejected, StateCancelled}
}

// Active reports whether a session in state s is still tracked.
func (s State) Active() bool { return s == StatePending || s == StatePolling }

// Terminal reports whether s ends a session.
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StateFailed, StateRefused, StateExpired, StateNotFound, StateRejected, StateCancelled:
		return true
	}
	return false
}

// Strings returns states as strings, e.g. for a flag's allowed values.
func Strings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
