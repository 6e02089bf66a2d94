package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Scheme is a subscriber's signing scheme: the kind of key its rotations
// create. Every active key signs, whatever its kind.
type Scheme string

// The signing schemes of Standard Webhooks.
const (
	// SchemeV1 signs with HMAC-SHA256 and a "whsec_" secret the app holds.
	SchemeV1 Scheme = "v1"
	// SchemeV1a signs with ed25519: pollhook holds the "whsk_" private key,
	// the app only the "whpk_" public key.
	SchemeV1a Scheme = "v1a"
)

// ParseScheme reads "v1" or "v1a"; "" is v1.
func ParseScheme(s string) (Scheme, error) {
	switch Scheme(s) {
	case "", SchemeV1:
		return SchemeV1, nil
	case SchemeV1a:
		return SchemeV1a, nil
	}
	return "", fmt.Errorf("webhook: scheme %q: want v1 (HMAC) or v1a (ed25519)", s)
}

// Limits of a subscriber's options.
const (
	MaxEventTypes   = 50
	MaxHeaders      = 20
	maxHeaderValue  = 4096
	MaxRate         = 100_000
	MaxMaxInFlight  = 10_000
	maxHeaderNameLn = 256
)

// SubscriberOptions are a subscriber's settings beyond name and URL. The
// zero value is a v1 subscriber that gets every event, without extra
// headers or throttle.
type SubscriberOptions struct {
	// Scheme is the signing scheme (default v1).
	Scheme Scheme
	// EventTypes are the event types it wants, exact ("session.succeeded")
	// or by prefix ("session.*"); empty means all.
	EventTypes []string
	// Headers are extra request headers, e.g. an Authorization header for
	// the receiver. Their values are sealed under the main key and never
	// shown or logged.
	Headers map[string]string
	// RatePerSecond caps messages per second across all worker processes
	// (0: no cap).
	RatePerSecond float64
	// MaxInFlight caps requests in flight at once across all worker
	// processes (0: no cap).
	MaxInFlight int
}

// Validate reports the first option the subscribers table or the sender
// would refuse.
func (o SubscriberOptions) Validate() error {
	if _, err := ParseScheme(string(o.Scheme)); err != nil {
		return err
	}
	if len(o.EventTypes) > MaxEventTypes {
		return fmt.Errorf("webhook: %d event types, at most %d", len(o.EventTypes), MaxEventTypes)
	}
	for _, p := range o.EventTypes {
		if err := ValidateEventPattern(p); err != nil {
			return err
		}
	}
	if len(o.Headers) > MaxHeaders {
		return fmt.Errorf("webhook: %d headers, at most %d", len(o.Headers), MaxHeaders)
	}
	for name, value := range o.Headers {
		if err := ValidateHeader(name, value); err != nil {
			return err
		}
	}
	if o.RatePerSecond < 0 || o.RatePerSecond > MaxRate || o.RatePerSecond != o.RatePerSecond {
		return fmt.Errorf("webhook: rate %g per second: want 0 (no cap) to %d", o.RatePerSecond, MaxRate)
	}
	if o.MaxInFlight < 0 || o.MaxInFlight > MaxMaxInFlight {
		return fmt.Errorf("webhook: max in flight %d: want 0 (no cap) to %d", o.MaxInFlight, MaxMaxInFlight)
	}
	return nil
}

// eventPattern is the form of one event-type filter item; the subscribers
// table checks the same.
var eventPattern = regexp.MustCompile(`^[a-z]+(\.[a-z_]+)*(\.\*)?$`)

// ValidateEventPattern reports a filter item that is neither an event type
// ("session.succeeded") nor a prefix ending in ".*" ("session.*").
func ValidateEventPattern(p string) error {
	if !eventPattern.MatchString(p) {
		return fmt.Errorf("webhook: event type %q: want e.g. session.succeeded or session.*", p)
	}
	return nil
}

// MatchEvent reports whether a subscriber with filter patterns wants events
// of type typ: an empty filter wants all, "a.b" wants exactly a.b, "a.*"
// wants every type starting "a.". Enqueue applies the same rule in SQL.
func MatchEvent(patterns []string, typ string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(typ, prefix) {
				return true
			}
		} else if p == typ {
			return true
		}
	}
	return false
}

// reservedHeaders are set by pollhook or by HTTP itself: a subscriber's
// custom headers may not replace them. Names starting "webhook-" and
// "proxy-" are refused too.
var reservedHeaders = []string{
	"connection", "content-encoding", "content-length", "content-type", "expect", "host",
	"keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
	"http2-settings", "forwarded", "via",
}

// ErrReservedHeader is returned for a custom header pollhook must not let a
// subscriber set.
var ErrReservedHeader = errors.New("webhook: header is reserved")

// ValidateHeader reports a custom header the sender would not send: a name
// that is not an HTTP token, a reserved or hop-by-hop name, a webhook-*
// name, or a value with control characters or over 4096 bytes. Its errors
// never contain the value.
func ValidateHeader(name, value string) error {
	if name == "" || len(name) > maxHeaderNameLn {
		return fmt.Errorf("webhook: header name must be 1-%d characters", maxHeaderNameLn)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("webhook: header name %q is not an HTTP token", name)
		}
	}
	lower := strings.ToLower(name)
	if slices.Contains(reservedHeaders, lower) || strings.HasPrefix(lower, "webhook-") || strings.HasPrefix(lower, "proxy-") {
		return fmt.Errorf("%w: %s (pollhook or HTTP sets it)", ErrReservedHeader, http.CanonicalHeaderKey(name))
	}
	if len(value) > maxHeaderValue {
		return fmt.Errorf("webhook: header %s: value longer than %d bytes", name, maxHeaderValue)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("webhook: header %s: value holds a control character", name)
		}
	}
	return nil
}

// isTokenChar reports an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerNames lists the names of headers, canonical and sorted.
func headerNames(h map[string]string) []string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, http.CanonicalHeaderKey(n))
	}
	slices.Sort(names)
	return names
}
