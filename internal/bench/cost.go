package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/upstream"
)

// CostConfig configures the per-poll cost windows.
type CostConfig struct {
	// Sessions is how many sessions poll during the window; they stay in
	// progress throughout, so every poll of the window is an in-progress
	// poll.
	Sessions int
	// Warmup is the wait after registering before the window opens.
	Warmup time.Duration
	// Window is how long costs are counted; zero skips the cost runs.
	Window time.Duration
	// ProfileDir, if set, receives a CPU profile of the worker process
	// over its window (cost-pollhook.pprof).
	ProfileDir string
}

// PollCost is what one in-progress poll costs, measured over a window of a
// steady run at near-zero backoff (every session polled again 1 ms after
// each answer): so the window holds only in-progress polls, snoozes and
// River's own fetches.
type PollCost struct {
	// System is "pollhook" (the real cmd/worker in its own process) or
	// "floor" (the bare River poller, in the bench process).
	System string `json:"system"`
	// Setting is the River setting.
	Setting Setting `json:"setting"`
	// Window is the window's length; Polls the simulator's count in it.
	Window Seconds `json:"window_s"`
	Polls  int64   `json:"polls"`
	// PollsPerSecond is Polls over Window.
	PollsPerSecond float64 `json:"polls_per_s"`
	// ProcessCPUMicros is CPU time per poll of the poller's process, in
	// µs, from /proc/<pid>/stat: the worker process alone for pollhook; the
	// bench process (floor client plus the simulator answering it) for the
	// floor.
	ProcessCPUMicros float64 `json:"process_cpu_us_per_poll"`
	// BenchCPUMicros is, for pollhook, the bench process's CPU per poll
	// meanwhile (the simulator answering, metrics scrapes): subtract it
	// from the floor's ProcessCPUMicros to compare poller with poller.
	BenchCPUMicros float64 `json:"bench_cpu_us_per_poll,omitempty"`
	// BackendCPUMicros is CPU per poll of the Postgres backends serving
	// the poller's connections (found in pg_stat_activity by the client
	// ports of the counting proxy), from /proc/<pid>/stat.
	BackendCPUMicros float64 `json:"pg_backend_cpu_us_per_poll"`
	// AllPostgresCPUMicros is CPU per poll of every postgres process on the
	// machine: the backends above, the server's background writers, and
	// every other client's backends (noisy on a shared server).
	AllPostgresCPUMicros float64 `json:"pg_all_cpu_us_per_poll"`
	// QueriesPerPoll and RoundTripsPerPoll are counted by a proxy between
	// the poller and Postgres: queries are simple Query and extended
	// Execute messages, round trips Query and Sync messages (each waits
	// for one ReadyForQuery). River's notifier and maintenance included.
	QueriesPerPoll    float64 `json:"queries_per_poll"`
	RoundTripsPerPoll float64 `json:"round_trips_per_poll"`
	// BytesToPostgresPerPoll is what the poller sent Postgres per poll.
	BytesToPostgresPerPoll float64 `json:"bytes_to_pg_per_poll"`
	// WALBytesPerPoll is pg_current_wal_lsn's advance over the window per
	// poll: cluster-wide, so anything else writing meanwhile counts too.
	WALBytesPerPoll float64 `json:"wal_bytes_per_poll"`
	// RunsPerPoll is River job runs per provider poll (pollhook: the
	// worker's pollhook_poll_lag_seconds count, one per run; floor: runs
	// counted in its Work).
	RunsPerPoll float64 `json:"job_runs_per_poll"`
	// Profile is the CPU profile saved of the window, if any.
	Profile string `json:"profile,omitempty"`
}

// CostResult holds the cost windows of one run.
type CostResult struct {
	// Pollhook and Floor are the two windows.
	Pollhook *PollCost `json:"pollhook,omitempty"`
	Floor    *PollCost `json:"floor,omitempty"`
}

// WALToFloor is pollhook's WAL per in-progress poll over the floor's.
func (r *CostResult) WALToFloor() float64 {
	if r == nil || r.Pollhook == nil || r.Floor == nil {
		return 0
	}
	return ratio(r.Pollhook.WALBytesPerPoll, r.Floor.WALBytesPerPoll)
}

// costSample is one reading of every counter.
type costSample struct {
	at       time.Time
	proc     float64
	bench    float64
	backends map[int]float64
	pgAll    float64
	db       pgCounts
	wal      int64
	polls    int64
	runs     float64
}

