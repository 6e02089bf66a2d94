package jobs

import (
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// timeoutMargin is what a job run needs beyond its one network call: a few
// short queries (load the session or delivery, record the outcome).
const timeoutMargin = 5 * time.Second

// rescueMargin separates a job's timeout from River's rescue: a job that
// overran its timeout has this long to see its context cancelled and
// return before River presumes its worker dead.
const rescueMargin = 5 * time.Second

// Timeouts are the per-kind job timeouts and River's rescue horizon.
type Timeouts struct {
	// Poll bounds one poll run: the provider's request timeout plus a
	// margin.
	Poll time.Duration
	// Deliver bounds one delivery run: the webhook timeout plus a margin.
	Deliver time.Duration
	// Maintenance bounds the other jobs (retention).
	Maintenance time.Duration
	// RescueAfter is how long a poll or delivery may stay running before
	// River's rescuer presumes its worker dead: the longer of Poll and
	// Deliver plus a margin. River rescues a maintenance job only after its
	// own, longer timeout.
	RescueAfter time.Duration
}

// DeriveTimeouts returns the timeouts that fit the work: upstreamTimeout
// bounds a provider call, webhookTimeout a webhook POST, maintenance the
// other jobs. rescueAfter, if positive, overrides the derived rescue
// horizon and must not be shorter than a poll's or delivery's timeout.
func DeriveTimeouts(upstreamTimeout, webhookTimeout, maintenance, rescueAfter time.Duration) (Timeouts, error) {
	if upstreamTimeout <= 0 || webhookTimeout <= 0 || maintenance <= 0 {
		return Timeouts{}, fmt.Errorf("jobs: timeouts (upstream %s, webhook %s, maintenance %s) must be positive",
			upstreamTimeout, webhookTimeout, maintenance)
	}
	t := Timeouts{
		Poll:        upstreamTimeout + timeoutMargin,
		Deliver:     webhookTimeout + timeoutMargin,
		Maintenance: maintenance,
	}
	t.RescueAfter = t.longest() + rescueMargin
	if rescueAfter > 0 {
		if rescueAfter < t.longest() {
			return Timeouts{}, fmt.Errorf("jobs: rescue-after %s is shorter than a job's timeout %s (poll %s, delivery %s)",
				rescueAfter, t.longest(), t.Poll, t.Deliver)
		}
		t.RescueAfter = rescueAfter
	}
	return t, nil
}

// longest is the longer of the poll and delivery timeouts: River's client
// timeout, which its RescueStuckJobsAfter may not undercut.
func (t Timeouts) longest() time.Duration { return max(t.Poll, t.Deliver) }

// timedWorker gives a worker a fixed timeout, whatever its own Timeout says.
type timedWorker[T river.JobArgs] struct {
	river.Worker[T]
	timeout time.Duration
}

// Timeout implements river.Worker.
func (w timedWorker[T]) Timeout(*river.Job[T]) time.Duration { return w.timeout }

// withTimeout wraps w so River runs each of its jobs with timeout.
func withTimeout[T river.JobArgs](w river.Worker[T], timeout time.Duration) river.Worker[T] {
	return timedWorker[T]{Worker: w, timeout: timeout}
}
