package jobs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

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
// provider's queue, and are unique per session while they live, so
// registering a session twice (SQL sweep and Go register, or two concurrent
// registrations) yields one poll job.
//
// The unique states leave out River's completed (and, as by default,
// cancelled and discarded): River's scheduler checks every job it moves
// from scheduled to available against the unique states, and with
// completed among them that check grows with the completed poll jobs kept
// for 30 days (River issue #785; docs/BENCHMARKS.md measures 3.4 s per
// 10 000 jobs beside 300 000 completed ones, 0.65 s without). A finished
// session's job cannot come back through this gap: registration and the
// sweep insert a poll job only for a session with no poll_job_id, in the
// transaction that sets it.
func (a PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueuePollFor(a.Provider),
		MaxAttempts: 25,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByState: pollUniqueStates()},
	}
}

// pollUniqueStates are the states in which a poll job blocks another for
// the same session: every state of a live job.
func pollUniqueStates() []rivertype.JobState {
	return []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}
}
