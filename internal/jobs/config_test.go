package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/webhook"
)

func TestDefaultConfigIsBuiltFromTheDefaults(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig is invalid: %v", err)
	}
	if c.PollWorkers != DefaultPollWorkers || c.DeliverWorkers != DefaultDeliverWorkers ||
		c.FetchPollInterval != DefaultFetchPollInterval || c.FetchCooldown != DefaultFetchCooldown ||
		c.SweepInterval != DefaultSweepInterval || c.CredentialsBackoff != DefaultCredentialsBackoff ||
		c.FortIDTimeout != DefaultFortIDTimeout || c.FortIDGrace != DefaultFortIDGrace ||
		c.Webhook.DisableAfter != webhook.DefaultDisableAfter || c.Webhook.RetryAfterMax != DefaultRetryAfterMax ||
		c.Webhook.Schedule.String() != webhook.DefaultSchedule().String() ||
		c.Retention != (RetentionConfig{RedactAfter: DefaultRedactAfter, DeleteAttemptsAfter: DefaultDeleteAttemptsAfter, Interval: DefaultRetentionInterval}) {
		t.Errorf("DefaultConfig = %+v, does not match the Default constants", c)
	}
	for flow, fc := range c.Flows {
		if want := c.defaultDeadline(flow); want <= 0 {
			t.Errorf("flow %s has deadline %s", flow, want)
		}
		if fc.Deadline != 0 && fc.Deadline != DefaultMarksignDeadline {
			t.Errorf("flow %s deadline %s, want %s", flow, fc.Deadline, DefaultMarksignDeadline)
		}
	}
}

func TestRiverFetchCooldown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		interval, cooldown, want time.Duration
	}{
		{100 * time.Millisecond, 25 * time.Millisecond, 25 * time.Millisecond},
		{10 * time.Millisecond, 25 * time.Millisecond, 10 * time.Millisecond},
		{25 * time.Millisecond, 25 * time.Millisecond, 25 * time.Millisecond},
		{time.Second, time.Millisecond, time.Millisecond},
	} {
		c := Config{FetchPollInterval: tt.interval, FetchCooldown: tt.cooldown}
		if got := c.RiverFetchCooldown(); got != tt.want {
			t.Errorf("interval %s, cooldown %s: River cooldown %s, want %s", tt.interval, tt.cooldown, got, tt.want)
		}
	}
}

// TestNewServiceRefusesRescueBeforeTimeout: the one check of the rescue
// delay against the poll and delivery timeouts (DeriveTimeouts), whoever
// configures them. A maintenance job's longer timeout is no bound: River
// rescues a job only after its own timeout.
func TestNewServiceRefusesRescueBeforeTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		upstream, webhook, rescue time.Duration
	}{
		{rescue: 19 * time.Second},                             // a delivery may run 15 s + 5 s
		{upstream: 40 * time.Second, rescue: 30 * time.Second}, // a poll may run 45 s
		{webhook: time.Minute, rescue: time.Minute},            // a delivery may run 65 s
	} {
		_, err := NewService(DefaultConfig(), Deps{UpstreamTimeout: tt.upstream, WebhookTimeout: tt.webhook, RescueStuckJobsAfter: tt.rescue})
		if err == nil || !strings.Contains(err.Error(), "rescue-after") {
			t.Errorf("upstream %s, webhook %s, rescue %s: err = %v, want a rescue-after error", tt.upstream, tt.webhook, tt.rescue, err)
		}
	}
}
