package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/cmdtest"
)

// TestSweepPicksUpMissedNotificationsOutsideRiver inserts sessions whose
// notification no one hears (the trigger is off) while the worker runs: the
// sweep must still poll them, and leave no job of its own in River's table,
// where only poll, delivery and retention jobs appear.
func TestSweepPicksUpMissedNotificationsOutsideRiver(t *testing.T) {
	t.Parallel()
	h := newFortIDHarness(t, &fortIDFake{inProgress: 0, terminal: `{"verificationSessionStatus":"VERIFICATION_FAILED","description":"issuer not trusted"}`})
	ctx := context.Background()
	if _, err := h.tdb.Pool.Exec(ctx, `ALTER TABLE sessions DISABLE TRIGGER sessions_registered_notify`); err != nil {
		t.Fatal(err)
	}
	var logs cmdtest.Buffer
	h.start(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	time.Sleep(300 * time.Millisecond) // the listener's start-up pass is over
	for i := range 3 {
		h.insertFortID(t, uuidN(200+i), "")
	}
	for _, r := range h.receiver.waitFor(3, 20*time.Second) {
		if r.event.Type != event.TypeFailed {
			t.Fatalf("event %s, want session.failed", r.event.Type)
		}
	}
	if !strings.Contains(logs.String(), "sweep enqueued sessions the listener missed") {
		t.Errorf("the sessions were not picked up by the sweep; logs:\n%s", logs.String())
	}
	var other, sweeps int
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE kind NOT IN ('pollhook.poll', 'pollhook.deliver', 'pollhook.retention')),
			count(*) FILTER (WHERE kind = 'pollhook.sweep')
		FROM river_job`).Scan(&other, &sweeps); err != nil {
		t.Fatal(err)
	}
	if other != 0 || sweeps != 0 {
		t.Errorf("River's job table holds %d jobs of other kinds (%d sweeps), want none", other, sweeps)
	}
}
