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
	"github.com/pollhook/pollhook/internal/logging"
	"github.com/pollhook/pollhook/internal/metrics"
	sess "github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/upstream"
)

// session is a sessions row as the poll job reads it.
type session = sess.Session

// PollWorker polls a session's provider once per run. The I/O is here; what
// to do after each call is Decide's, a pure function.
type PollWorker struct {
	river.WorkerDefaults[jobargs.Poll]

	pool    *pgxpool.Pool
	store   *sess.Store
	loader  *sessionLoader
	poller  upstream.Poller
	cfg     Config
	logger  *slog.Logger
	metrics *metrics.Metrics
	// repeats aggregates the log lines of failures many sessions repeat.
	repeats *logging.Aggregator
}

// NewPollWorker returns a worker polling through poller.
func NewPollWorker(pool *pgxpool.Pool, poller upstream.Poller, cfg Config, logger *slog.Logger, m *metrics.Metrics) *PollWorker {
	store := sess.NewStore("")
	return &PollWorker{pool: pool, store: store, loader: newSessionLoader(pool, store), poller: poller, cfg: cfg, logger: logger, metrics: m,
		repeats: logging.NewAggregator(cfg.LogAggregateEvery)}
}

// Work polls once and either snoozes the job until the next poll is due or
// hands the terminal outcome off to delivery.
func (w *PollWorker) Work(ctx context.Context, job *river.Job[jobargs.Poll]) error {
	w.metrics.PollLag(time.Since(job.ScheduledAt))
	prog := ProgressFromMetadata(job.Metadata)
	snoozes := riverSnoozes(job.Metadata)
	// The next poll is due at the job's scheduled_at (its snooze's end),
	// or at the time an older version recorded.
	due := prog
	if job.ScheduledAt.After(due.NextPollAt) {
		due.NextPollAt = job.ScheduledAt
	}
	if wait := WaitBeforePoll(due, time.Now()); wait > earlyWakeTolerance {
		// Woken before the next poll is due (a job snoozed in steps by an
		// older version, or run early by hand): wait out the rest. The
		// snooze makes no poll, so the progress records it (see
		// SnoozesAt). A wake within earlyWakeTolerance polls at once: River
		// fetches by the database's clock, the wait is by this host's.
		prog.SnoozesAt = snoozes + 1
		if err := river.MetadataSet(ctx, ProgressKey, prog); err != nil {
			return fmt.Errorf("poll session %s: record progress: %w", job.Args.SessionID, err)
		}
		return river.JobSnooze(wait)
	}
	// Read with the concurrent runs' reads, in one statement (see
	// sessionLoader): the cancellation request is seen before every call.
	s, err := w.loader.Load(ctx, job.Args.SessionID)
	if errors.Is(err, sess.ErrNotFound) {
		w.logger.WarnContext(ctx, "poll job for a deleted session: dropping the job", "session_id", job.Args.SessionID)
		return river.JobCancel(err)
	}
	if err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	if !s.State.Active() {
		return nil
	}

	deadline := w.deadline(s)
	if s.State == sess.StatePending {
		// The first run fixes the deadline and marks the session polling:
		// the only write to the row before its terminal state.
		if _, err := w.store.MarkPolling(ctx, w.pool, s.ID, deadline, job.ID); err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		s.State = sess.StatePolling
		w.logger.InfoContext(ctx, "session polling", "session_id", s.ID, "flow", s.Flow, "account", s.Account, "deadline", deadline)
	}

	policy := w.policy(s.Flow)
	in := PollInput{Progress: prog, Now: time.Now(), Registered: s.CreatedAt, Deadline: deadline,
		CancelRequested: s.CancelRequested != nil, Account: s.Account}
	d := Decide(in, policy)
	if d.Action == ActionEnd {
		return w.finish(ctx, job, s, endingOf(d, upstream.Result{}))
	}

	pctx, cancel := context.WithDeadline(ctx, deadline)
	start := time.Now()
	res, err := w.poller.Poll(pctx, w.upstreamSession(s))
	cancel()
	elapsed := time.Since(start)
	in.Polled, in.PolledAt, in.Now, in.Result = true, start, time.Now(), res
	if err != nil {
		// A misuse no retry fixes by itself (an account or flow the worker
		// is not configured for): the operator can fix the configuration
		// before the deadline, so it is handled like a credentials failure.
		in.Misconfigured, in.Result = true, upstream.Result{State: upstream.StateInProgress, CredentialsProblem: true}
	}
	d = Decide(in, policy)
	w.metrics.Poll(string(s.Flow), d.Progress.LastResult, elapsed)
	if d.Action == ActionEnd {
		return w.finish(ctx, job, s, endingOf(d, res))
	}
	w.logPoll(ctx, s, d.Progress, in, err)
	if progressChanged(storedProgress(job.Metadata), d.Progress) {
		// Only what cannot be derived is written: a plain in-progress
		// answer (HTTP 200) writes nothing when the last written progress
		// is plain too, or there is none, so the snooze's update is
		// River's own, as small as a bare River job's. (The next poll time left behind is always in the past by
		// the next run, so WaitBeforePoll is not misled by it.)
		d.Progress.SnoozesAt = snoozes + 1
		if err := river.MetadataSet(ctx, ProgressKey, d.Progress); err != nil {
			return fmt.Errorf("poll session %s: record progress: %w", s.ID, err)
		}
	}
	// The whole wait is one snooze, one job run per poll. A snooze within
	// River's scheduler interval (5 s) leaves the job available with a
	// future scheduled_at; a longer one leaves it scheduled, and pollhook's
	// scheduler makes it available ahead of time (see scheduler). Either
	// way River's fetch poll runs it when due.
	return river.JobSnooze(d.Wait)
}

