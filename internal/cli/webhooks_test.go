package cli

import (
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/testdb"
)

// withKey is the harness's environment with a main key and no permission
// to run without one.
func (h *harness) withKey(key string) func(string) string {
	return func(name string) string {
		switch name {
		case "POLLHOOK_MAIN_KEY":
			return key
		case "POLLHOOK_ALLOW_NO_MAIN_KEY":
			return ""
		}
		return h.getenv(name)
	}
}

func TestSubscribersPastSvix(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.reset(t)
	key := testdb.MainKey()
	env := h.withKey(key)

	// Without the key, commands that seal refuse and say why.
	r := run(t, func(n string) string {
		if n == "POLLHOOK_ALLOW_NO_MAIN_KEY" {
			return ""
		}
		return h.getenv(n)
	}, "subscribers", "add", "nokey", "https://x.example/")
	if r.code != ExitError || !strings.Contains(r.stderr, "POLLHOOK_MAIN_KEY is not set") {
		t.Errorf("add without a key: exit %d, %s", r.code, r.stderr)
	}

	r = run(t, env, "subscribers", "add", "edge", "https://edge.example/hooks",
		"--scheme", "v1a", "--events", "session.succeeded,session.failed",
		"--header", "Authorization: Bearer cli-t0ken", "--header", "X-Tenant: 7", "--rate", "50/s", "--max-in-flight", "4")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Public key: whpk_") || strings.Contains(r.stdout, "whsk_") {
		t.Fatalf("add v1a: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pub := strings.Fields(r.stdout[strings.Index(r.stdout, "whpk_"):])[0]
	if r := run(t, env, "subscribers", "secret", "edge"); r.code != ExitOK || strings.TrimSpace(r.stdout) != pub {
		t.Errorf("secret edge = %q, want the public key", r.stdout)
	}

	r = run(t, env, "subscribers", "list")
	for _, want := range []string{"v1a", "session.succeeded,session.failed", "Authorization,X-Tenant", "50/s, 4 in flight"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "cli-t0ken") {
		t.Error("list shows a header value")
	}
	sealedCount := scalar[int](t, h, `SELECT count(*)::int FROM subscriber_secrets WHERE subscriber = 'edge' AND secret LIKE 'sealed:test:%'`)
	if sealedCount != 1 || scalar[int](t, h, `SELECT count(*)::int FROM subscribers WHERE headers_sealed LIKE '%t0ken%'`) != 0 {
		t.Errorf("edge's key or headers not sealed")
	}

	// Refused at the first place that can refuse: the flags.
	for _, bad := range [][]string{
		{"--header", "Webhook-Id: x"}, {"--header", "Host: evil"}, {"--header", "no colon"},
		{"--events", "session.*.x"}, {"--rate", "fast"}, {"--scheme", "v2"}, {"--max-in-flight", "-1"},
	} {
		args := append([]string{"subscribers", "add", "bad", "https://bad.example/"}, bad...)
		if r := run(t, env, args...); r.code != ExitUsage {
			t.Errorf("add %v: exit %d, want 2 (%s)", bad, r.code, r.stderr)
		}
	}

	// A subscriber inserted by SQL without a secret gets one, sealed, and
	// the same one on the next read.
	h.exec(t, `INSERT INTO subscribers (name, url) VALUES ('bysql', 'https://u:p4ss@sql.example/h?token=s3cret&x=1')`)
	first := run(t, env, "subscribers", "secret", "bysql")
	second := run(t, env, "subscribers", "secret", "bysql")
	if first.code != ExitOK || !strings.HasPrefix(first.stdout, "whsec_") || first.stdout != second.stdout {
		t.Errorf("secret bysql: %q then %q", first.stdout, second.stdout)
	}
	if n := scalar[int](t, h, `SELECT count(*)::int FROM subscriber_secrets WHERE subscriber = 'bysql' AND secret LIKE 'sealed:%'`); n != 1 {
		t.Errorf("%d sealed secrets for bysql, want 1", n)
	}
	r = run(t, env, "subscribers", "list", "--json")
	if !strings.Contains(r.stdout, `"https://redacted@sql.example/h?token=redacted\u0026x=redacted"`) || strings.Contains(r.stdout, "p4ss") || strings.Contains(r.stdout, "s3cret") {
		t.Errorf("list --json does not redact the URL:\n%s", r.stdout)
	}

	// set changes the filter and clears headers.
	if r := run(t, env, "subscribers", "set", "edge", "--events", "session.*", "--clear-headers", "--rate", "0"); r.code != ExitOK {
		t.Fatalf("set: %s", r.stderr)
	}
	if got := scalar[string](t, h, `SELECT array_to_string(event_types, ',') || '|' || array_to_string(header_names, ',') || '|' || coalesce(rate_per_second::text, 'none') FROM subscribers WHERE name = 'edge'`); got != "session.*||none" {
		t.Errorf("after set: %s", got)
	}
	if r := run(t, env, "subscribers", "set", "edge"); r.code != ExitUsage {
		t.Errorf("set without a change: exit %d", r.code)
	}

	// Rotate the main key and reencrypt: everything moves under the new key.
	newKey, err := seal.Generate("k2")
	if err != nil {
		t.Fatal(err)
	}
	rotated := h.withKey(newKey + "," + key)
	if r := run(t, rotated, "keys", "reencrypt"); r.code != ExitOK || !strings.Contains(r.stdout, "Sealed under main key k2") {
		t.Fatalf("keys reencrypt: %s%s", r.stdout, r.stderr)
	}
	if n := scalar[int](t, h, `SELECT count(*)::int FROM subscriber_secrets WHERE NOT secret LIKE 'sealed:k2:%'`); n != 0 {
		t.Errorf("%d keys not under k2 after reencrypt", n)
	}
	if r := run(t, h.withKey(newKey), "subscribers", "secret", "bysql"); r.stdout != first.stdout {
		t.Errorf("bysql's secret changed across the main key rotation")
	}
	if r := run(t, env, "keys", "generate", "--id", "k3"); r.code != ExitOK || !strings.HasPrefix(r.stdout, "k3:") {
		t.Errorf("keys generate: %q", r.stdout)
	} else if _, err := seal.Parse(strings.TrimSpace(r.stdout)); err != nil {
		t.Errorf("generated key does not parse: %v", err)
	}
}

func TestDisableTwiceKeepsFirstReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.reset(t)
	if r := h.run(t, "subscribers", "disable", "shop", "--reason", "first reason"); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	r := h.run(t, "subscribers", "disable", "shop", "--reason", "second reason")
	if r.code != ExitOK || !strings.Contains(r.stdout, "already disabled (first reason)") {
		t.Errorf("second disable: %s", r.stdout)
	}
	if got := scalar[string](t, h, `SELECT disabled_reason FROM subscribers WHERE name = 'shop'`); got != "first reason" {
		t.Errorf("reason = %q, want the first", got)
	}
}

func TestSessionsShowFilteredWebhook(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.reset(t)
	h.exec(t, `UPDATE subscribers SET event_types = '{session.failed}' WHERE name = 'shop'`)
	const id = "33333333-3333-4333-8333-333333333333"
	h.exec(t, `INSERT INTO sessions (id, provider, flow, external_id, subscriber, state, finished_at)
		VALUES ($1, 'marksign', 'smartid_identification', 'tok-filtered', 'shop', 'succeeded', now())`, id)
	r := h.run(t, "sessions", "show", id)
	if r.code != ExitOK || !strings.Contains(r.stdout, "Deliveries: none (filtered: subscriber shop does not want session.succeeded (its events: session.failed))") {
		t.Errorf("sessions show:\n%s%s", r.stdout, r.stderr)
	}
	r = h.run(t, "sessions", "show", id, "--json")
	if !strings.Contains(r.stdout, `"delivery_note": "filtered: subscriber shop does not want session.succeeded`) {
		t.Errorf("sessions show --json:\n%s", r.stdout)
	}
}
