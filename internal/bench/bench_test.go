package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/testdb"
)

// tinyConfig is a --quick run on tiny numbers.
func tinyConfig() Config {
	c := QuickConfig()
	c.DatabaseURL = testdb.URL()
	c.RiverJobs = 50
	c.PollSessions = 10
	c.PollsInProgress = 3
	c.LatencySessions = 5
	c.Deliveries = 20
	c.TwoWorkersSessions = 30
	c.Anchors.Workers = []int{20}
	c.Cost = CostConfig{Sessions: 10, Warmup: 500 * time.Millisecond, Window: time.Second}
	c.Detection = DetectionConfig{PerFlow: 2, After: 200 * time.Millisecond, Spread: 500 * time.Millisecond}
	c.PollWorkers = 20
	c.Scheduler = SchedulerConfig{Completed: 300, Due: 100}
	c.Scale.Steps = []int{50}
	c.Scale.Warmup = time.Second
	c.Scale.Window = 2 * time.Second
	c.Timeout = 30 * time.Second
	return c
}

func TestRunTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := tinyConfig()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	if r := res.River; r == nil || r.Jobs != 50 || r.JobsPerSecond <= 0 || r.WholeRunPerSecond <= 0 || r.Elapsed <= 0 {
		t.Errorf("river = %+v", r)
	}
	if p := res.Poll; p == nil || p.Polls != 10*4 || p.PollsPerSession != 4 || p.PollsPerSecond <= 0 || p.Elapsed <= 0 {
		t.Errorf("poll = %+v, want 40 polls at a positive rate", p)
	}
	if res.PollToRiver() <= 0 {
		t.Errorf("poll/river ratio = %v", res.PollToRiver())
	}
	if a := res.Anchors; a == nil || len(a.River) != 1 || len(a.Floor) != 1 || len(a.Pollhook) != 1 || a.ToFloor <= 0 || a.ToRiver <= 0 ||
		a.SameSettings <= 0 || a.SameSettingsFloor <= 0 || res.River != &a.River[0] || res.Poll != &a.Pollhook[0] {
		t.Errorf("anchors = %+v, want one run of each at 20 workers, the same-settings figures taken from them", a)
	}
	if c := res.Cost; c == nil || c.Pollhook == nil || c.Floor == nil {
		t.Errorf("cost = %+v, want both windows", c)
	} else {
		for _, pc := range []*PollCost{c.Pollhook, c.Floor} {
			// Every poll is one job run (give or take the window's edges);
			// every system reaches Postgres and writes WAL. CPU is not
			// checked: it comes from /proc in clock ticks (10 ms), and a
			// tiny window may read as zero.
			if pc.Polls <= 0 || pc.RunsPerPoll < 0.5 || pc.RunsPerPoll > 1.5 || pc.RoundTripsPerPoll <= 0 || pc.QueriesPerPoll <= 0 ||
				pc.WALBytesPerPoll <= 0 {
				t.Errorf("%s cost = %+v", pc.System, pc)
			}
		}
	}
	if d := res.Detection; d == nil || len(d.Flows) != 7 {
		t.Errorf("detection = %+v, want 7 flows", d)
	} else {
		for _, f := range d.Flows {
			if f.Sessions != 2 || f.P50 <= 0 || f.P50 > f.P99 || f.PollsPerSession < 1 {
				t.Errorf("detection %s = %+v", f.Flow, f)
			}
		}
	}
	if sc := res.Scheduler; sc == nil || len(sc.Variants) != 3 {
		t.Errorf("scheduler = %+v, want three variants", sc)
	} else {
		for _, v := range sc.Variants {
			if v.Scheduled != 100 || v.Median <= 0 || v.Max < v.Median {
				t.Errorf("scheduler %q = %+v, want the 100 due jobs moved", v.Name, v)
			}
		}
	}
	if l := res.Latency; l == nil || l.Sessions != 5 || l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
		t.Errorf("latency = %+v, want 5 sessions with 0 < p50 <= p95 <= p99 <= max", l)
	}
	if d := res.Delivery; d == nil || d.Deliveries != 20 || d.PerSecond <= 0 {
		t.Errorf("delivery = %+v", d)
	}
	// 30 sessions are too few to require both workers to take a share
	// (one fetch can take them all); internal/faults does, with 600.
	if w := res.TwoWorkers; w == nil || w.Sessions != 30 || w.Lost != 0 || w.NewIDDuplicates != 0 || w.Webhooks < 30 ||
		len(w.RunsByWorker) == 0 || sum(w.RunsByWorker) < 30*4 {
		t.Errorf("two workers = %+v, want every session polled 4 times, nothing lost, no second webhook-id", w)
	}
	s := res.Scale
	if s == nil || len(s.Steps) != 1 {
		t.Fatalf("scale = %+v, want one step", s)
	}
	st := s.Steps[0]
	if st.Sessions != 50 || st.InFlight != 50 || st.RegisterPerSecond <= 0 || st.RSS <= 0 || st.PeakRSS < st.RSS || st.DBBytes <= 0 {
		t.Errorf("scale step = %+v", st)
	}
	if st.LagP50 < 0 || st.LagP50 > st.LagP99 || st.LagUnderTarget < 0 || st.LagUnderTarget > 1 {
		t.Errorf("scale lag: p50 %v p99 %v share %v", st.LagP50, st.LagP99, st.LagUnderTarget)
	}
	if res.Machine.CPUs <= 0 || !strings.Contains(res.Machine.Postgres, "PostgreSQL") {
		t.Errorf("machine = %+v", res.Machine)
	}

	var table, js strings.Builder
	if err := WriteTable(&table, res); err != nil || !strings.Contains(table.String(), "polls/s") {
		t.Errorf("table: %v\n%s", err, table.String())
	}
	if err := WriteJSON(&js, res); err != nil || !strings.Contains(js.String(), `"polls_per_s"`) {
		t.Errorf("json: %v\n%s", err, js.String())
	}
	assertNoBenchSchemas(t, cfg.DatabaseURL, res)
}

