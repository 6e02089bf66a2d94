package deps_test

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/harness"
)

const module = "github.com/pollhook/pollhook"

// rule says what one package may link, directly or not, besides the
// standard library and itself.
type rule struct {
	// pkg is the guarded package, relative to the module.
	pkg string
	// own lists the pollhook packages it may link (relative to the module);
	// their own imports are checked as part of pkg's closure.
	own []string
	// thirdParty lists packages outside the module it may import, together
	// with everything they link.
	thirdParty []string
}

// rules is the allow-list, one entry per guarded package.
var rules = []rule{
	{
		// Registration: SQL through the caller's pgx.Tx, the poll job
		// inserted by an insert-only River client, the schema rule from
		// internal/db, the job args from the leaf, and the session
		// vocabulary and store (internal/session, pgx only; issue 14.4).
		pkg:        "track",
		own:        []string{"internal/db", "internal/jobargs", "internal/session"},
		thirdParty: []string{"github.com/jackc/pgx/v5", "github.com/riverqueue/river", "github.com/riverqueue/river/riverdriver/riverpgxv5"},
	},
	{
		// The webhook payload types: the standard library only.
		pkg: "event",
	},
	{
		// Subscribers verify webhooks with the standard library only. The
		// Standard Webhooks signing primitive it shares with the sender
		// (issue 14.7) is a standard-library-only leaf: internal/whsig.
		pkg: "receiver",
		own: []string{"internal/whsig"},
	},
	{
		// The leaf of job args and queue names: River and nothing of
		// pollhook, as River's rivertype.
		pkg:        "internal/jobargs",
		thirdParty: []string{"github.com/riverqueue/river"},
	},
}

// forbidden may never appear in a guarded package's closure, whatever the
// allow-lists say: the worker and what it alone needs.
var forbidden = []string{
	module + "/internal/jobs",
	module + "/internal/daemon",
	module + "/internal/upstream",
	module + "/internal/webhook",
	module + "/internal/metrics",
	module + "/internal/config",
	"github.com/prometheus/",
	"github.com/cenkalti/backoff",
	"go.opentelemetry.io/",
	"riverqueue.com/riverui",
}

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := harness.GoTool()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nonStandardDeps returns the import paths of pkgs and of every package
// outside the standard library they link (tests excluded: an app does not
// link them).
func nonStandardDeps(t *testing.T, goCmd string, pkgs ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	cmd := exec.Command(goCmd, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.Fields(string(out))
}

// TestPublicPackagesStayLight checks every guarded package's closure against
// its allow-list and the forbidden list.
func TestPublicPackagesStayLight(t *testing.T) {
	t.Parallel()
	goCmd := goTool(t)
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			t.Parallel()
			allowed := map[string]bool{module + "/" + r.pkg: true}
			for _, p := range r.own {
				allowed[module+"/"+p] = true
			}
			if len(r.thirdParty) > 0 {
				for _, p := range nonStandardDeps(t, goCmd, r.thirdParty...) {
					if !strings.HasPrefix(p, module+"/") {
						allowed[p] = true
					}
				}
			}
			deps := nonStandardDeps(t, goCmd, module+"/"+r.pkg)
			if !slices.Contains(deps, module+"/"+r.pkg) {
				t.Fatalf("go list -deps %s does not list the package itself: %q", r.pkg, deps)
			}
			for _, p := range deps {
				for _, f := range forbidden {
					if p == f || strings.HasPrefix(p, strings.TrimSuffix(f, "/")+"/") {
						t.Errorf("%s links %s, which only the worker may", r.pkg, p)
					}
				}
				if !allowed[p] {
					t.Errorf("%s links %s, which its allow-list in internal/deps/deps_test.go does not name", r.pkg, p)
				}
			}
		})
	}
}

// TestForbiddenIsEnforced makes sure the checks above can fail: the worker's
// own package links what the public ones may not.
func TestForbiddenIsEnforced(t *testing.T) {
	t.Parallel()
	deps := nonStandardDeps(t, goTool(t), module+"/internal/jobs")
	for _, want := range []string{module + "/internal/upstream", module + "/internal/webhook", "github.com/cenkalti/backoff/v4", "github.com/prometheus/client_golang/prometheus"} {
		if !slices.Contains(deps, want) {
			t.Errorf("internal/jobs does not link %s: the forbidden list in this test no longer describes the worker", want)
		}
	}
}
