package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/upstream"
)

// ScaleConfig configures the sessions-in-flight ladder.
type ScaleConfig struct {
	// Steps are the session counts S to try, in order.
	Steps []int
	// FortIDShare is the share of FortID sessions (the rest are Marksign,
	// spread over its six flows).
	FortIDShare float64
	// Warmup is how long to wait, once every session was polled, before
	// the window: the backoffs grow to their maximum meanwhile.
	Warmup time.Duration
	// Window is how long lag, polls, memory and size are measured.
	Window time.Duration
	// Budget bounds the whole ladder: a step that cannot finish within it
	// is skipped.
	Budget time.Duration
	// LagTarget is the scheduling lag p99 a step must stay under (250 ms,
	// issue 11; a bucket bound of pollhook_poll_lag_seconds).
	LagTarget time.Duration
	// WorkerEnv adds variables to the worker's environment (for instance
	// POLLHOOK_POLL_WORKERS).
	WorkerEnv map[string]string
	// ProfileDir, if set, receives a CPU profile of the worker over each
	// step's window (scale-<S>.pprof).
	ProfileDir string
}

// DefaultScaleConfig is the full ladder.
func DefaultScaleConfig() ScaleConfig {
	return ScaleConfig{
		Steps:       []int{10_000, 20_000, 30_000, 40_000, 60_000},
		FortIDShare: 0.5,
		Warmup:      30 * time.Second,
		Window:      30 * time.Second,
		Budget:      8 * time.Minute,
		LagTarget:   250 * time.Millisecond,
	}
}

// ScaleResult is the ladder's outcome.
type ScaleResult struct {
	// Steps holds one entry per step tried.
	Steps []ScaleStep `json:"steps"`
	// MaxHeld is the largest S whose lag p99 stayed under the target (0 if
	// none did).
	MaxHeld int `json:"max_sessions_held"`
	// LagTarget is the target, in seconds.
	LagTarget Seconds `json:"lag_target_s"`
	// Skipped lists the steps the budget left out.
	Skipped []int `json:"skipped_steps,omitempty"`
}

// ScaleStep is one rung of the ladder: S sessions in flight at the default
// cadence, the worker in its own process.
type ScaleStep struct {
	// Sessions is S.
	Sessions int `json:"sessions"`
	// RegisterPerSecond is S over the duration of the one INSERT.
	RegisterPerSecond float64 `json:"register_rows_per_s"`
	// FirstPollAll is how long until every session had been polled once.
	FirstPollAll Seconds `json:"first_poll_all_s"`
	// InFlight is how many sessions were still polling at the window's end.
	InFlight int `json:"in_flight"`
	// PollsPerSecond is the simulator's poll rate over the window.
	PollsPerSecond float64 `json:"polls_per_s"`
	// ExpectedPollsPerSecond is the steady rate the default backoffs ask
	// for: each session at its flow's maximum interval.
	ExpectedPollsPerSecond float64 `json:"expected_polls_per_s"`
	// LagP50, LagP99 estimate the scheduling lag quantiles over the window
	// (pollhook_poll_lag_seconds, interpolated in its buckets).
	LagP50 Seconds `json:"lag_p50_s"`
	LagP99 Seconds `json:"lag_p99_s"`
	// LagUnderTarget is the exact share of the window's polls whose lag was
	// at most the target.
	LagUnderTarget float64 `json:"lag_share_under_target"`
	// Held reports whether lag p99 stayed under the target with at least
	// 90 % of the expected polls made.
	Held bool `json:"held"`
	// RSS and PeakRSS are the worker's VmRSS and VmHWM at the window's
	// end, in bytes.
	RSS     int64 `json:"rss_bytes"`
	PeakRSS int64 `json:"peak_rss_bytes"`
	// DBBytes is the schema's size, indexes and TOAST included.
	DBBytes int64 `json:"db_bytes"`
	// RunsPerPoll is River job runs per provider poll over the window (the
	// worker's pollhook_poll_lag_seconds count, one per run, over the
	// simulator's polls): above 1 when waits are served in several
	// snoozes.
	RunsPerPoll float64 `json:"job_runs_per_poll"`
	// WorkerCPUMicros is the worker process's CPU time per poll over the
	// window, in µs (/proc/<pid>/stat).
	WorkerCPUMicros float64 `json:"worker_cpu_us_per_poll"`
}

