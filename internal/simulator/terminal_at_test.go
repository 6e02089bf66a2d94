package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/upstream"
)

// TestTerminalAt polls sessions whose end is a wall-clock instant: every
// poll before it answers in progress, however many there were, and the
// first poll after it gets the outcome, for every flow and for ids set by
// SetScenario, by PUT /_sim/scenarios and by the token convention.
func TestTerminalAt(t *testing.T) {
	t.Parallel()
	sim, srv, client := setup(t, Options{}, 0)
	at := time.Now().Add(300 * time.Millisecond)
	type tracked struct {
		s    upstream.Session
		want upstream.State
	}
	var sessions []tracked
	for i, flow := range allFlows {
		id := FortIDSessionID(OutcomeSucceeded, 0) // 0 in-progress polls by name: TerminalAt must win
		o := []Outcome{OutcomeSucceeded, OutcomeRefused, OutcomeFlaky}[i%3]
		if i%2 == 0 {
			if err := sim.SetScenario(id, Scenario{Outcome: o, TerminalAt: at}); err != nil {
				t.Fatal(err)
			}
		} else {
			body, _ := json.Marshal(map[string]any{"outcome": o, "terminal_at": at.Format(time.RFC3339Nano)})
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_sim/scenarios/"+id, bytes.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("PUT scenario: HTTP %d", resp.StatusCode)
			}
		}
		sessions = append(sessions, tracked{session(flow, id, ""), expectedState(flow, o)})
		if flow != upstream.FlowFortIDVerification {
			sessions = append(sessions, tracked{session(flow, MarksignTokenAt(OutcomeFailed, at), ""), expectedState(flow, OutcomeFailed)})
		}
	}
	for _, tr := range sessions {
		for i := range 5 {
			res, err := client.Poll(t.Context(), tr.s)
			if err != nil {
				t.Fatal(err)
			}
			if res.State != upstream.StateInProgress {
				t.Fatalf("%s poll %d before the instant: %s, want in progress", tr.s.ExternalID, i, res.State)
			}
		}
	}
	time.Sleep(time.Until(at))
	for _, tr := range sessions {
		results := pollUntilTerminal(t, client, tr.s, 10)
		if got := results[len(results)-1].State; got != tr.want {
			t.Errorf("%s after the instant: %s, want %s", tr.s.ExternalID, got, tr.want)
		}
		since, ok := sim.TerminalSince(tr.s.ExternalID)
		if !ok || since.Before(at) {
			t.Errorf("%s: terminal since %s (%v), before the instant %s", tr.s.ExternalID, since, ok, at)
		}
	}
}

// TestTerminalAtFromName decodes the "sim-<outcome>-at-<ms>" convention and
// refuses malformed instants.
func TestTerminalAtFromName(t *testing.T) {
	t.Parallel()
	at := time.UnixMilli(1_800_000_000_123)
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	for id, want := range map[string]Scenario{
		"sim-refused-at-" + ms:          {Outcome: OutcomeRefused, TerminalAt: at},
		"sim-succeeded-at-" + ms + "-x": {Outcome: OutcomeSucceeded, TerminalAt: at},
		"sim-expired-at-" + ms + "-y":   {Outcome: OutcomeExpired, GracePolls: conventionGracePolls, TerminalAt: at},
	} {
		got, ok := scenarioFromName(id)
		if !ok || !got.TerminalAt.Equal(want.TerminalAt) || got.Outcome != want.Outcome || got.GracePolls != want.GracePolls {
			t.Errorf("scenarioFromName(%q) = %+v, %v; want %+v", id, got, ok, want)
		}
	}
	for _, id := range []string{"sim-refused-at-", "sim-refused-at-x", "sim-refused-at-0", "sim-refused-at--5", "sim-refused-at-0123"} {
		if got, ok := scenarioFromName(id); ok {
			t.Errorf("scenarioFromName(%q) = %+v, want refused", id, got)
		}
	}
	// The JSON form round-trips.
	sc := Scenario{Outcome: OutcomeSucceeded, TerminalAt: at}
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	var back Scenario
	if err := json.Unmarshal(b, &back); err != nil || !back.TerminalAt.Equal(at) || back.Outcome != sc.Outcome {
		t.Errorf("round trip of %s = %+v, %v", b, back, err)
	}
}
