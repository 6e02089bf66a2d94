package config

import (
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/upstream"
)

func TestLoadPollingIsolationAndBounds(t *testing.T) {
	t.Parallel()
	c, err := Load(Lookup())
	if err != nil {
		t.Fatal(err)
	}
	if c.Jobs.PollWorkersFor(upstream.ProviderFortID) != jobs.DefaultPollWorkers || c.Jobs.ProviderRetryAfterMax != jobs.DefaultProviderRetryAfterMax ||
		c.Jobs.FinalPollLead != jobs.DefaultFinalPollLead {
		t.Fatalf("defaults: fortid workers %d, retry-after max %s, final poll lead %s",
			c.Jobs.PollWorkersFor(upstream.ProviderFortID), c.Jobs.ProviderRetryAfterMax, c.Jobs.FinalPollLead)
	}
	c, err = Load(Lookup(map[string]string{
		"POLLHOOK_POLL_WORKERS_FORTID":      "7",
		"POLLHOOK_PROVIDER_RETRY_AFTER_MAX": "5s",
		"POLLHOOK_UPSTREAM_TIMEOUT":         "1s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Jobs.PollWorkersFor(upstream.ProviderFortID) != 7 || c.Jobs.PollWorkersFor(upstream.ProviderMarksign) != jobs.DefaultPollWorkers ||
		c.Jobs.ProviderRetryAfterMax != 5*time.Second || c.Jobs.FinalPollLead != time.Second {
		t.Fatalf("overrides: fortid %d, marksign %d, retry-after max %s, final poll lead %s (bounded by the upstream timeout)",
			c.Jobs.PollWorkersFor(upstream.ProviderFortID), c.Jobs.PollWorkersFor(upstream.ProviderMarksign),
			c.Jobs.ProviderRetryAfterMax, c.Jobs.FinalPollLead)
	}
	if _, err := Load(Lookup(map[string]string{"POLLHOOK_POLL_WORKERS_MARKSIGN": "0"})); err == nil {
		t.Fatal("0 Marksign poll workers accepted")
	}
}
