package invariant

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// class is a kind of answer the adversarial provider can give.
type class string

// The non-terminal classes. Each must leave the session open: the worker
// polls again (or waits) and never takes it for an outcome.
const (
	classInProgress   class = "in_progress"
	classServerError  class = "5xx"
	classRateLimited  class = "429"
	classGarbage      class = "garbage"        // not JSON, or JSON with raw control bytes
	classDirtyWaiting class = "dirty_progress" // in progress, with non-UTF-8, \u0000 or lone surrogates in other fields
	classUnknown      class = "unknown_status" // a status value the client does not know, carrying a canary
	classHuge         class = "huge"           // a body over 1 MiB
	classSlow         class = "slow"           // an in-progress body trickled over up to 1.6 s
	classRedirect     class = "redirect"
	classHang         class = "hang" // never answers; the client must give up
	classTransientErr class = "transient_error"
	classCredentials  class = "credentials" // the provider refuses the key (the session waits, not ends)
)

// nonTerminal are the classes a script's steps draw from.
var nonTerminal = []class{
	classInProgress, classInProgress, classServerError, classRateLimited, classGarbage, classDirtyWaiting,
	classUnknown, classHuge, classSlow, classRedirect, classHang, classTransientErr, classCredentials,
}

// dirt is what a terminal answer's free-text fields carry besides a clean
// marker: nothing, invalid UTF-8 bytes, \u0000, or a lone surrogate.
type dirt string

const (
	dirtNone      dirt = "clean"
	dirtNonUTF8   dirt = "non_utf8"
	dirtNUL       dirt = "nul"
	dirtSurrogate dirt = "surrogate"
)

var dirts = []dirt{dirtNone, dirtNonUTF8, dirtNUL, dirtSurrogate}

// jsonDirt is dirt as it appears inside a JSON string.
func jsonDirt(d dirt) string {
	switch d {
	case dirtNonUTF8:
		return "\xff\xfe\xc3("
	case dirtNUL:
		return `\u0000`
	case dirtSurrogate:
		return `\ud800`
	}
	return ""
}

// step is one scripted non-terminal answer.
type step struct {
	class      class
	status     int    // HTTP status for 5xx, 429, redirect
	retryAfter string // 429's Retry-After ("" for none)
	dirt       dirt   // for dirty_progress
	code       int    // Marksign error_code for transient_error and credentials
}

func (s step) String() string {
	switch s.class {
	case classServerError, classRedirect:
		return fmt.Sprintf("%s(%d)", s.class, s.status)
	case classRateLimited:
		return fmt.Sprintf("429(Retry-After=%q)", s.retryAfter)
	case classDirtyWaiting:
		return fmt.Sprintf("%s(%s)", s.class, s.dirt)
	case classTransientErr, classCredentials:
		if s.code != 0 {
			return fmt.Sprintf("%s(%d)", s.class, s.code)
		}
	}
	return string(s.class)
}

// terminal is the answer that ends a session at the provider.
type terminal struct {
	kind   string // e.g. "ok", "error 40020", "VERIFICATION_FAILED", "HTTP 410"
	status int    // HTTP status it is served with
	code   int    // Marksign error_code, 0 otherwise
	dirt   dirt
	marker string // a clean value the outcome must carry ("" if the kind has no outcome content)
	// want is the session state it must lead to; for a FortID 404 it is
	// "not_found" before the provider timeout and "expired" after.
	want string
}

func (t terminal) String() string {
	return fmt.Sprintf("%s(HTTP %d, %s, want %s)", t.kind, t.status, t.dirt, t.want)
}

// script is what the provider answers one session: steps in order, one per
// request; then in progress until termAt after registration, then the
// terminal answer for every later request (it stays readable). term is nil
// for a session the provider never ends.
type script struct {
	steps  []step
	term   *terminal
	termAt time.Duration
}

func (s script) String() string {
	parts := make([]string, len(s.steps))
	for i, st := range s.steps {
		parts[i] = st.String()
	}
	t := "never terminal"
	if s.term != nil {
		t = fmt.Sprintf("then %s from +%s", s.term, s.termAt)
	}
	return fmt.Sprintf("[%s] %s", strings.Join(parts, " "), t)
}

