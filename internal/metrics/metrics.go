// Package metrics defines pollhook's Prometheus metrics.
//
// Every label takes its values from a bounded set (flows, results, states,
// queues, configured account names): never a session id or a URL.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds pollhook's collectors. A nil *Metrics records nothing, so
// code under test may pass nil.
type Metrics struct {
	polls              *prometheus.CounterVec
	pollLatency        *prometheus.HistogramVec
	pollLag            prometheus.Histogram
	terminal           *prometheus.CounterVec
	timeToTerminal     *prometheus.HistogramVec
	deliveries         *prometheus.CounterVec
	deliveryLatency    *prometheus.HistogramVec
	credentialFailures *prometheus.CounterVec
	subscribersOff     prometheus.Counter
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pollhook_polls_total",
			Help: "Provider polls by flow and result (in_progress, terminal state, transient, credentials, unknown_status).",
		}, []string{"flow", "result"}),
		pollLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pollhook_poll_duration_seconds",
			Help:    "Latency of one provider status call.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"flow"}),
		pollLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pollhook_poll_lag_seconds",
			Help:    "Scheduling lag: when a poll started minus when it was due.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, .75, 1, 1.5, 2, 3, 5, 10, 30, 60},
		}),
		terminal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pollhook_sessions_terminal_total",
			Help: "Sessions reaching each terminal state.",
		}, []string{"flow", "state"}),
		timeToTerminal: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pollhook_session_duration_seconds",
			Help:    "Time from registration to terminal state.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
		}, []string{"flow"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pollhook_deliveries_total",
			Help: "Webhook delivery attempts by result (succeeded, failed, gone, refused, paused).",
		}, []string{"result"}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pollhook_delivery_duration_seconds",
			Help:    "Latency of one webhook POST.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}, []string{"result"}),
		credentialFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pollhook_credentials_failures_total",
			Help: "Polls refused for credentials, by provider and configured account.",
		}, []string{"provider", "account"}),
		subscribersOff: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pollhook_subscribers_disabled_total",
			Help: "Subscribers disabled automatically (410 Gone or failing too long).",
		}),
	}
	reg.MustRegister(m.polls, m.pollLatency, m.pollLag, m.terminal, m.timeToTerminal, m.deliveries,
		m.deliveryLatency, m.credentialFailures, m.subscribersOff)
	return m
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

// Delivery records one webhook attempt.
func (m *Metrics) Delivery(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(result).Inc()
	m.deliveryLatency.WithLabelValues(result).Observe(d.Seconds())
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
