package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/pgjson"
	sess "github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/webhook"
)

// ending is how a session ends.
type ending struct {
	state   string
	outcome any
	answer  json.RawMessage
	errMsg  string
}

// stored is e as the sessions table and the webhook payload accept it:
// provider bytes Postgres refuses (invalid UTF-8, NUL, lone surrogates,
// numbers beyond numeric) are sanitised, so no answer can fail the handoff.
// An answer that is not JSON at all is dropped (the outcome is kept).
func (e ending) stored() (sess.Ending, error) {
	se := sess.Ending{State: sess.State(e.state), Error: pgjson.Text(e.errMsg)}
	if e.outcome != nil {
		raw, err := json.Marshal(e.outcome)
		if err != nil {
			return se, fmt.Errorf("encode outcome: %w", err)
		}
		if se.Outcome, err = pgjson.Sanitize(raw); err != nil {
			return se, fmt.Errorf("sanitise outcome: %w", err)
		}
	}
	if len(e.answer) > 0 {
		se.Answer, _ = pgjson.Sanitize(e.answer)
	}
	return se, nil
}

// finish is the terminal handoff: in one transaction the session's outcome is
// written, its delivery row and delivery job are inserted, and the poll job
// is completed. A crash before the commit leaves the job running, to be
// rescued and polled again; after it, the delivery job exists.
//
// A handoff the database refuses for a reason no retry fixes (a data or
// constraint error) is logged at ERROR with the session id, and the session
// still ends, with its state but without the outcome that could not be
// stored: never a silent re-poll until the deadline turns a success into
// expired.
func (w *PollWorker) finish(ctx context.Context, job *river.Job[jobargs.Poll], s *session, e ending) error {
	se, err := e.stored()
	if err != nil {
		w.logger.ErrorContext(ctx, "terminal answer cannot be encoded: ending the session without its outcome",
			"session_id", s.ID, "state", e.state, "error", err)
		se = sess.Ending{State: sess.State(e.state), Error: pgjson.Text(e.errMsg)}
	}
	err = w.handoff(ctx, job, s, e, se)
	if err == nil || !permanentDBError(err) {
		return err
	}
	w.logger.ErrorContext(ctx, "database refused the session's outcome: ending it without the outcome",
		append([]any{"session_id", s.ID, "state", e.state}, dbErrorAttrs(err)...)...)
	e.outcome, e.answer = nil, nil
	e.errMsg = strings.TrimPrefix(e.errMsg+"; ", "; ") + "outcome not stored: the database refused it"
	se = sess.Ending{State: se.State, Error: pgjson.Text(e.errMsg)}
	if err := w.handoff(ctx, job, s, e, se); err != nil {
		w.logger.ErrorContext(ctx, "database refused the session's ending: retrying the job",
			append([]any{"session_id", s.ID, "state", e.state}, dbErrorAttrs(err)...)...)
		return err
	}
	return nil
}

// handoff runs the terminal transaction for se.
func (w *PollWorker) handoff(ctx context.Context, job *river.Job[jobargs.Poll], s *session, e ending, se sess.Ending) error {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("finish session %s: begin: %w", s.ID, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// The row keeps outcome and answer sealed when personal data is
	// encrypted at rest; the webhook payload is built from the clear copy
	// (and sealed by the delivery store on its own terms).
	kept := se
	kept.Outcome = w.cfg.Webhook.AtRest.SealOutcome(se.Outcome)
	kept.Answer = w.cfg.Webhook.AtRest.SealAnswer(se.Answer)
	finishedAt, ended, err := w.store.End(ctx, tx, s.ID, kept)
	if err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	// ended is false if another run ended the session first: then there is
	// nothing more to send.
	if ended {
		e.errMsg = se.Error
		if err := w.enqueueDelivery(ctx, tx, s, e, se.Outcome, finishedAt); err != nil {
			return fmt.Errorf("finish session %s: %w", s.ID, err)
		}
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("finish session %s: complete poll job: %w", s.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("finish session %s: commit: %w", s.ID, err)
	}
	if ended {
		w.metrics.Terminal(string(s.Flow), e.state, finishedAt.Sub(s.CreatedAt))
		// The reason may quote the provider: it is stored, not logged.
		w.logger.InfoContext(ctx, "session ended", "session_id", s.ID, "flow", s.Flow, "account", s.Account, "state", e.state)
	}
	return nil
}

// enqueueDelivery inserts the webhook for a session that just ended, if
// its subscriber wants it (webhook.Enqueue).
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
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	// The subscriber's event filter applies; a session whose event it does
	// not want, or that already has its delivery, gets none.
	_, err = webhook.Enqueue(ctx, tx, client, w.cfg.Webhook.AtRest, webhook.Event{
		SessionID: s.ID, Subscriber: s.Subscriber, Type: string(typ), Payload: body,
	})
	return err
}