// sampler reads the counters of one poller.
type sampler struct {
	pool  *pgxpool.Pool // the bench's own connection, not through the proxy
	proxy *pgProxy
	pid   int
	polls func() int64
	runs  func(context.Context) (float64, error)
}

func (s *sampler) sample(ctx context.Context) (costSample, error) {
	c := costSample{at: time.Now(), polls: s.polls(), db: s.proxy.counts()}
	var err error
	if c.proc, err = procCPU(s.pid); err != nil {
		return c, err
	}
	if c.bench, err = procCPU(os.Getpid()); err != nil {
		return c, err
	}
	if c.pgAll, err = postgresCPU(); err != nil {
		return c, err
	}
	if c.runs, err = s.runs(ctx); err != nil {
		return c, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&c.wal); err != nil {
		return c, fmt.Errorf("wal position: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE client_addr = '127.0.0.1' AND client_port = ANY($1)`, s.proxy.clientPorts())
	if err != nil {
		return c, fmt.Errorf("backends: %w", err)
	}
	defer rows.Close()
	c.backends = map[int]float64{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return c, fmt.Errorf("backends: %w", err)
		}
		if cpu, err := procCPU(pid); err == nil {
			c.backends[pid] = cpu
		}
	}
	return c, rows.Err()
}

// cost turns two samples into per-poll figures.
func cost(system string, set Setting, a, b costSample) *PollCost {
	pc := &PollCost{System: system, Setting: set, Window: Seconds(b.at.Sub(a.at).Seconds()), Polls: b.polls - a.polls}
	if pc.Polls <= 0 {
		return pc
	}
	n := float64(pc.Polls)
	pc.PollsPerSecond = n / float64(pc.Window)
	pc.ProcessCPUMicros = (b.proc - a.proc) / n * 1e6
	pc.BenchCPUMicros = (b.bench - a.bench) / n * 1e6
	var backends float64
	for pid, cpu := range b.backends {
		backends += cpu - a.backends[pid] // a backend opened in the window counts whole
	}
	pc.BackendCPUMicros = backends / n * 1e6
	pc.AllPostgresCPUMicros = (b.pgAll - a.pgAll) / n * 1e6
	d := b.db.sub(a.db)
	pc.QueriesPerPoll = float64(d.Queries) / n
	pc.RoundTripsPerPoll = float64(d.RoundTrips) / n
	pc.BytesToPostgresPerPoll = float64(d.BytesOut) / n
	pc.WALBytesPerPoll = float64(b.wal-a.wal) / n
	pc.RunsPerPoll = (b.runs - a.runs) / n
	return pc
}

// window waits warmup, samples, waits window, samples again.
func (s *sampler) window(ctx context.Context, warmup, window time.Duration) (a, b costSample, err error) {
	if err := sleep(ctx, warmup); err != nil {
		return a, b, err
	}
	if a, err = s.sample(ctx); err != nil {
		return a, b, err
	}
	if err := sleep(ctx, window); err != nil {
		return a, b, err
	}
	b, err = s.sample(ctx)
	return a, b, err
}

// MeasureCost runs the two cost windows: pollhook's real worker process and
// the floor, each behind a counting proxy, at cfg's setting.
func MeasureCost(ctx context.Context, cfg Config, build *workerBuild, p *progress) (*CostResult, error) {
	res := &CostResult{}
	var err error
	p.printf("cost: pollhook worker process, %d sessions, %s", cfg.Cost.Sessions, cfg.pollhookSetting())
	if res.Pollhook, err = costPollhook(ctx, cfg, build); err != nil {
		return res, fmt.Errorf("pollhook: %w", err)
	}
	p.printf("cost: pollhook %.0f polls/s, %.0f µs worker CPU, %.0f µs backend CPU, %.2f queries, %.2f round trips, %.0f WAL bytes, %.2f runs per poll",
		res.Pollhook.PollsPerSecond, res.Pollhook.ProcessCPUMicros, res.Pollhook.BackendCPUMicros, res.Pollhook.QueriesPerPoll,
		res.Pollhook.RoundTripsPerPoll, res.Pollhook.WALBytesPerPoll, res.Pollhook.RunsPerPoll)
	p.printf("cost: floor, %d sessions, %s", cfg.Cost.Sessions, cfg.riverSetting())
	if res.Floor, err = costFloor(ctx, cfg); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	p.printf("cost: floor %.0f polls/s, %.0f µs bench CPU, %.0f µs backend CPU, %.2f queries, %.2f round trips, %.0f WAL bytes, %.2f runs per poll",
		res.Floor.PollsPerSecond, res.Floor.ProcessCPUMicros, res.Floor.BackendCPUMicros, res.Floor.QueriesPerPoll,
		res.Floor.RoundTripsPerPoll, res.Floor.WALBytesPerPoll, res.Floor.RunsPerPoll)
	return res, nil
}

// costSessionsRows are n Smart-ID sessions that stay in progress far
// longer than any window (999 in-progress polls).
func costSessionsRows(n int) sessionRows {
	var rows sessionRows
	for range n {
		rows.add(string(upstream.ProviderMarksign), string(upstream.FlowSmartIDIdentification), simulator.MarksignToken(simulator.OutcomeSucceeded, 999))
	}
	return rows
}

func costPollhook(ctx context.Context, cfg Config, build *workerBuild) (_ *PollCost, err error) {
	bin, dir, err := build.get(ctx)
	if err != nil {
		return nil, err
	}
	proxy, err := startPgProxy(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer proxy.close()
	env, err := newSchema(ctx, cfg.DatabaseURL, 5)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.drop()) }()
	var polls atomic.Int64
	prov, err := startProviders(func() { polls.Add(1) })
	if err != nil {
		return nil, err
	}
	defer prov.srv.close()
	sub, err := startSubscriber(nil)
	if err != nil {
		return nil, err
	}
	defer sub.srv.close()
	if err := sub.register(ctx, env.pool); err != nil {
		return nil, err
	}
	set := cfg.pollhookSetting()
	extra := map[string]string{
		"DATABASE_URL":          proxy.url(cfg.DatabaseURL),
		"POLLHOOK_PPROF":        "true",
		"POLLHOOK_POLL_WORKERS": fmt.Sprint(set.Workers),
	}
	if cfg.FetchPollInterval > 0 {
		extra["POLLHOOK_FETCH_POLL_INTERVAL"] = cfg.FetchPollInterval.String()
	}
	for f := range jobs.DefaultConfig().Flows {
		extra["POLLHOOK_BACKOFF_"+strings.ToUpper(string(f))] = nearZeroBackoff
	}
	proc, err := startBenchWorker(ctx, bin, cfg.DatabaseURL, env.schema, prov.srv.url, filepath.Join(dir, "worker-cost.log"), extra)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, proc.stop()) }()
	rows := costSessionsRows(cfg.Cost.Sessions)
	if _, err := rows.insert(ctx, env.pool); err != nil {
		return nil, err
	}
	metricsURL := "http://" + proc.addr + "/metrics"
	s := &sampler{pool: env.pool, proxy: proxy, pid: proc.Pid(), polls: polls.Load,
		runs: func(ctx context.Context) (float64, error) {
			h, err := scrapeHistogram(ctx, metricsURL, "pollhook_poll_lag_seconds")
			return h.total(), err
		}}
	if err := sleep(ctx, cfg.Cost.Warmup); err != nil {
		return nil, err
	}
	profDone := make(chan error, 1)
	var profile string
	if cfg.Cost.ProfileDir != "" {
		profile = filepath.Join(cfg.Cost.ProfileDir, "cost-pollhook.pprof")
		go func() { profDone <- saveProfile(ctx, proc.addr, cfg.Cost.Window, profile) }()
	} else {
		profDone <- nil
	}
	a, b, err := s.window(ctx, 0, cfg.Cost.Window)
	if err != nil {
		return nil, err
	}
	if err := <-profDone; err != nil {
		return nil, err
	}
	pc := cost("pollhook", set, a, b)
	pc.Profile = profile
	return pc, nil
}

func costFloor(ctx context.Context, cfg Config) (_ *PollCost, err error) {
	proxy, err := startPgProxy(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer proxy.close()
	var polls atomic.Int64
	r, err := startFloor(ctx, cfg, proxy.url(cfg.DatabaseURL), func() { polls.Add(1) })
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, r.close()) }()
	// The bench's own queries (WAL position, backends) go around the proxy.
	own, err := newSchema(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, own.drop()) }()
	if err := r.insert(ctx, cfg.Cost.Sessions, 999); err != nil {
		return nil, err
	}
	if err := r.client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start floor client: %w", err)
	}
	s := &sampler{pool: own.pool, proxy: proxy, pid: os.Getpid(), polls: polls.Load,
		runs: func(context.Context) (float64, error) { return float64(r.runs.Load()), nil }}
	a, b, err := s.window(ctx, cfg.Cost.Warmup, cfg.Cost.Window)
	if err != nil {
		return nil, err
	}
	pc := cost("floor", cfg.riverSetting(), a, b)
	pc.BenchCPUMicros = 0 // the process is the bench
	return pc, nil
}
