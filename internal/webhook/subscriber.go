package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/whsig"
)

// ErrExists is returned when creating a subscriber whose name is taken.
var ErrExists = errors.New("webhook: already exists")

// DefaultRotationOverlap is how long the secrets a rotation replaces keep
// signing, so receivers can switch to the new one (Svix's default).
const DefaultRotationOverlap = 24 * time.Hour

// Subscriber is an app's webhook endpoint. Its secrets and header values
// are never listed.
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
	// ActiveSecrets counts the keys that sign its webhooks now.
	ActiveSecrets int
	// PublicKeys are the "whpk_" keys of its active v1a keys, newest first.
	PublicKeys []string
	// Scheme is the kind of key its rotations create.
	Scheme Scheme
	// EventTypes is its event filter; empty means all.
	EventTypes []string
	// HeaderNames are the names of its custom headers.
	HeaderNames []string
	// RatePerSecond caps its messages per second (0: none).
	RatePerSecond float64
	// MaxInFlight caps its requests in flight (0: none).
	MaxInFlight int
	// Operator marks pollhook's operator endpoint, which receives the
	// operational events.
	Operator bool
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

// signingKey is a fresh key of a scheme: what is stored (sealed), what the
// app gets, and the public key stored in clear for v1a.
type signingKey struct {
	stored, handed string
	public         *string
}

func newSigningKey(keys *seal.Keyring, scheme Scheme) signingKey {
	if scheme == SchemeV1a {
		priv, pub := whsig.NewKeyPair()
		return signingKey{stored: keys.Seal(purposeSecret, []byte(priv)), handed: pub, public: &pub}
	}
	secret := whsig.NewSecret()
	return signingKey{stored: keys.Seal(purposeSecret, []byte(secret)), handed: secret}
}

// sealHeaders returns the sealed JSON of custom headers, nil if none.
func sealHeaders(keys *seal.Keyring, h map[string]string) (*string, error) {
	if len(h) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode headers: %w", err)
	}
	s := keys.Seal(purposeHeaders, b)
	return &s, nil
}

