package jobs

import (
	sess "github.com/pollhook/pollhook/internal/session"
)

// Session states as stored in the sessions table: aliases of the session
// package's, kept for the callers of this package.
const (
	// StatePending is a registered session whose first poll has not run.
	StatePending = sess.StatePending
	// StatePolling is a session being polled.
	StatePolling = sess.StatePolling
	// StateCancelled is a session whose tracking was cancelled.
	StateCancelled = sess.StateCancelled
)
