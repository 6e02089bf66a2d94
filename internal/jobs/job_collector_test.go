package jobs_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestJobCollectorReadsTheDatabase checks the scrape-time gauges against
// rows put in the tables: subscribers in each status, a delivery backlog
// with its oldest entry, River jobs by queue and state, a session nobody
// picked up.
func TestJobCollectorReadsTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	for _, q := range []string{
		`INSERT INTO subscribers (name, url, enabled, failing_since) VALUES
			('ok', 'https://ok.example/h', true, NULL),
			('flaky', 'https://flaky.example/h', true, now() - interval '1 hour'),
			('off', 'https://off.example/h', false, NULL)`,
		`INSERT INTO deliveries (webhook_id, subscriber, event_type, payload, state, created_at) VALUES
			('msg_a', 'ok', 'session.succeeded', '{}', 'succeeded', now() - interval '2 hours'),
			('msg_b', 'flaky', 'session.succeeded', '{}', 'pending', now() - interval '600 seconds'),
			('msg_c', 'flaky', 'session.failed', '{}', 'pending', now() - interval '60 seconds'),
			('msg_d', 'off', 'session.failed', '{}', 'paused', now() - interval '3 hours')`,
		`INSERT INTO river_job (kind, args, queue, state, max_attempts, scheduled_at, finalized_at) VALUES
			('pollhook.poll', '{}', 'poll', 'available', 25, now(), NULL),
			('pollhook.poll', '{}', 'poll', 'available', 25, now(), NULL),
			('pollhook.poll', '{}', 'poll', 'scheduled', 25, now() + interval '1 hour', NULL),
			('pollhook.deliver', '{}', 'deliver', 'retryable', 25, now() + interval '1 hour', NULL),
			('pollhook.poll', '{}', 'poll', 'completed', 25, now(), now()),
			('other', '{}', 'elsewhere', 'available', 25, now(), NULL)`,
		`INSERT INTO sessions (provider, flow, external_id, subscriber)
			VALUES ('fortid', 'verification', '7b0c3a52-1f4e-4d7a-9c3b-000000000001', 'ok')`,
	} {
		if _, err := tdb.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(jobs.NewJobCollector(tdb.Pool, []string{"poll", "deliver"}, slog.New(slog.DiscardHandler)))

	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollhook_deliveries_pending Deliveries not yet sent successfully nor given up (the delivery backlog).
# TYPE pollhook_deliveries_pending gauge
pollhook_deliveries_pending 2
# HELP pollhook_subscribers Subscribers by status: healthy, failing (deliveries failing, not yet disabled), disabled.
# TYPE pollhook_subscribers gauge
pollhook_subscribers{status="disabled"} 1
pollhook_subscribers{status="failing"} 1
pollhook_subscribers{status="healthy"} 1
# HELP pollhook_sessions_active Sessions not yet ended, by state (pending, polling).
# TYPE pollhook_sessions_active gauge
pollhook_sessions_active{state="pending"} 1
pollhook_sessions_active{state="polling"} 0
# HELP pollhook_state_scrape_error 1 if reading the database for this scrape failed, else 0.
# TYPE pollhook_state_scrape_error gauge
pollhook_state_scrape_error 0
# HELP pollhook_river_jobs River jobs not yet finalized, by queue and state (available, pending, retryable, running, scheduled).
# TYPE pollhook_river_jobs gauge
pollhook_river_jobs{queue="deliver",state="available"} 0
pollhook_river_jobs{queue="deliver",state="pending"} 0
pollhook_river_jobs{queue="deliver",state="retryable"} 1
pollhook_river_jobs{queue="deliver",state="running"} 0
pollhook_river_jobs{queue="deliver",state="scheduled"} 0
pollhook_river_jobs{queue="elsewhere",state="available"} 1
pollhook_river_jobs{queue="elsewhere",state="pending"} 0
pollhook_river_jobs{queue="elsewhere",state="retryable"} 0
pollhook_river_jobs{queue="elsewhere",state="running"} 0
pollhook_river_jobs{queue="elsewhere",state="scheduled"} 0
pollhook_river_jobs{queue="poll",state="available"} 2
pollhook_river_jobs{queue="poll",state="pending"} 0
pollhook_river_jobs{queue="poll",state="retryable"} 0
pollhook_river_jobs{queue="poll",state="running"} 0
pollhook_river_jobs{queue="poll",state="scheduled"} 1
`), "pollhook_deliveries_pending", "pollhook_subscribers", "pollhook_sessions_active", "pollhook_state_scrape_error", "pollhook_river_jobs"); err != nil {
		t.Error(err)
	}
	// Ages run with the clock: between the rows' ages and a minute more.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		var lo float64
		switch mf.GetName() {
		case "pollhook_delivery_oldest_pending_age_seconds":
			lo = 600
		case "pollhook_session_unqueued_oldest_age_seconds":
			lo = 0 // registered just now
		default:
			continue
		}
		if v := mf.GetMetric()[0].GetGauge().GetValue(); v < lo || v > lo+60 {
			t.Errorf("%s = %v, want about %v", mf.GetName(), v, lo)
		}
	}

	// A database that does not answer: the gauges say so, the scrape still
	// succeeds (up stays 1).
	closed, err := pgxpool.New(ctx, tdb.URL)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	reg = prometheus.NewRegistry()
	reg.MustRegister(jobs.NewJobCollector(closed, []string{"poll"}, slog.New(slog.DiscardHandler)))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pollhook_state_scrape_error 1 if reading the database for this scrape failed, else 0.
# TYPE pollhook_state_scrape_error gauge
pollhook_state_scrape_error 1
`), "pollhook_state_scrape_error"); err != nil {
		t.Error(err)
	}
}
