package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/upstream"
)

// PollWorker polls a session's provider once per run.
type PollWorker struct {
	river.WorkerDefaults[jobargs.Poll]

	pool    *pgxpool.Pool
	poller  upstream.Poller
	cfg     Config
	logger  *slog.Logger
	metrics *metrics.Metrics
}

// NewPollWorker returns a worker polling through poller.
func NewPollWorker(pool *pgxpool.Pool, poller upstream.Poller, cfg Config, logger *slog.Logger, m *metrics.Metrics) *PollWorker {
	return &PollWorker{pool: pool, poller: poller, cfg: cfg, logger: logger, metrics: m}
}

// Work polls once and either snoozes the job until the next poll is due or
// hands the terminal outcome off to delivery.
func (w *PollWorker) Work(ctx context.Context, job *river.Job[jobargs.Poll]) error {
	w.metrics.PollLag(time.Since(job.ScheduledAt))
	prog := ProgressFromMetadata(job.Metadata)
	if wait := time.Until(prog.NextPollAt); prog.Polls > 0 && wait > 0 {
		// A wait longer than River's scheduler interval is served in steps:
		// a short snooze makes the job available at once with a future
		// scheduled_at, which the producer's next fetch picks up on time,
		// while a long one waits for the scheduler's 5 s sweep on top.
		return river.JobSnooze(min(wait, maxSnooze))
	}
	s, err := loadSession(ctx, w.pool, job.Args.SessionID)
	if errors.Is(err, errSessionNotFound) {
		w.logger.WarnContext(ctx, "poll job for a deleted session: dropping the job", "session_id", job.Args.SessionID)
		return river.JobCancel(fmt.Errorf("session %s: %w", job.Args.SessionID, err))
	}
	if err != nil {
		return fmt.Errorf("poll session %s: %w", job.Args.SessionID, err)
	}
	if s.terminal() {
		return nil
	}

	deadline := w.deadline(s)
	if s.State == StatePending {
		// The first run fixes the deadline and marks the session polling:
		// the only write to the row before its terminal state.
		if _, err := w.pool.Exec(ctx, `UPDATE sessions SET state = 'polling', deadline = $2, poll_job_id = $3, updated_at = now()
			WHERE id = $1 AND state = 'pending'`, s.ID, deadline, job.ID); err != nil {
			return fmt.Errorf("poll session %s: mark polling: %w", s.ID, err)
		}
		s.State = StatePolling
		w.logger.InfoContext(ctx, "session polling", "session_id", s.ID, "flow", s.Flow, "account", s.Account, "deadline", deadline)
	}

	if s.CancelRequested != nil {
		return w.finish(ctx, job, s, ending{state: StateCancelled, errMsg: "tracking cancelled by request"})
	}
	now := time.Now()
	if !now.Before(deadline) {
		e := ending{state: string(upstream.StateExpired), errMsg: fmt.Sprintf("deadline %s reached after %d polls", deadline.UTC().Format(time.RFC3339), prog.Polls)}
		if prog.LastAnswer == resultCredentials {
			e = ending{state: string(upstream.StateFailed), errMsg: fmt.Sprintf("could not poll with account %q until the deadline: %s", s.Account, prog.LastError)}
		}
		return w.finish(ctx, job, s, e)
	}

	pctx, cancel := context.WithDeadline(ctx, deadline)
	start := time.Now()
	res, err := w.poller.Poll(pctx, w.upstreamSession(s))
	cancel()
	elapsed := time.Since(start)
	misconfigured := err != nil
	if misconfigured {
		// A misuse no retry fixes by itself (an account or flow the worker
		// is not configured for): the operator can fix the configuration
		// before the deadline, so it is handled like a credentials failure.
		res = upstream.Result{State: upstream.StateInProgress, CredentialsProblem: true, Err: err}
	}
	prog.Polls++
	prog.LastPolledAt = start
	prog.LastHTTPStatus = res.HTTPStatus

	if res.State.Terminal() {
		w.metrics.Poll(string(s.Flow), string(res.State), elapsed)
		return w.finish(ctx, job, s, ending{
			state:   string(res.State),
			outcome: res.Outcome,
			answer:  res.Answer,
			errMsg:  terminalMessage(res),
		})
	}

	wait := w.cfg.Flows[s.Flow].Backoff.Interval(prog.Polls - 1)
	attrs := []any{"session_id", s.ID, "flow", s.Flow, "account", s.Account, "polls", prog.Polls, "http_status", res.HTTPStatus}
	switch {
	case res.CredentialsProblem:
		prog.LastResult, prog.CredentialsFailures = resultCredentials, prog.CredentialsFailures+1
		prog.LastError = errString(res.Err)
		wait = w.cfg.CredentialsBackoff
		if misconfigured {
			// The account name comes from the row, not the configuration:
			// keep it out of the metric's bounded label set.
			w.metrics.CredentialsFailure(string(s.Provider), "unconfigured")
			w.logger.ErrorContext(ctx, "cannot poll: fix the worker's provider configuration; retrying slowly until the deadline",
				append(attrs, "error", prog.LastError)...)
		} else {
			w.metrics.CredentialsFailure(string(s.Provider), s.Account)
			w.logger.ErrorContext(ctx, "provider refused credentials: fix the account's key; polling slowly until the deadline",
				append(attrs, "error", prog.LastError)...)
		}
	case res.Transient:
		prog.LastResult, prog.Transient = resultTransient, prog.Transient+1
		prog.LastError = errString(res.Err)
		w.logger.WarnContext(ctx, "transient poll failure", append(attrs, "error", prog.LastError)...)
	case res.UnknownStatus != "":
		prog.LastResult, prog.LastUnknownStatus = resultUnknownStatus, res.UnknownStatus
		w.logger.WarnContext(ctx, "provider answered an unknown status: still polling", append(attrs, "status", res.UnknownStatus)...)
	default:
		prog.LastResult = string(upstream.StateInProgress)
		prog.LastError = ""
		w.logger.DebugContext(ctx, "poll: in progress", attrs...)
	}
	if prog.LastResult != resultTransient {
		prog.LastAnswer = prog.LastResult
	}
	w.metrics.Poll(string(s.Flow), prog.LastResult, elapsed)
	wait = max(wait, res.RetryAfter)
	if remaining := time.Until(deadline); wait > remaining {
		// The next run lands on the deadline and ends the session there.
		wait = max(remaining, 0)
	}
	prog.NextPollAt = time.Now().Add(wait)
	if err := river.MetadataSet(ctx, ProgressKey, prog); err != nil {
		return fmt.Errorf("poll session %s: record progress: %w", s.ID, err)
	}
	return river.JobSnooze(min(wait, maxSnooze))
}

