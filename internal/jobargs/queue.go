package jobargs

// The River queues pollhook's jobs run in. The worker gives each its own
// pool of slots (POLLHOOK_POLL_WORKERS per provider queue,
// POLLHOOK_DELIVER_WORKERS); periodic maintenance runs in River's default
// queue.
const (
	// QueuePoll is the queue of poll jobs that name no provider (inserted
	// before poll jobs carried one); QueuePollFor gives each provider's.
	QueuePoll = "poll"
	// QueueDeliver is the queue of delivery jobs (Deliver).
	QueueDeliver = "deliver"
)

// QueuePollFor returns the queue of the poll jobs of provider (a session's
// provider column: "fortid" -> "poll_fortid"). Each provider has its own
// queue and worker slots, so a slow or dead provider cannot take the slots
// of the others.
func QueuePollFor(provider string) string {
	if provider == "" {
		return QueuePoll
	}
	return QueuePoll + "_" + provider
}
