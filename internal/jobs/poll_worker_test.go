package jobs_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"

	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/upstream"
)

// TestPollWorkerRuns works single runs of the poll worker with
// rivertest.Worker, without a River client: the first run of a pending
// session, a run woken before its poll is due, and a run for a deleted
// session.
func TestPollWorkerRuns(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	prov := newScripted(func(string, int) (int, http.Header, string) { return 200, nil, `{"status":"waiting"}` })
	srv := httptest.NewServer(prov)
	t.Cleanup(srv.Close)
	poller, err := upstream.New(upstream.Config{
		Marksign: upstream.ProviderConfig{BaseURL: srv.URL, Accounts: upstream.Accounts{"default": testAccessToken}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('app', 'https://app.example/h')`); err != nil {
		t.Fatal(err)
	}
	var sid string
	if err := tdb.Pool.QueryRow(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
		VALUES ('marksign', 'smartid_signing', 'tok-unit', 'app') RETURNING id::text`).Scan(&sid); err != nil {
		t.Fatal(err)
	}
	cfg := jobs.DefaultConfig()
	w := jobs.NewPollWorker(tdb.Pool, poller, cfg, slog.New(slog.DiscardHandler), nil)
	tw := rivertest.NewWorker(t, riverpgxv5.New(tdb.Pool), &river.Config{Schema: tdb.Schema}, w)

	inTx := func(f func(tx pgx.Tx)) {
		tx, err := tdb.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		f(tx)
	}

	inTx(func(tx pgx.Tx) {
		res, err := tw.Work(ctx, t, tx, jobargs.Poll{SessionID: sid, Provider: "marksign"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.EventKind != river.EventKindJobSnoozed || res.Job.Queue != "poll_marksign" {
			t.Fatalf("first run: %s in queue %s, want a snooze in poll_marksign", res.EventKind, res.Job.Queue)
		}
		// Progress as pollhook reads it: a plain in-progress poll writes
		// none, and its next poll time is the job's scheduled_at.
		prog := jobs.ProgressFromJob(res.Job)
		if prog.Polls != 1 || prog.LastResult != "in_progress" || prog.NextPollAt.Before(time.Now()) {
			t.Fatalf("progress after the first run: %+v", prog)
		}
		var state string
		var jobID int64
		if err := tdb.Pool.QueryRow(ctx, `SELECT state, poll_job_id FROM sessions WHERE id = $1`, sid).Scan(&state, &jobID); err != nil {
			t.Fatal(err)
		}
		if state != "polling" || jobID != res.Job.ID {
			t.Fatalf("session %s linked to job %d, want polling linked to %d", state, jobID, res.Job.ID)
		}

		// Woken before its poll is due (a long wait served in steps): it
		// snoozes again without calling the provider.
		polls := prov.pollsOf("tok-unit")
		res, err = tw.WorkJob(ctx, t, tx, res.Job)
		if err != nil {
			t.Fatal(err)
		}
		if res.EventKind != river.EventKindJobSnoozed || prov.pollsOf("tok-unit") != polls {
			t.Fatalf("early run: %s, provider called %d times more", res.EventKind, prov.pollsOf("tok-unit")-polls)
		}
	})

	inTx(func(tx pgx.Tx) {
		res, err := tw.Work(ctx, t, tx, jobargs.Poll{SessionID: "00000000-0000-4000-8000-000000000000", Provider: "marksign"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.EventKind != river.EventKindJobCancelled {
			t.Fatalf("run for a deleted session: %s, want the job cancelled", res.EventKind)
		}
	})
}