// MeasureScale runs the ladder. Each step gets a fresh schema and a fresh
// worker process; the ladder stops once a step is saturated (lag p50 over
// the target) or the budget runs out.
func MeasureScale(ctx context.Context, cfg Config, p *progress) (*ScaleResult, error) {
	sc := cfg.Scale
	res := &ScaleResult{LagTarget: Seconds(sc.LagTarget.Seconds())}
	build := cfg.build
	if build == nil {
		build = &workerBuild{}
		defer build.remove()
	}
	p.printf("scale: building ./cmd/worker")
	bin, dir, err := build.get(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for i, s := range sc.Steps {
		// A step takes its warm-up, its window and roughly a second per
		// 1000 sessions to register and poll them all once.
		need := sc.Warmup + sc.Window + time.Duration(s)*time.Millisecond + 10*time.Second
		if sc.Budget > 0 && time.Since(start)+need > sc.Budget {
			res.Skipped = append(res.Skipped, sc.Steps[i:]...)
			p.printf("scale: budget %s spent: skipping %v", sc.Budget, sc.Steps[i:])
			break
		}
		p.printf("scale: %d sessions", s)
		step, err := scaleStep(ctx, cfg, bin, dir, s, p)
		if err != nil {
			return res, fmt.Errorf("%d sessions: %w", s, err)
		}
		res.Steps = append(res.Steps, *step)
		p.printf("scale: %d sessions: lag p50 %.3fs p99 %.3fs (%.2f%% under %s), %.0f of %.0f polls/s, RSS %.0f MB, DB %.0f MB",
			s, step.LagP50, step.LagP99, 100*step.LagUnderTarget, sc.LagTarget, step.PollsPerSecond, step.ExpectedPollsPerSecond,
			float64(step.RSS)/1e6, float64(step.DBBytes)/1e6)
		if step.Held && s > res.MaxHeld {
			res.MaxHeld = s
		}
		if float64(step.LagP50) > sc.LagTarget.Seconds() {
			if rest := sc.Steps[i+1:]; len(rest) > 0 {
				res.Skipped = append(res.Skipped, rest...)
				p.printf("scale: saturated (lag p50 over %s): skipping %v", sc.LagTarget, rest)
			}
			break
		}
	}
	return res, nil
}

// scaleSessions builds s sessions that stay in progress far longer than
// their deadline.
func scaleSessions(s int, fortIDShare float64) (rows sessionRows, expected float64) {
	cfg := jobs.DefaultConfig()
	marksignFlows := []upstream.Flow{
		upstream.FlowSmartIDIdentification, upstream.FlowSmartIDSigning, upstream.FlowSmartIDHashSigning,
		upstream.FlowMobileIDIdentification, upstream.FlowMobileIDSigning, upstream.FlowMobileIDHashSigning,
	}
	fortIDs := int(float64(s) * fortIDShare)
	for i := range s {
		if i < fortIDs {
			rows.add(string(upstream.ProviderFortID), string(upstream.FlowFortIDVerification), simulator.FortIDSessionID(simulator.OutcomeSucceeded, 99))
			expected += 1 / cfg.Flows[upstream.FlowFortIDVerification].Backoff.Max.Seconds()
			continue
		}
		f := marksignFlows[i%len(marksignFlows)]
		rows.add(string(upstream.ProviderMarksign), string(f), simulator.MarksignToken(simulator.OutcomeSucceeded, 999))
		expected += 1 / cfg.Flows[f].Backoff.Max.Seconds()
	}
	return rows, expected
}

func scaleStep(ctx context.Context, cfg Config, bin, dir string, s int, p *progress) (_ *ScaleStep, err error) {
	sc := cfg.Scale
	rig, err := startProcRig(ctx, cfg.DatabaseURL, nil)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, rig.close()) }()
	env, prov := rig.env, rig.prov
	extra := map[string]string{"POLLHOOK_PPROF": "true"}
	for k, v := range sc.WorkerEnv {
		extra[k] = v
	}
	proc, err := startBenchWorker(ctx, bin, cfg.DatabaseURL, env.schema, prov.srv.url, filepath.Join(dir, fmt.Sprintf("worker-%d.log", s)), extra)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, proc.stop()) }()

	rows, expected := scaleSessions(s, sc.FortIDShare)
	took, err := rows.insert(ctx, env.pool)
	if err != nil {
		return nil, err
	}
	step := &ScaleStep{Sessions: s, RegisterPerSecond: float64(s) / took.Seconds(), ExpectedPollsPerSecond: expected}

	// Every session polled once: the registration burst is behind.
	registered := time.Now()
	firstPollTimeout := max(time.Minute, time.Duration(s)*5*time.Millisecond)
	for {
		var polling int
		if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE state = 'polling'`).Scan(&polling); err != nil {
			return nil, fmt.Errorf("count polling sessions: %w", err)
		}
		if polling >= s {
			break
		}
		if time.Since(registered) > firstPollTimeout {
			return nil, fmt.Errorf("only %d of %d sessions polled once within %s", polling, s, firstPollTimeout)
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
	step.FirstPollAll = Seconds(time.Since(registered).Seconds())
	p.printf("scale: %d sessions registered at %.0f rows/s, all polled once after %.1fs; warming up %s", s, step.RegisterPerSecond, step.FirstPollAll, sc.Warmup)
	if err := sleep(ctx, sc.Warmup); err != nil {
		return nil, err
	}

	w0, err := sampleScale(ctx, proc, rig.polls.Load)
	if err != nil {
		return nil, err
	}
	profDone := make(chan error, 1)
	if sc.ProfileDir != "" {
		go func() {
			profDone <- saveProfile(ctx, proc.addr, sc.Window, filepath.Join(sc.ProfileDir, fmt.Sprintf("scale-%d.pprof", s)))
		}()
	} else {
		profDone <- nil
	}
	if err := sleep(ctx, sc.Window); err != nil {
		return nil, err
	}
	w1, err := sampleScale(ctx, proc, rig.polls.Load)
	if err != nil {
		return nil, err
	}
	windowPolls := float64(w1.polls - w0.polls)
	step.PollsPerSecond = windowPolls / w1.at.Sub(w0.at).Seconds()
	if step.RSS, step.PeakRSS, err = proc.memory(); err != nil {
		return nil, err
	}
	if step.DBBytes, err = env.size(ctx); err != nil {
		return nil, err
	}
	if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE state = 'polling'`).Scan(&step.InFlight); err != nil {
		return nil, fmt.Errorf("count polling sessions: %w", err)
	}
	if err := <-profDone; err != nil {
		return nil, err
	}
	lag := w1.lag.sub(w0.lag)
	if windowPolls > 0 {
		step.RunsPerPoll = lag.total() / windowPolls
		step.WorkerCPUMicros = (w1.cpu - w0.cpu) / windowPolls * 1e6
	}
	step.LagP50, step.LagP99 = Seconds(lag.quantile(.50)), Seconds(lag.quantile(.99))
	step.LagUnderTarget = lag.fractionAtMost(sc.LagTarget.Seconds())
	// Held needs the polls too: a stalled worker polls little, and what
	// little it polls may be on time.
	step.Held = step.LagUnderTarget >= 0.99 && step.InFlight == s && step.PollsPerSecond >= 0.9*step.ExpectedPollsPerSecond
	return step, nil
}

// scaleSample is one reading, at either end of a ladder step's window, of
// what the step reports per poll.
type scaleSample struct {
	at    time.Time
	polls int64     // polls the simulator answered
	lag   histogram // the worker's pollhook_poll_lag_seconds
	cpu   float64   // the worker's CPU seconds
}

// sampleScale reads a scaleSample from the worker proc.
func sampleScale(ctx context.Context, proc *workerProc, polls func() int64) (scaleSample, error) {
	s := scaleSample{at: time.Now(), polls: polls()}
	var err error
	if s.lag, err = scrapeHistogram(ctx, "http://"+proc.addr+"/metrics", "pollhook_poll_lag_seconds"); err != nil {
		return s, err
	}
	if s.cpu, err = procCPU(proc.Pid()); err != nil {
		return s, err
	}
	return s, nil
}

// saveProfile fetches a CPU profile of the worker over d into path.
func saveProfile(ctx context.Context, addr string, d time.Duration, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: HTTP %d", resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	return f.Close()
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
