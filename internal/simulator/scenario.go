package simulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Outcome is how a scenario ends after its in-progress polls.
type Outcome string

const (
	// OutcomeSucceeded answers the flow's success body.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeFailed answers a failure: Marksign 40401 (40022 for signing),
	// FortID VERIFICATION_FAILED.
	OutcomeFailed Outcome = "failed"
	// OutcomeRefused answers the user's refusal: Marksign 40020, FortID
	// VERIFICATION_FAILED.
	OutcomeRefused Outcome = "refused"
	// OutcomeExpired answers a timeout: Marksign 40021, FortID 410 for
	// Scenario.GracePolls polls then 404.
	OutcomeExpired Outcome = "expired"
	// OutcomeNotFound answers an unknown session: Marksign 40402, FortID 404.
	OutcomeNotFound Outcome = "not_found"
	// OutcomeRejected answers a malformed request: Marksign 40001, FortID 400.
	OutcomeRejected Outcome = "rejected"
	// OutcomeFlaky answers Scenario.Failures server errors (alternately 500
	// with an error body and 503 without), then succeeds.
	OutcomeFlaky Outcome = "flaky"
	// OutcomeSlow succeeds, each answer delayed by Scenario.Delay (2 s if
	// zero).
	OutcomeSlow Outcome = "slow"
	// OutcomeMalformed answers malformed JSON forever: it never ends.
	OutcomeMalformed Outcome = "malformed"
	// OutcomeUnknownStatus answers an unknown status value instead of the
	// in-progress one, then succeeds.
	OutcomeUnknownStatus Outcome = "unknown_status"
)

// outcomeCodes numbers the outcomes for the UUID convention (see the package
// doc); index 0 is unused.
var outcomeCodes = []Outcome{"", OutcomeSucceeded, OutcomeFailed, OutcomeRefused, OutcomeExpired, OutcomeNotFound,
	OutcomeRejected, OutcomeFlaky, OutcomeSlow, OutcomeMalformed, OutcomeUnknownStatus}

// Outcomes lists every outcome.
func Outcomes() []Outcome { return append([]Outcome(nil), outcomeCodes[1:]...) }

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool { return o.code() > 0 }

func (o Outcome) code() int {
	for i, known := range outcomeCodes {
		if i > 0 && known == o {
			return i
		}
	}
	return 0
}

// Defaults of the scenarios that ids following the convention get.
const (
	defaultInProgressPolls = 2
	defaultFailures        = 2
	defaultSlowDelay       = 2 * time.Second
	// conventionGracePolls keeps a convention id answering 410 the way FortID
	// does through its grace period: a poll repeated after a crash still
	// reads "expired". Set GracePolls to see the 404 that follows.
	conventionGracePolls = 1000
)

// Scenario scripts the answers to one id's polls.
type Scenario struct {
	// InProgressPolls is the number of in-progress answers before the
	// outcome.
	InProgressPolls int `json:"in_progress_polls"`
	// Outcome is how the session ends.
	Outcome Outcome `json:"outcome"`
	// Failures is, for OutcomeFlaky, the number of server errors before the
	// success; 0 means 2.
	Failures int `json:"failures,omitempty"`
	// GracePolls is, for FortID OutcomeExpired, the number of 410 answers
	// before the 404s.
	GracePolls int `json:"grace_polls,omitempty"`
	// ErrorCode overrides the Marksign error_code of a terminal error
	// outcome.
	ErrorCode int `json:"error_code,omitempty"`
	// Delay delays every scripted answer; in JSON a Go duration string
	// ("250ms") or a number of milliseconds.
	Delay time.Duration `json:"-"`
	// TerminalAt, if set, makes the session's end a wall-clock instant
	// instead of a poll count (the moment a person confirms on a phone):
	// every poll before it answers in progress, whatever InProgressPolls
	// says, and the first poll at or after it gets the outcome's answers.
	TerminalAt time.Time `json:"terminal_at,omitzero"`
}

// scenarioFields is Scenario without its methods, so that scenarioJSON can
// embed it without recursing into MarshalJSON and UnmarshalJSON.
type scenarioFields Scenario

// scenarioJSON is Scenario's JSON form: its fields, with Delay as raw JSON
// (Scenario.Delay itself is hidden from JSON).
type scenarioJSON struct {
	scenarioFields
	Delay json.RawMessage `json:"delay,omitempty"`
}

// MarshalJSON writes Delay as a Go duration string.
func (sc Scenario) MarshalJSON() ([]byte, error) {
	out := scenarioJSON{scenarioFields: scenarioFields(sc)}
	if sc.Delay != 0 {
		out.Delay, _ = json.Marshal(sc.Delay.String())
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads Delay as a Go duration string or milliseconds.
func (sc *Scenario) UnmarshalJSON(b []byte) error {
	var in scenarioJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*sc = Scenario(in.scenarioFields)
	if len(in.Delay) == 0 || string(in.Delay) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(in.Delay, &s) == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("delay %q: %w", s, err)
		}
		sc.Delay = d
		return nil
	}
	var ms float64
	if err := json.Unmarshal(in.Delay, &ms); err != nil {
		return fmt.Errorf("delay must be a duration string or milliseconds: %s", in.Delay)
	}
	sc.Delay = time.Duration(ms * float64(time.Millisecond))
	return nil
}

// Validate reports what makes sc unusable.
func (sc Scenario) Validate() error {
	switch {
	case !sc.Outcome.Valid():
		return fmt.Errorf("unknown outcome %q", sc.Outcome)
	case sc.InProgressPolls < 0 || sc.Failures < 0 || sc.GracePolls < 0:
		return fmt.Errorf("in_progress_polls, failures and grace_polls must not be negative")
	case sc.Delay < 0 || sc.Delay > 10*time.Minute:
		return fmt.Errorf("delay %s must be between 0 and 10m", sc.Delay)
	}
	return nil
}

