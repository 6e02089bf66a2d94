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

// MaxAttemptsBackstop is the River MaxAttempts of a delivery job. It is only
// a backstop: the delivery worker owns the retry budget and settles a
// delivery as failed after Schedule.Attempts attempts of the schedule
// configured when it runs, whoever inserted the job (a first delivery, a
// redelivery, a replay or an enable).
const MaxAttemptsBackstop = 1000

// InsertOpts puts the job on QueueDeliver with MaxAttemptsBackstop, and
// keeps one live job per delivery: a job
// for the same delivery that is still available, pending, running,
// retryable or scheduled makes the insert a no-op, while a completed,
// discarded or cancelled one does not, so a redelivery inserts a fresh job.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueDeliver,
		MaxAttempts: MaxAttemptsBackstop,
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
