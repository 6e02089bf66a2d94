package simulator

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/upstream"
)

// Defaults of Options.
const (
	// DefaultSlowDelay is the delay of a slow chaos answer: longer than
	// pollhook's default 10 s request timeout.
	DefaultSlowDelay = 15 * time.Second
	// DefaultMaxSessions bounds the number of ids the simulator remembers.
	DefaultMaxSessions = 100_000
)

// Options configures a Simulator.
type Options struct {
	// DefaultScenario is followed by ids with no scenario of their own; if
	// its Outcome is empty, 2 in-progress polls then succeeded.
	DefaultScenario Scenario
	// Chaos is the probability (0 to 1) that a poll gets a transient failure
	// instead of its scripted answer.
	Chaos float64
	// SlowDelay is how long a slow chaos answer takes (default 15 s).
	SlowDelay time.Duration
	// Seed seeds the chaos choices; 0 picks a random seed.
	Seed uint64
	// FortIDAPIKey, if set, is the only X-API-KEY accepted: other requests
	// get 401.
	FortIDAPIKey string
	// MarksignAccessToken, if set, is the only access_token accepted: other
	// requests get 401 with error_code 40003.
	MarksignAccessToken string
	// MaxSessions bounds the number of ids remembered (default 100 000);
	// past it an arbitrary id is forgotten.
	MaxSessions int
	// Logger receives a debug log per poll; nil discards.
	Logger *slog.Logger
}

// Simulator serves the provider endpoints and the /_sim/ control endpoints.
// It is an http.Handler, safe for concurrent use.
type Simulator struct {
	opts   Options
	mux    *http.ServeMux
	cert   certificate
	logger *slog.Logger

	mu       sync.Mutex
	rng      *rand.Rand
	sessions map[string]*sessionState
}

// sessionState is what the simulator remembers of one id.
type sessionState struct {
	scenario      Scenario
	polls         int
	scripted      int
	before        int // scripted polls answered before the scenario's TerminalAt
	terminalSince time.Time
}

// New returns a Simulator configured by opts.
func New(opts Options) *Simulator {
	if opts.DefaultScenario.Outcome == "" {
		opts.DefaultScenario = Scenario{InProgressPolls: defaultInProgressPolls, Outcome: OutcomeSucceeded}
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = DefaultSlowDelay
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	opts.Chaos = min(max(opts.Chaos, 0), 1)
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cert, err := newCertificate()
	if err != nil {
		// Generating a key and signing with crypto/rand does not fail.
		panic("simulator: make the test certificate: " + err.Error())
	}
	s := &Simulator{
		opts:     opts,
		mux:      http.NewServeMux(),
		cert:     cert,
		logger:   logger,
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		sessions: make(map[string]*sessionState),
	}
	s.routes()
	return s
}

// marksignRoutes are the Marksign status endpoints, without locale prefix.
var marksignRoutes = []struct {
	path    string
	signing bool
}{
	{"/smartid/status/", false},
	{"/smartid/sign/status/", true},
	{"/smartid/sign/hash/status/", true},
	{"/mobile/status/", false},
	{"/mobile/sign/status/", true},
	{"/mobile/sign-hash/status/", true},
}

func (s *Simulator) routes() {
	s.mux.HandleFunc("GET /verification-session/status/{id}", s.serveFortID)
	for _, prefix := range []string{"", "/en"} {
		for _, route := range marksignRoutes {
			s.mux.HandleFunc("POST "+prefix+route.path+"{file}", s.serveMarksign(route.signing))
		}
	}
	s.mux.HandleFunc("PUT /_sim/scenarios/{id}", s.servePutScenario)
	s.mux.HandleFunc("GET /_sim/scenarios/{id}", s.serveGetScenario)
	s.mux.HandleFunc("GET /_sim/polls/{id}", s.servePolls)
	s.mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
}

// ServeHTTP serves the provider and control endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetScenario makes id follow sc from its next poll on; the polls already
// answered count toward sc's script.
func (s *Simulator) SetScenario(id string, sc Scenario) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stateLocked(id).scenario = sc
	return nil
}

// Scenario returns the scenario id follows.
func (s *Simulator) Scenario(id string) Scenario {
	if st, ok := s.snapshot(id); ok {
		return st.scenario
	}
	return s.scenarioFor(id)
}

