package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	runDBCases(t, []dbCase{
		{
			name:    "list",
			args:    []string{"sessions", "list"},
			want:    []string{"ID", "STATE", sessionDone, sessionPolling, "succeeded", "polling", "order-41", "smartid_identification"},
			notWant: []string{personalCode, "MARY", "personal_code"},
			check:   rowsStartWith("two sessions, newest first", sessionPolling, ""),
		},
		{
			name:    "list --json --state",
			args:    []string{"sessions", "list", "--json", "--state", "succeeded"},
			notWant: []string{personalCode, "outcome"},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[[]sessionRow](t, r)
				if len(got) != 1 {
					t.Fatalf("%d sessions, want 1", len(got))
				}
				s := got[0]
				if s.ID != sessionDone || s.Provider != "marksign" || s.ExternalID != "tok-done" || s.Subscriber != "shop" ||
					deref(s.AppRef) != "order-41" || s.State != "succeeded" || s.FinishedAt == nil {
					t.Errorf("session = %+v", s)
				}
			},
		},
		{
			name: "list filtered by provider, flow, subscriber, since and limit",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `INSERT INTO subscribers (name, url) VALUES ('crm', 'https://crm.example/')`)
				h.exec(t, `INSERT INTO sessions (provider, flow, external_id, subscriber, created_at) VALUES
					('fortid', 'verification', '00000000-0000-4000-8000-000000000001', 'shop', now() - interval '3 hours'),
					('fortid', 'verification', '00000000-0000-4000-8000-000000000002', 'crm', now() - interval '1 minute'),
					('fortid', 'verification', '00000000-0000-4000-8000-000000000003', 'shop', now() - interval '2 minutes')`)
			},
			args:  []string{"sessions", "list", "--provider", "fortid", "--flow", "verification", "--subscriber", "shop", "--since", "1h", "--limit", "1", "--json"},
			check: onlyRow(sessionRowID, sessionPolling, "the newest fortid session of shop in the last hour"),
		},
		{
			name:  "list --since RFC 3339",
			args:  []string{"sessions", "list", "--json", "--since", time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339)},
			check: onlyRow(sessionRowID, sessionPolling, "the session of the last 5 minutes"),
		},
		{
			name: "list --json of none",
			args: []string{"sessions", "list", "--json", "--subscriber", "nobody"},
			want: []string{"[]"},
		},
		{
			name: "show finished session with outcome and deliveries",
			args: []string{"sessions", "show", sessionDone},
			want: []string{
				"Session " + sessionDone, "tok-done", "order-41", "en", "succeeded",
				`"personal_code": "` + personalCode + `"`, "Poll job: none yet",
				"Deliveries", "session.succeeded", "failed", "500",
			},
		},
		{
			name: "show polling session with its poll job's progress",
			args: []string{"sessions", "show", strings.ToUpper(sessionPolling)},
			want: []string{"Poll job 501", "scheduled", "1 of 25", "polls", "3", "transient (HTTP 502)", "upstream answered 502", "2030-01-02T03:04:05Z", "Deliveries: none"},
		},
		{
			name: "show --json",
			args: []string{"sessions", "show", "--json", sessionPolling},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[sessionDetail](t, r)
				if got.ID != sessionPolling || got.State != "polling" || got.Provider != "fortid" || got.Locale != "lt" || got.Account != "default" {
					t.Errorf("session = %+v", got)
				}
				j := got.PollJob
				if j == nil || j.ID != pollJobID || j.State != "scheduled" || j.Attempt != 1 || j.MaxAttempts != 25 || j.ScheduledAt.IsZero() {
					t.Fatalf("poll job = %+v", j)
				}
				p := j.Progress
				if p.Polls != 3 || deref(p.LastResult) != "transient" || deref(p.LastHTTPStatus) != 502 || deref(p.LastError) != "upstream answered 502" ||
					p.NextPollAt == nil || !p.NextPollAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
					t.Errorf("progress = %+v", p)
				}
				if got.Deliveries == nil || len(got.Deliveries) != 0 {
					t.Errorf("deliveries = %#v, want []", got.Deliveries)
				}
			},
		},
		{
			name: "show --json carries the outcome as stored",
			args: []string{"sessions", "show", sessionDone, "--json"},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[sessionDetail](t, r)
				var outcome map[string]string
				if err := json.Unmarshal(got.Outcome, &outcome); err != nil || outcome["personal_code"] != personalCode {
					t.Errorf("outcome = %s (%v)", got.Outcome, err)
				}
				if got.PollJob != nil || len(got.Deliveries) != 1 || got.Deliveries[0].ID != deliveryFailed {
					t.Errorf("poll job %+v, deliveries %+v", got.PollJob, got.Deliveries)
				}
			},
		},
		{
			name:  "show with the poll job deleted by River",
			setup: func(t *testing.T, h *harness) { h.exec(t, `DELETE FROM river_job`) },
			args:  []string{"sessions", "show", sessionPolling},
			want:  []string{"Poll job 501: no longer in River"},
		},
		{
			name: "show unknown",
			args: []string{"sessions", "show", "33333333-3333-4333-8333-333333333333"},
			code: ExitError,
			want: []string{"pollhookctl: session 33333333-3333-4333-8333-333333333333 does not exist"},
		},
		{
			name: "cancel",
			args: []string{"sessions", "cancel", sessionPolling},
			want: []string{"Cancelled session " + sessionPolling},
			check: func(t *testing.T, h *harness, _ result) {
				if !scalar[bool](t, h, `SELECT cancel_requested_at IS NOT NULL FROM sessions WHERE id = $1`, sessionPolling) {
					t.Error("cancel_requested_at not set")
				}
			},
		},
		{
			name: "cancel --json",
			args: []string{"sessions", "cancel", "--json", sessionPolling},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[cancelJSON](t, r)
				if got.SessionID != sessionPolling || !got.Cancelled || got.State != "polling" || got.CancelRequestedAt == nil {
					t.Errorf("--json = %+v", got)
				}
			},
		},
		{
			name: "cancel twice",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `UPDATE sessions SET cancel_requested_at = now() WHERE id = $1`, sessionPolling)
			},
			args: []string{"sessions", "cancel", sessionPolling, "--json"},
			check: func(t *testing.T, _ *harness, r result) {
				got := decode[cancelJSON](t, r)
				if got.Cancelled || got.State != "polling" || got.CancelRequestedAt == nil {
					t.Errorf("--json = %+v", got)
				}
			},
		},
		{
			name: "cancel an ended session",
			args: []string{"sessions", "cancel", sessionDone},
			want: []string{"Not cancelled: session " + sessionDone + " already ended as succeeded."},
			check: func(t *testing.T, h *harness, _ result) {
				if scalar[bool](t, h, `SELECT cancel_requested_at IS NOT NULL FROM sessions WHERE id = $1`, sessionDone) {
					t.Error("cancel_requested_at set on an ended session")
				}
			},
		},
		{
			name: "cancel an ended session --json",
			args: []string{"sessions", "cancel", sessionDone, "--json"},
			check: func(t *testing.T, _ *harness, r result) {
				var got map[string]any
				if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"session_id": sessionDone, "cancelled": false, "state": "succeeded", "cancel_requested_at": nil}
				if len(got) != len(want) {
					t.Errorf("--json = %v, want exactly the fields %v", got, want)
				}
				for k, v := range want {
					if g, ok := got[k]; !ok || g != v {
						t.Errorf("--json %s = %v, want %v", k, g, v)
					}
				}
			},
		},
		{
			name: "show a finished session whose poll job remains: no next poll",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, pollJobID)
				h.exec(t, `UPDATE sessions SET state = 'expired', finished_at = now() WHERE id = $1`, sessionPolling)
			},
			args:    []string{"sessions", "show", sessionPolling},
			want:    []string{"Poll job 501", "next poll at", "none: the session has ended"},
			notWant: []string{"2030-01-02"},
		},
		{
			name: "show --json of a finished session with its job still scheduled: next_poll_at null",
			setup: func(t *testing.T, h *harness) {
				h.exec(t, `UPDATE sessions SET state = 'cancelled', finished_at = now() WHERE id = $1`, sessionPolling)
			},
			args: []string{"sessions", "show", sessionPolling, "--json"},
			check: func(t *testing.T, _ *harness, r result) {
				var got struct {
					PollJob struct {
						Progress map[string]any `json:"progress"`
					} `json:"poll_job"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
					t.Fatal(err)
				}
				p := got.PollJob.Progress
				v, ok := p["next_poll_at"]
				if !ok || v != nil || p["last_polled_at"] != nil || p["unknown_status_len"] != nil {
					t.Errorf("progress = %v, want next_poll_at, last_polled_at and unknown_status_len null", p)
				}
				for _, k := range []string{"last_polled_at", "unknown_status_len", "last_result", "last_error"} {
					if _, ok := p[k]; !ok {
						t.Errorf("progress = %v lacks %s", p, k)
					}
				}
			},
		},
		{
			name: "cancel unknown",
			args: []string{"sessions", "cancel", "33333333-3333-4333-8333-333333333333"},
			code: ExitError,
			want: []string{"session 33333333-3333-4333-8333-333333333333 does not exist"},
		},
	})
}
