package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	sess "github.com/pollhook/pollhook/internal/session"
)

// sessionLoader reads the sessions of concurrent poll runs in batches: a
// run asks for its session, and every run asking while a read is on its way
// is served by the next read, one statement and one round trip for all of
// them. At light load that is one read per poll, as before; under load the
// per-poll cost of the read shrinks to an index probe. Every poll still
// reads its session's current row before calling the provider (so it sees
// a cancellation requested by SQL), only not alone.
type sessionLoader struct {
	pool  *pgxpool.Pool
	store *sess.Store

	mu      sync.Mutex
	queue   []loadRequest
	running bool
}

// loadRequest is one run waiting for its session.
type loadRequest struct {
	id   string
	done chan loadResult
}

// loadResult is a loadRequest's answer.
type loadResult struct {
	s   *sess.Session
	err error
}

// Bounds of one batched read.
const (
	// loaderBatchMax is the most sessions one read asks for.
	loaderBatchMax = 500
	// loaderTimeout bounds one read (it serves many runs, so no one run's
	// context bounds it).
	loaderTimeout = 30 * time.Second
)

func newSessionLoader(pool *pgxpool.Pool, store *sess.Store) *sessionLoader {
	return &sessionLoader{pool: pool, store: store}
}

// Load returns session id as the next batched read finds it, or an error
// wrapping sess.ErrNotFound if there is no such row.
func (l *sessionLoader) Load(ctx context.Context, id string) (*sess.Session, error) {
	req := loadRequest{id: id, done: make(chan loadResult, 1)}
	l.mu.Lock()
	l.queue = append(l.queue, req)
	if !l.running {
		l.running = true
		go l.run()
	}
	l.mu.Unlock()
	select {
	case r := <-req.done:
		return r.s, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("read session %s: %w", id, ctx.Err())
	}
}

// run serves the queue until it is empty, one batch per read.
func (l *sessionLoader) run() {
	for {
		l.mu.Lock()
		n := min(len(l.queue), loaderBatchMax)
		if n == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		batch := l.queue[:n:n]
		l.queue = l.queue[n:]
		l.mu.Unlock()
		l.serve(batch)
	}
}

// serve answers one batch. If the batched read fails (a malformed id, a
// lost connection), each run is answered by a read of its own, so one bad
// id cannot fail the others; so is a run whose session the batch did not
// return.
func (l *sessionLoader) serve(batch []loadRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), loaderTimeout)
	defer cancel()
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	found, err := l.store.LoadMany(ctx, l.pool, ids)
	for _, r := range batch {
		switch {
		case err != nil || found[r.id] == nil:
			// The batch failed, or the session is gone or named in a form
			// other than the canonical text the batch is keyed by: a read
			// of its own tells.
			s, lerr := l.store.Load(ctx, l.pool, r.id)
			r.done <- loadResult{s, lerr}
		default:
			// Each run gets its own copy: runs of the same id (a
			// duplicate job) must not share one.
			s := *found[r.id]
			r.done <- loadResult{&s, nil}
		}
	}
}
