package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/pollhook/pollhook/internal/jobargs"
)

// enqueueBatch is how many sessions one enqueue transaction takes.
const enqueueBatch = 1000

// Enqueuer gives poll jobs to sessions inserted by plain SQL.
type Enqueuer struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	schema string
	logger *slog.Logger
}

// NewEnqueuer returns an Enqueuer inserting through client.
func NewEnqueuer(pool *pgxpool.Pool, client *river.Client[pgx.Tx], schema string, logger *slog.Logger) *Enqueuer {
	return &Enqueuer{pool: pool, client: client, schema: schema, logger: logger}
}

// EnqueuePending inserts a poll job for every pending session that has none
// and returns how many it inserted. Sessions are locked with SKIP LOCKED, so
// several workers can run it at once without doing the same work, and poll
// jobs are unique per session, so a session registered from Go meanwhile
// keeps its one job.
func (e *Enqueuer) EnqueuePending(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := e.enqueueBatch(ctx)
		total += n
		if err != nil || n < enqueueBatch {
			return total, err
		}
	}
}

func (e *Enqueuer) enqueueBatch(ctx context.Context) (int, error) {
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("enqueue: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	rows, err := tx.Query(ctx, `SELECT id::text, provider FROM sessions
		WHERE state = 'pending' AND poll_job_id IS NULL
		ORDER BY created_at
		LIMIT $1
		FOR UPDATE SKIP LOCKED`, enqueueBatch)
	if err != nil {
		return 0, fmt.Errorf("enqueue: select pending sessions: %w", err)
	}
	type pending struct {
		ID       string
		Provider string
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[pending])
	if err != nil {
		return 0, fmt.Errorf("enqueue: read pending sessions: %w", err)
	}
	if len(found) == 0 {
		return 0, nil
	}
	ids := make([]string, len(found))
	params := make([]river.InsertManyParams, len(found))
	for i, f := range found {
		ids[i] = f.ID
		params[i] = river.InsertManyParams{Args: jobargs.Poll{SessionID: f.ID, Provider: f.Provider}}
	}
	results, err := e.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return 0, fmt.Errorf("enqueue: insert poll jobs: %w", err)
	}
	jobIDs := make([]int64, len(results))
	for i, r := range results {
		jobIDs[i] = r.Job.ID
	}
	if _, err := tx.Exec(ctx, `UPDATE sessions SET poll_job_id = v.job_id
		FROM unnest($1::uuid[], $2::bigint[]) AS v(id, job_id)
		WHERE sessions.id = v.id`, ids, jobIDs); err != nil {
		return 0, fmt.Errorf("enqueue: link poll jobs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("enqueue: commit: %w", err)
	}
	e.logger.DebugContext(ctx, "enqueued sessions registered by SQL", "count", len(ids))
	return len(ids), nil
}

// Listen wakes EnqueuePending whenever the sessions trigger notifies, until
// ctx ends. A lost connection is reopened after a pause; the sweep covers
// anything inserted meanwhile. ready, if not nil, is closed once the first
// LISTEN is in place.
func (e *Enqueuer) Listen(ctx context.Context, ready chan<- struct{}) {
	kick := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				if _, err := e.EnqueuePending(ctx); err != nil && ctx.Err() == nil {
					e.logger.ErrorContext(ctx, "enqueue on notify failed; the sweep will retry", "error", err)
				}
			}
		}
	}()
	channel := pgx.Identifier{e.schema + ".session_registered"}.Sanitize()
	for ctx.Err() == nil {
		err := e.listenOnce(ctx, channel, kick, &ready)
		if ctx.Err() != nil {
			return
		}
		e.logger.WarnContext(ctx, "session listener lost its connection; reconnecting", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (e *Enqueuer) listenOnce(ctx context.Context, channel string, kick chan<- struct{}, ready *chan<- struct{}) error {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// The connection carries a LISTEN: never hand it back to the pool.
	defer func() {
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if *ready != nil {
		close(*ready)
		*ready = nil
	}
	// Anything inserted while no one listened.
	select {
	case kick <- struct{}{}:
	default:
	}
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case kick <- struct{}{}:
		default:
		}
	}
}
