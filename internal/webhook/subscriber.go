package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrExists is returned when creating a subscriber whose name is taken.
var ErrExists = errors.New("webhook: already exists")

// DefaultRotationOverlap is how long the secrets a rotation replaces keep
// signing, so receivers can switch to the new one (Svix's default).
const DefaultRotationOverlap = 24 * time.Hour

// Subscriber is an app's webhook endpoint. Its secrets are never listed.
type Subscriber struct {
	// Name identifies the subscriber; sessions name it.
	Name string
	// URL is the endpoint webhooks are POSTed to.
	URL string
	// Enabled is false while webhooks to it are paused.
	Enabled bool
	// DisabledReason says why it was disabled.
	DisabledReason string
	// FailingSince is when its deliveries started failing, nil while they
	// succeed.
	FailingSince *time.Time
	// ActiveSecrets counts the secrets that sign its webhooks now.
	ActiveSecrets int
	// CreatedAt is when it was created.
	CreatedAt time.Time
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time
}

// ValidateSubscriberName reports a name the subscribers table would reject:
// 1 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit.
func ValidateSubscriberName(name string) error {
	ok := len(name) >= 1 && len(name) <= 63
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("webhook: subscriber name %q is invalid: use 1-63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit", name)
	}
	return nil
}

// CreateSubscriber adds a subscriber and returns its first signing secret,
// to hand to the app. The URL must be absolute http(s) without credentials;
// whether its host is allowed is checked when sending.
func CreateSubscriber(ctx context.Context, db DBTX, name, url string) (string, error) {
	if err := ValidateSubscriberName(name); err != nil {
		return "", err
	}
	if _, err := ParseURL(url); err != nil {
		return "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	_, err = db.Exec(ctx, `WITH s AS (
			INSERT INTO subscribers (name, url) VALUES ($1, $2) RETURNING name
		)
		INSERT INTO subscriber_secrets (subscriber, secret) SELECT name, $3 FROM s`, name, url, secret)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return "", fmt.Errorf("webhook: subscriber %q: %w", name, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("webhook: create subscriber %q: %w", name, err)
	}
	return secret, nil
}

// RotateSecret gives a subscriber a new signing secret and returns it. Its
// current secrets keep signing for overlap more (DefaultRotationOverlap if
// zero or less; one expiring sooner keeps its expiry), so every webhook of
// the overlap carries both signatures. Expired secrets are deleted.
func RotateSecret(ctx context.Context, db DBTX, name string, overlap time.Duration) (string, error) {
	if overlap <= 0 {
		overlap = DefaultRotationOverlap
	}
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	var n int
	err = db.QueryRow(ctx, `WITH s AS (
			SELECT name FROM subscribers WHERE name = $1 FOR UPDATE
		), expired AS (
			DELETE FROM subscriber_secrets
			WHERE subscriber IN (SELECT name FROM s) AND expires_at <= now()
		), old AS (
			UPDATE subscriber_secrets SET expires_at = now() + $2::bigint * interval '1 microsecond'
			WHERE subscriber IN (SELECT name FROM s)
				AND (expires_at IS NULL OR expires_at > now() + $2::bigint * interval '1 microsecond')
		), fresh AS (
			INSERT INTO subscriber_secrets (subscriber, secret) SELECT name, $3 FROM s RETURNING id
		)
		SELECT count(*) FROM fresh`, name, overlap.Microseconds(), secret).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("webhook: rotate secret of %q: %w", name, err)
	}
	if n == 0 {
		return "", fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
	}
	return secret, nil
}

// SetEnabled enables or disables a subscriber, recording reason when
// disabling. Enabling clears the failure clock and sends every paused
// delivery of the subscriber again: they become pending and get a delivery
// job from inserter, in the same transaction. Disabling needs no inserter
// (nil is fine); deliveries already queued pause themselves when they run.
// It returns how many paused deliveries it queued again.
func SetEnabled(ctx context.Context, db DBTX, inserter Inserter, name string, enabled bool, reason string) (int, error) {
	if enabled && inserter == nil {
		return 0, errors.New("webhook: enabling a subscriber needs an inserter to queue its paused deliveries")
	}
	if !enabled && reason == "" {
		reason = "disabled by an operator"
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("webhook: set subscriber %q enabled=%t: begin: %w", name, enabled, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	tag, err := tx.Exec(ctx, `UPDATE subscribers SET
			enabled = $2,
			disabled_reason = CASE WHEN $2 THEN NULL ELSE $3 END,
			failing_since = CASE WHEN $2 THEN NULL ELSE failing_since END,
			updated_at = now()
		WHERE name = $1`, name, enabled, reason)
	if err != nil {
		return 0, fmt.Errorf("webhook: set subscriber %q enabled=%t: %w", name, enabled, err)
	}
	if tag.RowsAffected() == 0 {
		return 0, fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
	}
	var ids []int64
	if enabled {
		rows, err := tx.Query(ctx, `UPDATE deliveries SET state = 'pending', updated_at = now()
			WHERE subscriber = $1 AND state = 'paused'
			RETURNING id`, name)
		if err != nil {
			return 0, fmt.Errorf("webhook: resume deliveries of %q: %w", name, err)
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return 0, fmt.Errorf("webhook: resume deliveries of %q: %w", name, err)
		}
		if err := enqueue(ctx, tx, inserter, ids); err != nil {
			return 0, fmt.Errorf("webhook: resume deliveries of %q: %w", name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("webhook: set subscriber %q enabled=%t: commit: %w", name, enabled, err)
	}
	return len(ids), nil
}

// ListSubscribers returns every subscriber, by name.
func ListSubscribers(ctx context.Context, db DBTX) ([]Subscriber, error) {
	rows, err := db.Query(ctx, `SELECT s.name, s.url, s.enabled, coalesce(s.disabled_reason, ''), s.failing_since,
			(SELECT count(*) FROM subscriber_secrets k
				WHERE k.subscriber = s.name AND (k.expires_at IS NULL OR k.expires_at > now())),
			s.created_at, s.updated_at
		FROM subscribers s
		ORDER BY s.name`)
	if err != nil {
		return nil, fmt.Errorf("webhook: list subscribers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Subscriber, error) {
		var s Subscriber
		err := row.Scan(&s.Name, &s.URL, &s.Enabled, &s.DisabledReason, &s.FailingSince, &s.ActiveSecrets, &s.CreatedAt, &s.UpdatedAt)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: list subscribers: %w", err)
	}
	return out, nil
}
