package cli

import (
	"strings"
	"testing"
)

func TestDeliveries(t *testing.T) {
	t.Parallel()
	runDBCases(t, []dbCase{
		{
			name:    "list",
			args:    []string{"deliveries", "list"},
			want:    []string{"ID", "SUBSCRIBER", "EVENT", "session.succeeded", "session.failed", "session.expired", "paused", "500", "204"},
			notWant: []string{personalCode, "whsec_"},
			check:   rowsStartWith("three deliveries, the two-day-old one last", "", "", "9 "),
		},
		{
			name:    "list --json",
			args:    []string{"deliveries", "list", "--json", "--state", "failed"},
			notWant: []string{"payload", personalCode},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[[]deliveryRow](t, r)
				if len(got) != 1 {
					t.Fatalf("%d deliveries, want 1", len(got))
				}
				d := got[0]
				if d.ID != deliveryFailed || d.WebhookID != "msg_failed7" || deref(d.SessionID) != sessionDone || d.Subscriber != "shop" ||
					d.State != "failed" || d.Attempts != 2 || deref(d.LastStatus) != 500 || deref(d.LastError) != "HTTP 500" {
					t.Errorf("delivery = %+v", d)
				}
			},
		},
		{
			name:  "list by subscriber, since and limit",
			args:  []string{"deliveries", "list", "--subscriber", "shop", "--since", "1h", "--limit", "5", "--json"},
			check: onlyRow(deliveryRowID, deliveryFailed, "delivery 7"),
		},
		{
			name: "list --json of none",
			args: []string{"deliveries", "list", "--json", "--subscriber", "nobody"},
			want: []string{"[]"},
		},
		{
			name: "show with attempts",
			args: []string{"deliveries", "show", "7"},
			want: []string{
				"Delivery 7", "msg_failed7", sessionDone, "shop (enabled)", "https://shop.example/hooks", "failed",
				"Attempts", "connection refused", "1.52s", "87ms", "500: HTTP 500", `{"error":"database is down"}`,
			},
			notWant: []string{personalCode, "whsec_"},
			check: func(t *testing.T, _ *harness, r result) {
				if strings.Index(r.stdout, "connection refused") > strings.Index(r.stdout, "database is down") {
					t.Errorf("attempts not oldest first:\n%s", r.stdout)
				}
			},
		},
		{
			name:    "show --json",
			args:    []string{"deliveries", "show", "--json", "7"},
			notWant: []string{personalCode, "whsec_"},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[deliveryDetail](t, r)
				if string(got.Payload) != "null" {
					t.Errorf("payload = %s, want null without --payload", got.Payload)
				}
				if got.ID != deliveryFailed || got.URL != "https://shop.example/hooks" || !got.SubscriberEnabled || got.Attempts != 2 {
					t.Errorf("delivery = %+v", got)
				}
				if len(got.AttemptLog) != 2 {
					t.Fatalf("%d attempts, want 2", len(got.AttemptLog))
				}
				a1, a2 := got.AttemptLog[0], got.AttemptLog[1]
				if a1.Attempt != 1 || deref(a1.Error) != "connection refused" || a1.StatusCode != nil || a1.ResponseBody != nil || a1.DurationMS < 1523 || a1.DurationMS > 1524 {
					t.Errorf("attempt 1 = %+v", a1)
				}
				if a2.Attempt != 2 || deref(a2.StatusCode) != 500 || deref(a2.ResponseBody) != `{"error":"database is down"}` {
					t.Errorf("attempt 2 = %+v", a2)
				}
			},
		},
		{
			name: "show --payload",
			args: []string{"deliveries", "show", "7", "--payload", "--json"},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[deliveryDetail](t, r)
				if !strings.Contains(string(got.Payload), personalCode) {
					t.Errorf("payload = %s", got.Payload)
				}
			},
		},
		{
			name: "show hides credentials in the subscriber's and the attempts' URLs",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `UPDATE subscribers SET url = 'https://hookuser:hookpass@shop.example/hooks?token=tok123' WHERE name = 'shop'`)
				h.exec(t, `UPDATE delivery_attempts SET url = 'https://shop.example/hooks?token=tok123'`)
			},
			args:    []string{"deliveries", "show", "7"},
			want:    []string{"https://redacted@shop.example/hooks?token=redacted"},
			notWant: []string{"hookuser", "hookpass", "tok123"},
		},
		{
			name: "show --json hides credentials in URLs",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `UPDATE subscribers SET url = 'https://hookuser:hookpass@shop.example/hooks?token=tok123' WHERE name = 'shop'`)
				h.exec(t, `UPDATE delivery_attempts SET url = 'https://shop.example/hooks?token=tok123'`)
			},
			args:    []string{"deliveries", "show", "7", "--json"},
			want:    []string{`"url": "https://shop.example/hooks?token=redacted"`},
			notWant: []string{"hookuser", "hookpass", "tok123"},
		},
		{
			name: "show without attempts",
			args: []string{"deliveries", "show", "8"},
			want: []string{"old (disabled)", "paused", "Attempts: none yet"},
		},
		{
			name: "show unknown",
			args: []string{"deliveries", "show", "999"},
			code: ExitError,
			want: []string{"pollhookctl: delivery 999 does not exist"},
		},
		{
			name:  "redeliver",
			args:  []string{"deliveries", "redeliver", "9"},
			want:  []string{"Delivery 9 is pending again"},
			check: func(t *testing.T, h *harness, _ result) { h.wantDelivery(t, deliverySucceeded, "pending", 1) },
		},
		{
			name: "redeliver --json",
			args: []string{"deliveries", "redeliver", "--json", "7"},
			check: func(t *testing.T, h *harness, r result) {
				got := decode[map[string]any](t, r)
				if got["id"] != 7.0 || got["state"] != "pending" {
					t.Errorf("--json = %v", got)
				}
				h.wantDelivery(t, deliveryFailed, "pending", 1)
			},
		},
		{
			name: "redeliver unknown",
			args: []string{"deliveries", "redeliver", "999"},
			code: ExitError,
			want: []string{"delivery 999 does not exist"},
			check: func(t *testing.T, h *harness, _ result) {
				if n := scalar[int](t, h, `SELECT count(*)::int FROM river_job WHERE kind = 'pollhook.deliver'`); n != 0 {
					t.Errorf("%d pollhook.deliver jobs, want none", n)
				}
			},
		},
		{
			name: "replay",
			setup: func(t *testing.T, h *harness) {
				// A failed delivery older than --since stays failed.
				h.exec(t, `INSERT INTO deliveries (id, webhook_id, subscriber, event_type, payload, state, created_at)
					OVERRIDING SYSTEM VALUE
					VALUES (10, 'msg_old10', 'shop', 'session.failed', '{}', 'failed', now() - interval '3 days')`)
			},
			args: []string{"deliveries", "replay", "--subscriber", "shop", "--since", "1d"},
			want: []string{"Queued 1 failed delivery of shop created since "},
			check: func(t *testing.T, h *harness, _ result) {
				h.wantDelivery(t, deliveryFailed, "pending", 1)
				h.wantDelivery(t, 10, "failed", 0)
			},
		},
		{
			name: "replay --json",
			args: []string{"deliveries", "replay", "--json", "--since", "2000-01-01T00:00:00Z", "--subscriber", "shop"},
			check: func(t *testing.T, h *harness, r result) {
				got := decode[map[string]any](t, r)
				if got["subscriber"] != "shop" || got["queued"] != 1.0 || got["since"] != "2000-01-01T00:00:00Z" {
					t.Errorf("--json = %v", got)
				}
				if n := h.deliverJobs(t, deliveryFailed); n != 1 {
					t.Errorf("%d pollhook.deliver jobs, want 1", n)
				}
			},
		},
		{
			name: "replay leaves paused deliveries",
			args: []string{"deliveries", "replay", "--subscriber", "old", "--since", "1h"},
			want: []string{"Queued 0 failed deliveries of old"},
			check: func(t *testing.T, h *harness, _ result) {
				if st := h.deliveryState(t, deliveryPaused); st != "paused" {
					t.Errorf("paused delivery is %s", st)
				}
			},
		},
		{
			name: "replay unknown subscriber",
			args: []string{"deliveries", "replay", "--subscriber", "nobody", "--since", "1h"},
			code: ExitError,
			want: []string{`subscriber "nobody" does not exist`},
		},
	})
}
