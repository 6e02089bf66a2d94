package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/jobargs"
)

// Inserter queues delivery jobs inside a transaction; *river.Client[pgx.Tx]
// is one.
type Inserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobRetryTx(ctx context.Context, tx pgx.Tx, id int64) (*rivertype.JobRow, error)
}

// Redeliver sends a delivery again, whatever its state: it becomes pending
// and gets a fresh delivery job, inserted in tx. The message keeps its
// webhook-id, so a receiver that already has it can dedupe. If the delivery
// still has a job waiting to retry, that job runs now instead.
func Redeliver(ctx context.Context, tx pgx.Tx, inserter Inserter, deliveryID int64) error {
	var id int64
	err := tx.QueryRow(ctx, `UPDATE deliveries SET state = 'pending', updated_at = now()
		WHERE id = $1 RETURNING id`, deliveryID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("webhook: redeliver %d: %w", deliveryID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("webhook: redeliver %d: %w", deliveryID, err)
	}
	if err := enqueue(ctx, tx, inserter, []int64{id}); err != nil {
		return fmt.Errorf("webhook: redeliver %d: %w", deliveryID, err)
	}
	return nil
}

// ReplayFailed sends again every failed delivery of a subscriber created at
// or after since (Svix's "recover"), as Redeliver does, and returns how many
// it queued. Paused deliveries are left for Enable.
func ReplayFailed(ctx context.Context, tx pgx.Tx, inserter Inserter, subscriber string, since time.Time) (int, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers WHERE name = $1)`, subscriber).Scan(&exists); err != nil {
		return 0, fmt.Errorf("webhook: replay failed deliveries of %q: %w", subscriber, err)
	}
	if !exists {
		return 0, fmt.Errorf("webhook: subscriber %q: %w", subscriber, ErrNotFound)
	}
	rows, err := tx.Query(ctx, `UPDATE deliveries SET state = 'pending', updated_at = now()
		WHERE subscriber = $1 AND state = 'failed' AND created_at >= $2
		RETURNING id`, subscriber, since)
	if err != nil {
		return 0, fmt.Errorf("webhook: replay failed deliveries of %q: %w", subscriber, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("webhook: replay failed deliveries of %q: %w", subscriber, err)
	}
	if err := enqueue(ctx, tx, inserter, ids); err != nil {
		return 0, fmt.Errorf("webhook: replay failed deliveries of %q: %w", subscriber, err)
	}
	return len(ids), nil
}

// enqueue inserts a delivery job per id. Where a job for the delivery
// already waits (the insert is a unique duplicate), a retryable or
// scheduled one is made available now rather than at its retry time.
func enqueue(ctx context.Context, tx pgx.Tx, inserter Inserter, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	// The delivery worker owns the retry budget: MaxAttempts is a backstop.
	opts := &river.InsertOpts{MaxAttempts: MaxAttemptsBackstop}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: jobargs.Deliver{DeliveryID: id}, InsertOpts: opts}
	}
	res, err := inserter.InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("insert delivery jobs: %w", err)
	}
	for _, r := range res {
		if r == nil || !r.UniqueSkippedAsDuplicate || r.Job == nil {
			continue
		}
		if r.Job.State == rivertype.JobStateRetryable || r.Job.State == rivertype.JobStateScheduled {
			if _, err := inserter.JobRetryTx(ctx, tx, r.Job.ID); err != nil {
				return fmt.Errorf("retry delivery job %d now: %w", r.Job.ID, err)
			}
		}
	}
	return nil
}