// Polls returns the number of polls of id answered so far, chaos answers and
// refused credentials included.
func (s *Simulator) Polls(id string) int {
	st, _ := s.snapshot(id)
	return st.polls
}

// ScriptedPolls returns the number of polls of id answered by its scenario.
func (s *Simulator) ScriptedPolls(id string) int {
	st, _ := s.snapshot(id)
	return st.scripted
}

// TerminalSince returns when id was first answered with a terminal answer;
// false if it has not been.
func (s *Simulator) TerminalSince(id string) (time.Time, bool) {
	st, _ := s.snapshot(id)
	return st.terminalSince, !st.terminalSince.IsZero()
}

// snapshot returns a copy of what the simulator remembers of id, and false
// (with the zero state) if it remembers nothing.
func (s *Simulator) snapshot(id string) (sessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.sessions[id]
	if !ok {
		return sessionState{}, false
	}
	return *st, true
}

// Reset forgets every id: their scenarios and counts.
func (s *Simulator) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// scenarioFor is the scenario of an id with none set.
func (s *Simulator) scenarioFor(id string) Scenario {
	if sc, ok := scenarioFromName(id); ok {
		return sc
	}
	return s.opts.DefaultScenario
}

// stateLocked returns id's state, creating it. s.mu must be held.
func (s *Simulator) stateLocked(id string) *sessionState {
	if st, ok := s.sessions[id]; ok {
		return st
	}
	if len(s.sessions) >= s.opts.MaxSessions {
		for old := range s.sessions {
			delete(s.sessions, old)
			break
		}
	}
	st := &sessionState{scenario: s.scenarioFor(id)}
	s.sessions[id] = st
	return st
}

// chaos kinds.
const (
	chaosNone = iota
	chaos500
	chaos503
	chaosSlow
	chaosMalformed
)

// script turns a scripted step into an answer.
type script func(sc Scenario, kind stepKind, after int) answer

// poll answers one poll of id: a chaos answer, a refusal of the credentials,
// or the next answer of id's scenario.
func (s *Simulator) poll(w http.ResponseWriter, r *http.Request, id string, fortID, authorized bool, next script) {
	start := time.Now()
	s.mu.Lock()
	st := s.stateLocked(id)
	st.polls++
	sc := st.scenario
	chaos := chaosNone
	if s.opts.Chaos > 0 && s.rng.Float64() < s.opts.Chaos {
		chaos = chaos500 + s.rng.IntN(4)
	}
	s.mu.Unlock()

	var (
		ans  answer
		what string
	)
	switch {
	case chaos != chaosNone:
		what = "chaos"
		if chaos == chaosSlow && !sleep(r.Context(), s.opts.SlowDelay) {
			return
		}
		ans = chaosAnswer(chaos, fortID)
	case !authorized:
		what = "unauthorized"
		ans = fortIDMessage(http.StatusUnauthorized, "Unauthorized")
		if !fortID {
			ans = marksignError(40003, marksignMessages[40003])
			ans.status = http.StatusUnauthorized
		}
	default:
		if !sleep(r.Context(), sc.delay()) {
			return // the client gave up: the poll was not answered
		}
		s.mu.Lock()
		// The state may have been reset or evicted while sleeping.
		st = s.stateLocked(id)
		sc = st.scenario
		now := time.Now()
		kind, after, terminal := sc.stepAt(st.scripted, st.before, now)
		if !sc.TerminalAt.IsZero() && now.Before(sc.TerminalAt) {
			st.before++
		}
		st.scripted++
		n := st.scripted
		if terminal && st.terminalSince.IsZero() {
			st.terminalSince = now
		}
		s.mu.Unlock()
		what = fmt.Sprintf("scripted poll %d of %s", n, sc.Outcome)
		ans = next(sc, kind, after)
	}
	s.logger.LogAttrs(r.Context(), slog.LevelDebug, "simulator poll",
		slog.String("path", r.URL.Path), slog.String("answer", what),
		slog.Int("status", ans.status), slog.Duration("duration", time.Since(start)))
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(ans.body)))
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

// sleep waits d unless ctx ends first; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func chaosAnswer(kind int, fortID bool) answer {
	switch kind {
	case chaos500:
		if fortID {
			return fortIDMessage(http.StatusInternalServerError, "Internal Server Error")
		}
		return marksignError(50000, marksignMessages[50000])
	case chaosMalformed:
		return malformedAnswer(fortID)
	}
	return textAnswer(http.StatusServiceUnavailable, "Service Unavailable\n", nil)
}

