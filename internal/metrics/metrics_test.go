package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pollhook/pollhook/internal/metrics"
)

func TestNewCreatesEverySeriesAtZero(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	metrics.New(reg, metrics.Labels{
		Flows:          []string{"a", "b"},
		PollResults:    []string{"in_progress", "succeeded", "transient"},
		TerminalStates: []string{"succeeded", "cancelled"},
		Accounts:       map[string][]string{"fortid": {"default", "unconfigured"}, "marksign": {"default"}},
		DeliveryStates: []string{"succeeded", "failed", "paused"},
	})
	for name, want := range map[string]int{
		"pollhook_polls_total":                2 * 3,
		"pollhook_sessions_terminal_total":    2 * 2,
		"pollhook_credentials_failures_total": 3,
		"pollhook_delivery_attempts_total":    len(metrics.AttemptResults()),
		"pollhook_deliveries_finished_total":  3,
		"pollhook_subscribers_disabled_total": 1,
	} {
		if got := testutil.CollectAndCount(reg, name); got != want {
			t.Errorf("%s: %d series, want %d", name, got, want)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollhook_deliveries_finished_total Deliveries reaching a final state: succeeded, failed (retries exhausted), paused (subscriber disabled).
# TYPE pollhook_deliveries_finished_total counter
pollhook_deliveries_finished_total{state="failed"} 0
pollhook_deliveries_finished_total{state="paused"} 0
pollhook_deliveries_finished_total{state="succeeded"} 0
`), "pollhook_deliveries_finished_total"); err != nil {
		t.Error(err)
	}
}

func TestDeliveryCountsAttemptsAndFinishedDeliveriesApart(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Labels{DeliveryStates: []string{"succeeded", "failed", "paused"}})
	m.Delivery(metrics.AttemptFailed, 30*time.Millisecond)
	m.Delivery(metrics.AttemptSucceeded, 20*time.Millisecond)
	m.DeliveryFinished("succeeded", 90*time.Second)
	m.DeliveryFinished("paused", 0) // nothing sent: a delivery paused, not an attempt
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollhook_delivery_attempts_total Webhook POST attempts by result (succeeded, failed, gone, refused).
# TYPE pollhook_delivery_attempts_total counter
pollhook_delivery_attempts_total{result="failed"} 1
pollhook_delivery_attempts_total{result="gone"} 0
pollhook_delivery_attempts_total{result="refused"} 0
pollhook_delivery_attempts_total{result="succeeded"} 1
# HELP pollhook_deliveries_finished_total Deliveries reaching a final state: succeeded, failed (retries exhausted), paused (subscriber disabled).
# TYPE pollhook_deliveries_finished_total counter
pollhook_deliveries_finished_total{state="failed"} 0
pollhook_deliveries_finished_total{state="paused"} 1
pollhook_deliveries_finished_total{state="succeeded"} 1
`), "pollhook_delivery_attempts_total", "pollhook_deliveries_finished_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(reg, "pollhook_delivery_latency_seconds"); got != 1 {
		t.Errorf("delivery latency: %d series, want 1", got)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.Poll("a", "in_progress", time.Second)
	m.PollLag(time.Second)
	m.Terminal("a", "succeeded", time.Second)
	m.Delivery(metrics.AttemptSucceeded, time.Second)
	m.DeliveryFinished("succeeded", time.Second)
	m.CredentialsFailure("fortid", "default")
	m.SubscriberDisabled()
}
