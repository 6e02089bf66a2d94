package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
)

// SweepArgs are the arguments of the periodic sweep that enqueues sessions
// inserted by SQL while no worker listened for their notification.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "pollhook.sweep" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1}
}

// SweepWorker runs the Enqueuer.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	enqueuer *Enqueuer
}

// Work enqueues every pending session that has no poll job.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	n, err := w.enqueuer.EnqueuePending(ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	if n > 0 {
		return river.RecordOutput(ctx, map[string]int{"enqueued": n})
	}
	return nil
}
