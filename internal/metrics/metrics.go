// Package metrics defines pollhook's Prometheus metrics.
//
// Every label takes its values from a bounded set (flows, results, states,
// queues, configured account names): never a session id or a URL. New
// creates every series of those sets at zero, so a rule or a dashboard sees
// a flat line, not a missing series, before the first event.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery attempt results, the values of pollhook_delivery_attempts_total's
// result label.
const (
	// AttemptSucceeded is a 2xx answer.
	AttemptSucceeded = "succeeded"
	// AttemptFailed is any other answer, a timeout or a connection error.
	AttemptFailed = "failed"
	// AttemptGone is a 410 Gone answer: the subscriber is disabled.
	AttemptGone = "gone"
	// AttemptRefused is an address the SSRF guard refused to call.
	AttemptRefused = "refused"
)

// AttemptResults lists every attempt result.
func AttemptResults() []string {
	return []string{AttemptSucceeded, AttemptFailed, AttemptGone, AttemptRefused}
}

// Labels are the bounded label sets whose series New creates at zero.
type Labels struct {
	// Flows are the flows a session may have.
	Flows []string
	// PollResults are the values of pollhook_polls_total's result label.
	PollResults []string
	// TerminalStates are the states a session may end in.
	TerminalStates []string
	// Accounts maps each provider to its configured account names
	// (including any "unconfigured" catch-all).
	Accounts map[string][]string
	// DeliveryStates are the states a delivery may finish in.
	DeliveryStates []string
}

// Metrics holds pollhook's collectors. A nil *Metrics records nothing, so
// code under test may pass nil.
type Metrics struct {
	polls              *prometheus.CounterVec
	pollLatency        *prometheus.HistogramVec
	pollLag            prometheus.Histogram
	terminal           *prometheus.CounterVec
	timeToTerminal     *prometheus.HistogramVec
	attempts           *prometheus.CounterVec
	attemptLatency     *prometheus.HistogramVec
	finished           *prometheus.CounterVec
	deliveryLatency    prometheus.Histogram
	credentialFailures *prometheus.CounterVec
	subscribersOff     prometheus.Counter
}

// New creates the collectors, registers them with reg and initialises
// every series of labels at zero.
func New(reg prometheus.Registerer, labels Labels) *Metrics {
	m := &Metrics{
		polls: counterVec("pollhook_polls_total",
			"Provider polls by flow and result (in_progress, terminal state, transient, credentials, unknown_status).", "flow", "result"),
		pollLatency: histogramVec("pollhook_poll_duration_seconds",
			"Latency of one provider status call.", prometheus.ExponentialBuckets(0.005, 2, 12), "flow"),
		pollLag: histogram("pollhook_poll_lag_seconds",
			"Scheduling lag: when a poll started minus when it was due.",
			[]float64{.005, .01, .025, .05, .1, .25, .5, .75, 1, 1.5, 2, 3, 5, 10, 30, 60}),
		terminal: counterVec("pollhook_sessions_terminal_total",
			"Sessions reaching each terminal state.", "flow", "state"),
		timeToTerminal: histogramVec("pollhook_session_duration_seconds",
			"Time from registration to terminal state.", prometheus.ExponentialBuckets(0.5, 2, 12), "flow"),
		attempts: counterVec("pollhook_delivery_attempts_total",
			"Webhook POST attempts by result (succeeded, failed, gone, refused).", "result"),
		attemptLatency: histogramVec("pollhook_delivery_duration_seconds",
			"Latency of one webhook POST.", prometheus.ExponentialBuckets(0.005, 2, 13), "result"),
		finished: counterVec("pollhook_deliveries_finished_total",
			"Deliveries reaching a final state: succeeded, failed (retries exhausted), paused (subscriber disabled).", "state"),
		deliveryLatency: histogram("pollhook_delivery_latency_seconds",
			"Time from a delivery's creation (the session's terminal state) to its successful POST, retries included.",
			[]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400}),
		credentialFailures: counterVec("pollhook_credentials_failures_total",
			"Polls refused for credentials, by provider and configured account.", "provider", "account"),
		subscribersOff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pollhook_subscribers_disabled_total",
			Help: "Subscribers disabled automatically (410 Gone or failing too long).",
		}),
	}
	reg.MustRegister(m.polls, m.pollLatency, m.pollLag, m.terminal, m.timeToTerminal, m.attempts,
		m.attemptLatency, m.finished, m.deliveryLatency, m.credentialFailures, m.subscribersOff)
	m.initialise(labels)
	return m
}

// counterVec, histogramVec and histogram build the collectors New
// registers: a name, its help text, histogram buckets and label names.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
}

// initialise creates every series of labels at zero.
func (m *Metrics) initialise(labels Labels) {
	for _, flow := range labels.Flows {
		m.pollLatency.WithLabelValues(flow)
		m.timeToTerminal.WithLabelValues(flow)
		for _, result := range labels.PollResults {
			m.polls.WithLabelValues(flow, result)
		}
		for _, state := range labels.TerminalStates {
			m.terminal.WithLabelValues(flow, state)
		}
	}
	for _, result := range AttemptResults() {
		m.attempts.WithLabelValues(result)
		m.attemptLatency.WithLabelValues(result)
	}
	for _, state := range labels.DeliveryStates {
		m.finished.WithLabelValues(state)
	}
	for provider, accounts := range labels.Accounts {
		for _, account := range accounts {
			m.credentialFailures.WithLabelValues(provider, account)
		}
	}
}

// Poll records one provider call.
func (m *Metrics) Poll(flow, result string, d time.Duration) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(flow, result).Inc()
	m.pollLatency.WithLabelValues(flow).Observe(d.Seconds())
}

// PollLag records how late a poll started after it was due.
func (m *Metrics) PollLag(d time.Duration) {
	if m == nil {
		return
	}
	m.pollLag.Observe(max(d, 0).Seconds())
}

// Terminal records a session reaching a terminal state.
func (m *Metrics) Terminal(flow, state string, sinceRegistration time.Duration) {
	if m == nil {
		return
	}
	m.terminal.WithLabelValues(flow, state).Inc()
	m.timeToTerminal.WithLabelValues(flow).Observe(sinceRegistration.Seconds())
}

// Delivery records one webhook POST attempt with its result (one of
// AttemptResults).
func (m *Metrics) Delivery(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(result).Inc()
	m.attemptLatency.WithLabelValues(result).Observe(d.Seconds())
}

// finishedSucceeded is the final delivery state (webhook.StateSucceeded)
// whose deliveries feed the latency histogram.
const finishedSucceeded = "succeeded"

// DeliveryFinished records a delivery reaching a final state (succeeded,
// failed or paused). For a success, sinceCreated (the delivery's age, that
// is the time since the session's terminal state) feeds the delivery
// latency histogram.
func (m *Metrics) DeliveryFinished(state string, sinceCreated time.Duration) {
	if m == nil {
		return
	}
	m.finished.WithLabelValues(state).Inc()
	if state == finishedSucceeded {
		m.deliveryLatency.Observe(max(sinceCreated, 0).Seconds())
	}
}

// CredentialsFailure records a poll refused for credentials. account must be
// a configured account name (a bounded set).
func (m *Metrics) CredentialsFailure(provider, account string) {
	if m == nil {
		return
	}
	m.credentialFailures.WithLabelValues(provider, account).Inc()
}

// SubscriberDisabled records an automatic disable.
func (m *Metrics) SubscriberDisabled() {
	if m == nil {
		return
	}
	m.subscribersOff.Inc()
}
