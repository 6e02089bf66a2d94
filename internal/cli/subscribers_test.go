package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// secretRE finds a signing secret in output.
var secretRE = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]{32,}`)

func TestSubscribers(t *testing.T) {
	t.Parallel()
	runDBCases(t, []dbCase{
		{
			name: "add",
			args: []string{"subscribers", "add", "crm", "https://crm.example/hooks?tenant=4"},
			want: []string{"Created subscriber crm (https://crm.example/hooks?tenant=redacted).", "Signing secret: whsec_", "will not be shown again"},
			check: func(t *testing.T, h *harness, r result) {
				secret := secretRE.FindString(r.stdout)
				stored := scalar[string](t, h, `SELECT secret FROM subscriber_secrets WHERE subscriber = 'crm'`)
				if secret == "" || secret != stored {
					t.Errorf("printed secret %q, stored %q", secret, stored)
				}
				if n := strings.Count(r.stdout, secret); n != 1 {
					t.Errorf("secret printed %d times, want once", n)
				}
			},
		},
		{
			name: "add --json, flags first",
			args: []string{"subscribers", "add", "--json", "crm", "http://10.0.0.5:8080/hooks"},
			check: func(t *testing.T, h *harness, r result) {
				got := decode[map[string]string](t, r)
				if got["name"] != "crm" || got["url"] != "http://10.0.0.5:8080/hooks" || !secretRE.MatchString(got["secret"]) || got["note"] != "" {
					t.Errorf("--json = %v", got)
				}
				if stored := scalar[string](t, h, `SELECT secret FROM subscriber_secrets WHERE subscriber = 'crm'`); stored != got["secret"] {
					t.Errorf("stored secret differs from the printed one")
				}
			},
		},
		{
			name: "add existing",
			args: []string{"subscribers", "add", "shop", "https://elsewhere.example/"},
			code: ExitError,
			want: []string{`pollhookctl: subscriber "shop" already exists`},
			check: func(t *testing.T, h *harness, _ result) {
				if url := scalar[string](t, h, `SELECT url FROM subscribers WHERE name = 'shop'`); url != "https://shop.example/hooks" {
					t.Errorf("url = %s, want unchanged", url)
				}
			},
		},
		{
			name:    "list",
			args:    []string{"subscribers", "list"},
			want:    []string{"NAME", "SECRETS", "shop", "https://shop.example/hooks", "old", "false", "deliveries failing for more than 5d"},
			notWant: []string{shopSecret, oldSecret, "whsec_"},
			check:   rowsStartWith("old, shop by name", "old ", "shop "),
		},
		{
			name:    "list --json",
			args:    []string{"subscribers", "list", "--json"},
			notWant: []string{"whsec_"},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[[]subscriberJSON](t, r)
				if len(got) != 2 {
					t.Fatalf("%d subscribers, want 2", len(got))
				}
				old, shop := got[0], got[1]
				if old.Name != "old" || old.Enabled || old.DisabledReason == "" || old.FailingSince == nil || old.ActiveSecrets != 1 {
					t.Errorf("old = %+v", old)
				}
				if shop.Name != "shop" || !shop.Enabled || shop.FailingSince != nil || shop.ActiveSecrets != 1 || shop.URL != "https://shop.example/hooks" {
					t.Errorf("shop = %+v", shop)
				}
			},
		},
		{
			name:  "list --json of none",
			setup: func(t *testing.T, h *harness) { h.exec(t, `TRUNCATE subscribers CASCADE`) },
			args:  []string{"subscribers", "list", "--json"},
			want:  []string{"[]"},
		},
		{
			name: "rotate",
			args: []string{"subscribers", "rotate", "shop", "--overlap", "1h"},
			want: []string{"New signing secret of shop: whsec_", "will not be shown again", "keep signing for 1h0m0s"},
			check: func(t *testing.T, h *harness, r result) {
				secret := secretRE.FindString(r.stdout)
				if secret == "" || secret == shopSecret {
					t.Fatalf("printed secret %q, want a new one", secret)
				}
				if n := scalar[int](t, h, `SELECT count(*)::int FROM subscriber_secrets WHERE subscriber = 'shop' AND secret = $1 AND expires_at IS NULL`, secret); n != 1 {
					t.Errorf("new secret stored %d times without expiry, want 1", n)
				}
				left := scalar[float64](t, h, `SELECT extract(epoch FROM expires_at - now())::float8 FROM subscriber_secrets WHERE secret = $1`, shopSecret)
				if left < 3500 || left > 3601 {
					t.Errorf("old secret expires in %.0fs, want about an hour", left)
				}
			},
		},
		{
			name: "rotate --json with the default overlap",
			args: []string{"subscribers", "rotate", "--json", "old"},
			check: func(t *testing.T, h *harness, r result) {
				got := decode[map[string]string](t, r)
				if got["name"] != "old" || !secretRE.MatchString(got["secret"]) || got["overlap"] != "24h0m0s" {
					t.Errorf("--json = %v", got)
				}
				if n := scalar[int](t, h, `SELECT count(*)::int FROM subscriber_secrets WHERE subscriber = 'old' AND (expires_at IS NULL OR expires_at > now())`); n != 2 {
					t.Errorf("%d active secrets, want 2 during the overlap", n)
				}
			},
		},
		{
			name: "rotate unknown",
			args: []string{"subscribers", "rotate", "nobody"},
			code: ExitError,
			want: []string{`subscriber "nobody" does not exist`},
		},
		{
			name: "disable",
			args: []string{"subscribers", "disable", "shop", "--reason", "endpoint migrating"},
			want: []string{"Disabled subscriber shop (endpoint migrating)", "pollhookctl subscribers enable shop"},
			check: func(t *testing.T, h *harness, _ result) {
				if reason := scalar[string](t, h, `SELECT disabled_reason FROM subscribers WHERE name = 'shop' AND NOT enabled`); reason != "endpoint migrating" {
					t.Errorf("disabled_reason = %q", reason)
				}
			},
		},
		{
			name: "disable --json with the default reason",
			args: []string{"subscribers", "disable", "shop", "--json"},
			check: func(t *testing.T, h *harness, r result) {
				got := decode[map[string]any](t, r)
				if got["name"] != "shop" || got["enabled"] != false || got["disabled_reason"] != "disabled by an operator" {
					t.Errorf("--json = %v", got)
				}
				if enabled := scalar[bool](t, h, `SELECT enabled FROM subscribers WHERE name = 'shop'`); enabled {
					t.Error("shop still enabled")
				}
			},
		},
		{
			name: "disable unknown",
			args: []string{"subscribers", "disable", "nobody"},
			code: ExitError,
			want: []string{`subscriber "nobody" does not exist`},
		},
		{
			name: "enable queues paused deliveries",
			args: []string{"subscribers", "enable", "old"},
			want: []string{"Enabled subscriber old; queued 1 paused delivery again."},
			check: func(t *testing.T, h *harness, _ result) {
				h.wantDelivery(t, deliveryPaused, "pending", 1)
				var enabled bool
				var failing *time.Time
				if err := h.db.Pool.QueryRow(t.Context(), `SELECT enabled, failing_since FROM subscribers WHERE name = 'old'`).Scan(&enabled, &failing); err != nil {
					t.Fatal(err)
				}
				if !enabled || failing != nil {
					t.Errorf("old: enabled %t, failing_since %v; want enabled with the failure clock cleared", enabled, failing)
				}
			},
		},
		{
			name: "enable --json",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `INSERT INTO deliveries (webhook_id, subscriber, event_type, payload, state) VALUES ('msg_p2', 'old', 'session.failed', '{}', 'paused')`)
			},
			args: []string{"subscribers", "enable", "old", "--json"},
			check: func(t *testing.T, h *harness, r result) {
				got := decode[map[string]any](t, r)
				if got["name"] != "old" || got["enabled"] != true || got["requeued"] != 2.0 {
					t.Errorf("--json = %v", got)
				}
				if n := scalar[int](t, h, `SELECT count(*)::int FROM river_job WHERE kind = 'pollhook.deliver'`); n != 2 {
					t.Errorf("%d pollhook.deliver jobs, want 2", n)
				}
			},
		},
		{
			name: "enable without paused deliveries",
			args: []string{"subscribers", "enable", "shop"},
			want: []string{"queued 0 paused deliveries again"},
		},
		{
			name: "enable unknown",
			args: []string{"subscribers", "enable", "nobody"},
			code: ExitError,
			want: []string{`subscriber "nobody" does not exist`},
		},
	})
}
