package jobs

import (
	"github.com/riverqueue/river"

	sess "github.com/pollhook/pollhook/internal/session"
)

// QueuePoll is the River queue of poll jobs that name no provider (inserted
// before poll jobs carried one); QueuePollFor gives each provider's queue.
const QueuePoll = "poll"

// QueuePollFor returns the River queue of provider p's poll jobs. Each
// provider has its own queue and worker slots, so a slow or dead provider
// cannot take the slots of the others.
func QueuePollFor(p sess.Provider) string {
	if p == "" {
		return QueuePoll
	}
	return QueuePoll + "_" + string(p)
}

// PollArgs are the arguments of a session's poll job. They carry only the
// session id and its provider: credentials and personal data never go into
// job args.
type PollArgs struct {
	// SessionID is the polled session's id.
	SessionID string `json:"session_id" river:"unique"`
	// Provider is the session's provider; it picks the job's queue.
	Provider sess.Provider `json:"provider,omitempty"`
}

// Kind implements river.JobArgs.
func (PollArgs) Kind() string { return "pollhook.poll" }

// InsertOpts implements river.JobArgsWithInsertOpts: poll jobs run in their
// provider's queue, and are unique per session for their whole life, so
// registering a session twice (SQL sweep and Go register, or two concurrent
// registrations) yields one poll job.
func (a PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueuePollFor(a.Provider),
		MaxAttempts: 25,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}
