package jobargs

import (
	"github.com/riverqueue/river"
)

// Poll are the arguments of a session's poll job. They carry only the
// session id and its provider: credentials and personal data never go into
// job args.
type Poll struct {
	// SessionID is the polled session's id; it alone makes the job unique.
	SessionID string `json:"session_id" river:"unique"`
	// Provider is the session's provider ("fortid", "marksign"); it picks the
	// job's queue (QueuePollFor). Empty in jobs inserted before poll jobs
	// named their provider: those run in QueuePoll.
	Provider string `json:"provider,omitempty"`
}

// Kind implements river.JobArgs: "pollhook.poll".
func (Poll) Kind() string { return "pollhook.poll" }

// InsertOpts implements river.JobArgsWithInsertOpts: poll jobs run in their
// provider's queue, and are unique per session for their whole life, so
// registering a session twice (SQL sweep and Go register, or two concurrent
// registrations) yields one poll job.
func (a Poll) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueuePollFor(a.Provider),
		MaxAttempts: 25,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}
