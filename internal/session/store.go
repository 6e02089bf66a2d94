package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what Store needs of a connection: a *pgxpool.Pool, a *pgx.Conn
// or a pgx.Tx.
type Querier interface {
	// Exec runs a statement.
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	// QueryRow runs a query returning at most one row.
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Session is a sessions row as pollhook works with it (without its outcome).
type Session struct {
	// Target is what a poll needs of the session.
	Target
	// Subscriber names the subscriber that receives the webhook.
	Subscriber string
	// AppRef is the app's own reference, if any.
	AppRef *string
	// State is the session's state.
	State State
	// Deadline is the app's deadline until the first poll, then the
	// effective deadline; nil if none. A non-finite value, which migration
	// 00002 refuses but older rows may hold, reads as nil.
	Deadline *time.Time
	// CancelRequested is when the app asked to stop tracking, if it did.
	CancelRequested *time.Time
	// CreatedAt is the registration time.
	CreatedAt time.Time
}

// ErrNotFound is returned when a session row does not exist.
var ErrNotFound = errors.New("session not found")

// Store reads and writes the sessions table of one schema.
type Store struct {
	table string
}

// NewStore returns a Store on schema's sessions table; an empty schema means
// the connection's search_path.
func NewStore(schema string) *Store {
	table := "sessions"
	if schema != "" {
		table = pgx.Identifier{schema, "sessions"}.Sanitize()
	}
	return &Store{table: table}
}

// FiniteTime is a select expression for timestamptz column col that reads
// a non-finite value ('infinity', '-infinity', which Go's time.Time cannot
// hold) as NULL. Migration 00002 refuses such values in the columns apps
// write; rows registered before it may still hold them.
func FiniteTime(col string) string {
	return "CASE WHEN isfinite(" + col + ") THEN " + col + " END"
}

// columns are the ones Load reads. A non-finite deadline (older rows) reads
// as none, so the flow's own deadline applies; a non-finite cancellation
// time still reads as a cancellation.
var columns = `id::text, provider, flow, external_id, account, locale, subscriber, app_ref,
	state, ` + FiniteTime("deadline") + `,
	CASE WHEN isfinite(cancel_requested_at) THEN cancel_requested_at WHEN cancel_requested_at IS NOT NULL THEN created_at END,
	created_at`

// Internal is a FROM item marking the statement's transaction as pollhook's
// own write: the sessions guard trigger (migration 00002) lets pollhook's
// own columns change only when the transaction-local setting
// pollhook.internal is on. Use it as "FROM "+Internal+" WHERE ... AND
// internal.ok": the setting is made before any row is updated, without a
// round trip of its own.
const Internal = `(SELECT set_config('pollhook.internal', 'on', true) = 'on' AS ok) AS internal`

// Load reads session id.
func (st *Store) Load(ctx context.Context, q Querier, id string) (*Session, error) {
	var s Session
	err := q.QueryRow(ctx, `SELECT `+columns+` FROM `+st.table+` WHERE id = $1`, id).Scan(
		&s.ID, &s.Provider, &s.Flow, &s.ExternalID, &s.Account, &s.Locale, &s.Subscriber, &s.AppRef,
		&s.State, &s.Deadline, &s.CancelRequested, &s.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read session %s: %w", id, err)
	}
	return &s, nil
}

// MarkPolling records a pending session's first run: its effective deadline
// and its poll job. It reports false if the session was no longer pending.
func (st *Store) MarkPolling(ctx context.Context, q Querier, id string, deadline time.Time, jobID int64) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE `+st.table+` SET state = $4, deadline = $2, poll_job_id = $3, updated_at = now()
		FROM `+Internal+`
		WHERE id = $1 AND state = $5 AND internal.ok`, id, deadline, jobID, StatePolling, StatePending)
	if err != nil {
		return false, fmt.Errorf("session %s: mark polling: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Ending is how a session ends: its terminal state and what is stored with
// it. Outcome and Answer must be JSON Postgres accepts (see pgjson).
type Ending struct {
	// State is the terminal state.
	State State
	// Outcome is the normalized outcome as JSON, nil if none.
	Outcome []byte
	// Answer is the provider's answer as JSON, nil if none.
	Answer []byte
	// Error says why a session did not succeed, "" if it did.
	Error string
}

// End writes e to an active session and reports when it finished; ok is
// false if the session had already ended (another run ended it first).
func (st *Store) End(ctx context.Context, q Querier, id string, e Ending) (finishedAt time.Time, ok bool, err error) {
	if !e.State.Terminal() {
		return time.Time{}, false, fmt.Errorf("session %s: end as %q: not a terminal state", id, e.State)
	}
	var errMsg *string
	if e.Error != "" {
		errMsg = &e.Error
	}
	err = q.QueryRow(ctx, `UPDATE `+st.table+`
		SET state = $2, outcome = $3, answer = $4, error = $5, finished_at = now(), updated_at = now()
		FROM `+Internal+`
		WHERE id = $1 AND state IN ($6, $7) AND internal.ok
		RETURNING finished_at`, id, e.State, nullJSON(e.Outcome), nullJSON(e.Answer), errMsg, StatePending, StatePolling).Scan(&finishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("session %s: write outcome: %w", id, err)
	}
	return finishedAt, true, nil
}

// RequestCancel asks the poll job to end an active session as cancelled. It
// reports false if the session is unknown, has ended or was already asked.
func (st *Store) RequestCancel(ctx context.Context, q Querier, id string) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE `+st.table+` SET cancel_requested_at = now(), updated_at = now()
		WHERE id = $1 AND state IN ($2, $3) AND cancel_requested_at IS NULL`, id, StatePending, StatePolling)
	if err != nil {
		return false, fmt.Errorf("cancel session %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// nullJSON sends an empty document as SQL NULL.
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// RowsQuerier runs a query returning rows: a *pgxpool.Pool, a *pgx.Conn or
// a pgx.Tx.
type RowsQuerier interface {
	// Query runs a query.
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// LoadMany reads the sessions ids name in one statement, keyed by id; ids
// with no row are absent from the map. Every id must be a UUID.
func (st *Store) LoadMany(ctx context.Context, q RowsQuerier, ids []string) (map[string]*Session, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM `+st.table+` WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("read %d sessions: %w", len(ids), err)
	}
	defer rows.Close()
	out := make(map[string]*Session, len(ids))
	for rows.Next() {
		var s Session
		if err := rows.Scan(&s.ID, &s.Provider, &s.Flow, &s.ExternalID, &s.Account, &s.Locale, &s.Subscriber, &s.AppRef,
			&s.State, &s.Deadline, &s.CancelRequested, &s.CreatedAt); err != nil {
			return nil, fmt.Errorf("read %d sessions: %w", len(ids), err)
		}
		out[s.ID] = &s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %d sessions: %w", len(ids), err)
	}
	return out, nil
}
