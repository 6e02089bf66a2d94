// Command bench measures pollhook against a real Postgres: pollhook's best
// poll rate beside River's best no-op rate and the floor (a bare River
// poller against the same simulator), what an in-progress poll costs
// (CPU, queries, round trips, WAL, job runs), detection delay per flow,
// end-to-end latency, sessions held in flight and the webhook delivery
// rate. See docs/BENCHMARKS.md.
//
//	go run ./cmd/bench            # the full run, a few minutes
//	go run ./cmd/bench --quick    # under a minute
//	go run ./cmd/bench --json     # one JSON object
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/bench"
	"github.com/pollhook/pollhook/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx))
}

func run(ctx context.Context) int {
	// --quick changes the other flags' defaults: look for it first.
	cfg := bench.DefaultConfig()
	for _, a := range os.Args[1:] {
		if a == "-quick" || a == "--quick" || a == "-quick=true" || a == "--quick=true" {
			cfg = bench.QuickConfig()
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Bool("quick", false, "small numbers and one ladder step: under a minute")
	asJSON := fs.Bool("json", false, "print one JSON object instead of tables")
	fs.StringVar(&cfg.DatabaseURL, "database-url", envOr("DATABASE_URL", cfg.DatabaseURL), "Postgres URL (DATABASE_URL)")
	fs.IntVar(&cfg.PollWorkers, "poll-workers", cfg.PollWorkers, "poll queue MaxWorkers, River and in-process runs")
	fs.DurationVar(&cfg.FetchPollInterval, "fetch-poll-interval", cfg.FetchPollInterval, "River fetch poll interval of in-process runs (0: pollhook's default, as cmd/worker)")
	fs.IntVar(&cfg.RiverJobs, "river-jobs", cfg.RiverJobs, "N no-op River jobs (0 skips)")
	fs.IntVar(&cfg.PollSessions, "sessions", cfg.PollSessions, "N sessions of the poll-rate run (0 skips)")
	fs.IntVar(&cfg.PollsInProgress, "k", cfg.PollsInProgress, "K in-progress polls per session of the poll-rate run")
	fs.IntVar(&cfg.LatencySessions, "latency-sessions", cfg.LatencySessions, "sessions of the latency run (0 skips)")
	fs.DurationVar(&cfg.LatencySpacing, "latency-spacing", cfg.LatencySpacing, "pause between registrations of the latency run")
	fs.IntVar(&cfg.Deliveries, "deliveries", cfg.Deliveries, "D webhooks of the delivery run (0 skips)")
	fs.IntVar(&cfg.TwoWorkersSessions, "two-workers", cfg.TwoWorkersSessions, "sessions shared by two worker processes (0 skips)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "bound of each rate run")
	steps := fs.String("scale", joinInts(cfg.Scale.Steps), "comma-separated session counts S of the ladder (empty skips)")
	fs.Float64Var(&cfg.Scale.FortIDShare, "scale-fortid-share", cfg.Scale.FortIDShare, "share of FortID sessions in the ladder")
	fs.DurationVar(&cfg.Scale.Warmup, "scale-warmup", cfg.Scale.Warmup, "wait after every session was polled once")
	fs.DurationVar(&cfg.Scale.Window, "scale-window", cfg.Scale.Window, "measurement window per step")
	fs.DurationVar(&cfg.Scale.Budget, "scale-budget", cfg.Scale.Budget, "time budget of the whole ladder")
	fs.StringVar(&cfg.Scale.ProfileDir, "scale-profile-dir", "", "save a CPU profile of the worker per step here")
	// Issue 11: the anchors sweep, the cost windows, detection delay.
	sweepWorkers := fs.String("sweep-workers", joinInts(cfg.Anchors.Workers), "comma-separated poll queue MaxWorkers of the anchors sweep (empty skips the sweep)")
	sweepFetch := fs.String("sweep-fetch", joinFetch(cfg.Anchors.Fetch), "comma-separated fetch poll interval/cooldown pairs of the sweep, e.g. 100ms/25ms,25ms/5ms")
	fs.IntVar(&cfg.Cost.Sessions, "cost-sessions", cfg.Cost.Sessions, "in-progress sessions of the per-poll cost windows")
	fs.DurationVar(&cfg.Cost.Warmup, "cost-warmup", cfg.Cost.Warmup, "wait before each cost window")
	fs.DurationVar(&cfg.Cost.Window, "cost-window", cfg.Cost.Window, "length of each cost window (0 skips)")
	fs.StringVar(&cfg.Cost.ProfileDir, "cost-profile-dir", "", "save a CPU profile of the worker process over its cost window here")
	fs.IntVar(&cfg.Detection.PerFlow, "detection-sessions", cfg.Detection.PerFlow, "sessions per flow of the detection-delay run (0 skips)")
	fs.DurationVar(&cfg.Detection.After, "detection-after", cfg.Detection.After, "earliest terminal instant after registration")
	fs.DurationVar(&cfg.Detection.Spread, "detection-spread", cfg.Detection.Spread, "terminal instants spread uniformly over this much")
	fs.IntVar(&cfg.Scheduler.Completed, "scheduler-completed", cfg.Scheduler.Completed, "completed jobs retained in the River scheduler measurement (0 skips)")
	fs.IntVar(&cfg.Scheduler.Due, "scheduler-due", cfg.Scheduler.Due, "due scheduled jobs in the River scheduler measurement")
	workers := fs.Int("scale-poll-workers", 0, "POLLHOOK_POLL_WORKERS of the ladder's worker (0: default)")
	fetch := fs.Duration("scale-fetch-poll-interval", 0, "POLLHOOK_FETCH_POLL_INTERVAL of the ladder's worker (0: default)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.SetOutput(io.Discard)
	switch err := fs.Parse(os.Args[1:]); {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(os.Stdout)
		fmt.Println("usage: bench [flags]")
		fs.PrintDefaults()
		return 0
	case err != nil:
		fmt.Fprintf(os.Stderr, "bench: %v (-h lists the flags)\n", err)
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q (flags only; -h lists them)\n", fs.Arg(0))
		return 2
	case *showVersion:
		fmt.Println(version.Line("bench"))
		return 0
	}
	var err error
	if cfg.Scale.Steps, err = parseInts(*steps); err != nil {
		fmt.Fprintln(os.Stderr, "bench: --scale:", err)
		return 2
	}
	if cfg.Anchors.Workers, err = parseInts(*sweepWorkers); err != nil {
		fmt.Fprintln(os.Stderr, "bench: --sweep-workers:", err)
		return 2
	}
	if cfg.Anchors.Fetch, err = parseFetch(*sweepFetch); err != nil {
		fmt.Fprintln(os.Stderr, "bench: --sweep-fetch:", err)
		return 2
	}
	cfg.Scale.WorkerEnv = map[string]string{}
	if *workers > 0 {
		cfg.Scale.WorkerEnv["POLLHOOK_POLL_WORKERS"] = strconv.Itoa(*workers)
	}
	if *fetch > 0 {
		cfg.Scale.WorkerEnv["POLLHOOK_FETCH_POLL_INTERVAL"] = fetch.String()
	}
	cfg.Progress = os.Stderr

	res, err := bench.Run(ctx, cfg)
	if res != nil {
		var werr error
		if *asJSON {
			werr = bench.WriteJSON(os.Stdout, res)
		} else {
			werr = bench.WriteTable(os.Stdout, res)
		}
		if werr != nil {
			fmt.Fprintln(os.Stderr, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func joinFetch(fs []bench.Fetch) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.PollInterval.String() + "/" + f.Cooldown.String()
	}
	return strings.Join(s, ",")
}

func parseFetch(s string) ([]bench.Fetch, error) {
	var fs []bench.Fetch
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		a, b, ok := strings.Cut(f, "/")
		poll, err1 := time.ParseDuration(a)
		cool, err2 := time.ParseDuration(b)
		if !ok || err1 != nil || err2 != nil || poll <= 0 || cool <= 0 || cool > poll {
			return nil, fmt.Errorf("%q is not <poll interval>/<cooldown> with 0 < cooldown <= poll interval", f)
		}
		fs = append(fs, bench.Fetch{PollInterval: poll, Cooldown: cool})
	}
	return fs, nil
}
