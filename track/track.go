// Package track registers sessions with pollhook from Go, inside the
// caller's own transaction.
//
// Register inserts the sessions row and its poll job in the caller's pgx.Tx:
// both commit with the app's own writes or not at all. Registering the same
// (provider, external id) twice, concurrently or not, yields one session and
// one poll job, and returns the existing session the second time.
//
// Apps in other languages register with a plain SQL INSERT instead (see
// README.md); the worker picks those rows up within a second.
package track

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/session"
)

// Session is a session to track.
type Session struct {
	// Provider is "fortid" or "marksign".
	Provider string
	// Flow is the provider flow: "verification" for FortID;
	// "smartid_identification", "smartid_signing", "smartid_hash_signing",
	// "mobileid_identification", "mobileid_signing" or
	// "mobileid_hash_signing" for Marksign.
	Flow string
	// ExternalID is the provider's session id (FortID: a UUID) or token.
	ExternalID string
	// Subscriber names the subscriber that receives the webhook.
	Subscriber string
	// Account names the provider credentials to poll with; "" is "default".
	Account string
	// Locale picks Marksign's message language: "lt" (default) or "en".
	Locale string
	// AppRef is the app's own reference, echoed in the webhook.
	AppRef string
	// Deadline, if set, ends polling sooner than the flow's default.
	Deadline time.Time
}

// Registration is the result of Register.
type Registration struct {
	// SessionID is pollhook's id of the session.
	SessionID string
	// Created is false when the session was registered before.
	Created bool
	// State is the session's state (pending for a new session).
	State string
}

// Tracker registers sessions in one pollhook schema.
type Tracker struct {
	schema   string
	sessions string
	store    *session.Store
	inserter *river.Client[pgx.Tx]
}

// New returns a Tracker for pollhook's schema (POLLHOOK_SCHEMA, "pollhook"
// by default). It holds no connection: every call uses the caller's tx.
func New(schema string) (*Tracker, error) {
	if schema == "" {
		schema = db.DefaultSchema
	}
	if err := db.ValidateSchema(schema); err != nil {
		return nil, fmt.Errorf("track: %w", err)
	}
	// An insert-only River client: it needs no pool of its own.
	client, err := river.NewClient(riverpgxv5.New(nil), &river.Config{Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("track: river client: %w", err)
	}
	return &Tracker{schema: schema, sessions: pgx.Identifier{schema, "sessions"}.Sanitize(), store: session.NewStore(schema), inserter: client}, nil
}

// ErrInvalid wraps every refusal of a session's fields.
var ErrInvalid = errors.New("track: invalid session")

// Register inserts s and its poll job in tx, or returns the session already
// registered for (s.Provider, s.ExternalID). Nothing is visible to the
// worker until tx commits.
func (t *Tracker) Register(ctx context.Context, tx pgx.Tx, s Session) (Registration, error) {
	if s.Account == "" {
		s.Account = "default"
	}
	if s.Locale == "" {
		s.Locale = "lt"
	}
	var appRef *string
	if s.AppRef != "" {
		appRef = &s.AppRef
	}
	var deadline *time.Time
	if !s.Deadline.IsZero() {
		deadline = &s.Deadline
	}
	// The database stores FortID ids in lower case: look the session up
	// the same way.
	s.ExternalID = session.CanonicalExternalID(session.Provider(s.Provider), s.ExternalID)

	var reg Registration
	err := tx.QueryRow(ctx, `INSERT INTO `+t.sessions+`
		(provider, flow, external_id, subscriber, account, locale, app_ref, deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (provider, external_id) DO NOTHING
		RETURNING id::text, state`,
		s.Provider, s.Flow, s.ExternalID, s.Subscriber, s.Account, s.Locale, appRef, deadline).Scan(&reg.SessionID, &reg.State)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `SELECT id::text, state FROM `+t.sessions+` WHERE provider = $1 AND external_id = $2`,
			s.Provider, s.ExternalID).Scan(&reg.SessionID, &reg.State)
		if err != nil {
			return Registration{}, fmt.Errorf("track: read existing session %s/%s: %w", s.Provider, s.ExternalID, err)
		}
		return reg, nil
	}
	if err != nil {
		return Registration{}, refusal(err, s)
	}
	reg.Created = true

	res, err := t.inserter.InsertTx(ctx, tx, jobargs.Poll{SessionID: reg.SessionID, Provider: s.Provider}, nil)
	if err != nil {
		return Registration{}, fmt.Errorf("track: insert poll job for session %s: %w", reg.SessionID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE `+t.sessions+` SET poll_job_id = $2 WHERE id = $1`, reg.SessionID, res.Job.ID); err != nil {
		return Registration{}, fmt.Errorf("track: link poll job of session %s: %w", reg.SessionID, err)
	}
	return reg, nil
}

// Cancel asks pollhook to stop tracking a session. The poll job notices at
// its next run, without calling the provider, and the session ends as
// cancelled with a session.cancelled webhook. It returns false if the
// session is unknown or has already ended.
func (t *Tracker) Cancel(ctx context.Context, tx pgx.Tx, sessionID string) (bool, error) {
	ok, err := t.store.RequestCancel(ctx, tx, sessionID)
	if err != nil {
		return false, fmt.Errorf("track: %w", err)
	}
	return ok, nil
}

// refusal turns a constraint violation into a clear error.
func refusal(err error, s Session) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("track: register %s/%s: %w", s.Provider, s.ExternalID, err)
	}
	var why string
	switch pgErr.ConstraintName {
	case "sessions_provider_check":
		why = fmt.Sprintf("unknown provider %q (want fortid or marksign)", s.Provider)
	case "sessions_provider_flow_check":
		why = fmt.Sprintf("provider %q has no flow %q", s.Provider, s.Flow)
	case "sessions_fortid_uuid_check":
		why = fmt.Sprintf("FortID session id %q is not a UUID", s.ExternalID)
	case "sessions_external_id_check":
		why = fmt.Sprintf("external id %q is empty, too long or holds characters other than letters, digits, - and _", s.ExternalID)
	case "sessions_account_check":
		why = fmt.Sprintf("account %q must be 1-63 lower-case letters, digits or _", s.Account)
	case "sessions_locale_check":
		why = fmt.Sprintf("locale %q must be lt or en", s.Locale)
	case "sessions_subscriber_fkey":
		why = fmt.Sprintf("subscriber %q does not exist", s.Subscriber)
	case "sessions_app_ref_check":
		why = "app reference is longer than 500 characters"
	case "sessions_marksign_token_check":
		why = fmt.Sprintf("Marksign session token is longer than %d characters", session.MarksignTokenMaxLen)
	case "sessions_deadline_check":
		why = fmt.Sprintf("deadline %s is not a finite time after the registration", s.Deadline.Format(time.RFC3339Nano))
	default:
		return fmt.Errorf("track: register %s/%s: %w", s.Provider, s.ExternalID, err)
	}
	return fmt.Errorf("%w: %s", ErrInvalid, why)
}
