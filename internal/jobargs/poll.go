package jobargs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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
// provider's queue, and are unique per session while they live, so
// registering a session twice (SQL sweep and Go register, or two concurrent
// registrations) yields one poll job.
//
// The unique states are the live ones, without River's default completed:
// River's scheduler checks every job it moves from scheduled to available
// against the unique states, and with completed among them that check grows
// with the completed poll jobs kept for 30 days (River issue #785;
// docs/BENCHMARKS.md measures 3.4 s per 10 000 jobs beside 300 000
// completed ones, 0.65 s without). A finished session's job cannot come
// back through this gap: registration and the sweep insert a poll job only
// for a session without poll_job_id, in the transaction that sets it.
func (a Poll) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueuePollFor(a.Provider),
		MaxAttempts: 25,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable,
				rivertype.JobStatePending,
				rivertype.JobStateRunning,
				rivertype.JobStateRetryable,
				rivertype.JobStateScheduled,
			},
		},
	}
}
