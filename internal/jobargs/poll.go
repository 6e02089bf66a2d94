package jobargs

import (
	"github.com/riverqueue/river"
)

// Poll are the arguments of a session's poll job. They carry only the
// session id: credentials and personal data never go into job args.
type Poll struct {
	// SessionID is the polled session's id.
	SessionID string `json:"session_id"`
}

// Kind implements river.JobArgs: "pollhook.poll".
func (Poll) Kind() string { return "pollhook.poll" }

// InsertOpts implements river.JobArgsWithInsertOpts: poll jobs are unique per
// session for their whole life, so registering a session twice (SQL sweep
// and Go register, or two concurrent registrations) yields one poll job.
func (Poll) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueuePoll,
		MaxAttempts: 25,
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	}
}