// delay is how long each scripted answer waits.
func (sc Scenario) delay() time.Duration {
	if sc.Delay == 0 && sc.Outcome == OutcomeSlow {
		return defaultSlowDelay
	}
	return sc.Delay
}

// failures is the number of server errors of a flaky scenario.
func (sc Scenario) failures() int {
	if sc.Failures == 0 {
		return defaultFailures
	}
	return sc.Failures
}

// stepKind is one scripted answer.
type stepKind int

const (
	stepInProgress stepKind = iota
	stepUnknownStatus
	stepSuccess
	stepTerminalError // sc.Outcome says which
	stepServerError
	stepMalformed
)

// stepAt returns the scripted answer to a poll at now: for a scenario with
// TerminalAt, in progress before that instant, then the outcome's answers
// counted from the first poll at or after it (pollsBefore is the number of
// scripted polls answered before the instant); otherwise step(i).
func (sc Scenario) stepAt(i, pollsBefore int, now time.Time) (kind stepKind, after int, terminal bool) {
	if sc.TerminalAt.IsZero() {
		return sc.step(i)
	}
	if now.Before(sc.TerminalAt) {
		return sc.inProgress(), -1, false
	}
	return Scenario{Outcome: sc.Outcome, Failures: sc.Failures}.step(i - pollsBefore)
}

// inProgress is the answer of a poll before the outcome.
func (sc Scenario) inProgress() stepKind {
	if sc.Outcome == OutcomeUnknownStatus {
		return stepUnknownStatus
	}
	return stepInProgress
}

// step returns the scripted answer to poll i (0-based among the scripted
// polls), the index of that poll after the in-progress ones, and whether the
// answer is terminal.
func (sc Scenario) step(i int) (kind stepKind, after int, terminal bool) {
	if i < sc.InProgressPolls {
		if sc.Outcome == OutcomeUnknownStatus {
			return stepUnknownStatus, -1, false
		}
		return stepInProgress, -1, false
	}
	after = i - sc.InProgressPolls
	switch sc.Outcome {
	case OutcomeFlaky:
		if after < sc.failures() {
			return stepServerError, after, false
		}
		return stepSuccess, after, true
	case OutcomeMalformed:
		return stepMalformed, after, false
	case OutcomeFailed, OutcomeRefused, OutcomeExpired, OutcomeNotFound, OutcomeRejected:
		return stepTerminalError, after, true
	}
	return stepSuccess, after, true
}

// scenarioFromName decodes the scenario an id carries (see the package doc).
func scenarioFromName(id string) (Scenario, bool) {
	if rest, ok := strings.CutPrefix(id, "sim-"); ok {
		for _, o := range Outcomes() {
			tail, ok := strings.CutPrefix(rest, string(o)+"-")
			if !ok {
				continue
			}
			if at, ok := strings.CutPrefix(tail, "at-"); ok {
				return terminalAtScenario(o, at)
			}
			num, _, _ := strings.Cut(tail, "-")
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 999 || num != strconv.Itoa(n) {
				return Scenario{}, false
			}
			return conventionScenario(o, n), true
		}
		return Scenario{}, false
	}
	if len(id) == 36 && strings.HasPrefix(id, "0000") && id[8] == '-' && isDigits(id[4:8]) {
		oo, _ := strconv.Atoi(id[4:6])
		nn, _ := strconv.Atoi(id[6:8])
		if oo <= 0 || oo >= len(outcomeCodes) {
			return Scenario{}, false
		}
		return conventionScenario(outcomeCodes[oo], nn), true
	}
	return Scenario{}, false
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// terminalAtScenario decodes "<unix ms>[-anything]" of a
// "sim-<outcome>-at-" token.
func terminalAtScenario(o Outcome, tail string) (Scenario, bool) {
	num, _, _ := strings.Cut(tail, "-")
	ms, err := strconv.ParseInt(num, 10, 64)
	if err != nil || ms <= 0 || num != strconv.FormatInt(ms, 10) {
		return Scenario{}, false
	}
	sc := conventionScenario(o, 0)
	sc.TerminalAt = time.UnixMilli(ms)
	return sc, true
}

func conventionScenario(o Outcome, n int) Scenario {
	sc := Scenario{InProgressPolls: n, Outcome: o}
	if o == OutcomeExpired {
		sc.GracePolls = conventionGracePolls
	}
	return sc
}

// MarksignToken returns a fresh Marksign token that follows
// inProgressPolls in-progress polls then outcome:
// "sim-<outcome>-<n>-<random hex>".
func MarksignToken(outcome Outcome, inProgressPolls int) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("sim-%s-%d-%s", outcome, inProgressPolls, hex.EncodeToString(b[:]))
}

// MarksignTokenAt returns a fresh Marksign token that answers in progress
// until the instant at, then outcome: "sim-<outcome>-at-<unix ms>-<random
// hex>".
func MarksignTokenAt(outcome Outcome, at time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("sim-%s-at-%d-%s", outcome, at.UnixMilli(), hex.EncodeToString(b[:]))
}

// FortIDSessionID returns a fresh UUID (version 4 layout) that follows
// inProgressPolls (0 to 99) in-progress polls then outcome. It is also a
// valid Marksign token.
func FortIDSessionID(outcome Outcome, inProgressPolls int) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("0000%02d%02d", outcome.code(), min(max(inProgressPolls, 0), 99)) + formatUUID(b[:])[8:]
}

// formatUUID formats 16 bytes as a version 4 UUID.
func formatUUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
