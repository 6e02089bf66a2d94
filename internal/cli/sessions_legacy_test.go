package cli

import (
	"testing"
)

// TestSessionsReadLegacyRows: rows registered before migration 00002 may hold
// values it now refuses (an infinite deadline or cancellation time);
// sessions list and show still read them.
func TestSessionsReadLegacyRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.reset(t)
	const legacy = "6f1c2a52-1f4e-4d7a-9c3b-000000000077"
	h.exec(t, `ALTER TABLE sessions DISABLE TRIGGER sessions_guard_insert`)
	h.exec(t, `INSERT INTO sessions (id, provider, flow, external_id, subscriber, deadline, cancel_requested_at)
		VALUES ($1, 'marksign', 'smartid_signing', 'tok-legacy', 'shop', 'infinity', '-infinity')`, legacy)
	h.exec(t, `ALTER TABLE sessions ENABLE TRIGGER sessions_guard_insert`)
	for _, args := range [][]string{{"sessions", "list"}, {"sessions", "list", "--json"}, {"sessions", "show", legacy}, {"sessions", "show", "--json", legacy}} {
		if r := h.run(t, args...); r.code != ExitOK {
			t.Errorf("pollhookctl %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}