// endingOf is the ending of a session as Decide ended it; res is the call's
// answer, carrying the outcome of a terminal one.
func endingOf(d Decision, res upstream.Result) ending {
	e := ending{state: string(d.State), errMsg: d.Reason}
	if upstream.State(d.State) == res.State {
		e.outcome, e.answer = res.Outcome, res.Answer
	}
	return e
}

// logPoll logs a non-terminal poll. Only codes, lengths and classes are
// logged, never provider text; failures that many sessions repeat (an
// account, a provider down) are logged once per key and minute with the
// count of the lines held back.
func (w *PollWorker) logPoll(ctx context.Context, s *session, prog PollProgress, in PollInput, misuse error) {
	attrs := []any{"session_id", s.ID, "provider", s.Provider, "flow", s.Flow, "account", s.Account,
		"polls", prog.Polls, "http_status", prog.LastHTTPStatus}
	var (
		level slog.Level
		msg   string
		key   string
	)
	switch prog.LastResult {
	case resultCredentials:
		level, key = slog.LevelError, string(s.Provider)+"/"+s.Account+"/"+prog.LastError
		attrs = append(attrs, "class", prog.LastError)
		if in.Misconfigured {
			// The account name comes from the row, not the configuration:
			// keep it out of the metric's bounded label set.
			w.metrics.CredentialsFailure(string(s.Provider), unconfiguredAccount)
			msg = "cannot poll: fix the worker's provider configuration; retrying slowly until the deadline"
			// The error is the worker's own text: the account and the
			// configured account names, no provider text.
			attrs = append(attrs, "error", misuse.Error())
		} else {
			w.metrics.CredentialsFailure(string(s.Provider), s.Account)
			msg = "provider refused credentials: fix the account's key; polling slowly until the deadline"
		}
	case resultTransient:
		level, key = slog.LevelWarn, string(s.Provider)+"/"+prog.LastError
		msg = "transient poll failure"
		attrs = append(attrs, "class", prog.LastError)
	case resultUnknownStatus:
		level, key = slog.LevelWarn, string(s.Provider)+"/"+string(s.Flow)+"/unknown_status"
		msg = "provider answered an unknown status: still polling"
		attrs = append(attrs, "status_len", prog.UnknownStatusLen)
	default:
		w.logger.DebugContext(ctx, "poll: in progress", attrs...)
		return
	}
	ok, suppressed := w.repeats.Allow(key)
	if !ok {
		return
	}
	if suppressed > 0 {
		attrs = append(attrs, "repeats_not_logged", suppressed)
	}
	w.logger.Log(ctx, level, msg, attrs...)
}

// earlyWakeTolerance is how early a run may come and still poll: more than
// the clock skew between a worker host and Postgres (River fetches a job
// once the database's now passes its scheduled_at), so skew does not turn
// every poll into two runs; far less than any backoff interval.
const earlyWakeTolerance = 250 * time.Millisecond

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

// policy is the polling policy of flow.
func (w *PollWorker) policy(flow upstream.Flow) PollPolicy {
	return PollPolicy{
		Backoff:            w.cfg.Flows[flow].Backoff,
		CredentialsBackoff: w.cfg.CredentialsBackoff,
		RetryAfterMax:      w.cfg.ProviderRetryAfterMax,
		FinalPollLead:      w.cfg.FinalPollLead,
	}
}

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
	us := upstream.Session{Target: s.Target, RegisteredAt: s.CreatedAt}
	if s.Provider == upstream.ProviderFortID {
		// A 404 after the session's timeout means FortID removed an expired
		// session; before it, that the session never existed.
		us.ProviderTimeout = s.CreatedAt.Add(w.cfg.FortIDTimeout)
	}
	return us
}

// terminalMessage is the error text stored with a terminal result. It may
// quote the provider's message: it is stored and delivered to the app,
// never logged.
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
