// Package jobs holds pollhook's River jobs and the service that runs them.
//
// A registered session gets one poll job (jobargs.Poll), in its provider's
// queue (jobargs.QueuePollFor). Each run of that job polls the provider once,
// and Decide, a pure function, says what follows: a non-terminal answer
// snoozes the job for the next backoff interval (cut to the final poll
// shortly before the deadline), a terminal answer (or the session's deadline, or a
// cancellation) hands off in one transaction: the session's outcome, a
// delivery row, the delivery job (jobargs.Deliver) and the poll job's
// completion commit together. The delivery job POSTs the signed webhook and
// is retried by River on the webhook schedule.
//
// docs/INVARIANTS.md lists the invariants this package keeps and where.
//
// Sessions inserted by plain SQL are found by the Enqueuer, woken by a
// Postgres NOTIFY from the sessions table's trigger and by a periodic sweep.
package jobs