// serveFortID serves GET /verification-session/status/{id}.
func (s *Simulator) serveFortID(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	authorized := s.opts.FortIDAPIKey == "" || secretEqual(r.Header.Get("X-API-KEY"), s.opts.FortIDAPIKey)
	if !upstream.IsUUID(id) {
		writeAnswer(w, fortIDMessage(http.StatusBadRequest, "Session ID is not a valid UUID."))
		return
	}
	s.poll(w, r, id, true, authorized, fortIDScript)
}

func fortIDScript(sc Scenario, kind stepKind, after int) answer {
	switch kind {
	case stepInProgress:
		return fortIDStatus("IN_PROGRESS")
	case stepUnknownStatus:
		return fortIDStatus("AWAITING_WALLET_RESPONSE")
	case stepSuccess:
		return fortIDSucceeded()
	case stepServerError:
		if after%2 == 0 {
			return fortIDMessage(http.StatusInternalServerError, "Internal Server Error")
		}
		return textAnswer(http.StatusServiceUnavailable, "Service Unavailable\n", map[string]string{"Retry-After": "1"})
	case stepMalformed:
		return malformedAnswer(true)
	}
	switch sc.Outcome {
	case OutcomeFailed:
		return jsonAnswer(200, map[string]any{"verificationSessionStatus": "VERIFICATION_FAILED",
			"description": "Credential issuer is not trusted under the session's trust policy"})
	case OutcomeRefused:
		return jsonAnswer(200, map[string]any{"verificationSessionStatus": "VERIFICATION_FAILED",
			"description": "The holder declined to present the credential"})
	case OutcomeExpired:
		if after < sc.GracePolls {
			return fortIDMessage(http.StatusGone, "Verification Session expired")
		}
		return fortIDMessage(http.StatusNotFound, "Verification Session not found")
	case OutcomeNotFound:
		return fortIDMessage(http.StatusNotFound, "Verification Session not found")
	}
	return fortIDMessage(http.StatusBadRequest, "Session ID is not a valid UUID.")
}

// serveMarksign serves a Marksign status endpoint.
func (s *Simulator) serveMarksign(signing bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutSuffix(r.PathValue("file"), ".json")
		if !ok || token == "" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			AccessToken string `json:"access_token"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			return
		}
		if json.Unmarshal(body, &req) != nil {
			writeAnswer(w, marksignError(40001, marksignMessages[40001]))
			return
		}
		authorized := s.opts.MarksignAccessToken == "" || secretEqual(req.AccessToken, s.opts.MarksignAccessToken)
		s.poll(w, r, token, false, authorized, func(sc Scenario, kind stepKind, after int) answer {
			return s.marksignScript(token, signing, sc, kind, after)
		})
	}
}

func (s *Simulator) marksignScript(token string, signing bool, sc Scenario, kind stepKind, after int) answer {
	switch kind {
	case stepInProgress:
		return jsonAnswer(200, map[string]any{"status": "waiting"})
	case stepUnknownStatus:
		return jsonAnswer(200, map[string]any{"status": "processing"})
	case stepSuccess:
		if signing {
			return marksignSignature(token)
		}
		return s.marksignIdentification(token)
	case stepServerError:
		if after%2 == 0 {
			return marksignError(50000, marksignMessages[50000])
		}
		return textAnswer(http.StatusServiceUnavailable, "Service Unavailable\n", map[string]string{"Retry-After": "1"})
	case stepMalformed:
		return malformedAnswer(false)
	}
	code := sc.ErrorCode
	if code == 0 {
		switch sc.Outcome {
		case OutcomeFailed:
			code = 40401
			if signing {
				code = 40022
			}
		case OutcomeRefused:
			code = 40020
		case OutcomeExpired:
			code = 40021
		case OutcomeNotFound:
			code = 40402
		default:
			code = 40001
		}
	}
	msg, ok := marksignMessages[code]
	if !ok {
		msg = "Error " + strconv.Itoa(code)
	}
	return marksignError(code, msg)
}

func writeAnswer(w http.ResponseWriter, ans answer) {
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body)
}

// secretEqual compares a presented credential in constant time.
func secretEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
