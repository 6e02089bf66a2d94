package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/testdb"
)

func TestRetentionRedactsOldPersonalDataOnly(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	tdb.ExecInternal(ctx, t, `INSERT INTO subscribers (name, url) VALUES ('app', 'https://app.example/h')`)
	const personal = `{"personal_code": "60001017705", "given_name": "TEN"}`
	for _, s := range []struct {
		token string
		age   string
	}{{"old", "40 days"}, {"new", "1 day"}} {
		tdb.ExecInternal(ctx, t, `WITH s AS (
				INSERT INTO sessions (provider, flow, external_id, subscriber, state, outcome, answer, finished_at, created_at)
				VALUES ('marksign', 'smartid_identification', $1, 'app', 'succeeded', $2, $2, now() - $3::interval, now() - $3::interval)
				RETURNING id),
			d AS (
				INSERT INTO deliveries (webhook_id, session_id, subscriber, event_type, payload, state, created_at)
				SELECT 'msg_' || $1, id, 'app', 'session.succeeded', jsonb_build_object('type', 'session.succeeded', 'data', jsonb_build_object('outcome', $2::jsonb)), 'succeeded', now() - $3::interval FROM s
				RETURNING id)
			INSERT INTO delivery_attempts (delivery_id, subscriber, attempt, attempted_at, duration_ms, url, status_code, response_body)
			SELECT id, 'app', 1, now() - $3::interval, 12, 'https://app.example/h', 200, 'thanks 60001017705' FROM d`, s.token, personal, s.age)
	}

	cfg := jobs.RetentionConfig{RedactAfter: 30 * 24 * time.Hour, DeleteAttemptsAfter: 35 * 24 * time.Hour, Interval: time.Hour}
	res, err := jobs.Retain(ctx, tdb.Pool, cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res != (jobs.RetentionResult{Sessions: 1, Deliveries: 1, AttemptBodies: 1, AttemptsDeleted: 1}) {
		t.Fatalf("result %+v, want one of each", res)
	}
	var oldDump, newDump string
	dump := `SELECT coalesce(s.outcome::text, '') || coalesce(s.answer::text, '') || d.payload::text ||
		coalesce((SELECT string_agg(coalesce(response_body, ''), '') FROM delivery_attempts WHERE delivery_id = d.id), '')
		FROM sessions s JOIN deliveries d ON d.session_id = s.id WHERE s.external_id = $1`
	if err := tdb.Pool.QueryRow(ctx, dump, "old").Scan(&oldDump); err != nil {
		t.Fatal(err)
	}
	if err := tdb.Pool.QueryRow(ctx, dump, "new").Scan(&newDump); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(oldDump, "60001017705") || strings.Contains(oldDump, "TEN") {
		t.Fatalf("old session still holds personal data: %s", oldDump)
	}
	if strings.Count(newDump, "60001017705") != 4 {
		t.Fatalf("recent session lost data it must keep: %s", newDump)
	}
	// A second pass finds nothing more to do.
	if res, err := jobs.Retain(ctx, tdb.Pool, cfg, time.Now()); err != nil || res != (jobs.RetentionResult{}) {
		t.Fatalf("second pass %+v, %v; want nothing", res, err)
	}
}
