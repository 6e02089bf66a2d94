package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/session"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/track"
)

// sessionStates are the states the sessions table accepts.
func sessionStates() []string { return session.Strings(session.States()) }

// providers are the providers the sessions table accepts.
func providers() []string { return session.Strings(session.Providers()) }

// flows are the flows the sessions table accepts, of every provider.
func flows() []string { return session.Strings(session.Flows()) }

// sessionCommands are the "sessions" commands.
func sessionCommands() []*command {
	return []*command{
		{
			group: "sessions", name: "list",
			summary: "list sessions, newest first (never their outcomes: use sessions show)",
			setup: func(fs *flag.FlagSet) action {
				var f sessionFilter
				f.register(fs, listWords{noun: "sessions", states: sessionStates(), toSubscriber: "whose webhooks go to", created: "registered"})
				fs.StringVar(&f.provider, "provider", "", "only sessions of `PROVIDER`: fortid or marksign")
				fs.StringVar(&f.flow, "flow", "", "only sessions of `FLOW`, e.g. verification or smartid_signing")
				return func(ctx context.Context, e *env, _ []string) error { return sessionsList(ctx, e, f) }
			},
		},
		{
			group: "sessions", name: "show", args: []string{"ID"},
			summary: "show a session with its outcome, its poll job's progress and its deliveries",
			detail:  "The outcome is printed as stored and may hold personal data: handle the output accordingly.",
			setup:   func(*flag.FlagSet) action { return withID(parseSessionID, sessionsShow) },
		},
		{
			group: "sessions", name: "cancel", args: []string{"ID"},
			summary: "stop tracking a session; it ends as cancelled and its subscriber gets session.cancelled",
			setup:   func(*flag.FlagSet) action { return withID(parseSessionID, sessionsCancel) },
		},
	}
}

// sessionFilter holds the flags of sessions list.
type sessionFilter struct {
	listFlags
	provider, flow string
}

// sessionRow is a session as listed: no outcome, no provider answer.
type sessionRow struct {
	ID         string     `json:"id"`
	Provider   string     `json:"provider"`
	Flow       string     `json:"flow"`
	ExternalID string     `json:"external_id"`
	Account    string     `json:"account"`
	Subscriber string     `json:"subscriber"`
	AppRef     *string    `json:"app_ref"`
	State      string     `json:"state"`
	Error      *string    `json:"error"`
	Deadline   *time.Time `json:"deadline"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func sessionsList(ctx context.Context, e *env, f sessionFilter) error {
	pool, err := f.open(ctx, e, checkOneOf("provider", f.provider, providers()), checkOneOf("flow", f.flow, flows()))
	if err != nil {
		return err
	}
	var since *time.Time
	if !f.since.t.IsZero() {
		since = &f.since.t
	}
	list, err := collectRows[sessionRow](ctx, pool, "list sessions", `SELECT id::text, provider, flow, external_id, account, subscriber, app_ref,
			state, error, `+session.FiniteTime("deadline")+`, created_at, finished_at
		FROM sessions
		WHERE ($1::text = '' OR state = $1)
			AND ($2::text = '' OR provider = $2)
			AND ($3::text = '' OR flow = $3)
			AND ($4::text = '' OR subscriber = $4)
			AND ($5::timestamptz IS NULL OR created_at >= $5)
		ORDER BY created_at DESC, id DESC
		LIMIT $6`, f.state, f.provider, f.flow, f.subscriber, since, f.limit)
	if err != nil {
		return err
	}
	if e.json {
		return writeJSON(e.stdout, list)
	}
	t := newTable(e.stdout)
	t.row("ID", "STATE", "PROVIDER", "FLOW", "SUBSCRIBER", "APP_REF", "CREATED", "FINISHED", "ERROR")
	for _, s := range list {
		t.row(s.ID, s.State, s.Provider, s.Flow, s.Subscriber, clip(deref(s.AppRef), 40),
			fmtTime(s.CreatedAt), fmtTimePtr(s.FinishedAt), clip(deref(s.Error), 60))
	}
	return t.flush()
}

// sessionDetail is a session as sessions show prints it.
type sessionDetail struct {
	sessionRow
	Locale            string          `json:"locale"`
	CancelRequestedAt *time.Time      `json:"cancel_requested_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	RedactedAt        *time.Time      `json:"redacted_at"`
	Outcome           json.RawMessage `json:"outcome"`
	PollJobID         *int64          `json:"poll_job_id"`
	PollJob           *pollJobJSON    `json:"poll_job"`
	Deliveries        []deliveryRow   `json:"deliveries"`
	DeliveryNote      string          `json:"delivery_note,omitempty"`
}