// CreateSubscriber adds a subscriber and returns what to hand to the app:
// its "whsec_" secret (v1) or its "whpk_" public key (v1a). The URL must be
// absolute http(s) without credentials; whether its host is allowed is
// checked when sending. Keys seal the signing key and header values (nil
// keeps them in clear).
func CreateSubscriber(ctx context.Context, db DBTX, keys *seal.Keyring, name, url string, opts SubscriberOptions) (string, error) {
	if err := ValidateSubscriberName(name); err != nil {
		return "", err
	}
	if _, err := ParseURL(url); err != nil {
		return "", err
	}
	if err := opts.Validate(); err != nil {
		return "", err
	}
	scheme, _ := ParseScheme(string(opts.Scheme))
	headers, err := sealHeaders(keys, opts.Headers)
	if err != nil {
		return "", err
	}
	k := newSigningKey(keys, scheme)
	_, err = db.Exec(ctx, `WITH s AS (
			INSERT INTO subscribers (name, url, scheme, event_types, header_names, headers_sealed, rate_per_second, max_in_flight)
			VALUES ($1, $2, $4, $6, $7, $8, nullif($9::float8, 0), nullif($10::int, 0)) RETURNING name
		)
		INSERT INTO subscriber_secrets (subscriber, secret, public_key) SELECT name, $3, $5 FROM s`,
		name, url, k.stored, scheme, k.public, nonNil(opts.EventTypes), headerNames(opts.Headers), headers,
		opts.RatePerSecond, opts.MaxInFlight)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return "", fmt.Errorf("webhook: subscriber %q: %w", name, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("webhook: create subscriber %q: %w", name, err)
	}
	return k.handed, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SubscriberChange changes some settings of a subscriber; nil fields keep
// theirs.
type SubscriberChange struct {
	// URL is the new endpoint.
	URL *string
	// EventTypes replaces the event filter (empty: all events).
	EventTypes *[]string
	// Headers replaces the custom headers (empty: none).
	Headers *map[string]string
	// RatePerSecond replaces the rate cap (0: none).
	RatePerSecond *float64
	// MaxInFlight replaces the in-flight cap (0: none).
	MaxInFlight *int
}

// UpdateSubscriber applies a change to a subscriber.
func UpdateSubscriber(ctx context.Context, db DBTX, keys *seal.Keyring, name string, c SubscriberChange) error {
	var o SubscriberOptions
	if c.URL != nil {
		if _, err := ParseURL(*c.URL); err != nil {
			return err
		}
	}
	if c.EventTypes != nil {
		o.EventTypes = *c.EventTypes
	}
	if c.Headers != nil {
		o.Headers = *c.Headers
	}
	if c.RatePerSecond != nil {
		o.RatePerSecond = *c.RatePerSecond
	}
	if c.MaxInFlight != nil {
		o.MaxInFlight = *c.MaxInFlight
	}
	if err := o.Validate(); err != nil {
		return err
	}
	var names []string
	var sealed *string
	if c.Headers != nil {
		var err error
		if sealed, err = sealHeaders(keys, o.Headers); err != nil {
			return err
		}
		names = headerNames(o.Headers)
	}
	tag, err := db.Exec(ctx, `UPDATE subscribers SET
			url = coalesce($2, url),
			event_types = CASE WHEN $3 THEN $4 ELSE event_types END,
			header_names = CASE WHEN $5 THEN $6 ELSE header_names END,
			headers_sealed = CASE WHEN $5 THEN $7 ELSE headers_sealed END,
			rate_per_second = CASE WHEN $8 THEN nullif($9::float8, 0) ELSE rate_per_second END,
			max_in_flight = CASE WHEN $10 THEN nullif($11::int, 0) ELSE max_in_flight END,
			updated_at = now()
		WHERE name = $1`,
		name, c.URL, c.EventTypes != nil, nonNil(o.EventTypes), c.Headers != nil, nonNil(names), sealed,
		c.RatePerSecond != nil, o.RatePerSecond, c.MaxInFlight != nil, o.MaxInFlight)
	if err != nil {
		return fmt.Errorf("webhook: update subscriber %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
	}
	return nil
}

// RotateSecret gives a subscriber a new signing key and returns what to hand
// to the app (a "whsec_" secret, or a "whpk_" public key for v1a). A
// non-empty scheme switches the subscriber to it first. Its current keys
// keep signing for overlap more (DefaultRotationOverlap if zero or less;
// one expiring sooner keeps its expiry), so every webhook of the overlap
// carries both signatures. Expired keys are deleted.
func RotateSecret(ctx context.Context, db DBTX, keys *seal.Keyring, name string, overlap time.Duration, scheme Scheme) (string, error) {
	if overlap <= 0 {
		overlap = DefaultRotationOverlap
	}
	if scheme != "" {
		if _, err := ParseScheme(string(scheme)); err != nil {
			return "", err
		}
	}
	var handed string
	err := withTx(ctx, db, fmt.Sprintf("rotate secret of %q", name), func(tx pgx.Tx) error {
		var current Scheme
		err := tx.QueryRow(ctx, `UPDATE subscribers SET scheme = coalesce(nullif($2, ''), scheme), updated_at = now()
			WHERE name = $1 RETURNING scheme`, name, string(scheme)).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("webhook: rotate secret of %q: %w", name, err)
		}
		k := newSigningKey(keys, current)
		_, err = tx.Exec(ctx, `WITH expired AS (
				DELETE FROM subscriber_secrets WHERE subscriber = $1 AND expires_at <= now()
			), old AS (
				UPDATE subscriber_secrets SET expires_at = now() + $2::bigint * interval '1 microsecond'
				WHERE subscriber = $1
					AND (expires_at IS NULL OR expires_at > now() + $2::bigint * interval '1 microsecond')
			)
			INSERT INTO subscriber_secrets (subscriber, secret, public_key) VALUES ($1, $3, $4)`,
			name, overlap.Microseconds(), k.stored, k.public)
		if err != nil {
			return fmt.Errorf("webhook: rotate secret of %q: %w", name, err)
		}
		handed = k.handed
		return nil
	})
	if err != nil {
		return "", err
	}
	return handed, nil
}

// RevealSecret returns what an app needs to verify a subscriber's webhooks:
// its newest active "whsec_" secret (v1), or its newest "whpk_" public key
// (v1a). A subscriber that has no key for its scheme, as one inserted by
// SQL, gets one generated now, sealed under keys.
func RevealSecret(ctx context.Context, db DBTX, keys *seal.Keyring, name string) (string, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("webhook: secret of %q: %w", name, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var scheme Scheme
	var secret, public *string
	err = tx.QueryRow(ctx, `SELECT s.scheme, k.secret, k.public_key
		FROM subscribers s
		LEFT JOIN LATERAL (
			SELECT secret, public_key FROM subscriber_secrets k
			WHERE k.subscriber = s.name AND (k.expires_at IS NULL OR k.expires_at > now())
				-- a v1a key has its public key once sealed; in clear (by SQL)
				-- it may not yet
				AND (k.public_key IS NOT NULL OR starts_with(k.secret, 'whsk_')) = (s.scheme = 'v1a')
			ORDER BY k.created_at DESC, k.id DESC LIMIT 1
		) k ON true
		WHERE s.name = $1
		FOR UPDATE OF s`, name).Scan(&scheme, &secret, &public)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("webhook: secret of %q: %w", name, err)
	}
	switch {
	case public != nil:
		return *public, nil
	case secret != nil:
		plain, err := keys.Open(purposeSecret, *secret)
		if err != nil {
			return "", fmt.Errorf("webhook: secret of %q: %w", name, err)
		}
		if s := string(plain); whsig.IsPrivateKey(s) {
			// A v1a key inserted by SQL without its public key.
			return whsig.PublicKeyOf(s)
		}
		return string(plain), nil
	}
	k := newSigningKey(keys, scheme)
	if _, err := tx.Exec(ctx, `INSERT INTO subscriber_secrets (subscriber, secret, public_key) VALUES ($1, $2, $3)`,
		name, k.stored, k.public); err != nil {
		return "", fmt.Errorf("webhook: generate secret of %q: %w", name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("webhook: generate secret of %q: commit: %w", name, err)
	}
	return k.handed, nil
}

// ListSubscribers returns every subscriber, by name.
func ListSubscribers(ctx context.Context, db DBTX) ([]Subscriber, error) {
	rows, err := db.Query(ctx, `SELECT s.name, s.url, s.enabled, coalesce(s.disabled_reason, ''), s.failing_since,
			(SELECT count(*) FROM subscriber_secrets k
				WHERE k.subscriber = s.name AND (k.expires_at IS NULL OR k.expires_at > now())),
			coalesce((SELECT array_agg(k.public_key ORDER BY k.created_at DESC, k.id DESC) FROM subscriber_secrets k
				WHERE k.subscriber = s.name AND k.public_key IS NOT NULL AND (k.expires_at IS NULL OR k.expires_at > now())), '{}'),
			s.scheme, s.event_types, s.header_names, coalesce(s.rate_per_second, 0), coalesce(s.max_in_flight, 0), s.operator,
			s.created_at, s.updated_at
		FROM subscribers s
		ORDER BY s.name`)
	if err != nil {
		return nil, fmt.Errorf("webhook: list subscribers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Subscriber, error) {
		var s Subscriber
		err := row.Scan(&s.Name, &s.URL, &s.Enabled, &s.DisabledReason, &s.FailingSince, &s.ActiveSecrets, &s.PublicKeys,
			&s.Scheme, &s.EventTypes, &s.HeaderNames, &s.RatePerSecond, &s.MaxInFlight, &s.Operator, &s.CreatedAt, &s.UpdatedAt)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("webhook: list subscribers: %w", err)
	}
	return out, nil
}

// publicKeyOf returns the "whpk_" key of a "whsk_" key.
func publicKeyOf(secret string) (*string, error) {
	if !whsig.IsPrivateKey(secret) {
		return nil, errors.New("not an ed25519 private key")
	}
	p, err := whsig.PublicKeyOf(secret)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
