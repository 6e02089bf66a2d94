package jobs

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/upstream"
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
	// SnoozesAt is River's own snooze count of the job ("snoozes" in its
	// metadata) once the run that wrote this progress has snoozed. Every
	// later snooze follows one poll, so Polls is derived on reading as
	// Polls + snoozes - SnoozesAt, and a poll that changes nothing else
	// (in progress after in progress) writes no progress at all.
	SnoozesAt int `json:"snoozes_at,omitempty"`
}

// ProgressFromMetadata reads the progress in a poll job's metadata; a new
// job has none. A corrupt entry reads as none: the backoff sequence then
// restarts rather than the job failing.
//
// Polls made since the progress was written are counted from River's own
// snooze count (see SnoozesAt). A job with no progress but snoozes has
// only ever been answered in progress with HTTP 200 (the worker writes
// nothing else then, see plainProgress): it reads as such. LastPolledAt and
// NextPollAt are as last written (ProgressFromJob brings them up to date).
func ProgressFromMetadata(metadata []byte) PollProgress {
	var meta struct {
		P       *PollProgress `json:"pollhook"`
		Snoozes int           `json:"snoozes"`
	}
	if len(metadata) > 0 {
		_ = json.Unmarshal(metadata, &meta)
	}
	switch {
	case meta.P == nil && meta.Snoozes > 0:
		return plainProgress(meta.Snoozes)
	case meta.P == nil:
		return PollProgress{}
	}
	p := *meta.P
	// Progress written before SnoozesAt existed was written by every poll.
	if since := meta.Snoozes - p.SnoozesAt; p.SnoozesAt > 0 && since > 0 {
		p.Polls += since
	}
	return p
}

// plainProgress is the progress of a session whose provider answered each
// of its polls in progress with HTTP 200, the common case: a job in it
// carries no progress of its own in its metadata.
func plainProgress(polls int) PollProgress {
	inProgress := string(upstream.StateInProgress)
	return PollProgress{Polls: polls, LastResult: inProgress, LastAnswer: inProgress, LastHTTPStatus: http.StatusOK}
}

// storedProgress is the progress a job's metadata holds for comparison
// with the next (progressChanged): plainProgress if it holds none.
func storedProgress(metadata []byte) PollProgress {
	var meta struct {
		P *PollProgress `json:"pollhook"`
	}
	if len(metadata) > 0 {
		_ = json.Unmarshal(metadata, &meta)
	}
	if meta.P == nil {
		return plainProgress(0)
	}
	return *meta.P
}

// riverSnoozes is River's snooze count in a job's metadata.
func riverSnoozes(metadata []byte) int {
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	if len(metadata) > 0 {
		_ = json.Unmarshal(metadata, &meta)
	}
	return meta.Snoozes
}

// ProgressFromJob is ProgressFromMetadata with the times a poll that wrote
// no progress left only in the job's columns: the last run's start
// (attempted_at) as the last poll, scheduled_at as the next.
func ProgressFromJob(job *rivertype.JobRow) PollProgress {
	p := ProgressFromMetadata(job.Metadata)
	if p.Polls == 0 {
		return p
	}
	if job.AttemptedAt != nil && job.AttemptedAt.After(p.LastPolledAt) {
		p.LastPolledAt = *job.AttemptedAt
	}
	if job.ScheduledAt.After(p.NextPollAt) {
		p.NextPollAt = job.ScheduledAt
	}
	return p
}

// progressChanged reports whether next differs from prev in what cannot be
// derived: the poll count, its times and SnoozesAt follow from River's own
// columns, everything else must be written.
func progressChanged(prev, next PollProgress) bool {
	prev.Polls, prev.LastPolledAt, prev.NextPollAt, prev.SnoozesAt = 0, time.Time{}, time.Time{}, 0
	next.Polls, next.LastPolledAt, next.NextPollAt, next.SnoozesAt = 0, time.Time{}, time.Time{}, 0
	return prev != next
}
