package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// newFlagSet returns the command's flag set, with --json bound to jsonOut.
// It prints nothing: Run reports errors and usage itself.
func newFlagSet(cmd *command, jsonOut *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.path(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(jsonOut, "json", false, "print JSON for scripts instead of a table")
	return fs
}

// parseArgs parses args with fs, letting flags come before, between or
// after the positional arguments, and returns the positional ones. "--" ends
// the flags: everything after it is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// A negative number ("-1") where a flag could start is an
			// argument (a bad id), not an unknown flag: the flag package
			// has consumed it, so parse what came before it again and
			// take it as positional.
			if i := len(args) - len(fs.Args()) - 1; i >= 0 && i < len(args) && isNegativeNumber(args[i]) {
				before, err := parseArgs(fs, args[:i])
				if err != nil {
					return nil, err
				}
				pos = append(append(pos, before...), args[i])
				args = args[i+1:]
				continue
			}
			// The flag package names flags with one dash; usage shows two.
			msg := strings.NewReplacer("flag -", "flag --", "defined: -", "defined: --", "argument: -", "argument: --").Replace(err.Error())
			return nil, &usageError{msg: msg}
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isNegativeNumber reports whether s reads as a negative number, e.g. -1.
func isNegativeNumber(s string) bool {
	if !strings.HasPrefix(s, "-") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// requireFlags refuses a run where one of names was not given.
func requireFlags(fs *flag.FlagSet, names ...string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, n := range names {
		if !set[n] {
			return usagef("--%s is required", n)
		}
	}
	return nil
}

// sinceFlag is a --since value: a duration back from now (1h, 30m, 7d) or
// an RFC 3339 time.
type sinceFlag struct {
	t time.Time
}

// String implements flag.Value.
func (f *sinceFlag) String() string {
	if f == nil || f.t.IsZero() {
		return ""
	}
	return f.t.UTC().Format(time.RFC3339)
}

// Set implements flag.Value.
func (f *sinceFlag) Set(s string) error {
	t, err := parseSince(s, time.Now())
	if err != nil {
		return err
	}
	f.t = t
	return nil
}

// sinceEarliest is the earliest --since accepted: pollhook keeps nothing
// older, and Postgres refuses times far enough back.
var sinceEarliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// errSinceRange is a --since before sinceEarliest or after now.
var errSinceRange = errors.New("out of range: want a time between 1970-01-01 and now")

// parseSince reads a --since value relative to now.
func parseSince(s string, now time.Time) (time.Time, error) {
	t, err := parseSinceTime(s, now)
	if err != nil {
		return time.Time{}, err
	}
	if t.Before(sinceEarliest) || t.After(now) {
		return time.Time{}, errSinceRange
	}
	return t, nil
}

// parseSinceTime reads a --since value without checking its range.
func parseSinceTime(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil {
			switch {
			case n < 0:
				return time.Time{}, errors.New("a duration back from now must not be negative")
			case n > 100*366:
				return time.Time{}, errSinceRange
			}
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, errors.New("a duration back from now must not be negative")
		}
		return now.Add(-d), nil
	} else if strings.Contains(err.Error(), "invalid duration") && strings.ContainsAny(s, "hms") && !strings.Contains(s, "T") {
		// Durations past about 292 years overflow time.Duration.
		if _, perr := strconv.ParseFloat(strings.TrimRight(s, "hmsuµn"), 64); perr == nil {
			return time.Time{}, errSinceRange
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a duration back from now such as 1h, 30m or 7d, or an RFC 3339 time such as 2026-01-02T15:04:05Z")
}

// checkSubscriberName refuses a name the subscribers table would reject.
func checkSubscriberName(name string) error {
	if err := webhook.ValidateSubscriberName(name); err != nil {
		return &usageError{msg: strings.TrimPrefix(err.Error(), "webhook: ")}
	}
	return nil
}

// checkLimit refuses a --limit outside 1..webhook.MaxListLimit.
func checkLimit(n int) error {
	if n < 1 || n > webhook.MaxListLimit {
		return usagef("--limit %d is out of range: use 1 to %d", n, webhook.MaxListLimit)
	}
	return nil
}

// checkOneOf refuses a flag value outside allowed; "" (unset) passes.
func checkOneOf(flagName, value string, allowed []string) error {
	if value == "" {
		return nil
	}
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return usagef("--%s %q is not one of: %s", flagName, value, strings.Join(allowed, ", "))
}

// parseSessionID refuses a session id that is not a UUID, before Postgres
// would.
func parseSessionID(s string) (string, error) {
	if !upstream.IsUUID(s) {
		return "", usagef("session id %q is not a UUID (e.g. 497f6eca-6276-4993-bfeb-53cbbbba6f08)", s)
	}
	return strings.ToLower(s), nil
}

// parseDeliveryID refuses a delivery id that is not a positive integer.
func parseDeliveryID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("delivery id %q is not a positive integer", s)
	}
	return id, nil
}

// withID adapts an action on one session or delivery to a command whose
// only argument is its ID: parse refuses a malformed ID before act runs.
func withID[T any](parse func(string) (T, error), act func(ctx context.Context, e *env, id T) error) action {
	return func(ctx context.Context, e *env, args []string) error {
		id, err := parse(args[0])
		if err != nil {
			return err
		}
		return act(ctx, e, id)
	}
}

// flagPlaceholder names a flag's value in usage: "" for a bool flag.
func flagPlaceholder(f *flag.Flag) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	name, _ := flag.UnquoteUsage(f)
	if name == "" {
		name = "value"
	}
	return strings.ToUpper(name)
}

// synopsis is a command's one-line usage, e.g.
// "subscribers rotate NAME [--overlap DURATION]". --json is left out.
func synopsis(cmd *command, fs *flag.FlagSet) string {
	required := cmd.required
	var b strings.Builder
	b.WriteString(cmd.path())
	for _, a := range cmd.args {
		b.WriteString(" " + a)
	}
	isRequired := map[string]bool{}
	for _, r := range required {
		isRequired[r] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "json" {
			return
		}
		ph := flagPlaceholder(f)
		s := "--" + f.Name
		if ph != "" {
			s += " " + ph
		}
		if !isRequired[f.Name] {
			s = "[" + s + "]"
		}
		fmt.Fprintf(&b, " %s", s)
	})
	return b.String()
}