// pollJobJSON is a session's River poll job.
type pollJobJSON struct {
	ID          int64        `json:"id"`
	State       string       `json:"state"`
	Attempt     int          `json:"attempt"`
	MaxAttempts int          `json:"max_attempts"`
	ScheduledAt time.Time    `json:"scheduled_at"`
	FinalizedAt *time.Time   `json:"finalized_at"`
	LastError   *string      `json:"last_job_error"`
	Progress    progressJSON `json:"progress"`
}

// progressJSON is a poll job's progress with every field present: null
// where there is nothing to say.
type progressJSON struct {
	Polls               int        `json:"polls"`
	LastPolledAt        *time.Time `json:"last_polled_at"`
	LastResult          *string    `json:"last_result"`
	LastHTTPStatus      *int       `json:"last_http_status"`
	UnknownStatusLen    *int       `json:"unknown_status_len"`
	LastError           *string    `json:"last_error"`
	Transient           int        `json:"transient"`
	CredentialsFailures int        `json:"credentials_failures"`
	// NextPollAt is null once the session or its job has finished: no poll
	// is coming.
	NextPollAt *time.Time `json:"next_poll_at"`
}

// newProgressJSON converts a poll job's progress; finished drops the next
// poll time, which a finished job keeps from its last run.
func newProgressJSON(p jobs.PollProgress, finished bool) progressJSON {
	out := progressJSON{
		Polls: p.Polls, LastPolledAt: nonZero(p.LastPolledAt), LastResult: nonZero(p.LastResult),
		LastHTTPStatus: nonZero(p.LastHTTPStatus), UnknownStatusLen: nonZero(p.UnknownStatusLen),
		LastError: nonZero(p.LastError), Transient: p.Transient, CredentialsFailures: p.CredentialsFailures,
	}
	if !finished {
		out.NextPollAt = nonZero(p.NextPollAt)
	}
	return out
}

func sessionsShow(ctx context.Context, e *env, id string) error {
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	var s sessionDetail
	err = pool.QueryRow(ctx, `SELECT id::text, provider, flow, external_id, account, subscriber, app_ref,
			state, error, `+session.FiniteTime("deadline")+`, created_at, finished_at,
			locale, `+session.FiniteTime("cancel_requested_at")+`, updated_at, redacted_at, outcome, poll_job_id
		FROM sessions WHERE id = $1`, id).Scan(
		&s.ID, &s.Provider, &s.Flow, &s.ExternalID, &s.Account, &s.Subscriber, &s.AppRef,
		&s.State, &s.Error, &s.Deadline, &s.CreatedAt, &s.FinishedAt,
		&s.Locale, &s.CancelRequestedAt, &s.UpdatedAt, &s.RedactedAt, &s.Outcome, &s.PollJobID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("session %s does not exist", id)
	}
	if err != nil {
		return fmt.Errorf("show session %s: %w", id, err)
	}
	if s.PollJobID != nil {
		if s.PollJob, err = pollJob(ctx, e, *s.PollJobID, !session.State(s.State).Active()); err != nil {
			return fmt.Errorf("show session %s: %w", id, err)
		}
	}
	if s.Deliveries, err = sessionDeliveries(ctx, pool, id); err != nil {
		return fmt.Errorf("show session %s: %w", id, err)
	}
	if len(s.Deliveries) == 0 {
		if s.DeliveryNote, err = noDeliveryNote(ctx, pool, s.Subscriber, s.State); err != nil {
			return fmt.Errorf("show session %s: %w", id, err)
		}
	}
	s.Outcome = e.openOutcome(s.Outcome)
	if e.json {
		return writeJSON(e.stdout, s)
	}
	return writeSessionDetail(e, &s)
}

// pollJob reads a poll job and its progress; nil if River has deleted it.
// sessionFinished says the session has ended, so no poll is coming whatever
// the job's metadata says.
func pollJob(ctx context.Context, e *env, id int64, sessionFinished bool) (*pollJobJSON, error) {
	client, err := e.river(ctx)
	if err != nil {
		return nil, err
	}
	job, err := client.JobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read poll job %d: %w", id, err)
	}
	out := &pollJobJSON{
		ID: job.ID, State: string(job.State), Attempt: job.Attempt, MaxAttempts: job.MaxAttempts,
		ScheduledAt: job.ScheduledAt, FinalizedAt: job.FinalizedAt,
	}
	if n := len(job.Errors); n > 0 {
		out.LastError = &job.Errors[n-1].Error
	}
	out.Progress = newProgressJSON(jobs.ProgressFromJob(job), sessionFinished || job.FinalizedAt != nil)
	return out, nil
}

