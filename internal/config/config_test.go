package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/upstream"
)

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Schema != "pollhook" || c.HTTPAddr != "127.0.0.1:8080" || c.Jobs.FortIDTimeout != 5*time.Minute || c.Sender.Timeout != 15*time.Second {
		t.Fatalf("defaults = %+v", c)
	}
	if c.Upstream.MaxConns != c.Jobs.PollWorkers {
		t.Fatalf("provider connection pool %d, want one per poll worker (%d)", c.Upstream.MaxConns, c.Jobs.PollWorkers)
	}
	if c.Sender.Guard.AllowHTTP || len(c.Sender.Guard.AllowCIDRs) != 0 || c.RiverUI.Enabled() {
		t.Fatal("defaults must be safe: no http, no SSRF exemptions, no River UI without credentials")
	}
}

func TestLoadOverrides(t *testing.T) {
	t.Parallel()
	c, err := Load(Env(map[string]string{
		"POLLHOOK_SCHEMA":                         "ph",
		"POLLHOOK_FORTID_SESSION_TIMEOUT":         "90s",
		"POLLHOOK_FORTID_GRACE_PERIOD":            "30s",
		"POLLHOOK_BACKOFF_SMARTID_IDENTIFICATION": "2s,2,8s,0",
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":            "127.0.0.0/8, 10.1.0.0/16",
		"POLLHOOK_WEBHOOK_SCHEDULE":               "1s,1m",
		"POLLHOOK_MARKSIGN_DEADLINE":              "3m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Jobs.Flows[upstream.FlowSmartIDIdentification].Backoff
	if c.Schema != "ph" || c.Jobs.FortIDTimeout != 90*time.Second || c.Jobs.FortIDGrace != 30*time.Second ||
		b.Initial != 2*time.Second || b.Multiplier != 2 || b.Max != 8*time.Second ||
		len(c.Sender.Guard.AllowCIDRs) != 2 || len(c.Jobs.Webhook.Schedule) != 2 ||
		c.Jobs.Flows[upstream.FlowMobileIDSigning].Deadline != 3*time.Minute {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

// TestLoadChecksRescueAfterAsTheServiceDoes: a zero timeout means its
// default when POLLHOOK_RESCUE_AFTER is checked, as in jobs.NewService, so
// Load neither refuses what the worker would run nor accepts what it refuses.
func TestLoadChecksRescueAfterAsTheServiceDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{"POLLHOOK_WEBHOOK_TIMEOUT": "0s", "POLLHOOK_JOB_TIMEOUT": "0s", "POLLHOOK_RESCUE_AFTER": "30s"}, true},
		{map[string]string{"POLLHOOK_WEBHOOK_TIMEOUT": "0s", "POLLHOOK_RESCUE_AFTER": "19s"}, false},
		{map[string]string{"POLLHOOK_WEBHOOK_TIMEOUT": "30s", "POLLHOOK_RESCUE_AFTER": "30s"}, false},
	} {
		if _, err := Load(Env(tc.env)); (err == nil) != tc.ok {
			t.Errorf("Load(%v) error = %v, want ok %v", tc.env, err, tc.ok)
		}
	}
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	t.Parallel()
	_, err := Load(Env(map[string]string{
		"POLLHOOK_SCHEMA":               "Bad-Schema",
		"POLLHOOK_POLL_WORKERS":         "many",
		"POLLHOOK_SWEEP_INTERVAL":       "soon",
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":  "10.0.0.0/33",
		"POLLHOOK_BACKOFF_VERIFICATION": "1s,0.5,2s,0",
		"POLLHOOK_LOG_LEVEL":            "loud",
		"POLLHOOK_RIVERUI_USER":         "admin",
	}))
	if err == nil {
		t.Fatal("Load accepted bad variables")
	}
	for _, name := range []string{"POLLHOOK_SCHEMA", "POLLHOOK_POLL_WORKERS", "POLLHOOK_SWEEP_INTERVAL", "POLLHOOK_WEBHOOK_ALLOW_CIDRS", "POLLHOOK_BACKOFF_VERIFICATION", "POLLHOOK_LOG_LEVEL", "POLLHOOK_RIVERUI_USER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

// TestREADMEDocumentsEveryVariable keeps README's configuration table true.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars() {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}
