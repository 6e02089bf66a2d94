package config

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// readmeRow matches a row of README's configuration table: the variable in
// backquotes, then its default in backquotes or nothing.
var readmeRow = regexp.MustCompile("^\\| `([A-Z0-9_<>]+)` \\| (?:`([^`]*)`)? *\\|")

// readmeDefaults returns the defaults column of README's configuration
// table, by variable name.
func readmeDefaults(t *testing.T) map[string]string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	defaults := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if m := readmeRow.FindStringSubmatch(line); m != nil {
			if _, dup := defaults[m[1]]; dup {
				t.Errorf("README documents %s twice", m[1])
			}
			defaults[m[1]] = m[2]
		}
	}
	if len(defaults) == 0 {
		t.Fatal("found no rows in README's configuration table")
	}
	return defaults
}

// TestDocumentedDefaultsAreTheDefaults checks README's defaults column
// against Vars, and Load of an empty environment against an environment
// that sets every variable to its documented default: they must be the same
// configuration, so no default is written in two places that disagree.
func TestDocumentedDefaultsAreTheDefaults(t *testing.T) {
	t.Parallel()
	documented := readmeDefaults(t)
	vars := map[string]string{}
	for _, v := range Vars() {
		vars[v.Name] = v.Default
		got, ok := documented[v.Name]
		switch {
		case !ok:
			t.Errorf("README.md does not document %s", v.Name)
		case got != v.Default:
			t.Errorf("README.md documents %s = %q, Vars says %q", v.Name, got, v.Default)
		}
	}
	for name := range documented {
		if _, ok := vars[name]; !ok {
			t.Errorf("README.md documents %s, which Vars does not list", name)
		}
	}

	explicit := map[string]string{}
	for name, def := range documented {
		if def != "" && !strings.Contains(name, "<") {
			explicit[name] = def
		}
	}
	// The per-flow backoffs are documented by pattern: set each to the
	// default it has, so that the comparison below covers them too.
	for flow, fc := range jobs.DefaultConfig().Flows {
		b := fc.Backoff
		explicit["POLLHOOK_BACKOFF_"+strings.ToUpper(string(flow))] = strings.Join([]string{
			webhook.FormatDuration(b.Initial), strconv.FormatFloat(b.Multiplier, 'g', -1, 64), webhook.FormatDuration(b.Max), strconv.FormatFloat(b.Randomization, 'g', -1, 64)}, ",")
	}
	empty, err := Load(Env{})
	if err != nil {
		t.Fatalf("Load of an empty environment: %v", err)
	}
	full, err := Load(Env(explicit))
	if err != nil {
		t.Fatalf("Load of the documented defaults: %v", err)
	}
	if !reflect.DeepEqual(empty, full) {
		t.Errorf("Load of an empty environment differs from Load of the documented defaults:\nempty:      %+v\ndocumented: %+v", empty, full)
	}
}

// TestLoadIsHermetic: Load reads its Env and nothing else, provider
// accounts named by suffix included, whatever the process environment holds.
func TestLoadIsHermetic(t *testing.T) {
	t.Setenv("POLLHOOK_MARKSIGN_ACCESS_TOKEN_FROMPROCESS", "process-token")
	t.Setenv("POLLHOOK_POLL_WORKERS", "7")
	c, err := Load(Lookup(map[string]string{
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN":      "default-token",
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN_ACME": "acme-token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Upstream.Marksign.Accounts.Names(); !reflect.DeepEqual(got, []string{"acme", upstream.DefaultAccount}) {
		t.Errorf("Marksign accounts = %v, want [acme default] from the Env only", got)
	}
	if c.Jobs.PollWorkers != jobs.DefaultPollWorkers {
		t.Errorf("PollWorkers = %d, want the default %d: the process environment leaked in", c.Jobs.PollWorkers, jobs.DefaultPollWorkers)
	}
}

func TestEnviron(t *testing.T) {
	t.Parallel()
	env := Environ([]string{"A=1", "B=x=y", "EMPTY=", "NOEQUALS", "A=2"})
	want := Env{"A": "2", "B": "x=y", "EMPTY": ""}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("Environ = %v, want %v", env, want)
	}
	if got := env.Names(); !reflect.DeepEqual(got, []string{"A", "B", "EMPTY"}) {
		t.Errorf("Names = %v", got)
	}
}

func TestLookupFirstMapWins(t *testing.T) {
	t.Parallel()
	env := Lookup(map[string]string{"A": "first"}, map[string]string{"A": "second", "B": "b"})
	if v, _ := env.Lookup("A"); v != "first" {
		t.Errorf("A = %q, want the first map's", v)
	}
	if v, ok := env.Lookup("B"); !ok || v != "b" {
		t.Errorf("B = %q, %v", v, ok)
	}
	if _, ok := env.Lookup("C"); ok {
		t.Error("C found in no map")
	}
}

// TestFetchPollIntervalHasOneLayer: the variable sets jobs.Config, and the
// cooldown River runs with follows it down without config clamping it.
func TestFetchPollIntervalHasOneLayer(t *testing.T) {
	t.Parallel()
	c, err := Load(Env{"POLLHOOK_FETCH_POLL_INTERVAL": "10ms"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Jobs.FetchPollInterval != 10*time.Millisecond || c.Jobs.FetchCooldown != jobs.DefaultFetchCooldown || c.Jobs.RiverFetchCooldown() != 10*time.Millisecond {
		t.Errorf("fetch poll interval %s, cooldown %s (River: %s); want 10ms, the default, 10ms",
			c.Jobs.FetchPollInterval, c.Jobs.FetchCooldown, c.Jobs.RiverFetchCooldown())
	}
}
