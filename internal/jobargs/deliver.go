package jobargs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Deliver are the arguments of the River job that sends one delivery.
type Deliver struct {
	// DeliveryID is deliveries.id.
	DeliveryID int64 `json:"delivery_id"`
}

// Kind implements river.JobArgs: "pollhook.deliver".
func (Deliver) Kind() string { return "pollhook.deliver" }

// InsertOpts implements river.JobArgsWithInsertOpts: the job goes on
// QueueDeliver, with one live job per delivery: a job for the same delivery
// that is still available, pending, running, retryable or scheduled makes
// the insert a no-op, while a completed, discarded or cancelled one does
// not, so a redelivery inserts a fresh job.
//
// It sets no MaxAttempts: the attempt budget follows the webhook retry
// schedule, which is the webhook package's and the delivery worker's
// business, not this leaf's. Inserters pass it in their InsertOpts.
func (Deliver) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue: QueueDeliver,
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
