package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// clientIDPrefix starts the River client id of every pollhook worker that
// holds a liveness lock. The reclaimer only touches jobs last attempted by
// such a client: a job run by any other River client (an older pollhook, a
// tool) is left to River's rescuer.
const clientIDPrefix = "pollhook_"

// livenessLockClass is the first key of every liveness lock (the advisory
// lock pair (class, hashtext(client id))): "ph" in ASCII.
const livenessLockClass = 0x7068

// ReclaimInterval is how often a worker looks for jobs stranded by a dead
// worker (the first time at start) and checks its own liveness lock.
const ReclaimInterval = 5 * time.Second

// NewClientID returns a fresh River client id carrying clientIDPrefix: the
// host name and 64 random bits, unique per process.
func NewClientID() string {
	host, _ := os.Hostname()
	host = strings.NewReplacer(".", "_", " ", "_").Replace(host)
	if len(host) > 60 {
		host = host[:60]
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return clientIDPrefix + host + "_" + hex.EncodeToString(b[:])
}

// Reclaimer gives back the running jobs of dead workers at once, instead of
// after River's rescue horizon.
//
// Every worker holds a session-level advisory lock keyed by its River
// client id on a connection of its own, taken before its River client
// starts and released after it stops. Postgres drops the lock the moment
// that connection ends, which it does when the process dies (kill -9, OOM,
// a lost host: the backend sees the socket close, or TCP keepalive fails).
// A running job whose last attempt belongs to a pollhook client whose lock
// nobody holds is therefore stranded: no process can finish it. The
// reclaimer makes such jobs available again (or discards them when their
// attempts are spent, as River's rescuer does), at start and every
// ReclaimInterval.
//
// If a live worker loses its lock connection (the database restarted, a
// network cut) it takes the lock again at its next tick; meanwhile another
// worker may reclaim its running jobs, which then run twice: at least once,
// as after any rescue. A poll is idempotent, and a delivery keeps its
// webhook-id, so a receiver deduplicates a second POST.
type Reclaimer struct {
	pool     *pgxpool.Pool
	clientID string
	logger   *slog.Logger
	interval time.Duration

	conn *pgx.Conn // holds the liveness lock; used by run's goroutine only after Start
}

// NewReclaimer returns a reclaimer for the River client clientID.
func NewReclaimer(pool *pgxpool.Pool, clientID string, logger *slog.Logger, interval time.Duration) *Reclaimer {
	return &Reclaimer{pool: pool, clientID: clientID, logger: logger, interval: interval}
}

// Lock takes this worker's liveness lock on a dedicated connection. Call it
// before the River client starts, so no job is attempted by a client that
// holds no lock.
func (r *Reclaimer) Lock(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("reclaim: connect: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, livenessLockClass, r.clientID).Scan(&ok); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("reclaim: take liveness lock: %w", err)
	}
	if !ok {
		// Two live clients whose ids hash alike: both stay safe (neither
		// looks dead), only River's rescuer frees their jobs.
		r.logger.WarnContext(ctx, "liveness lock held by another worker (hash collision); crash recovery falls back to River's rescuer")
	}
	if r.conn != nil {
		_ = r.conn.Close(context.WithoutCancel(ctx))
	}
	r.conn = conn
	return nil
}

// Unlock releases the liveness lock by closing its connection. Call it after
// the River client has stopped.
func (r *Reclaimer) Unlock(ctx context.Context) {
	if r.conn != nil {
		_ = r.conn.Close(ctx)
		r.conn = nil
	}
}

// Run reclaims at once and then every interval until ctx ends. Before each
// round it makes sure this worker still holds its own lock (taking it again
// if its connection was lost), so it never takes its own jobs for a dead
// worker's.
func (r *Reclaimer) Run(ctx context.Context) {
	r.round(ctx)
	everyTick(ctx, r.interval, func() { r.round(ctx) })
}

// round is one turn of Run: the lock check, then one reclaim.
func (r *Reclaimer) round(ctx context.Context) {
	if err := r.checkLock(ctx); err != nil && ctx.Err() == nil {
		r.logger.WarnContext(ctx, "liveness lock lost; taking it again", "error", err)
		if err := r.Lock(ctx); err != nil && ctx.Err() == nil {
			r.logger.ErrorContext(ctx, "cannot take the liveness lock; other workers may reclaim this worker's jobs", "error", err)
		}
	}
	if n, err := r.ReclaimOnce(ctx); err != nil && ctx.Err() == nil {
		r.logger.WarnContext(ctx, "reclaiming stranded jobs failed; retrying", "error", err)
	} else if n > 0 {
		r.logger.InfoContext(ctx, "reclaimed jobs stranded by a dead worker", "count", n)
	}
}

// checkLock reports an error when the lock's connection no longer answers.
func (r *Reclaimer) checkLock(ctx context.Context) error {
	if r.conn == nil {
		return errors.New("no lock connection")
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return r.conn.Ping(pctx)
}

// reclaimSQL makes stranded jobs available again: running, last attempted
// by a pollhook client that holds no liveness lock in this database. Like
// River's rescuer, it records an error on the job and discards a job whose
// attempts are spent, and cancels one whose cancellation was requested.
//
// A database restart drops every lock at once, the live workers' too: for
// $3 after the server started (long enough for every live worker to take
// its lock again) nothing is reclaimed, and River's rescuer stays the
// fallback.
const reclaimSQL = `
WITH live AS (
	SELECT objid FROM pg_locks
	WHERE locktype = 'advisory' AND objsubid = 2 AND granted
		AND classid = $1::int4::oid
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
stranded AS (
	SELECT id, attempted_by[cardinality(attempted_by)] AS client
	FROM river_job
	WHERE state = 'running'
		AND starts_with(attempted_by[cardinality(attempted_by)], $2)
		AND hashtext(attempted_by[cardinality(attempted_by)])::oid NOT IN (SELECT objid FROM live)
		AND pg_postmaster_start_time() < now() - $3::interval
	ORDER BY id
	LIMIT 10000
	FOR UPDATE SKIP LOCKED
)
UPDATE river_job j SET
	state = CASE
		WHEN j.metadata ? 'cancel_attempted_at' THEN 'cancelled'::river_job_state
		WHEN j.attempt >= j.max_attempts THEN 'discarded'::river_job_state
		ELSE 'available'::river_job_state END,
	finalized_at = CASE WHEN j.metadata ? 'cancel_attempted_at' OR j.attempt >= j.max_attempts THEN now() END,
	scheduled_at = CASE WHEN j.metadata ? 'cancel_attempted_at' OR j.attempt >= j.max_attempts THEN j.scheduled_at ELSE now() END,
	errors = array_append(j.errors, jsonb_build_object(
		'at', now(), 'attempt', greatest(j.attempt, 0),
		'error', 'Stranded job reclaimed: worker ' || s.client || ' holds no liveness lock (it died)',
		'trace', ''))
FROM stranded s
WHERE j.id = s.id AND j.state = 'running'`

// ReclaimOnce reclaims the jobs stranded now and returns how many.
func (r *Reclaimer) ReclaimOnce(ctx context.Context) (int64, error) {
	tag, err := r.pool.Exec(ctx, reclaimSQL, livenessLockClass, clientIDPrefix, 3*r.interval)
	if err != nil {
		return 0, fmt.Errorf("reclaim: %w", err)
	}
	return tag.RowsAffected(), nil
}
