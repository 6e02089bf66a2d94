package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/version"
)

// unreachable is an environment whose database never answers: a command
// that reports a bad argument must do so before connecting, with exit 2,
// never exit 1.
func unreachable(key string) string {
	if key == "DATABASE_URL" {
		return "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	}
	return ""
}

func TestBadArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		// msg is what the one-line message must contain.
		msg string
		// usage is what the usage after it must contain.
		usage string
	}{
		{"no command", nil, "no command given", "subscribers add NAME URL"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`, "deliveries replay"},
		{"group without subcommand", []string{"subscribers"}, "subscribers needs a subcommand: add, set, list, secret, rotate, disable, enable", "subscribers rotate NAME"},
		{"group with a flag only", []string{"sessions", "--json"}, "sessions needs a subcommand", "sessions show ID"},
		{"unknown subcommand", []string{"subscribers", "remove", "shop"}, `unknown command "subscribers remove"`, "subscribers enable NAME"},
		{"help for nothing", []string{"help", "nothing"}, `no help for "nothing"`, "Usage:"},

		{"add without NAME", []string{"subscribers", "add"}, "missing NAME URL", "Usage: pollhookctl subscribers add NAME URL"},
		{"add without URL", []string{"subscribers", "add", "shop"}, "missing URL", "subscribers add NAME URL"},
		{"add with bad name", []string{"subscribers", "add", "Shop!", "https://shop.example/"}, `subscriber name "Shop!" is invalid`, "subscribers add"},
		{"add with ftp URL", []string{"subscribers", "add", "shop", "ftp://shop.example/"}, `bad URL "ftp://shop.example/": URL scheme "ftp" is not http or https`, "subscribers add"},
		{"add with relative URL", []string{"subscribers", "add", "shop", "hooks/pollhook"}, `bad URL "hooks/pollhook"`, "subscribers add"},
		{"add with credentials in URL", []string{"subscribers", "add", "shop", "https://u:p@shop.example/"}, "bad URL", "subscribers add"},
		{"add with extra argument", []string{"subscribers", "add", "shop", "https://shop.example/", "more"}, `unexpected argument "more"`, "subscribers add"},
		{"list with unknown flag", []string{"subscribers", "list", "--all"}, "flag provided but not defined: --all", "subscribers list"},
		{"rotate without NAME", []string{"subscribers", "rotate"}, "missing NAME", "--overlap DURATION"},
		{"rotate with bad duration", []string{"subscribers", "rotate", "shop", "--overlap", "1 day"}, `invalid value "1 day" for flag --overlap`, "--overlap DURATION"},
		{"rotate with negative overlap", []string{"subscribers", "rotate", "--overlap=-1h", "shop"}, "--overlap -1h0m0s must be positive", "subscribers rotate"},
		{"rotate with flag missing its value", []string{"subscribers", "rotate", "shop", "--overlap"}, "flag needs an argument: --overlap", "subscribers rotate"},
		{"disable without NAME", []string{"subscribers", "disable", "--reason", "x"}, "missing NAME", "--reason TEXT"},
		{"disable with empty reason", []string{"subscribers", "disable", "shop", "--reason", " "}, "--reason must not be empty", "subscribers disable"},
		{"enable with bad name", []string{"subscribers", "enable", "-shop-"}, "flag provided but not defined: --shop-", "subscribers enable"},
		{"enable with invalid name", []string{"subscribers", "enable", "Shop"}, `subscriber name "Shop" is invalid`, "subscribers enable"},

		{"sessions list bad state", []string{"sessions", "list", "--state", "done"}, `--state "done" is not one of: pending, polling`, "sessions list"},
		{"sessions list bad provider", []string{"sessions", "list", "--provider", "smartid"}, `--provider "smartid" is not one of: fortid, marksign`, "sessions list"},
		{"sessions list bad flow", []string{"sessions", "list", "--flow", "signing"}, `--flow "signing" is not one of`, "sessions list"},
		{"sessions list bad subscriber", []string{"sessions", "list", "--subscriber", "A B"}, `subscriber name "A B" is invalid`, "sessions list"},
		{"sessions list bad since", []string{"sessions", "list", "--since", "yesterday"}, `invalid value "yesterday" for flag --since: want a duration back from now`, "--since TIME"},
		{"sessions list negative since", []string{"sessions", "list", "--since=-1h"}, "must not be negative", "sessions list"},
		{"sessions list since 100,000 days", []string{"sessions", "list", "--since", "100000d"}, "out of range: want a time between 1970-01-01 and now", "--since TIME"},
		{"sessions list since a huge number of days", []string{"sessions", "list", "--since", "99999999999d"}, "out of range", "sessions list"},
		{"sessions list since overflowing hours", []string{"sessions", "list", "--since", "3000000h"}, "out of range", "sessions list"},
		{"sessions list since 1900", []string{"sessions", "list", "--since", "1900-01-01T00:00:00Z"}, "out of range", "sessions list"},
		{"sessions list since the future", []string{"sessions", "list", "--since", "2999-01-01T00:00:00Z"}, "out of range", "sessions list"},
		{"sessions list zero limit", []string{"sessions", "list", "--limit", "0"}, "--limit 0 is out of range: use 1 to 10000", "--limit N"},
		{"sessions list bad limit", []string{"sessions", "list", "--limit", "many"}, `invalid value "many" for flag --limit`, "--limit N"},
		{"sessions list with argument", []string{"sessions", "list", "shop"}, `unexpected argument "shop"`, "sessions list"},
		{"sessions show without ID", []string{"sessions", "show"}, "missing ID", "sessions show ID"},
		{"sessions show malformed ID", []string{"sessions", "show", "42"}, `session id "42" is not a UUID`, "sessions show ID"},
		{"sessions show nearly a UUID", []string{"sessions", "show", "11111111-1111-4111-8111-11111111111g"}, "is not a UUID", "sessions show ID"},
		{"sessions cancel malformed ID", []string{"sessions", "cancel", "order-42"}, `session id "order-42" is not a UUID`, "sessions cancel ID"},

		{"deliveries list bad state", []string{"deliveries", "list", "--state", "done"}, `--state "done" is not one of: pending, succeeded, failed, paused`, "deliveries list"},
		{"deliveries list bad since", []string{"deliveries", "list", "--since", "2026-13-01"}, `invalid value "2026-13-01" for flag --since`, "deliveries list"},
		{"deliveries list huge limit", []string{"deliveries", "list", "--limit", "10001"}, "--limit 10001 is out of range", "deliveries list"},
		{"deliveries show malformed ID", []string{"deliveries", "show", "msg_abc"}, `delivery id "msg_abc" is not a positive integer`, "deliveries show ID"},
		{"deliveries show negative ID", []string{"deliveries", "show", "-1"}, `delivery id "-1" is not a positive integer`, "deliveries show ID"},
		{"deliveries show negative ID after a flag", []string{"deliveries", "show", "--payload", "-7"}, `delivery id "-7" is not a positive integer`, "deliveries show ID"},
		{"redeliver negative ID", []string{"deliveries", "redeliver", "-3", "--json"}, `delivery id "-3" is not a positive integer`, "deliveries redeliver ID"},
		{"sessions show negative ID", []string{"sessions", "show", "-1"}, `session id "-1" is not a UUID`, "sessions show ID"},
		{"sessions list negative limit", []string{"sessions", "list", "--limit", "-5"}, "--limit -5 is out of range", "sessions list"},
		{"deliveries show zero ID", []string{"deliveries", "show", "0"}, `delivery id "0" is not a positive integer`, "deliveries show ID"},
		{"redeliver without ID", []string{"deliveries", "redeliver"}, "missing ID", "deliveries redeliver ID"},
		{"redeliver malformed ID", []string{"deliveries", "redeliver", "7x"}, `delivery id "7x" is not a positive integer`, "deliveries redeliver ID"},
		{"replay without since", []string{"deliveries", "replay", "--subscriber", "shop"}, "--since is required", "deliveries replay --since TIME --subscriber NAME"},
		{"replay without subscriber", []string{"deliveries", "replay", "--since", "1h"}, "--subscriber is required", "deliveries replay"},
		{"replay with bad since", []string{"deliveries", "replay", "--subscriber", "shop", "--since", "soon"}, `invalid value "soon" for flag --since`, "deliveries replay"},
		{"replay with bad subscriber", []string{"deliveries", "replay", "--subscriber", "Shop", "--since", "1h"}, `subscriber name "Shop" is invalid`, "deliveries replay"},
		{"replay with argument", []string{"deliveries", "replay", "shop", "--subscriber", "shop", "--since", "1h"}, `unexpected argument "shop"`, "deliveries replay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, unreachable, tc.args...)
			if r.code != ExitUsage {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, ExitUsage, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			first, rest, _ := strings.Cut(r.stderr, "\n")
			if want := "pollhookctl: " + tc.msg; !strings.HasPrefix(first, "pollhookctl: ") || !strings.Contains(first, tc.msg) {
				t.Errorf("first line of stderr = %q, want it to contain %q", first, want)
			}
			if !strings.Contains(rest, tc.usage) {
				t.Errorf("usage after the message lacks %q:\n%s", tc.usage, rest)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	everyCommand := []string{
		"subscribers add NAME URL", "subscribers list", "subscribers rotate NAME [--overlap DURATION]",
		"subscribers disable NAME [--reason TEXT]", "subscribers enable NAME",
		"sessions list [--flow FLOW] [--limit N] [--provider PROVIDER] [--since TIME] [--state STATE] [--subscriber NAME]",
		"sessions show ID", "sessions cancel ID",
		"deliveries list [--limit N] [--since TIME] [--state STATE] [--subscriber NAME]",
		"deliveries show ID [--payload]", "deliveries redeliver ID", "deliveries replay --since TIME --subscriber NAME",
		"DATABASE_URL", "POLLHOOK_SCHEMA", "--json", "Exit status",
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"help", []string{"help"}, everyCommand},
		{"-h", []string{"-h"}, everyCommand},
		{"--help", []string{"--help"}, everyCommand},
		{"group", []string{"help", "deliveries"}, []string{"deliveries redeliver ID", "deliveries replay"}},
		{"group -h", []string{"sessions", "-h"}, []string{"sessions list", "sessions show ID", "sessions cancel ID"}},
		{"command", []string{"help", "subscribers", "rotate"}, []string{"Usage: pollhookctl subscribers rotate NAME [--overlap DURATION]", "(default 24h0m0s)"}},
		{"command -h", []string{"sessions", "list", "-h"}, []string{"--state STATE", "--limit N", "(default 50)"}},
		{"command --help after args", []string{"deliveries", "show", "7", "--help"}, []string{"--payload", "personal data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, unreachable, tc.args...)
			if r.code != ExitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestRuntimeErrorExits1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		getenv func(string) string
		msg    string
	}{
		{"database down", unreachable, "does not answer"},
		{"bad schema", func(k string) string {
			if k == "POLLHOOK_SCHEMA" {
				return "Bad-Schema"
			}
			return unreachable(k)
		}, `schema "Bad-Schema" is invalid`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tc.getenv, "subscribers", "list")
			if r.code != ExitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, ExitError, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "pollhookctl: ") || !strings.Contains(r.stderr, tc.msg) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line with %q", r.stderr, tc.msg)
			}
		})
	}
}

func ExampleRun() {
	// Commands need a database; help does not.
	Run(context.Background(), []string{"help", "subscribers", "rotate"}, os.Stdout, os.Stderr, os.Getenv)
	// Output:
	// Usage: pollhookctl subscribers rotate NAME [--overlap DURATION] [--scheme SCHEME]
	//
	// Give a subscriber a new signing secret and print it once; the old ones keep signing for --overlap.
	//
	// Flags (before or after the arguments):
	//   --json              print JSON for scripts instead of a table
	//   --overlap DURATION  how long the current secrets keep signing beside the new one, as a Go duration (default 24h0m0s)
	//   --scheme SCHEME     switch to signing scheme SCHEME, v1 or v1a, printing its new key (default: keep it)
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "7d", want: now.AddDate(0, 0, -7)},
		{in: "0d", want: now},
		{in: "2026-01-02T15:04:05Z", want: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{in: "1970-01-01T00:00:00Z", want: time.Unix(0, 0).UTC()},
		{in: "1969-12-31T23:59:59Z", err: "out of range"},
		{in: "2026-11-24T12:00:01Z", err: "out of range"},
		{in: "30000d", err: "out of range"},
		{in: "2562047h", err: "out of range"},
		{in: "9999999h", err: "out of range"},
		{in: "-1d", err: "must not be negative"},
		{in: "-1h", err: "must not be negative"},
		{in: "yesterday", err: "want a duration"},
		{in: "", err: "want a duration"},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSince(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestWrongSchema points pollhookctl at a schema that does not exist and at
// one without pollhook's tables: one clear line suggesting migrate up, exit 1.
func TestWrongSchema(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	empty := tdb.Schema + "_empty"
	if _, err := tdb.Pool.Exec(ctx, "CREATE SCHEMA "+empty+"; CREATE TABLE "+empty+".sessions (id int)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = tdb.Pool.Exec(context.Background(), "DROP SCHEMA "+empty+" CASCADE") })
	env := func(schema string) func(string) string {
		return func(k string) string {
			switch k {
			case "DATABASE_URL":
				return tdb.URL
			case "POLLHOOK_SCHEMA":
				return schema
			}
			return ""
		}
	}
	tests := []struct {
		schema string
		args   []string
		msg    string
	}{
		{tdb.Schema + "_none", []string{"sessions", "list"}, `schema "` + tdb.Schema + `_none" does not exist in database "`},
		{tdb.Schema + "_none", []string{"deliveries", "redeliver", "1"}, `does not exist in database`},
		{empty, []string{"subscribers", "list"}, `has no pollhook tables (missing: subscribers, subscriber_secrets, deliveries, delivery_attempts, river_job): run "migrate up"`},
		{empty, []string{"sessions", "show", "11111111-1111-4111-8111-111111111111"}, `run "migrate up"`},
	}
	for _, tt := range tests {
		r := run(t, env(tt.schema), tt.args...)
		if r.code != ExitError || !strings.Contains(r.stderr, tt.msg) || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "SQLSTATE") {
			t.Errorf("pollhookctl %q on schema %s: exit %d\n%s\nwant one line with %q", tt.args, tt.schema, r.code, r.stderr, tt.msg)
		}
	}
}

func TestExplainDBError(t *testing.T) {
	t.Parallel()
	plain := errors.New("connection reset")
	if got := explainDBError(plain); got != plain {
		t.Errorf("explainDBError(plain) = %v", got)
	}
	undefined := fmt.Errorf("list sessions: %w", &pgconn.PgError{Code: "42703", Message: `column "x" does not exist`})
	got := explainDBError(undefined)
	if !errors.Is(got, undefined) || !strings.Contains(got.Error(), `run "migrate up"`) {
		t.Errorf("explainDBError(undefined column) = %v", got)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		r := run(t, unreachable, args...)
		if r.code != ExitOK || r.stdout != version.Line("pollhookctl")+"\n" || r.stderr != "" {
			t.Errorf("pollhookctl %q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}