// assertNoBenchSchemas checks the run dropped what it created: no schema
// of this run's kind survives (other runs may hold their own meanwhile, so
// only a leak count above zero after a settled run is reported).
func assertNoBenchSchemas(t *testing.T, url string, _ *Results) {
	t.Helper()
	ctx := context.Background()
	env, err := newSchema(ctx, url, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.drop(); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := mustConn(t, url).QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, env.schema).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("schema %s survived drop", env.schema)
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	text := `# TYPE pollhook_poll_lag_seconds histogram
pollhook_poll_lag_seconds_bucket{le="0.1"} 50
pollhook_poll_lag_seconds_bucket{le="0.5"} 90
pollhook_poll_lag_seconds_bucket{le="1"} 99
pollhook_poll_lag_seconds_bucket{le="+Inf"} 100
pollhook_poll_lag_seconds_sum 20
pollhook_poll_lag_seconds_count 100
`
	h, err := parseHistogram(strings.NewReader(text), "pollhook_poll_lag_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.quantile(.5); got != 0.1 {
		t.Errorf("p50 = %v, want 0.1", got)
	}
	if got := h.quantile(.7); got < 0.29 || got > 0.31 {
		t.Errorf("p70 = %v, want 0.3", got)
	}
	if got := h.fractionAtMost(1); got != 0.99 {
		t.Errorf("share <= 1 = %v, want 0.99", got)
	}
	if got := h.sub(h).total(); got != 0 {
		t.Errorf("h - h total = %v", got)
	}
}

func TestMeter(t *testing.T) {
	t.Parallel()
	m := newMeter(10)
	m.begin()
	for range 10 {
		time.Sleep(time.Millisecond)
		m.mark()
	}
	if err := m.wait(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	mid, whole, elapsed := m.rates()
	if mid <= 0 || whole <= 0 || elapsed <= 0 || m.count() != 10 {
		t.Errorf("rates = %v, %v, %v", mid, whole, elapsed)
	}
}

// BenchmarkPollCycle runs b.N polls (sessions of 10 polls, 1 ms backoff)
// through an in-process worker against Postgres and the simulator and
// reports the rate.
func BenchmarkPollCycle(b *testing.B) {
	ctx := context.Background()
	cfg := tinyConfig()
	cfg.Timeout = 5 * time.Minute
	r, err := newPollRig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer r.close()
	n := max(b.N/10, 1)
	b.ResetTimer()
	res, err := r.run(ctx, n, 9)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(res.WholeRunPerSecond, "polls/s")
}

// BenchmarkRiverNoop works b.N no-op River jobs with the poll queue's
// settings and reports the rate.
func BenchmarkRiverNoop(b *testing.B) {
	cfg := tinyConfig()
	cfg.RiverJobs = max(b.N, 10)
	cfg.Timeout = 5 * time.Minute
	res, err := MeasureRiver(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.WholeRunPerSecond, "jobs/s")
}

func mustConn(t *testing.T, url string) *pgxConn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

type pgxConn = pgx.Conn

func sum(xs []int64) int64 {
	var t int64
	for _, x := range xs {
		t += x
	}
	return t
}
