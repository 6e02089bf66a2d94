package jobargs

// The River queues pollhook's jobs run in. The worker gives each its own
// pool of slots (POLLHOOK_POLL_WORKERS, POLLHOOK_DELIVER_WORKERS); periodic
// maintenance runs in River's default queue.
const (
	// QueuePoll is the queue of poll jobs (Poll).
	QueuePoll = "poll"
	// QueueDeliver is the queue of delivery jobs (Deliver).
	QueueDeliver = "deliver"
)
