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

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/webhook"
)

// maxRetryAfterSnoozes bounds how often a subscriber's Retry-After may
// postpone a delivery without spending an attempt.
const maxRetryAfterSnoozes = 5

// DeliverWorker POSTs one webhook per run. River retries a failed delivery
// on the webhook schedule (NextRetry), and the worker owns the retry
// budget: the schedule it runs with decides when a delivery has failed
// (River's MaxAttempts is only a backstop), so redeliveries, replays and
// enables follow POLLHOOK_WEBHOOK_SCHEDULE like first deliveries. The
// message keeps its webhook-id on every attempt.
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

// Work sends the delivery once, within its subscriber's throttle, and
// decides what follows: done, paused (subscriber gone or failing too
// long), retried on the schedule, or failed once the schedule's attempts
// are spent. The budget is the schedule configured now, whoever inserted
// the job.
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
	if len(d.Secrets) == 0 || d.StaleSecrets(w.cfg.AtRest.Keys) {
		// A subscriber inserted by SQL: give it a key, seal what is in clear.
		if err := webhook.SealKeysOf(ctx, w.pool, w.cfg.AtRest.Keys, d.Subscriber); err != nil {
			return fmt.Errorf("delivery %d: %w", id, err)
		}
		if d, err = webhook.LoadDelivery(ctx, w.pool, id); err != nil {
			return fmt.Errorf("delivery %d: %w", id, err)
		}
	}
	if err := d.Open(w.cfg.AtRest.Keys); err != nil {
		// A configuration fault, not the receiver's: retried, so it heals
		// once the key that sealed the values is configured again.
		w.logger.ErrorContext(ctx, "delivery cannot open its sealed keys or payload: is POLLHOOK_MAIN_KEY missing the key that sealed them?",
			"delivery_id", id, "subscriber", d.Subscriber, "main_keys", w.cfg.AtRest.Keys.IDs(), "error", err)
		return fmt.Errorf("delivery %d: %w", id, err)
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
		w.metrics.DeliveryFinished(string(webhook.StatePaused), 0)
		w.logger.InfoContext(ctx, "delivery paused: subscriber disabled; it goes out when the subscriber is enabled", attrs...)
		return nil
	}
	// The slot outlives a request by a margin, and expires if this worker
	// dies holding it.
	wait, err := webhook.Acquire(ctx, w.pool, d, w.sender.Timeout()+30*time.Second)
	if err != nil {
		return fmt.Errorf("delivery %d: %w", id, err)
	}
	if wait > 0 {
		return river.JobSnooze(wait) // throttled: wait, spending no attempt
	}

	a := w.sender.Send(ctx, webhook.Message{ID: d.WebhookID, Timestamp: time.Now(), Body: d.Payload, Secrets: d.Secrets, URL: d.URL, Headers: d.Headers})
	if err := webhook.Release(context.WithoutCancel(ctx), w.pool, d); err != nil {
		w.logger.WarnContext(ctx, "in-flight slot not released; it expires on its own", append(attrs, "error", err)...)
	}
	if err := webhook.RecordAttempt(ctx, w.pool, w.cfg.AtRest, id, job.Attempt, d.URL, a); err != nil {
		return fmt.Errorf("delivery %d: record attempt: %w", id, err)
	}
	attrs = append(attrs, "attempt", job.Attempt, "status", a.StatusCode, "duration", a.Duration)
	w.logger.DebugContext(ctx, "webhook attempt", attrs...)
	switch {
	case a.Succeeded():
		w.metrics.Delivery(metrics.AttemptSucceeded, a.Duration)
		w.metrics.DeliveryFinished(string(webhook.StateSucceeded), time.Since(d.CreatedAt))
		w.logger.InfoContext(ctx, "webhook delivered", attrs...)
		return nil
	case a.Gone():
		w.metrics.Delivery(metrics.AttemptGone, a.Duration)
		disabled := false
		if err := w.settle(ctx, job, func(tx pgx.Tx) error {
			var err error
			if disabled, err = webhook.Disable(ctx, tx, inserter(ctx), w.cfg.AtRest, d.Subscriber, "receiver answered 410 Gone"); err != nil {
				return fmt.Errorf("disable subscriber: %w", err)
			}
			return webhook.MarkPaused(ctx, tx, id)
		}); err != nil {
			return err
		}
		w.metrics.DeliveryFinished(string(webhook.StatePaused), 0)
		if disabled {
			w.metrics.SubscriberDisabled()
		}
		w.logger.ErrorContext(ctx, "subscriber answered 410 Gone: disabled; its deliveries wait until it is enabled", attrs...)
		return nil
	}

	result := metrics.AttemptFailed
	var refused *webhook.RefusedError
	if errors.As(a.Err, &refused) {
		result = metrics.AttemptRefused
	}
	w.metrics.Delivery(result, a.Duration)
	w.logger.WarnContext(ctx, "webhook attempt failed", append(attrs, "error", a.ErrorString())...)

	disabled, err := webhook.DisableIfFailing(ctx, w.pool, inserter(ctx), w.cfg.AtRest, d.Subscriber, w.cfg.DisableAfter)
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
		if err == nil {
			w.metrics.DeliveryFinished(string(webhook.StatePaused), 0)
		}
		return err
	}
	if n := retryAfterSnoozes(job); a.RetryAfter > 0 && n < maxRetryAfterSnoozes {
		if err := river.MetadataSet(ctx, retryAfterKey, n+1); err != nil {
			return err
		}
		return river.JobSnooze(webhook.ClampRetryAfter(a.RetryAfter, 0, w.cfg.RetryAfterMax))
	}
	if w.cfg.Schedule.Exhausted(job.Attempt) {
		w.logger.ErrorContext(ctx, "webhook retries exhausted: delivery failed; replay it with pollhookctl", attrs...)
		if err := river.RecordOutput(ctx, map[string]string{"delivery": "failed", "last_error": a.ErrorString()}); err != nil {
			return err
		}
		err := w.settle(ctx, job, func(tx pgx.Tx) error {
			if err := webhook.MarkFailed(ctx, tx, id); err != nil {
				return err
			}
			return webhook.Notify(ctx, tx, inserter(ctx), w.cfg.AtRest, event.TypeDeliveryExhausted, event.OperationalData{
				Subscriber: d.Subscriber, DeliveryID: id, WebhookID: d.WebhookID, EventType: d.EventType,
				SessionID: d.SessionID, Attempts: d.Attempts + 1, LastError: a.ErrorString(),
			})
		})
		if err == nil {
			w.metrics.DeliveryFinished(string(webhook.StateFailed), 0)
		}
		return err
	}
	return fmt.Errorf("delivery %d attempt %d: %s", id, job.Attempt, a.ErrorString())
}

