package jobs

import (
	"encoding/json"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// progressKey is the job metadata key holding a poll job's progress.
const progressKey = "pollhook"

// pollProgress is what a poll job remembers between runs. It lives in the
// River job's metadata, written with the snooze River writes anyway, so a
// non-terminal poll never rewrites the sessions row, and a restarted worker
// continues the backoff sequence where it was.
type pollProgress struct {
	// Polls counts the provider calls made so far.
	Polls int `json:"polls"`
	// LastPolledAt is when the last call was made.
	LastPolledAt time.Time `json:"last_polled_at,omitzero"`
	// LastResult summarises the last answer: in_progress, transient,
	// credentials or unknown_status.
	LastResult string `json:"last_result,omitempty"`
	// LastHTTPStatus is the last answer's HTTP status.
	LastHTTPStatus int `json:"last_http_status,omitempty"`
	// LastUnknownStatus is the last unrecognised status value, if any.
	LastUnknownStatus string `json:"last_unknown_status,omitempty"`
	// LastError is the last transient or credentials error.
	LastError string `json:"last_error,omitempty"`
	// Transient counts transient failures.
	Transient int `json:"transient,omitempty"`
	// CredentialsFailures counts credentials failures.
	CredentialsFailures int `json:"credentials_failures,omitempty"`
	// NextPollAt is when the next call is due.
	NextPollAt time.Time `json:"next_poll_at,omitzero"`
}

// progressFromJob reads the progress a job carries; a new job has none.
func progressFromJob(job *rivertype.JobRow) pollProgress {
	var meta struct {
		P pollProgress `json:"pollhook"`
	}
	if len(job.Metadata) > 0 {
		// A corrupt entry restarts the sequence rather than failing the job.
		_ = json.Unmarshal(job.Metadata, &meta)
	}
	return meta.P
}
