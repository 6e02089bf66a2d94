package webhook

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// QueueDeliver is the River queue of delivery jobs.
const QueueDeliver = "deliver"

// DeliverArgs are the arguments of the River job that sends one delivery.
type DeliverArgs struct {
	// DeliveryID is deliveries.id.
	DeliveryID int64 `json:"delivery_id"`
}

// Kind returns the job kind, "pollhook.deliver".
func (DeliverArgs) Kind() string { return "pollhook.deliver" }

// InsertOpts puts the job on QueueDeliver, allows one attempt more than the
// default schedule has delays, and keeps one live job per delivery: a job
// for the same delivery that is still available, pending, running,
// retryable or scheduled makes the insert a no-op, while a completed,
// discarded or cancelled one does not, so a redelivery inserts a fresh job.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueDeliver,
		MaxAttempts: len(DefaultSchedule()) + 1,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable,
				rivertype.JobStatePending,
				rivertype.JobStateRunning,
				rivertype.JobStateRetryable,
				rivertype.JobStateScheduled,
			},
		},
	}
}
