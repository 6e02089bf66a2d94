package jobs

import (
	"context"
	"log/slog"
	"time"
)

// sweeper is the safety net behind the session listener: every interval it
// gives a poll job to any pending session that has none (one inserted by SQL
// while no worker listened, or whose notification was lost). It runs as a
// plain goroutine in every worker, not as a River job, so it leaves nothing
// in River's job table; the enqueuer's SKIP LOCKED keeps concurrent sweeps
// of several workers from doing the same work, and with nothing to do a
// sweep is one probe of a partial index.
type sweeper struct {
	enqueuer *Enqueuer
	interval time.Duration
	logger   *slog.Logger
}

// run sweeps every interval until ctx ends.
func (s *sweeper) run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.enqueuer.EnqueuePending(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.ErrorContext(ctx, "sweep failed; retrying at the next interval", "error", err)
		case n > 0:
			// The listener normally gets there first: a sweep that finds
			// work means a notification was missed.
			s.logger.InfoContext(ctx, "sweep enqueued sessions the listener missed", "count", n)
		}
	}
}
