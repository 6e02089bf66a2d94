package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	sess "github.com/pollhook/pollhook/internal/session"
)

// RetentionConfig says how long personal data and attempt records are kept.
type RetentionConfig struct {
	// RedactAfter is how long after a session ends its personal data
	// (outcome, provider answer, webhook payload outcome, attempt response
	// bodies) is kept before it is redacted. River's completed jobs are kept
	// as long.
	RedactAfter time.Duration
	// DeleteAttemptsAfter is how long delivery attempt records are kept.
	DeleteAttemptsAfter time.Duration
	// Interval is how often the retention job runs.
	Interval time.Duration
}

// retentionBatch bounds the rows one statement touches, so retention never
// holds long locks on busy tables.
const retentionBatch = 1000

// RetentionArgs are the arguments of the periodic retention job.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "pollhook.retention" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (RetentionArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// RetentionWorker redacts old personal data and deletes old attempts.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	pool   *pgxpool.Pool
	cfg    RetentionConfig
	logger *slog.Logger
}

// NewRetentionWorker returns a retention worker.
func NewRetentionWorker(pool *pgxpool.Pool, cfg RetentionConfig, logger *slog.Logger) *RetentionWorker {
	return &RetentionWorker{pool: pool, cfg: cfg, logger: logger}
}

// RetentionResult counts what one run changed.
type RetentionResult struct {
	// Sessions is the number of sessions whose outcome was redacted.
	Sessions int64 `json:"sessions"`
	// Deliveries is the number of webhook payloads redacted.
	Deliveries int64 `json:"deliveries"`
	// AttemptBodies is the number of attempt response bodies cleared.
	AttemptBodies int64 `json:"attempt_bodies"`
	// AttemptsDeleted is the number of attempt records deleted.
	AttemptsDeleted int64 `json:"attempts_deleted"`
}

// Work runs one retention pass.
func (w *RetentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	res, err := Retain(ctx, w.pool, w.cfg, time.Now())
	if err != nil {
		return err
	}
	if res != (RetentionResult{}) {
		w.logger.InfoContext(ctx, "retention: personal data redacted, old attempts deleted",
			"sessions", res.Sessions, "deliveries", res.Deliveries, "attempt_bodies", res.AttemptBodies, "attempts_deleted", res.AttemptsDeleted)
	}
	return river.RecordOutput(ctx, res)
}

// Retain redacts personal data older than cfg.RedactAfter and deletes
// attempts older than cfg.DeleteAttemptsAfter, as of now.
func Retain(ctx context.Context, pool *pgxpool.Pool, cfg RetentionConfig, now time.Time) (RetentionResult, error) {
	var res RetentionResult
	redactBefore := now.Add(-cfg.RedactAfter)
	steps := []struct {
		name  string
		sql   string
		cut   time.Time
		count *int64
	}{
		{"redact sessions", `UPDATE sessions SET outcome = NULL, answer = NULL, redacted_at = now()
			FROM ` + sess.Internal + `
			WHERE internal.ok AND id IN (SELECT id FROM sessions WHERE finished_at < $1 AND redacted_at IS NULL LIMIT $2)`, redactBefore, &res.Sessions},
		{"redact deliveries", `UPDATE deliveries SET redacted_at = now(),
				-- A payload sealed under the main key is a JSON string: it goes whole.
				payload = CASE WHEN jsonb_typeof(payload) = 'object' THEN jsonb_set(payload, '{data,outcome}', '{"redacted": true}')
					ELSE '{"redacted": true}' END
			WHERE id IN (SELECT id FROM deliveries WHERE created_at < $1 AND redacted_at IS NULL AND state <> 'pending' LIMIT $2)`, redactBefore, &res.Deliveries},
		{"clear attempt bodies", `UPDATE delivery_attempts SET response_body = NULL
			WHERE id IN (SELECT id FROM delivery_attempts WHERE attempted_at < $1 AND response_body IS NOT NULL LIMIT $2)`, redactBefore, &res.AttemptBodies},
		{"delete attempts", `DELETE FROM delivery_attempts
			WHERE id IN (SELECT id FROM delivery_attempts WHERE attempted_at < $1 LIMIT $2)`, now.Add(-cfg.DeleteAttemptsAfter), &res.AttemptsDeleted},
	}
	for _, st := range steps {
		for {
			tag, err := pool.Exec(ctx, st.sql, st.cut, retentionBatch)
			if err != nil {
				return res, fmt.Errorf("retention: %s: %w", st.name, err)
			}
			*st.count += tag.RowsAffected()
			if tag.RowsAffected() < retentionBatch {
				break
			}
		}
	}
	return res, nil
}
