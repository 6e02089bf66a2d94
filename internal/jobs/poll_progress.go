package jobs

import (
	"encoding/json"
	"time"
)

// ProgressKey is the job metadata key holding a poll job's PollProgress.
const ProgressKey = "pollhook"

// PollProgress is what a poll job remembers between runs. It lives in the
// River job's metadata, written with the snooze River writes anyway, so a
// non-terminal poll never rewrites the sessions row, and a restarted worker
// continues the backoff sequence where it was.
//
// It holds counts, codes and classes only, never provider text (error
// messages, unknown status values, bodies): job metadata is readable by
// anyone with River UI.
type PollProgress struct {
	// Polls counts the provider calls made so far.
	Polls int `json:"polls"`
	// LastPolledAt is when the last call was made.
	LastPolledAt time.Time `json:"last_polled_at,omitzero"`
	// LastResult summarises the last answer: in_progress, transient,
	// credentials or unknown_status.
	LastResult string `json:"last_result,omitempty"`
	// LastAnswer is the LastResult of the last poll the provider actually
	// answered (transient failures leave it as it was): a session whose
	// provider last refused its credentials fails at the deadline, even if
	// the final call timed out.
	LastAnswer string `json:"last_answer,omitempty"`
	// LastHTTPStatus is the last answer's HTTP status.
	LastHTTPStatus int `json:"last_http_status,omitempty"`
	// UnknownStatusLen is the length of the last unrecognised status value,
	// if any (the value itself is provider text).
	UnknownStatusLen int `json:"unknown_status_len,omitempty"`
	// LastError is the class of the last transient or credentials failure,
	// e.g. "http_5xx", "no_answer", "error_code_50000", "unconfigured".
	LastError string `json:"last_error,omitempty"`
	// Transient counts transient failures.
	Transient int `json:"transient,omitempty"`
	// CredentialsFailures counts credentials failures.
	CredentialsFailures int `json:"credentials_failures,omitempty"`
	// NextPollAt is when the next call is due.
	NextPollAt time.Time `json:"next_poll_at,omitzero"`
}

// ProgressFromMetadata reads the progress in a poll job's metadata; a new
// job has none. A corrupt entry reads as none: the backoff sequence then
// restarts rather than the job failing.
func ProgressFromMetadata(metadata []byte) PollProgress {
	var meta struct {
		P PollProgress `json:"pollhook"`
	}
	if len(metadata) > 0 {
		_ = json.Unmarshal(metadata, &meta)
	}
	return meta.P
}