// flows are every provider flow.
var flows = []struct{ provider, flow string }{
	{"fortid", "verification"},
	{"marksign", "smartid_identification"},
	{"marksign", "smartid_signing"},
	{"marksign", "smartid_hash_signing"},
	{"marksign", "mobileid_identification"},
	{"marksign", "mobileid_signing"},
	{"marksign", "mobileid_hash_signing"},
}

// marksignTerminal are Marksign's terminal error codes and their states.
var marksignTerminal = []struct {
	code int
	want string
}{
	{40001, "rejected"}, {40004, "rejected"}, {40005, "rejected"}, {40020, "refused"}, {40021, "expired"},
	{40801, "expired"}, {40022, "failed"}, {40401, "failed"}, {40403, "failed"}, {40402, "not_found"},
}

// canary returns a fresh canary: a value the worker must never write to a
// log, a metric or a job's args or metadata. Every canary starts with
// canaryPrefix, which no generated id or key otherwise contains.
func canary(rng *rand.Rand, what string) string {
	var b [6]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return canaryPrefix + what + hex.EncodeToString(b[:])
}

// canaryPrefix starts every canary ("y" is not a hex digit: no UUID or
// random hex id contains it).
const canaryPrefix = "cnry"

// drawStep draws one non-terminal answer for provider.
func drawStep(rng *rand.Rand, provider string) step {
	s := step{class: nonTerminal[rng.IntN(len(nonTerminal))]}
	switch s.class {
	case classServerError:
		s.status = []int{500, 502, 503, 504}[rng.IntN(4)]
	case classRateLimited:
		s.status = 429
		s.retryAfter = []string{"", "0", "1", "2", "30", "999999", "-5", "soon",
			time.Now().Add(time.Hour).UTC().Format(time.RFC1123), "99999999999999999999"}[rng.IntN(10)]
	case classRedirect:
		s.status = []int{301, 302, 303, 307, 308}[rng.IntN(5)]
	case classDirtyWaiting:
		s.dirt = dirts[1+rng.IntN(len(dirts)-1)]
	case classTransientErr:
		if provider == "marksign" {
			s.code = []int{50000, 50001, 50002, 12345}[rng.IntN(4)]
		}
	case classCredentials:
		if provider == "marksign" {
			s.code = []int{40003, 50003, 50004, 0}[rng.IntN(4)]
		}
	}
	return s
}

// drawTerminal draws a terminal answer for flow.
func drawTerminal(rng *rand.Rand, provider, flow string) *terminal {
	t := &terminal{dirt: dirts[rng.IntN(len(dirts))], status: 200}
	if provider == "fortid" {
		switch rng.IntN(5) {
		case 0, 1:
			t.kind, t.want, t.marker = "VERIFICATION_SUCCEEDED", "succeeded", canary(rng, "claim")
		case 2:
			t.kind, t.want, t.marker = "VERIFICATION_FAILED", "failed", canary(rng, "desc")
		case 3:
			t.kind, t.status, t.want = "HTTP 410", 410, "expired"
		default:
			t.kind, t.status, t.want = "HTTP 404", 404, "not_found"
		}
		return t
	}
	if rng.IntN(2) == 0 {
		t.kind, t.want, t.marker = "ok", "succeeded", canary(rng, "pc")
		return t
	}
	e := marksignTerminal[rng.IntN(len(marksignTerminal))]
	t.kind, t.code, t.want = fmt.Sprintf("error %d", e.code), e.code, e.want
	// Error bodies come with 200 or with a 4xx status (the code decides).
	t.status = []int{200, 400, 404, 422}[rng.IntN(4)]
	return t
}

// drawScript draws a session's script: up to maxSteps non-terminal answers,
// then (most of the time) a terminal answer at a time spread around the
// deadline, so that some arrive only in its last moments and some too late.
func drawScript(rng *rand.Rand, provider, flow string, deadline time.Duration, maxSteps int) script {
	var s script
	for range rng.IntN(maxSteps + 1) {
		s.steps = append(s.steps, drawStep(rng, provider))
	}
	if rng.IntN(6) != 0 {
		s.term = drawTerminal(rng, provider, flow)
		s.termAt = time.Duration(rng.Int64N(int64(deadline + deadline/4)))
	}
	return s
}
