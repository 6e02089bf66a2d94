package invariant

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
)

var (
	flagSeed     = flag.Uint64("invariant.seed", 1, "seed of the first run (each further run of -invariant.duration adds 1)")
	flagSessions = flag.Int("invariant.sessions", 40, "sessions per run")
	flagDuration = flag.Duration("invariant.duration", 0, "keep starting runs with the next seed until this much time has passed (0: one run)")
	flagWindow   = flag.Duration("invariant.window", 4*time.Second, "time over which a run registers its sessions and kills the worker")
	flagKills    = flag.Int("invariant.kills", 1, "SIGKILLs of the worker per run, at random instants of the window")
	flagSettle   = flag.Duration("invariant.settle", 2500*time.Millisecond, "I1: how long past its deadline a session may take to end (no kill)")
	flagRecovery = flag.Duration("invariant.recovery", 40*time.Second, "I1: how long past a kill a session may take to end (River's leader lease, rescuer and retry)")
	flagLag      = flag.Duration("invariant.lag", 200*time.Millisecond, "I4: how long after the deadline a request decided before it may arrive")
	flagLastPoll = flag.Duration("invariant.lastpoll", 300*time.Millisecond, "I2: slack past the final poll's lead (internal/jobs.FinalPollAt) within which a session ended at its deadline must have had a request in flight")
	flagServed   = flag.Duration("invariant.served", 100*time.Millisecond, "I2: a terminal answer written this long before the deadline must be the outcome (closer, expired is allowed too)")
	flagShort    = flag.Bool("invariant.short", true, "also draw app deadlines of 1-3 s (see shortDeadline)")
	flagSkip     = flag.String("invariant.skip", "", "comma-separated answer classes or dirt kinds to leave out (e.g. hang,non_utf8): for a known open bug only")
)

// bins holds the worker binary, built once per test run.
var bins harness.Binaries

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// allClasses and allDirts are every answer class and dirt kind.
var (
	allClasses = []class{classInProgress, classServerError, classRateLimited, classGarbage, classDirtyWaiting, classUnknown,
		classHuge, classSlow, classRedirect, classHang, classTransientErr, classCredentials}
	allDirts = []dirt{dirtNone, dirtNonUTF8, dirtNUL, dirtSurrogate}
)

// paramsFromFlags builds a run's parameters for seed.
func paramsFromFlags(t testing.TB, seed uint64) params {
	p := params{seed: seed, sessions: *flagSessions, window: *flagWindow, kills: *flagKills, settle: *flagSettle,
		recovery: *flagRecovery, lag: *flagLag, lastPoll: *flagLastPoll, served: *flagServed, short: *flagShort, classes: map[class]bool{}, dirts: map[dirt]bool{}}
	for _, c := range allClasses {
		p.classes[c] = true
	}
	for _, d := range allDirts {
		p.dirts[d] = true
	}
	for _, name := range strings.Split(*flagSkip, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case p.classes[class(name)]:
			delete(p.classes, class(name))
		case p.dirts[dirt(name)] && dirt(name) != dirtNone:
			delete(p.dirts, dirt(name))
		default:
			t.Fatalf("-invariant.skip: unknown class or dirt %q", name)
		}
	}
	return p
}

// TestInvariants runs the model: see the package documentation. With
// -invariant.duration it keeps running with seeds seed, seed+1, ... and
// stops at the first failing run.
func TestInvariants(t *testing.T) {
	ctx := context.Background()
	bin := bins.Path(t, harness.WorkerPackage)
	began := time.Now()
	total := map[string]int{}
	runs := 0
	for seed := *flagSeed; ; seed++ {
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			figures := runOnce(ctx, t, bin, paramsFromFlags(t, seed))
			for k, n := range figures {
				if strings.HasPrefix(k, "max ") {
					total[k] = max(total[k], n)
				} else {
					total[k] += n
				}
			}
		})
		runs++
		if !ok || *flagDuration == 0 || time.Since(began) >= *flagDuration {
			break
		}
	}
	if runs > 1 {
		t.Logf("invariant: %d runs in %s: %s", runs, time.Since(began).Round(time.Second), formatFigures(total))
	}
}

// runOnce executes one run and reports every broken invariant.
func runOnce(ctx context.Context, t *testing.T, bin string, p params) map[string]int {
	began := time.Now()
	r := execute(ctx, t, bin, p)
	v, tb, err := check(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	v.figures["run ms"] = int(time.Since(began).Milliseconds())
	t.Logf("invariant: seed=%d %s", p.seed, formatFigures(v.figures))
	if v.figures["registered"] == 0 || v.figures["served terminal"] == 0 || v.figures["webhook copies"] == 0 {
		t.Errorf("seed %d: the run tested nothing: %d sessions registered, %d terminal answers served, %d webhooks",
			p.seed, v.figures["registered"], v.figures["served terminal"], v.figures["webhook copies"])
	}
	if len(v.global) == 0 && len(v.bySession) == 0 {
		return v.figures
	}
	var counts []string
	for inv, n := range v.counts {
		counts = append(counts, fmt.Sprintf("%s=%d", inv, n))
	}
	sort.Strings(counts)
	t.Errorf("seed %d: invariants broken (%s); rerun with -invariant.seed=%d -invariant.sessions=%d -invariant.kills=%d -invariant.window=%s -invariant.short=%v -invariant.skip=%q",
		p.seed, strings.Join(counts, " "), p.seed, p.sessions, p.kills, p.window, p.short, *flagSkip)
	for i, g := range v.global {
		if i == 30 {
			t.Errorf("... and %d more", len(v.global)-i)
			break
		}
		t.Error(g)
	}
	shown := 0
	for _, s := range r.sessions {
		problems, ok := v.bySession[s]
		if !ok {
			continue
		}
		if shown == 8 {
			t.Errorf("... and more failing sessions (%d in all)", len(v.bySession))
			break
		}
		shown++
		t.Errorf("%s\n%s", strings.Join(problems, "\n"), r.history(s, tb))
	}
	return v.figures
}

func formatFigures(f map[string]int) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", strings.ReplaceAll(k, " ", "_"), f[k])
	}
	return strings.Join(parts, " ")
}
