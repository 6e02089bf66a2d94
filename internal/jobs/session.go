package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/upstream"
)

// Session states as stored in the sessions table.
const (
	// StatePending is a registered session whose first poll has not run.
	StatePending = "pending"
	// StatePolling is a session being polled.
	StatePolling = "polling"
	// StateCancelled is a session whose tracking was cancelled.
	StateCancelled = "cancelled"
)

// session is a sessions row as the poll job reads it.
type session struct {
	ID              string
	Provider        upstream.Provider
	Flow            upstream.Flow
	ExternalID      string
	Account         string
	Locale          string
	Subscriber      string
	AppRef          *string
	State           string
	Deadline        *time.Time
	CancelRequested *time.Time
	CreatedAt       time.Time
}

// terminal reports whether the session's state is final.
func (s *session) terminal() bool { return s.State != StatePending && s.State != StatePolling }

const sessionColumns = `id::text, provider, flow, external_id, account, locale, subscriber, app_ref,
	state, deadline, cancel_requested_at, created_at`

// errSessionNotFound is returned when a poll job's session row is gone.
var errSessionNotFound = errors.New("session not found")

// loadSession reads one session.
func loadSession(ctx context.Context, pool *pgxpool.Pool, id string) (*session, error) {
	return scanSession(pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
}

func scanSession(row pgx.Row) (*session, error) {
	var s session
	err := row.Scan(&s.ID, &s.Provider, &s.Flow, &s.ExternalID, &s.Account, &s.Locale, &s.Subscriber, &s.AppRef,
		&s.State, &s.Deadline, &s.CancelRequested, &s.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errSessionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return &s, nil
}