// maxSnooze is the longest single snooze: River's job scheduler interval.
// Up to it River makes a snoozed job available at once and the fetch loop
// runs it on time; past it the job waits for the scheduler too.
const maxSnooze = 5 * time.Second

// NextRetry spaces the retries of a poll job that failed: its errors come
// from the database or from a rescue after a crash, never from the
// provider (those are snoozes), so it retries soon, 1 s doubling to 30 s,
// rather than on River's default attempt^4 curve that could carry a
// session past its deadline without its last poll.
func (w *PollWorker) NextRetry(job *river.Job[jobargs.Poll]) time.Time {
	return time.Now().Add(min(time.Second<<min(len(job.Errors), 5), 30*time.Second))
}

// Poll results recorded in progress and metrics besides the states.
const (
	resultTransient     = "transient"
	resultCredentials   = "credentials"
	resultUnknownStatus = "unknown_status"
)

// deadline is when polling s stops: the app's deadline if sooner than the
// flow's default.
func (w *PollWorker) deadline(s *session) time.Time {
	d := s.CreatedAt.Add(w.cfg.defaultDeadline(s.Flow))
	if s.Deadline != nil && s.Deadline.Before(d) {
		return *s.Deadline
	}
	return d
}

// upstreamSession is what the provider client needs of s.
func (w *PollWorker) upstreamSession(s *session) upstream.Session {
	us := upstream.Session{
		ID:           s.ID,
		Provider:     s.Provider,
		Flow:         s.Flow,
		ExternalID:   s.ExternalID,
		Account:      s.Account,
		Locale:       s.Locale,
		RegisteredAt: s.CreatedAt,
	}
	if s.Provider == upstream.ProviderFortID {
		// A 404 after the session's timeout means FortID removed an expired
		// session; before it, that the session never existed.
		us.ProviderTimeout = s.CreatedAt.Add(w.cfg.FortIDTimeout)
	}
	return us
}

// terminalMessage is the error text stored with a terminal result.
func terminalMessage(res upstream.Result) string {
	if res.State == upstream.StateSucceeded {
		return ""
	}
	switch {
	case res.ErrorCode != 0 && res.Message != "":
		return fmt.Sprintf("%d: %s", res.ErrorCode, res.Message)
	case res.ErrorCode != 0:
		return fmt.Sprintf("error code %d", res.ErrorCode)
	case res.Message != "":
		return res.Message
	case res.HTTPStatus != 0:
		return fmt.Sprintf("HTTP %d", res.HTTPStatus)
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
