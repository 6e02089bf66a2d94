package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Throttle waits bounds: a throttled delivery snoozes at least
// minThrottleWait and at most maxThrottleWait before it asks again; with
// every in-flight slot taken it asks again after busyWait.
const (
	minThrottleWait = 10 * time.Millisecond
	maxThrottleWait = 5 * time.Second
	busyWait        = 50 * time.Millisecond
)

// throttleState is a subscriber's bucket and slots as Acquire reads them.
type throttleState struct {
	// Tokens in the bucket at its last refill, and the time since.
	Tokens  float64
	Elapsed time.Duration
	// InFlight counts unexpired leases of other deliveries.
	InFlight int
}

// throttleDecision is what Acquire does: refill the bucket at rate (up to a
// burst of max(1, rate)), then let the attempt go if a slot is free and a
// whole token is there (taking it), else say how long to wait. A zero
// rate or max means no such limit.
func throttleDecision(s throttleState, rate float64, maxInFlight int) (tokens float64, wait time.Duration, ok bool) {
	tokens = s.Tokens
	if rate > 0 {
		tokens = min(max(1, rate), tokens+rate*s.Elapsed.Seconds())
	}
	if maxInFlight > 0 && s.InFlight >= maxInFlight {
		return tokens, busyWait, false
	}
	if rate > 0 {
		if tokens < 1 {
			return tokens, min(max(time.Duration((1-tokens)/rate*float64(time.Second)), minThrottleWait), maxThrottleWait), false
		}
		tokens--
	}
	return tokens, 0, true
}

// Acquire asks, for one attempt of delivery d, for a token of its
// subscriber's rate limit and a slot of its in-flight limit. The bucket and
// the slots live in Postgres (subscriber_throttle, delivery_leases), under
// the bucket row's lock, so the limits hold across every worker process.
// It returns zero when the attempt may go (Release its slot afterwards), or
// how long to wait before asking again: the caller snoozes, spending no
// attempt. A slot expires after lease on its own, so a worker killed
// mid-request does not hold it for ever. A subscriber without limits always
// gets zero, without a query.
func Acquire(ctx context.Context, db DBTX, d *Delivery, lease time.Duration) (time.Duration, error) {
	if d.RatePerSecond <= 0 && d.MaxInFlight <= 0 {
		return 0, nil
	}
	var wait time.Duration
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// Lock first, read after: in READ COMMITTED the next statement's
		// snapshot then holds every lease committed before the lock.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM subscriber_throttle WHERE subscriber = $1 FOR UPDATE`, d.Subscriber).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO subscriber_throttle (subscriber, tokens) VALUES ($1, $2)
				ON CONFLICT (subscriber) DO NOTHING`, d.Subscriber, max(1, d.RatePerSecond))
			if err == nil {
				err = tx.QueryRow(ctx, `SELECT 1 FROM subscriber_throttle WHERE subscriber = $1 FOR UPDATE`, d.Subscriber).Scan(&one)
			}
		}
		if err != nil {
			return err
		}
		var s throttleState
		var elapsedSecs float64
		if err := tx.QueryRow(ctx, `SELECT t.tokens, greatest(0, extract(epoch FROM clock_timestamp() - t.refilled_at))::float8,
				(SELECT count(*) FROM delivery_leases l
					WHERE l.subscriber = t.subscriber AND l.expires_at > clock_timestamp() AND l.delivery_id <> $2)
			FROM subscriber_throttle t WHERE t.subscriber = $1`, d.Subscriber, d.ID).Scan(&s.Tokens, &elapsedSecs, &s.InFlight); err != nil {
			return err
		}
		s.Elapsed = time.Duration(elapsedSecs * float64(time.Second))
		tokens, w, ok := throttleDecision(s, d.RatePerSecond, d.MaxInFlight)
		wait = w
		if _, err := tx.Exec(ctx, `UPDATE subscriber_throttle SET tokens = $2, refilled_at = clock_timestamp() WHERE subscriber = $1`,
			d.Subscriber, tokens); err != nil {
			return err
		}
		if ok && d.MaxInFlight > 0 {
			_, err := tx.Exec(ctx, `INSERT INTO delivery_leases (delivery_id, subscriber, expires_at)
				VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 microsecond')
				ON CONFLICT (delivery_id) DO UPDATE SET expires_at = excluded.expires_at`, d.ID, d.Subscriber, lease.Microseconds())
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: throttle of %q: %w", d.Subscriber, err)
	}
	return wait, nil
}

// Release frees the in-flight slot Acquire gave delivery d, if any.
func Release(ctx context.Context, db DBTX, d *Delivery) error {
	if d.MaxInFlight <= 0 {
		return nil
	}
	if _, err := db.Exec(ctx, `DELETE FROM delivery_leases WHERE delivery_id = $1`, d.ID); err != nil {
		return fmt.Errorf("webhook: release slot of delivery %d: %w", d.ID, err)
	}
	return nil
}
