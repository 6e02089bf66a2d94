package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/event"
)

// DefaultDisableReason is recorded when an operator disables a subscriber
// without saying why.
const DefaultDisableReason = "disabled by an operator"

// Disable disables a subscriber, recording reason, and reports whether it
// was enabled until now. Disabling a disabled subscriber changes nothing and
// keeps the first reason. Deliveries already queued pause themselves when
// they run. A change sends subscriber.disabled to the operator's endpoint
// (Notify) through inserter, in the same transaction; a nil inserter sends
// nothing.
func Disable(ctx context.Context, db DBTX, inserter Inserter, at AtRest, name, reason string) (bool, error) {
	if reason == "" {
		reason = DefaultDisableReason
	}
	what := fmt.Sprintf("disable subscriber %q", name)
	return disable(ctx, db, inserter, at, name, what, func(tx pgx.Tx) (string, bool, error) {
		var wasEnabled bool
		err := tx.QueryRow(ctx, `WITH old AS (
				SELECT name, enabled FROM subscribers WHERE name = $1 FOR UPDATE
			), upd AS (
				UPDATE subscribers s SET enabled = false, disabled_reason = $2, updated_at = now()
				FROM old WHERE s.name = old.name AND old.enabled
			)
			SELECT enabled FROM old`, name, reason).Scan(&wasEnabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", false, fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return "", false, fmt.Errorf("webhook: %s: %w", what, err)
		}
		return reason, wasEnabled, nil
	})
}

// disable runs update in a transaction: update disables subscriber name if
// it should and reports the reason it recorded and whether it did. A
// disable sends subscriber.disabled to the operator's endpoint through
// inserter (nil: none), in the same transaction. What names the operation
// in errors.
func disable(ctx context.Context, db DBTX, inserter Inserter, at AtRest, name, what string, update func(tx pgx.Tx) (reason string, disabled bool, err error)) (bool, error) {
	var disabled bool
	err := withTx(ctx, db, what, func(tx pgx.Tx) error {
		reason, ok, err := update(tx)
		if err != nil {
			return err
		}
		disabled = ok
		if !ok || inserter == nil {
			return nil
		}
		if err := Notify(ctx, tx, inserter, at, event.TypeSubscriberDisabled, event.OperationalData{Subscriber: name, Reason: reason}); err != nil {
			return fmt.Errorf("webhook: %s: %w", what, err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return disabled, nil
}

// Enable enables a subscriber: it clears the failure clock and the reason,
// and sends every paused delivery of the subscriber again: they become
// pending and get a delivery job from inserter, in the same transaction. It
// returns how many paused deliveries it queued. Enabling a subscriber that
// was disabled sends subscriber.enabled to the operator's endpoint.
func Enable(ctx context.Context, db DBTX, inserter Inserter, at AtRest, name string) (int, error) {
	if inserter == nil {
		return 0, errors.New("webhook: enabling a subscriber needs an inserter to queue its paused deliveries")
	}
	var requeued int
	err := withTx(ctx, db, fmt.Sprintf("enable subscriber %q", name), func(tx pgx.Tx) error {
		var wasEnabled bool
		err := tx.QueryRow(ctx, `WITH old AS (
				SELECT name, enabled FROM subscribers WHERE name = $1 FOR UPDATE
			), upd AS (
				UPDATE subscribers s SET enabled = true, disabled_reason = NULL, failing_since = NULL, updated_at = now()
				FROM old WHERE s.name = old.name
			)
			SELECT enabled FROM old`, name).Scan(&wasEnabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("webhook: subscriber %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("webhook: enable subscriber %q: %w", name, err)
		}
		ids, err := requeue(ctx, tx, inserter, `UPDATE deliveries SET state = 'pending', updated_at = now()
			WHERE subscriber = $1 AND state = 'paused'
			RETURNING id`, name)
		if err != nil {
			return fmt.Errorf("webhook: resume deliveries of %q: %w", name, err)
		}
		requeued = len(ids)
		if !wasEnabled {
			if err := Notify(ctx, tx, inserter, at, event.TypeSubscriberEnabled, event.OperationalData{Subscriber: name, Requeued: &requeued}); err != nil {
				return fmt.Errorf("webhook: enable subscriber %q: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return requeued, nil
}
