package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pollhook/pollhook/internal/seal"
)

// DBTX is what the database functions run on: *pgxpool.Pool, *pgx.Conn and
// pgx.Tx all satisfy it. Begin starts a transaction (a savepoint inside a
// pgx.Tx) for functions that change several rows together.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ErrNotFound is returned when a delivery or subscriber does not exist.
var ErrNotFound = errors.New("webhook: not found")

// DeliveryState is the state of a delivery.
type DeliveryState string

// The delivery states.
const (
	// StatePending: a delivery job will send it (or is retrying it).
	StatePending DeliveryState = "pending"
	// StateSucceeded: the subscriber answered 2xx.
	StateSucceeded DeliveryState = "succeeded"
	// StateFailed: every attempt failed; Redeliver or ReplayFailed sends it
	// again.
	StateFailed DeliveryState = "failed"
	// StatePaused: the subscriber is disabled; enabling it sends it again.
	StatePaused DeliveryState = "paused"
)

// Delivery is one webhook message to one subscriber.
type Delivery struct {
	// ID is deliveries.id.
	ID int64
	// WebhookID is the webhook-id, the same on every attempt and replay.
	WebhookID string
	// SessionID is the session the event is about, if any.
	SessionID *string
	// Subscriber is the subscriber's name.
	Subscriber string
	// EventType is e.g. "session.succeeded".
	EventType string
	// Payload is the JSON body.
	Payload []byte
	// State is the delivery's state.
	State DeliveryState
	// Attempts counts every attempt so far, replays included.
	Attempts int
	// LastStatus is the status of the last response, if one came.
	LastStatus *int
	// LastError is the last attempt's error, if it failed.
	LastError *string
	// CreatedAt is when the delivery was created.
	CreatedAt time.Time
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time
	// DeliveredAt is when a 2xx came.
	DeliveredAt *time.Time

	// URL is the subscriber's endpoint.
	URL string
	// Enabled is whether the subscriber is enabled.
	Enabled bool
	// Secrets are the subscriber's active signing keys ("whsec_" and
	// "whsk_"), newest first. Only LoadDelivery fills them, sealed as
	// stored; Open opens them.
	Secrets []string
	// Headers are the subscriber's custom headers. Only LoadDelivery fills
	// them, and only once opened.
	Headers map[string]string
	// RatePerSecond and MaxInFlight are the subscriber's throttle (0: none).
	RatePerSecond float64
	MaxInFlight   int

	headersSealed *string
}

// Open opens what LoadDelivery read sealed: the signing keys, the custom
// headers and (if sealed) the payload. It reports a value that does not
// open (for example under a main key no longer configured); its errors
// never contain a value.
func (d *Delivery) Open(keys *seal.Keyring) error {
	for i, s := range d.Secrets {
		plain, err := keys.Open(purposeSecret, s)
		if err != nil {
			return fmt.Errorf("webhook: delivery %d: signing key %d: %w", d.ID, i+1, err)
		}
		d.Secrets[i] = string(plain)
	}
	payload, err := keys.OpenJSON(purposePayload, d.Payload)
	if err != nil {
		return fmt.Errorf("webhook: delivery %d: payload: %w", d.ID, err)
	}
	d.Payload = payload
	if d.headersSealed != nil {
		plain, err := keys.Open(purposeHeaders, *d.headersSealed)
		if err != nil {
			return fmt.Errorf("webhook: delivery %d: custom headers: %w", d.ID, err)
		}
		if err := json.Unmarshal(plain, &d.Headers); err != nil {
			return fmt.Errorf("webhook: delivery %d: custom headers are not a JSON object", d.ID)
		}
		d.headersSealed = nil
	}
	return nil
}

// StaleSecrets reports whether a signing key LoadDelivery read is in clear
// or sealed under an older key than the first of keys (see Reseal).
func (d *Delivery) StaleSecrets(keys *seal.Keyring) bool {
	for _, s := range d.Secrets {
		if keys.Stale(s) {
			return true
		}
	}
	return false
}

// deliveryColumns are the columns scanDelivery reads, from deliveries d
// joined with subscribers s.
const deliveryColumns = `d.id, d.webhook_id, d.session_id::text, d.subscriber, d.event_type, d.payload,
	d.state, d.attempts, d.last_status, d.last_error, d.created_at, d.updated_at, d.delivered_at,
	s.url, s.enabled`

