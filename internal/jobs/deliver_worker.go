package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/webhook"
)

// maxRetryAfterSnoozes bounds how often a subscriber's Retry-After may
// postpone a delivery without spending an attempt.
const maxRetryAfterSnoozes = 5

// DeliverWorker POSTs one webhook per run. River retries a failed delivery
// on the webhook schedule (NextRetry); the message keeps its webhook-id on
// every attempt.
type DeliverWorker struct {
	river.WorkerDefaults[jobargs.Deliver]

	pool    *pgxpool.Pool
	sender  *webhook.Sender
	cfg     WebhookConfig
	logger  *slog.Logger
	metrics *metrics.Metrics
}

// NewDeliverWorker returns a worker delivering through sender.
func NewDeliverWorker(pool *pgxpool.Pool, sender *webhook.Sender, cfg WebhookConfig, logger *slog.Logger, m *metrics.Metrics) *DeliverWorker {
	return &DeliverWorker{pool: pool, sender: sender, cfg: cfg, logger: logger, metrics: m}
}

// NextRetry follows the webhook schedule, with jitter.
func (w *DeliverWorker) NextRetry(job *river.Job[jobargs.Deliver]) time.Time {
	return time.Now().Add(w.cfg.Schedule.Delay(job.Attempt-1, rand.Float64))
}

// Work sends the delivery once.
func (w *DeliverWorker) Work(ctx context.Context, job *river.Job[jobargs.Deliver]) error {
	id := job.Args.DeliveryID
	d, err := webhook.LoadDelivery(ctx, w.pool, id)
	if errors.Is(err, webhook.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("delivery %d: %w", id, err))
	}
	if err != nil {
		return fmt.Errorf("delivery %d: %w", id, err)
	}
	if d.State == webhook.StateSucceeded {
		return nil
	}
	attrs := []any{"delivery_id", id, "webhook_id", d.WebhookID, "subscriber", d.Subscriber, "event_type", d.EventType}
	if d.SessionID != nil {
		attrs = append(attrs, "session_id", *d.SessionID)
	}
	if !d.Enabled {
		err := w.settle(ctx, job, func(tx pgx.Tx) error { return webhook.MarkPaused(ctx, tx, id) })
		if errors.Is(err, webhook.ErrSubscriberEnabled) {
			return river.JobSnooze(0) // enabled meanwhile: send now
		}
		if err != nil {
			return err
		}
		w.metrics.Delivery("paused", 0)
		w.logger.InfoContext(ctx, "delivery paused: subscriber disabled; it goes out when the subscriber is enabled", attrs...)
		return nil
	}

	a := w.sender.Send(ctx, webhook.Message{ID: d.WebhookID, Timestamp: time.Now(), Body: d.Payload, Secrets: d.Secrets, URL: d.URL})
	if err := webhook.RecordAttempt(ctx, w.pool, id, job.Attempt, d.URL, a); err != nil {
		return fmt.Errorf("delivery %d: record attempt: %w", id, err)
	}
	attrs = append(attrs, "attempt", job.Attempt, "status", a.StatusCode, "duration", a.Duration)
	w.logger.DebugContext(ctx, "webhook attempt", attrs...)
	switch {
	case a.Succeeded():
		w.metrics.Delivery("succeeded", a.Duration)
		w.logger.InfoContext(ctx, "webhook delivered", attrs...)
		return nil
	case a.Gone():
		w.metrics.Delivery("gone", a.Duration)
		w.metrics.SubscriberDisabled()
		if err := w.settle(ctx, job, func(tx pgx.Tx) error {
			if _, err := webhook.SetEnabled(ctx, tx, nil, d.Subscriber, false, "receiver answered 410 Gone"); err != nil {
				return fmt.Errorf("disable subscriber: %w", err)
			}
			return webhook.MarkPaused(ctx, tx, id)
		}); err != nil {
			return err
		}
		w.logger.ErrorContext(ctx, "subscriber answered 410 Gone: disabled; its deliveries wait until it is enabled", attrs...)
		return nil
	}

	result := "failed"
	var refused *webhook.RefusedError
	if errors.As(a.Err, &refused) {
		result = "refused"
	}
	w.metrics.Delivery(result, a.Duration)
	w.logger.WarnContext(ctx, "webhook attempt failed", append(attrs, "error", a.ErrorString())...)

	disabled, err := webhook.DisableIfFailing(ctx, w.pool, d.Subscriber, w.cfg.DisableAfter)
	if err != nil {
		return fmt.Errorf("delivery %d: endpoint health: %w", id, err)
	}
	if disabled {
		w.metrics.SubscriberDisabled()
		w.logger.ErrorContext(ctx, "subscriber failing too long: disabled; its deliveries wait until it is enabled",
			"subscriber", d.Subscriber, "failing_for_more_than", w.cfg.DisableAfter)
		err := w.settle(ctx, job, func(tx pgx.Tx) error { return webhook.MarkPaused(ctx, tx, id) })
		if errors.Is(err, webhook.ErrSubscriberEnabled) {
			return river.JobSnooze(0) // re-enabled meanwhile: try again now
		}
		return err
	}
	if a.RetryAfter > 0 && snoozes(job) < maxRetryAfterSnoozes {
		return river.JobSnooze(webhook.ClampRetryAfter(a.RetryAfter, 0, w.cfg.RetryAfterMax))
	}
	if job.Attempt >= job.MaxAttempts {
		w.logger.ErrorContext(ctx, "webhook retries exhausted: delivery failed; replay it with pollhookctl", attrs...)
		if err := river.RecordOutput(ctx, map[string]string{"delivery": "failed", "last_error": a.ErrorString()}); err != nil {
			return err
		}
		return w.settle(ctx, job, func(tx pgx.Tx) error { return webhook.MarkFailed(ctx, tx, id) })
	}
	return fmt.Errorf("delivery %d attempt %d: %s", id, job.Attempt, a.ErrorString())
}

// settle ends a delivery that will not be retried (failed or paused) and
// completes its job in the same transaction. A replay or an enable that
// runs meanwhile waits on the delivery's row lock and then finds the job
// completed, so its fresh job is never swallowed as a duplicate of a job
// that was about to finish.
func (w *DeliverWorker) settle(ctx context.Context, job *river.Job[jobargs.Deliver], fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
	if err != nil {
		return fmt.Errorf("delivery %d: settle: %w", job.Args.DeliveryID, err)
	}
	return nil
}

// snoozes is how often River has snoozed the job.
func snoozes(job *river.Job[jobargs.Deliver]) int {
	var meta struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &meta)
	return meta.Snoozes
}
