package simulator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/upstream"
)

const (
	testAPIKey      = "sim-test-api-key"
	testAccessToken = "sim-test-access-token"
)

// setup starts a simulator and an upstream client pointing at it.
func setup(t *testing.T, opts Options, clientTimeout time.Duration) (*Simulator, *httptest.Server, *upstream.Client) {
	t.Helper()
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if clientTimeout == 0 {
		clientTimeout = 5 * time.Second
	}
	client, err := upstream.New(upstream.Config{
		FortID:         upstream.ProviderConfig{BaseURL: srv.URL, Accounts: upstream.Accounts{"default": testAPIKey, "wrong": "not-the-key"}},
		Marksign:       upstream.ProviderConfig{BaseURL: srv.URL, Accounts: upstream.Accounts{"default": testAccessToken, "wrong": "not-the-token"}},
		RequestTimeout: clientTimeout,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	return sim, srv, client
}

var allFlows = []upstream.Flow{
	upstream.FlowFortIDVerification,
	upstream.FlowSmartIDIdentification, upstream.FlowSmartIDSigning, upstream.FlowSmartIDHashSigning,
	upstream.FlowMobileIDIdentification, upstream.FlowMobileIDSigning, upstream.FlowMobileIDHashSigning,
}

func session(flow upstream.Flow, id, locale string) upstream.Session {
	provider := upstream.ProviderMarksign
	if flow == upstream.FlowFortIDVerification {
		provider = upstream.ProviderFortID
	}
	return upstream.Session{Target: upstream.Target{ID: "test-" + id, Provider: provider, Flow: flow, ExternalID: id, Locale: locale}, RegisteredAt: time.Now()}
}

// pollUntilTerminal polls s until a terminal result, at most max times,
// and returns every result.
func pollUntilTerminal(t *testing.T, c *upstream.Client, s upstream.Session, max int) []upstream.Result {
	t.Helper()
	var results []upstream.Result
	for range max {
		res, err := c.Poll(context.Background(), s)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		results = append(results, res)
		if res.State.Terminal() {
			break
		}
	}
	return results
}

// expectedState is the state a scenario's outcome ends in for flow; "" for
// one that never ends.
func expectedState(flow upstream.Flow, o Outcome) upstream.State {
	fortID := flow == upstream.FlowFortIDVerification
	switch o {
	case OutcomeSucceeded, OutcomeFlaky, OutcomeSlow, OutcomeUnknownStatus:
		return upstream.StateSucceeded
	case OutcomeFailed:
		return upstream.StateFailed
	case OutcomeRefused:
		if fortID {
			return upstream.StateFailed
		}
		return upstream.StateRefused
	case OutcomeExpired:
		return upstream.StateExpired
	case OutcomeNotFound:
		return upstream.StateNotFound
	case OutcomeRejected:
		return upstream.StateRejected
	}
	return ""
}

// TestEveryScenarioOfEveryFlow polls every outcome of every flow, Marksign
// on both the LT and EN paths, through the real upstream client.
func TestEveryScenarioOfEveryFlow(t *testing.T) {
	t.Parallel()
	sim, _, client := setup(t, Options{}, 0)
	for _, flow := range allFlows {
		locales := []string{"lt", "en"}
		if flow == upstream.FlowFortIDVerification {
			locales = []string{""}
		}
		for _, locale := range locales {
			for _, o := range Outcomes() {
				t.Run(fmt.Sprintf("%s/%s/%s", flow, locale, o), func(t *testing.T) {
					t.Parallel()
					const inProgress = 2
					id := FortIDSessionID(o, inProgress)
					if flow != upstream.FlowFortIDVerification && locale == "en" {
						id = MarksignToken(o, inProgress)
					}
					if o == OutcomeSlow {
						if err := sim.SetScenario(id, Scenario{InProgressPolls: inProgress, Outcome: o, Delay: 5 * time.Millisecond}); err != nil {
							t.Fatal(err)
						}
					}
					results := pollUntilTerminal(t, client, session(flow, id, locale), 12)
					last := results[len(results)-1]
					want := expectedState(flow, o)
					if want == "" {
						if len(results) != 12 || !last.Transient || last.State.Terminal() {
							t.Fatalf("malformed: %d polls, last %+v; want 12 transient polls", len(results), last)
						}
						if _, ok := sim.TerminalSince(id); ok {
							t.Error("malformed session has a terminal time")
						}
						return
					}
					if last.State != want {
						t.Fatalf("ended %s after %d polls (last err %v), want %s", last.State, len(results), last.Err, want)
					}
					wantPolls := inProgress + 1
					if o == OutcomeFlaky {
						wantPolls += defaultFailures
					}
					if len(results) != wantPolls || sim.Polls(id) != wantPolls || sim.ScriptedPolls(id) != wantPolls {
						t.Errorf("polls: client %d, simulator %d scripted %d; want %d", len(results), sim.Polls(id), sim.ScriptedPolls(id), wantPolls)
					}
					for i, res := range results[:len(results)-1] {
						switch {
						case o == OutcomeUnknownStatus && res.UnknownStatus == "":
							t.Errorf("poll %d: no unknown status", i)
						case o == OutcomeFlaky && i >= inProgress && !res.Transient:
							t.Errorf("poll %d: flaky answer not transient: %+v", i, res)
						case res.State != upstream.StateInProgress || (o != OutcomeFlaky && res.Transient):
							t.Errorf("poll %d: %+v", i, res)
						}
					}
					if since, ok := sim.TerminalSince(id); !ok || time.Since(since) > time.Minute {
						t.Errorf("TerminalSince = %s, %v", since, ok)
					}
					if want == upstream.StateSucceeded && last.Outcome == nil {
						t.Error("success without outcome")
					}
				})
			}
		}
	}
}

func TestFortIDExpiredGraceThen404(t *testing.T) {
	t.Parallel()
	sim, _, client := setup(t, Options{}, 0)
	id := FortIDSessionID(OutcomeExpired, 0)
	if err := sim.SetScenario(id, Scenario{Outcome: OutcomeExpired, GracePolls: 2}); err != nil {
		t.Fatal(err)
	}
	s := session(upstream.FlowFortIDVerification, id, "")
	var statuses []int
	for range 4 {
		res, err := client.Poll(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, res.HTTPStatus)
	}
	if fmt.Sprint(statuses) != "[410 410 404 404]" {
		t.Errorf("statuses = %v, want 410 twice then 404", statuses)
	}
	// After the grace polls a 404 reads as expired only past the window.
	for _, tc := range []struct {
		timeout time.Time
		want    upstream.State
	}{{time.Now().Add(time.Hour), upstream.StateNotFound}, {time.Now().Add(-time.Second), upstream.StateExpired}} {
		s.ProviderTimeout = tc.timeout
		res, err := client.Poll(context.Background(), s)
		if err != nil || res.State != tc.want {
			t.Errorf("404 with window end %s: %s, %v; want %s", tc.timeout, res.State, err, tc.want)
		}
	}
}

func TestScenarioFromName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want Scenario
		ok   bool
	}{
		{"sim-refused-3-a1b2", Scenario{InProgressPolls: 3, Outcome: OutcomeRefused}, true},
		{"sim-not_found-0", Scenario{Outcome: OutcomeNotFound}, true},
		{"sim-unknown_status-12-x-y", Scenario{InProgressPolls: 12, Outcome: OutcomeUnknownStatus}, true},
		{"sim-expired-1-z", Scenario{InProgressPolls: 1, Outcome: OutcomeExpired, GracePolls: 1000}, true},
		{"sim-dancing-1-z", Scenario{}, false},
		{"sim-failed-x", Scenario{}, false},
		{"sim-failed--1", Scenario{}, false},
		{"sim-failed-01", Scenario{}, false},
		{"sim-failed-1000", Scenario{}, false},
		{"00000403-1c2d-4e5f-8a9b-0c1d2e3f4a5b", Scenario{InProgressPolls: 3, Outcome: OutcomeExpired, GracePolls: 1000}, true},
		{"00001000-1c2d-4e5f-8a9b-0c1d2e3f4a5b", Scenario{Outcome: OutcomeUnknownStatus}, true},
		{"00000000-1c2d-4e5f-8a9b-0c1d2e3f4a5b", Scenario{}, false},
		{"00001100-1c2d-4e5f-8a9b-0c1d2e3f4a5b", Scenario{}, false},
		{"0000ab03-1c2d-4e5f-8a9b-0c1d2e3f4a5b", Scenario{}, false},
		{"497f6eca-6276-4993-bfeb-53cbbbba6f08", Scenario{}, false},
	}
	for _, tt := range tests {
		got, ok := scenarioFromName(tt.id)
		if ok != tt.ok || got != tt.want {
			t.Errorf("scenarioFromName(%q) = %+v, %v; want %+v, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
	for i, o := range Outcomes() {
		for _, id := range []string{MarksignToken(o, i), FortIDSessionID(o, i)} {
			got, ok := scenarioFromName(id)
			if !ok || got.Outcome != o || got.InProgressPolls != i {
				t.Errorf("%s: scenario %+v, %v", id, got, ok)
			}
		}
		if id := FortIDSessionID(o, i); !upstream.IsUUID(id) || id[14] != '4' {
			t.Errorf("FortIDSessionID = %q, not a v4 UUID", id)
		}
	}
	if got := New(Options{}).Scenario("497f6eca-6276-4993-bfeb-53cbbbba6f08"); got != (Scenario{InProgressPolls: 2, Outcome: OutcomeSucceeded}) {
		t.Errorf("default scenario = %+v", got)
	}
	if got := New(Options{DefaultScenario: Scenario{Outcome: OutcomeRefused}}).Scenario("x"); got.Outcome != OutcomeRefused {
		t.Errorf("configured default scenario = %+v", got)
	}
}

// TestChaosKeepsScript polls sessions under heavy chaos: each still ends in
// its scripted state after its scripted number of polls.
func TestChaosKeepsScript(t *testing.T) {
	t.Parallel()
	sim, _, client := setup(t, Options{Chaos: 0.5, Seed: 42, SlowDelay: 20 * time.Millisecond}, 0)
	sawChaos := false
	for _, flow := range allFlows {
		for _, o := range []Outcome{OutcomeSucceeded, OutcomeRefused, OutcomeFlaky} {
			id := FortIDSessionID(o, 2)
			results := pollUntilTerminal(t, client, session(flow, id, "en"), 100)
			last := results[len(results)-1]
			if last.State != expectedState(flow, o) {
				t.Errorf("%s %s: ended %s", flow, o, last.State)
			}
			want := 3
			if o == OutcomeFlaky {
				want += defaultFailures
			}
			if sim.ScriptedPolls(id) != want || sim.Polls(id) != len(results) {
				t.Errorf("%s %s: scripted %d polls %d client %d; want scripted %d", flow, o, sim.ScriptedPolls(id), sim.Polls(id), len(results), want)
			}
			if sim.Polls(id) > want {
				sawChaos = true
			}
		}
	}
	if !sawChaos {
		t.Error("chaos 0.5 injected nothing")
	}
}

func TestChaosAnswersAreTransient(t *testing.T) {
	t.Parallel()
	for kind := chaos500; kind <= chaosMalformed; kind++ {
		for _, fortID := range []bool{true, false} {
			ans := chaosAnswer(kind, fortID)
			if ans.status == 200 {
				if json.Valid(ans.body) {
					t.Errorf("chaos %d: 200 with valid JSON", kind)
				}
			} else if ans.status < 500 {
				t.Errorf("chaos %d: status %d", kind, ans.status)
			}
		}
	}
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	sim, srv, client := setup(t, Options{FortIDAPIKey: testAPIKey, MarksignAccessToken: testAccessToken}, 0)
	for _, flow := range allFlows {
		id := FortIDSessionID(OutcomeSucceeded, 0)
		s := session(flow, id, "")
		s.Account = "wrong"
		res, err := client.Poll(context.Background(), s)
		if err != nil || !res.CredentialsProblem || res.HTTPStatus != 401 {
			t.Errorf("%s wrong key: %+v, %v", flow, res, err)
		}
		if flow != upstream.FlowFortIDVerification && res.ErrorCode != 40003 {
			t.Errorf("%s wrong key: error code %d", flow, res.ErrorCode)
		}
		if sim.Polls(id) != 1 || sim.ScriptedPolls(id) != 0 {
			t.Errorf("%s: refused poll counted %d/%d", flow, sim.Polls(id), sim.ScriptedPolls(id))
		}
		s.Account = ""
		if res, err := client.Poll(context.Background(), s); err != nil || res.State != upstream.StateSucceeded {
			t.Errorf("%s right key: %+v, %v", flow, res, err)
		}
	}
	// A Marksign request without a JSON body is refused as invalid.
	resp, err := http.Post(srv.URL+"/smartid/status/abc.json", "application/json", strings.NewReader("nope"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "40001") {
		t.Errorf("bad body: %d %s", resp.StatusCode, body)
	}
}

func TestHTTPEdges(t *testing.T) {
	t.Parallel()
	_, srv, _ := setup(t, Options{}, 0)
	tests := []struct {
		method, path, body string
		want               int
		contains           string
	}{
		{"GET", "/verification-session/status/not-a-uuid", "", 400, "Session ID is not a valid UUID."},
		{"POST", "/verification-session/status/497f6eca-6276-4993-bfeb-53cbbbba6f08", "", 405, ""},
		{"GET", "/smartid/status/abc.json", "", 405, ""},
		{"POST", "/smartid/status/abc", `{"access_token":"x"}`, 404, ""},
		{"POST", "/de/smartid/status/abc.json", `{"access_token":"x"}`, 404, ""},
		{"POST", "/en/mobile/sign-hash/status/abc.json", `{"access_token":"x"}`, 200, `"waiting"`},
		{"GET", "/_sim/healthz", "", 200, "ok"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.contains) {
			t.Errorf("%s %s = %d %s; want %d with %q", tt.method, tt.path, resp.StatusCode, b, tt.want, tt.contains)
		}
	}
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	sim, srv, client := setup(t, Options{}, 0)
	const id = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []string{`{"outcome":"dancing"}`, `{"outcome":"failed","in_progress_polls":-1}`, `{"outcome":"failed","surprise":1}`, `{"outcome":"slow","delay":"soon"}`, `nope`} {
		if code, _ := do("PUT", "/_sim/scenarios/"+id, bad); code != 400 {
			t.Errorf("PUT %s = %d, want 400", bad, code)
		}
	}
	if code, body := do("PUT", "/_sim/scenarios/"+id, `{"in_progress_polls":1,"outcome":"failed","delay":"1ms"}`); code != 204 {
		t.Fatalf("PUT = %d %s", code, body)
	}
	if code, body := do("GET", "/_sim/scenarios/"+id, ""); code != 200 || strings.TrimSpace(body) != `{"in_progress_polls":1,"outcome":"failed","delay":"1ms"}` {
		t.Errorf("GET scenario = %d %s", code, body)
	}
	var pc PollCounts
	_, body := do("GET", "/_sim/polls/"+id, "")
	if err := json.Unmarshal([]byte(body), &pc); err != nil || pc != (PollCounts{}) || !strings.Contains(body, `"terminal_since":null`) {
		t.Errorf("polls before = %s (%v)", body, err)
	}
	before := time.Now()
	results := pollUntilTerminal(t, client, session(upstream.FlowFortIDVerification, id, ""), 5)
	if len(results) != 2 || results[1].State != upstream.StateFailed {
		t.Fatalf("results = %+v", results)
	}
	_, body = do("GET", "/_sim/polls/"+id, "")
	if err := json.Unmarshal([]byte(body), &pc); err != nil || pc.Polls != 2 || pc.ScriptedPolls != 2 || pc.TerminalSince == nil || pc.TerminalSince.Before(before) {
		t.Errorf("polls after = %s (%v)", body, err)
	}
	if ms := (Scenario{}); json.Unmarshal([]byte(`{"outcome":"slow","delay":250}`), &ms) != nil || ms.Delay != 250*time.Millisecond {
		t.Errorf("delay in milliseconds = %s", ms.Delay)
	}
	if code, _ := do("POST", "/_sim/reset", ""); code != 204 || sim.Polls(id) != 0 || sim.Scenario(id).Outcome != OutcomeSucceeded {
		t.Errorf("reset = %d, polls %d, scenario %+v", code, sim.Polls(id), sim.Scenario(id))
	}
	if _, ok := sim.TerminalSince(id); ok {
		t.Error("TerminalSince survived Reset")
	}
}

// TestSuccessBodies checks the success bodies are realistic: a certificate
// that parses as X.509 and a digest that matches the signed file.
func TestSuccessBodies(t *testing.T) {
	t.Parallel()
	_, srv, _ := setup(t, Options{DefaultScenario: Scenario{Outcome: OutcomeSucceeded}}, 0)
	post := func(path string) map[string]any {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{"access_token":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		return doc
	}
	ident := post("/en/mobile/status/381ed84f-0851-ce1e-a048-fa1e13a53bba.json")
	cert := ident["certificate"].(map[string]any)
	inner, err := base64.StdEncoding.DecodeString(cert["value"].(string))
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(string(inner))
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if x.Subject.SerialNumber != "PNOEE-60001017705" || x.Issuer.CommonName != "TEST of ESTEID-SK 2015" || !strings.HasPrefix(string(inner), "MII") {
		t.Errorf("certificate subject %s issuer %s", x.Subject, x.Issuer)
	}
	if ident["token"] != "381ed84f-0851-ce1e-a048-fa1e13a53bba" || ident["code"] != "60001017705" || len(ident["control_code"].(string)) != 4 ||
		cert["valid_from"] != x.NotBefore.Format(time.DateOnly) {
		t.Errorf("identification = %v", ident)
	}
	sig := post("/smartid/sign/hash/status/abc.json")
	file := sig["file"].(map[string]any)
	content, _ := base64.StdEncoding.DecodeString(file["content"].(string))
	sum := sha256.Sum256(content)
	if file["digest"] != base64.StdEncoding.EncodeToString(sum[:]) || !bytes.HasPrefix(content, []byte("%PDF")) || !upstream.IsUUID(sig["signature_id"].(string)) {
		t.Errorf("signature = %v", sig)
	}
}

// TestSlowAnswerAbandoned checks that a poll the client gave up on does not
// advance the script.
func TestSlowAnswerAbandoned(t *testing.T) {
	t.Parallel()
	sim, _, client := setup(t, Options{}, 50*time.Millisecond)
	id := MarksignToken(OutcomeSucceeded, 0)
	if err := sim.SetScenario(id, Scenario{Outcome: OutcomeSlow, Delay: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	res, err := client.Poll(context.Background(), session(upstream.FlowSmartIDSigning, id, "lt"))
	if err != nil || !res.Transient {
		t.Fatalf("Poll = %+v, %v; want a transient timeout", res, err)
	}
	time.Sleep(700 * time.Millisecond)
	if sim.Polls(id) != 1 || sim.ScriptedPolls(id) != 0 {
		t.Errorf("polls %d scripted %d; want 1 and 0", sim.Polls(id), sim.ScriptedPolls(id))
	}
	if _, ok := sim.TerminalSince(id); ok {
		t.Error("abandoned answer marked terminal")
	}
	if got := (Scenario{Outcome: OutcomeSlow}).delay(); got != defaultSlowDelay {
		t.Errorf("slow default delay = %s", got)
	}
}

func TestConcurrentPolls(t *testing.T) {
	t.Parallel()
	sim, _, client := setup(t, Options{Chaos: 0.1, Seed: 7, SlowDelay: time.Millisecond}, 0)
	ids := []string{MarksignToken(OutcomeSucceeded, 50), MarksignToken(OutcomeFlaky, 50)}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			id := ids[g%2]
			for range 10 {
				if _, err := client.Poll(context.Background(), session(upstream.FlowMobileIDSigning, id, "en")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if total := sim.Polls(ids[0]) + sim.Polls(ids[1]); total != 160 {
		t.Errorf("polls = %d, want 160", total)
	}
	if s := sim.ScriptedPolls(ids[0]); s > 80 || s < 40 {
		t.Errorf("scripted = %d", s)
	}
}

func TestMaxSessions(t *testing.T) {
	t.Parallel()
	sim := New(Options{MaxSessions: 3})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for i := range 10 {
		resp, err := http.Post(fmt.Sprintf("%s/smartid/status/t%d.json", srv.URL, i), "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	sim.mu.Lock()
	n := len(sim.sessions)
	sim.mu.Unlock()
	if n != 3 {
		t.Errorf("remembers %d ids, want 3", n)
	}
}