// inserter is the River client running the job, which queues the jobs of
// operational events; nil outside a River client (nothing is queued then).
func inserter(ctx context.Context) webhook.Inserter {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return nil
	}
	return client
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

// retryAfterKey is the job metadata key counting the snoozes a receiver's
// Retry-After asked for. River's own snooze count also counts throttle
// waits, which must not use up this allowance.
const retryAfterKey = "pollhook_retry_after_snoozes"

// retryAfterSnoozes is how often a Retry-After has postponed the job.
func retryAfterSnoozes(job *river.Job[jobargs.Deliver]) int {
	var meta map[string]json.RawMessage
	_ = json.Unmarshal(job.Metadata, &meta)
	var n int
	_ = json.Unmarshal(meta[retryAfterKey], &n)
	return n
}

// ErrNoMainKey is returned by PrepareWebhooks when no main key is configured
// and running without one was not allowed.
var ErrNoMainKey = errors.New("jobs: POLLHOOK_MAIN_KEY is not set: signing secrets are sealed under it. " +
	"Generate one with 'pollhookctl keys generate' (or: echo \"k1:$(openssl rand -base64 32)\"), " +
	"or set POLLHOOK_ALLOW_NO_MAIN_KEY=true to keep them in clear")

// PrepareWebhooks brings the stored webhook settings in line with the
// configuration before the worker starts (refusing to without a main key
// unless allowed): the operator's endpoint, a
// signing key for every subscriber inserted by SQL without one, and every
// value sealed under the current main key (webhook.Reseal).
func PrepareWebhooks(ctx context.Context, pool *pgxpool.Pool, cfg WebhookConfig, logger *slog.Logger) error {
	if cfg.AtRest.Keys == nil {
		if !cfg.AllowNoMainKey {
			return ErrNoMainKey
		}
		logger.WarnContext(ctx, "no main key: signing secrets and header values are stored in clear (POLLHOOK_ALLOW_NO_MAIN_KEY)")
	}
	if err := webhook.ConfigureOperator(ctx, pool, cfg.AtRest, cfg.OperatorURL, cfg.OperatorSecret); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	res, err := webhook.Reseal(ctx, pool, cfg.AtRest)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if res != (webhook.ResealResult{}) {
		logger.InfoContext(ctx, "webhook settings sealed under the current main key",
			"main_key", cfg.AtRest.Keys.CurrentID(), "keys_generated", res.Generated, "keys_sealed", res.Secrets,
			"headers_sealed", res.Headers, "personal_values_sealed", res.Personal)
	}
	return nil
}
