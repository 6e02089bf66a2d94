package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/jobargs"
)

// Event is one message to queue for one subscriber.
type Event struct {
	// SessionID is the session the event is about ("" for none). A session
	// gets at most one delivery per event type.
	SessionID string
	// Subscriber is the subscriber's name.
	Subscriber string
	// Type is the event type, e.g. "session.succeeded".
	Type string
	// Payload is the JSON body. It holds personal data and is sealed when
	// at.Personal.
	Payload []byte
}

// Enqueue inserts the delivery of e and its delivery job, in tx, if the
// subscriber wants events of e's type (its event filter, MatchEvent). It
// returns the delivery's id, or 0 when there is none: the subscriber does
// not want the event, or the session already has its delivery of that type.
// The job's retry budget is the delivery worker's (its schedule), not the
// insert's.
func Enqueue(ctx context.Context, tx pgx.Tx, inserter Inserter, at AtRest, e Event) (int64, error) {
	var sessionID *string
	if e.SessionID != "" {
		sessionID = &e.SessionID
	}
	payload := at.personal().SealJSON(purposePayload, e.Payload)
	var id int64
	// The filter rule is MatchEvent's, in SQL, so the handoff stays one
	// statement; a test holds the two equal.
	err := tx.QueryRow(ctx, `INSERT INTO deliveries (webhook_id, session_id, subscriber, event_type, payload)
		SELECT $1, $2, s.name, $4, $5 FROM subscribers s
		WHERE s.name = $3 AND (
			cardinality(s.event_types) = 0
			OR $4 = ANY (s.event_types)
			OR EXISTS (SELECT 1 FROM unnest(s.event_types) p
				WHERE right(p, 1) = '*' AND starts_with($4, left(p, -1))))
		ON CONFLICT DO NOTHING
		RETURNING id`, NewMessageID(), sessionID, e.Subscriber, e.Type, payload).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("webhook: insert delivery: %w", err)
	}
	if _, err := inserter.InsertTx(ctx, tx, jobargs.Deliver{DeliveryID: id}, &river.InsertOpts{MaxAttempts: MaxAttemptsBackstop}); err != nil {
		return 0, fmt.Errorf("webhook: insert delivery job: %w", err)
	}
	return id, nil
}

// Wants reports whether a subscriber's event filter lets events of type typ
// through (false for a subscriber that does not exist).
func Wants(ctx context.Context, db DBTX, subscriber, typ string) (bool, error) {
	var patterns []string
	err := db.QueryRow(ctx, `SELECT event_types FROM subscribers WHERE name = $1`, subscriber).Scan(&patterns)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhook: event filter of %q: %w", subscriber, err)
	}
	return MatchEvent(patterns, typ), nil
}

// OperatorName is the subscriber that stands for the operator's endpoint.
const OperatorName = "pollhook-operator"

// Notify queues an operational event for the operator's endpoint, in tx,
// through the same delivery machinery as session webhooks (signing,
// retries, attempt log). Without an operator endpoint (or without an
// inserter, outside a River client) it does nothing, and
// events about the operator's endpoint itself are not sent to it.
func Notify(ctx context.Context, tx pgx.Tx, inserter Inserter, at AtRest, typ event.Type, data event.OperationalData) error {
	if inserter == nil {
		return nil
	}
	var operator string
	err := tx.QueryRow(ctx, `SELECT name FROM subscribers WHERE operator LIMIT 1`).Scan(&operator)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && operator == data.Subscriber) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("operator endpoint: %w", err)
	}
	body, err := json.Marshal(event.OperationalEvent{Type: typ, Timestamp: time.Now().UTC(), Data: data})
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	if _, err := Enqueue(ctx, tx, inserter, at, Event{Subscriber: operator, Type: string(typ), Payload: body}); err != nil {
		return fmt.Errorf("notify %s: %w", typ, err)
	}
	return nil
}

// ConfigureOperator makes the operator's endpoint match the configuration:
// with a URL, the subscriber OperatorName is created or updated with it,
// marked as the operator, and given secret (a "whsec_" or "whsk_" key; an
// empty one keeps the current key, or generates one, readable with
// RevealSecret). With no URL, no subscriber is the operator. Keys seal the
// secret.
func ConfigureOperator(ctx context.Context, db DBTX, at AtRest, url, secret string) error {
	if url == "" {
		if _, err := db.Exec(ctx, `UPDATE subscribers SET operator = false WHERE operator`); err != nil {
			return fmt.Errorf("webhook: clear operator endpoint: %w", err)
		}
		return nil
	}
	if _, err := ParseURL(url); err != nil {
		return fmt.Errorf("webhook: operator endpoint: %w", err)
	}
	var public *string
	if secret != "" {
		if _, err := Sign("msg_check", time.Now(), nil, []string{secret}); err != nil {
			return fmt.Errorf("webhook: operator endpoint secret: %w", err)
		}
		if pub, err := publicKeyOf(secret); err == nil {
			public = pub
		}
	}
	return withTx(ctx, db, "operator endpoint", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE subscribers SET operator = false WHERE operator AND name <> $1`, OperatorName); err != nil {
			return fmt.Errorf("webhook: operator endpoint: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO subscribers (name, url, operator) VALUES ($1, $2, true)
			ON CONFLICT (name) DO UPDATE SET url = excluded.url, operator = true, updated_at = now()
			WHERE subscribers.url <> excluded.url OR NOT subscribers.operator`, OperatorName, url); err != nil {
			return fmt.Errorf("webhook: operator endpoint: %w", err)
		}
		if secret != "" {
			rows, err := tx.Query(ctx, `SELECT secret FROM subscriber_secrets WHERE subscriber = $1`, OperatorName)
			if err != nil {
				return fmt.Errorf("webhook: operator endpoint: %w", err)
			}
			stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("webhook: operator endpoint: %w", err)
			}
			same := len(stored) == 1
			if same {
				plain, err := at.Keys.Open(purposeSecret, stored[0])
				same = err == nil && string(plain) == secret
			}
			if !same {
				if _, err := tx.Exec(ctx, `WITH gone AS (DELETE FROM subscriber_secrets WHERE subscriber = $1)
					INSERT INTO subscriber_secrets (subscriber, secret, public_key) VALUES ($1, $2, $3)`,
					OperatorName, at.Keys.Seal(purposeSecret, []byte(secret)), public); err != nil {
					return fmt.Errorf("webhook: operator endpoint secret: %w", err)
				}
			}
		}
		return nil
	})
}
