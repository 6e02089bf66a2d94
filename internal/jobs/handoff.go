package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/webhook"
)

// ending is how a session ends.
type ending struct {
	state   string
	outcome any
	answer  json.RawMessage
	errMsg  string
}

// finish is the terminal handoff: in one transaction the session's outcome is
// written, its delivery row and delivery job are inserted, and the poll job
// is completed. A crash before the commit leaves the job running, to be
// rescued and polled again; after it, the delivery job exists.
func (w *PollWorker) finish(ctx context.Context, job *river.Job[jobargs.Poll], s *session, e ending) error {
	outcome, err := json.Marshal(e.outcome)
	if err != nil {
		return fmt.Errorf("finish session %s: encode outcome: %w", s.ID, err)
	}
	if e.outcome == nil {
		outcome = nil
	}
	answer := []byte(e.answer)
	if len(answer) == 0 || !json.Valid(answer) {
		answer = nil
	}
	var errMsg *string
	if e.errMsg != "" {
		errMsg = &e.errMsg
	}

	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("finish session %s: begin: %w", s.ID, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	var finishedAt time.Time
	err = tx.QueryRow(ctx, `UPDATE sessions
		SET state = $2, outcome = $3, answer = $4, error = $5, finished_at = now(), updated_at = now()
		WHERE id = $1 AND state IN ('pending', 'polling')
		RETURNING finished_at`, s.ID, e.state, outcome, answer, errMsg).Scan(&finishedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Another run ended it first: nothing more to send.
	case err != nil:
		return fmt.Errorf("finish session %s: write outcome: %w", s.ID, err)
	default:
		if err := w.enqueueDelivery(ctx, tx, s, e, outcome, finishedAt); err != nil {
			return fmt.Errorf("finish session %s: %w", s.ID, err)
		}
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("finish session %s: complete poll job: %w", s.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("finish session %s: commit: %w", s.ID, err)
	}
	if !finishedAt.IsZero() {
		w.metrics.Terminal(string(s.Flow), e.state, finishedAt.Sub(s.CreatedAt))
		attrs := []any{"session_id", s.ID, "flow", s.Flow, "account", s.Account, "state", e.state}
		if e.errMsg != "" {
			attrs = append(attrs, "reason", e.errMsg)
		}
		w.logger.InfoContext(ctx, "session ended", attrs...)
	}
	return nil
}

// enqueueDelivery inserts the webhook for a session that just ended.
func (w *PollWorker) enqueueDelivery(ctx context.Context, tx pgx.Tx, s *session, e ending, outcome []byte, finishedAt time.Time) error {
	typ, err := event.TypeForState(e.state)
	if err != nil {
		return err
	}
	body, err := json.Marshal(event.Event{
		Type:      typ,
		Timestamp: finishedAt.UTC(),
		Data: event.SessionData{
			SessionID:    s.ID,
			Provider:     string(s.Provider),
			Flow:         string(s.Flow),
			ExternalID:   s.ExternalID,
			Account:      s.Account,
			AppRef:       s.AppRef,
			State:        e.state,
			Outcome:      outcome,
			Error:        e.errMsg,
			RegisteredAt: s.CreatedAt.UTC(),
			FinishedAt:   finishedAt.UTC(),
		},
	})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	var deliveryID int64
	err = tx.QueryRow(ctx, `INSERT INTO deliveries (webhook_id, session_id, subscriber, event_type, payload)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING
		RETURNING id`, webhook.NewMessageID(), s.ID, s.Subscriber, string(typ), body).Scan(&deliveryID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the session's event already has its delivery
	}
	if err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	// One attempt plus one per retry of the configured schedule.
	opts := &river.InsertOpts{MaxAttempts: len(w.cfg.Webhook.Schedule) + 1}
	if _, err := client.InsertTx(ctx, tx, jobargs.Deliver{DeliveryID: deliveryID}, opts); err != nil {
		return fmt.Errorf("insert delivery job: %w", err)
	}
	return nil
}