// scanDelivery reads deliveryColumns, then the secrets, headers and
// throttle if withSecrets.
func scanDelivery(row pgx.Row, withSecrets bool) (*Delivery, error) {
	var d Delivery
	dest := []any{&d.ID, &d.WebhookID, &d.SessionID, &d.Subscriber, &d.EventType, &d.Payload,
		&d.State, &d.Attempts, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &d.DeliveredAt,
		&d.URL, &d.Enabled}
	if withSecrets {
		dest = append(dest, &d.Secrets, &d.headersSealed, &d.RatePerSecond, &d.MaxInFlight)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return &d, nil
}

// LoadDelivery returns a delivery with its subscriber's URL, enabled flag,
// throttle, custom headers and active signing keys (those without expiry or
// expiring in the future), as stored: call Open to open what is sealed.
func LoadDelivery(ctx context.Context, db DBTX, id int64) (*Delivery, error) {
	d, err := scanDelivery(db.QueryRow(ctx, `SELECT `+deliveryColumns+`,
			coalesce((SELECT array_agg(k.secret ORDER BY k.created_at DESC, k.id DESC)
				FROM subscriber_secrets k
				WHERE k.subscriber = d.subscriber AND (k.expires_at IS NULL OR k.expires_at > now())), '{}'),
			s.headers_sealed, coalesce(s.rate_per_second, 0), coalesce(s.max_in_flight, 0)
		FROM deliveries d JOIN subscribers s ON s.name = d.subscriber
		WHERE d.id = $1`, id), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("webhook: delivery %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: load delivery %d: %w", id, err)
	}
	return d, nil
}

// RecordAttempt logs attempt a (number attempt, to url) of a delivery and
// updates the delivery and its subscriber, in one statement: the delivery's
// attempt count, last status and last error; on success its state becomes
// succeeded and the subscriber's failing_since is cleared, on failure
// failing_since is set if it was not. The response body is sealed when at
// seals personal data (a receiver may echo the payload).
func RecordAttempt(ctx context.Context, db DBTX, at AtRest, deliveryID int64, attempt int, url string, a Attempt) error {
	var status *int
	if a.StatusCode != 0 {
		status = &a.StatusCode
	}
	var errText *string
	if s := a.ErrorString(); s != "" {
		errText = &s
	}
	var body *string
	if len(a.ResponseBody) > 0 {
		b := at.personal().Seal(purposeAttemptBody, []byte(textForDB(a.ResponseBody)))
		body = &b
	}
	startedAt := a.StartedAt
	if startedAt.IsZero() {
		startedAt = time.Now()
	}
	var n int
	err := db.QueryRow(ctx, `WITH d AS (
			UPDATE deliveries SET
				attempts = attempts + 1,
				last_status = $3,
				last_error = $4,
				state = CASE WHEN $5 THEN 'succeeded' ELSE state END,
				delivered_at = CASE WHEN $5 THEN now() ELSE delivered_at END,
				updated_at = now()
			WHERE id = $1
			RETURNING id, subscriber
		), logged AS (
			INSERT INTO delivery_attempts
				(delivery_id, subscriber, attempt, attempted_at, duration_ms, url, status_code, error, response_body)
			SELECT id, subscriber, $2, $6, $7, $8, $3, $4, $9 FROM d
		), health AS (
			-- Only when the failure clock changes: every deliver worker
			-- posting to one subscriber would otherwise queue on its row.
			UPDATE subscribers SET
				failing_since = CASE WHEN $5 THEN NULL ELSE now() END
			WHERE name = (SELECT subscriber FROM d)
				AND (failing_since IS NULL) <> $5
		)
		SELECT count(*) FROM d`,
		deliveryID, attempt, status, errText, a.Succeeded(),
		startedAt, float64(a.Duration)/float64(time.Millisecond), url, body).Scan(&n)
	if err != nil {
		return fmt.Errorf("webhook: record attempt of delivery %d: %w", deliveryID, err)
	}
	if n == 0 {
		return fmt.Errorf("webhook: record attempt of delivery %d: %w", deliveryID, ErrNotFound)
	}
	return nil
}

// textForDB makes a response body storable as Postgres text: valid UTF-8
// without NUL bytes.
func textForDB(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// MarkFailed ends a pending delivery as failed: its retries are exhausted.
func MarkFailed(ctx context.Context, db DBTX, id int64) error {
	return setState(ctx, db, id, StateFailed)
}

// ErrSubscriberEnabled is returned by MarkPaused when the delivery's
// subscriber is enabled: the delivery must go out, not wait.
var ErrSubscriberEnabled = errors.New("webhook: subscriber is enabled")

// MarkPaused parks a pending delivery while its subscriber is disabled;
// Enable re-queues it. Run it in a transaction: it takes a share lock
// on the subscriber row, so an enable running at the same moment either
// commits first (MarkPaused then returns ErrSubscriberEnabled and changes
// nothing) or waits for this transaction and re-queues the delivery.
func MarkPaused(ctx context.Context, tx pgx.Tx, id int64) error {
	var enabled bool
	err := tx.QueryRow(ctx, `SELECT s.enabled FROM subscribers s JOIN deliveries d ON d.subscriber = s.name
		WHERE d.id = $1 FOR SHARE OF s`, id).Scan(&enabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("webhook: pause delivery %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("webhook: pause delivery %d: %w", id, err)
	}
	if enabled {
		return ErrSubscriberEnabled
	}
	return setState(ctx, tx, id, StatePaused)
}

func setState(ctx context.Context, db DBTX, id int64, state DeliveryState) error {
	if _, err := db.Exec(ctx, `UPDATE deliveries SET state = $2, updated_at = now()
		WHERE id = $1 AND state = 'pending'`, id, state); err != nil {
		return fmt.Errorf("webhook: mark delivery %d %s: %w", id, state, err)
	}
	return nil
}

// Default and maximum of the list filters' Limit.
const (
	DefaultListLimit = 100
	MaxListLimit     = 10_000
)

func listLimit(n int) int {
	if n <= 0 {
		return DefaultListLimit
	}
	return min(n, MaxListLimit)
}

// AttemptFilter selects attempts for ListAttempts; zero fields match all.
type AttemptFilter struct {
	// DeliveryID selects one delivery's attempts.
	DeliveryID int64
	// Subscriber selects one subscriber's attempts.
	Subscriber string
	// Limit caps the result (default 100, at most 10000).
	Limit int
}

// AttemptRecord is one logged attempt.
type AttemptRecord struct {
	// ID is delivery_attempts.id.
	ID int64
	// DeliveryID is the delivery attempted.
	DeliveryID int64
	// Subscriber is the subscriber's name.
	Subscriber string
	// Attempt is the attempt's number within its job.
	Attempt int
	// AttemptedAt is when it started.
	AttemptedAt time.Time
	// Duration is how long it took.
	Duration time.Duration
	// URL is where it went.
	URL string
	// StatusCode is the response status, or 0 if none came.
	StatusCode int
	// Error is the attempt's error ("" on success).
	Error string
	// ResponseBody is the start of the response body.
	ResponseBody string
}

// Open opens a response body sealed as personal data.
func (r *AttemptRecord) Open(keys *seal.Keyring) error {
	b, err := keys.Open(purposeAttemptBody, r.ResponseBody)
	if err != nil {
		return fmt.Errorf("webhook: attempt %d: response body: %w", r.ID, err)
	}
	r.ResponseBody = string(b)
	return nil
}

// ListAttempts returns logged attempts, newest first.
func ListAttempts(ctx context.Context, db DBTX, f AttemptFilter) ([]AttemptRecord, error) {
	rows, err := db.Query(ctx, `SELECT id, delivery_id, subscriber, attempt, attempted_at, duration_ms, url,
			coalesce(status_code, 0), coalesce(error, ''), coalesce(response_body, '')
		FROM delivery_attempts
		WHERE ($1::bigint = 0 OR delivery_id = $1) AND ($2::text = '' OR subscriber = $2)
		ORDER BY attempted_at DESC, id DESC
		LIMIT $3`, f.DeliveryID, f.Subscriber, listLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("webhook: list attempts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AttemptRecord, error) {
		var r AttemptRecord
		var ms float64
		err := row.Scan(&r.ID, &r.DeliveryID, &r.Subscriber, &r.Attempt, &r.AttemptedAt, &ms, &r.URL,
			&r.StatusCode, &r.Error, &r.ResponseBody)
		r.Duration = time.Duration(ms * float64(time.Millisecond))
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: list attempts: %w", err)
	}
	return out, nil
}

// DeliveryFilter selects deliveries for ListDeliveries; zero fields match
// all.
type DeliveryFilter struct {
	// Subscriber selects one subscriber's deliveries.
	Subscriber string
	// State selects deliveries in one state.
	State DeliveryState
	// Since selects deliveries created at or after it.
	Since time.Time
	// Limit caps the result (default 100, at most 10000).
	Limit int
}

// ListDeliveries returns deliveries, newest first, without secrets.
func ListDeliveries(ctx context.Context, db DBTX, f DeliveryFilter) ([]*Delivery, error) {
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	rows, err := db.Query(ctx, `SELECT `+deliveryColumns+`
		FROM deliveries d JOIN subscribers s ON s.name = d.subscriber
		WHERE ($1::text = '' OR d.subscriber = $1)
			AND ($2::text = '' OR d.state = $2)
			AND ($3::timestamptz IS NULL OR d.created_at >= $3)
		ORDER BY d.created_at DESC, d.id DESC
		LIMIT $4`, f.Subscriber, string(f.State), since, listLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("webhook: list deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Delivery, error) {
		return scanDelivery(row, false)
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: list deliveries: %w", err)
	}
	return out, nil
}
