package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// activeJobStates are the River job states the collector counts: the jobs
// still to run or running. Finalized jobs (completed, cancelled, discarded)
// are left out: their number grows with the retention period, and counting
// them would make a scrape's cost grow with it.
var activeJobStates = []string{"available", "pending", "retryable", "running", "scheduled"}

// Subscriber statuses, the values of pollhook_subscribers' status label.
const (
	subscriberHealthy  = "healthy"
	subscriberFailing  = "failing"
	subscriberDisabled = "disabled"
)

// scrapeTimeout bounds the collector's queries.
const scrapeTimeout = 5 * time.Second

// JobCollector exports, read from the database when Prometheus scrapes:
// River's active jobs by queue and state, the delivery backlog and its
// oldest pending delivery, subscribers by status and sessions in flight.
// Every query reads an index over the unfinished rows only, so a scrape
// costs in proportion to the work in flight, not to the retained history;
// all of them go in one round trip.
type JobCollector struct {
	pool   *pgxpool.Pool
	queues []string
	logger *slog.Logger

	riverJobs         *prometheus.Desc
	backlog           *prometheus.Desc
	oldestPending     *prometheus.Desc
	subscribers       *prometheus.Desc
	sessions          *prometheus.Desc
	oldestUnqueued    *prometheus.Desc
	scrapeErrorsGauge *prometheus.Desc
}

// NewJobCollector returns a collector over pool's schema. queues are the
// River queues whose series are reported even when empty; logger receives
// read failures.
func NewJobCollector(pool *pgxpool.Pool, queues []string, logger *slog.Logger) *JobCollector {
	return &JobCollector{
		pool:   pool,
		logger: logger,
		queues: slices.Sorted(slices.Values(queues)),
		riverJobs: prometheus.NewDesc("pollhook_river_jobs",
			"River jobs not yet finalized, by queue and state (available, pending, retryable, running, scheduled).",
			[]string{"queue", "state"}, nil),
		backlog: prometheus.NewDesc("pollhook_deliveries_pending",
			"Deliveries not yet sent successfully nor given up (the delivery backlog).", nil, nil),
		oldestPending: prometheus.NewDesc("pollhook_delivery_oldest_pending_age_seconds",
			"Age of the oldest pending delivery (0 when none is pending).", nil, nil),
		subscribers: prometheus.NewDesc("pollhook_subscribers",
			"Subscribers by status: healthy, failing (deliveries failing, not yet disabled), disabled.",
			[]string{"status"}, nil),
		sessions: prometheus.NewDesc("pollhook_sessions_active",
			"Sessions not yet ended, by state (pending, polling).", []string{"state"}, nil),
		oldestUnqueued: prometheus.NewDesc("pollhook_session_unqueued_oldest_age_seconds",
			"Age of the oldest pending session without a poll job (registered by SQL and not yet picked up; 0 when none).", nil, nil),
		scrapeErrorsGauge: prometheus.NewDesc("pollhook_state_scrape_error",
			"1 if reading the database for this scrape failed, else 0.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *JobCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.riverJobs, c.backlog, c.oldestPending, c.subscribers, c.sessions, c.oldestUnqueued, c.scrapeErrorsGauge} {
		ch <- d
	}
}

// stateSnapshot is what one scrape reads.
type stateSnapshot struct {
	jobs             map[[2]string]int64 // queue, state
	backlog          int64
	oldestPending    *time.Time
	healthy, failing int64
	disabled         int64
	pending, polling int64
	oldestUnqueued   *time.Time
	databaseNow      time.Time
}

// Collect implements prometheus.Collector.
func (c *JobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		// Not an invalid metric: that would fail the whole scrape and make
		// a database hiccup look like a dead worker (up == 0).
		c.logger.Warn("metrics: cannot read job, delivery and subscriber gauges", "error", err)
		ch <- prometheus.MustNewConstMetric(c.scrapeErrorsGauge, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrorsGauge, prometheus.GaugeValue, 0)
	queues := slices.Clone(c.queues)
	for k := range s.jobs {
		if !slices.Contains(queues, k[0]) {
			queues = append(queues, k[0])
		}
	}
	for _, q := range queues {
		for _, st := range activeJobStates {
			ch <- prometheus.MustNewConstMetric(c.riverJobs, prometheus.GaugeValue, float64(s.jobs[[2]string{q, st}]), q, st)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(s.backlog))
	ch <- prometheus.MustNewConstMetric(c.oldestPending, prometheus.GaugeValue, age(s.databaseNow, s.oldestPending))
	ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(s.healthy), subscriberHealthy)
	ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(s.failing), subscriberFailing)
	ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(s.disabled), subscriberDisabled)
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(s.pending), string(StatePending))
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(s.polling), string(StatePolling))
	ch <- prometheus.MustNewConstMetric(c.oldestUnqueued, prometheus.GaugeValue, age(s.databaseNow, s.oldestUnqueued))
}

// age is now - t in seconds, 0 for no t.
func age(now time.Time, t *time.Time) float64 {
	if t == nil {
		return 0
	}
	return max(now.Sub(*t).Seconds(), 0)
}

// read runs the scrape's queries in one batch.
func (c *JobCollector) read(ctx context.Context) (stateSnapshot, error) {
	s := stateSnapshot{jobs: map[[2]string]int64{}}
	b := &pgx.Batch{}
	// river_job_prioritized_fetching_index leads with state.
	b.Queue(`SELECT queue, state::text, count(*) FROM river_job
		WHERE state = ANY($1::river_job_state[]) GROUP BY queue, state`, activeJobStates).Query(func(rows pgx.Rows) error {
		var queue, state string
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&queue, &state, &n}, func() error {
			s.jobs[[2]string{queue, state}] = n
			return nil
		})
		return err
	})
	// One range of deliveries_subscriber_state_idx per subscriber.
	b.Queue(`SELECT coalesce(sum(d.n), 0)::bigint, min(d.oldest), now() FROM subscribers s
		CROSS JOIN LATERAL (SELECT count(*) AS n, min(created_at) AS oldest FROM deliveries
			WHERE subscriber = s.name AND state = 'pending') d`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.backlog, &s.oldestPending, &s.databaseNow)
	})
	b.Queue(`SELECT count(*) FILTER (WHERE enabled AND failing_since IS NULL),
			count(*) FILTER (WHERE enabled AND failing_since IS NOT NULL),
			count(*) FILTER (WHERE NOT enabled)
		FROM subscribers`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.healthy, &s.failing, &s.disabled)
	})
	// sessions_state_created_idx and sessions_unqueued_idx.
	b.Queue(`SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'polling'),
			(SELECT min(created_at) FROM sessions WHERE state = 'pending' AND poll_job_id IS NULL)
		FROM sessions WHERE state IN ('pending', 'polling')`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.pending, &s.polling, &s.oldestUnqueued)
	})
	if err := c.pool.SendBatch(ctx, b).Close(); err != nil {
		return s, fmt.Errorf("metrics: read state: %w", err)
	}
	return s, nil
}