func writeSessionDetail(e *env, s *sessionDetail) error {
	w := e.stdout
	fmt.Fprintf(w, "Session %s\n", s.ID)
	t := newTable(w)
	field := func(k, v string) { t.row("  "+k, v) }
	field("provider", s.Provider)
	field("flow", s.Flow)
	field("external id", s.ExternalID)
	field("account", s.Account)
	field("locale", s.Locale)
	field("subscriber", s.Subscriber)
	field("app ref", deref(s.AppRef))
	field("state", s.State)
	field("deadline", fmtTimePtr(s.Deadline))
	field("created", fmtTime(s.CreatedAt))
	field("updated", fmtTime(s.UpdatedAt))
	field("finished", fmtTimePtr(s.FinishedAt))
	if s.CancelRequestedAt != nil {
		field("cancel requested", fmtTimePtr(s.CancelRequestedAt))
	}
	if s.RedactedAt != nil {
		field("redacted", fmtTimePtr(s.RedactedAt))
	}
	field("error", deref(s.Error))
	if len(s.Outcome) == 0 {
		field("outcome", "")
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(s.Outcome) > 0 {
		fmt.Fprintf(w, "  outcome (personal data):\n    %s\n", indentJSON(s.Outcome, "    "))
	}

	fmt.Fprintln(w)
	switch {
	case s.PollJobID == nil:
		fmt.Fprintln(w, "Poll job: none yet (a worker queues one within seconds of registration)")
	case s.PollJob == nil:
		fmt.Fprintf(w, "Poll job %d: no longer in River (it deletes finished jobs after a while)\n", *s.PollJobID)
	default:
		j := s.PollJob
		p := j.Progress
		fmt.Fprintf(w, "Poll job %d\n", j.ID)
		t := newTable(w)
		field := func(k, v string) { t.row("  "+k, v) }
		field("state", j.State)
		field("attempt", fmt.Sprintf("%d of %d", j.Attempt, j.MaxAttempts))
		field("scheduled at", fmtTime(j.ScheduledAt))
		if j.FinalizedAt != nil {
			field("finalized at", fmtTimePtr(j.FinalizedAt))
		}
		field("polls", strconv.Itoa(p.Polls))
		field("last polled at", fmtTimePtr(p.LastPolledAt))
		last := deref(p.LastResult)
		if p.LastHTTPStatus != nil {
			last += fmt.Sprintf(" (HTTP %d)", *p.LastHTTPStatus)
		}
		if p.UnknownStatusLen != nil {
			last += fmt.Sprintf(" (a status of %d characters)", *p.UnknownStatusLen)
		}
		field("last result", last)
		field("last error", deref(p.LastError))
		if p.Transient > 0 || p.CredentialsFailures > 0 {
			field("failures", fmt.Sprintf("%d transient, %d credentials", p.Transient, p.CredentialsFailures))
		}
		if p.NextPollAt != nil {
			field("next poll at", fmtTimePtr(p.NextPollAt))
		} else {
			field("next poll at", "none: the session has ended")
		}
		if j.LastError != nil {
			field("last job error", *j.LastError)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w)
	if len(s.Deliveries) == 0 && s.DeliveryNote != "" {
		_, err := fmt.Fprintf(w, "Deliveries: none (%s)\n", s.DeliveryNote)
		return err
	}
	if len(s.Deliveries) == 0 {
		_, err := fmt.Fprintln(w, "Deliveries: none")
		return err
	}
	fmt.Fprintln(w, "Deliveries")
	return writeDeliveryTable(w, s.Deliveries)
}

// cancelJSON is the result of sessions cancel. Cancelled is false when
// the session had already ended (State says how) or its cancellation was
// already requested (CancelRequestedAt says when).
type cancelJSON struct {
	SessionID         string     `json:"session_id"`
	Cancelled         bool       `json:"cancelled"`
	State             string     `json:"state"`
	CancelRequestedAt *time.Time `json:"cancel_requested_at"`
}

func sessionsCancel(ctx context.Context, e *env, id string) error {
	tracker, err := track.New(e.config().Schema)
	if err != nil {
		return err
	}
	res := cancelJSON{SessionID: id}
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		ok, err := tracker.Cancel(ctx, tx, id)
		if err != nil {
			return err
		}
		res.Cancelled = ok
		return tx.QueryRow(ctx, `SELECT state, cancel_requested_at FROM sessions WHERE id = $1`, id).Scan(&res.State, &res.CancelRequestedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("session %s does not exist", id)
	}
	if err != nil {
		return fmt.Errorf("cancel session %s: %w", id, err)
	}
	var msg string
	switch {
	case res.Cancelled:
		msg = fmt.Sprintf("Cancelled session %s: its poll job ends it as cancelled at its next run and sends session.cancelled.", id)
	case !session.State(res.State).Active():
		msg = fmt.Sprintf("Not cancelled: session %s already ended as %s.", id, res.State)
	default:
		msg = fmt.Sprintf("Not cancelled again: cancellation of session %s was requested at %s; its poll job ends it at its next run.", id, fmtTimePtr(res.CancelRequestedAt))
	}
	if e.json {
		return writeJSON(e.stdout, res)
	}
	_, err = fmt.Fprintln(e.stdout, msg)
	return err
}
