package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/testdb"
)

// Seeded rows every database test starts from (see harness.seed).
const (
	// Subscriber "shop": enabled, one secret.
	shopSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// Subscriber "old": disabled, failing, one secret.
	oldSecret = "whsec_dGhpcyBpcyBub3QgYSByZWFsIHNlY3JldCE="

	// sessionDone is a succeeded Marksign session of shop whose outcome
	// holds a personal code.
	sessionDone = "11111111-1111-4111-8111-111111111111"
	// personalCode is in sessionDone's outcome only.
	personalCode = "38001085718"
	// sessionPolling is a FortID session of shop being polled, with a poll
	// job carrying progress.
	sessionPolling = "22222222-2222-4222-8222-222222222222"
	// pollJobID is sessionPolling's poll job.
	pollJobID = 501

	// Deliveries: 7 failed (shop, sessionDone, two attempts), 8 paused
	// (old), 9 succeeded (shop, two days old).
	deliveryFailed    = 7
	deliveryPaused    = 8
	deliverySucceeded = 9
)

// harness runs pollhookctl against a fresh schema of the test database.
type harness struct {
	db *testdb.DB
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return &harness{db: testdb.New(t)}
}

// getenv is the environment pollhookctl sees: the test schema.
func (h *harness) getenv(key string) string {
	switch key {
	case "DATABASE_URL":
		return h.db.URL
	case "POLLHOOK_SCHEMA":
		return h.db.Schema
	case "POLLHOOK_ALLOW_NO_MAIN_KEY":
		return "true"
	}
	return ""
}

// result is what one Run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// run runs pollhookctl with args and getenv.
func run(t *testing.T, getenv func(string) string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Run(ctx, args, &out, &errOut, getenv)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// run runs pollhookctl on the harness's schema.
func (h *harness) run(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, h.getenv, args...)
}

// exec runs SQL on the test schema as pollhook's own statements do (see
// testdb.DB.ExecInternal).
func (h *harness) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	h.db.ExecInternal(context.Background(), t, sql, args...)
}

// scalar reads one value.
func scalar[T any](t *testing.T, h *harness, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := h.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return v
}

// reset empties every table and seeds the standard rows with plain SQL.
func (h *harness) reset(t *testing.T) {
	t.Helper()
	h.exec(t, `TRUNCATE subscribers, subscriber_secrets, sessions, deliveries, delivery_attempts, river_job RESTART IDENTITY CASCADE`)
	h.exec(t, `INSERT INTO subscribers (name, url) VALUES ('shop', 'https://shop.example/hooks')`)
	h.exec(t, `INSERT INTO subscribers (name, url, enabled, disabled_reason, failing_since)
		VALUES ('old', 'https://old.example/hooks', false, 'deliveries failing for more than 5d', now() - interval '6 days')`)
	h.exec(t, `INSERT INTO subscriber_secrets (subscriber, secret) VALUES ('shop', $1), ('old', $2)`, shopSecret, oldSecret)

	h.exec(t, `INSERT INTO sessions (id, provider, flow, external_id, subscriber, app_ref, locale, state, outcome, finished_at, created_at)
		VALUES ($1, 'marksign', 'smartid_identification', 'tok-done', 'shop', 'order-41', 'en', 'succeeded',
			jsonb_build_object('personal_code', $2::text, 'given_name', 'MARY'), now(), now() - interval '10 minutes')`,
		sessionDone, personalCode)
	h.exec(t, `INSERT INTO river_job (id, state, attempt, max_attempts, kind, queue, args, metadata, scheduled_at)
		VALUES ($1, 'scheduled', 1, 25, 'pollhook.poll', 'poll', jsonb_build_object('session_id', $2::text),
			'{"pollhook": {"polls": 3, "last_result": "transient", "last_http_status": 502, "last_error": "upstream answered 502", "next_poll_at": "2030-01-02T03:04:05Z"}}',
			now() + interval '5 seconds')`, pollJobID, sessionPolling)
	h.exec(t, `INSERT INTO sessions (id, provider, flow, external_id, subscriber, state, poll_job_id)
		VALUES ($1, 'fortid', 'verification', '497f6eca-6276-4993-bfeb-53cbbbba6f08', 'shop', 'polling', $2)`,
		sessionPolling, pollJobID)

	h.exec(t, `INSERT INTO deliveries (id, webhook_id, session_id, subscriber, event_type, payload, state, attempts, last_status, last_error)
		OVERRIDING SYSTEM VALUE
		VALUES ($1, 'msg_failed7', $2, 'shop', 'session.succeeded', jsonb_build_object('personal_code', $3::text), 'failed', 2, 500, 'HTTP 500')`,
		deliveryFailed, sessionDone, personalCode)
	h.exec(t, `INSERT INTO deliveries (id, webhook_id, subscriber, event_type, payload, state)
		OVERRIDING SYSTEM VALUE
		VALUES ($1, 'msg_paused8', 'old', 'session.failed', '{"n": 8}', 'paused')`, deliveryPaused)
	h.exec(t, `INSERT INTO deliveries (id, webhook_id, subscriber, event_type, payload, state, attempts, last_status, delivered_at, created_at)
		OVERRIDING SYSTEM VALUE
		VALUES ($1, 'msg_ok9', 'shop', 'session.expired', '{"n": 9}', 'succeeded', 1, 204, now(), now() - interval '2 days')`, deliverySucceeded)
	h.exec(t, `INSERT INTO delivery_attempts (delivery_id, subscriber, attempt, attempted_at, duration_ms, url, status_code, error, response_body)
		VALUES ($1, 'shop', 1, now() - interval '2 minutes', 1523.4, 'https://shop.example/hooks', NULL, 'connection refused', NULL),
			($1, 'shop', 2, now() - interval '1 minute', 87.2, 'https://shop.example/hooks', 500, 'HTTP 500', '{"error":"database is down"}')`,
		deliveryFailed)
}

// deliverJobs counts the pollhook.deliver jobs of a delivery.
func (h *harness) deliverJobs(t *testing.T, deliveryID int64) int {
	t.Helper()
	return scalar[int](t, h, `SELECT count(*)::int FROM river_job
		WHERE kind = 'pollhook.deliver' AND (args->>'delivery_id')::bigint = $1`, deliveryID)
}

// deliveryState reads a delivery's state.
func (h *harness) deliveryState(t *testing.T, id int64) string {
	t.Helper()
	return scalar[string](t, h, `SELECT state FROM deliveries WHERE id = $1`, id)
}

// wantDelivery fails t unless delivery id is in state with jobs
// pollhook.deliver jobs queued for it.
func (h *harness) wantDelivery(t *testing.T, id int64, state string, jobs int) {
	t.Helper()
	if st, n := h.deliveryState(t, id), h.deliverJobs(t, id); st != state || n != jobs {
		t.Errorf("delivery %d: state %s with %d jobs, want %s with %d", id, st, n, state, jobs)
	}
}

// onlyRow is a dbCase check: the --json list printed holds exactly one row,
// whose id is want; what describes that row for the message.
func onlyRow[Row any, ID comparable](id func(Row) ID, want ID, what string) func(*testing.T, *harness, result) {
	return func(t *testing.T, _ *harness, r result) {
		t.Helper()
		if got := decode[[]Row](t, r); len(got) != 1 || id(got[0]) != want {
			t.Errorf("got %+v, want only %s", got, what)
		}
	}
}

// rowsStartWith is a dbCase check: the table printed has a header and one
// row per prefix, each starting with its prefix ("" for any); what
// describes those rows for the message.
func rowsStartWith(what string, prefixes ...string) func(*testing.T, *harness, result) {
	return func(t *testing.T, _ *harness, r result) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		ok := len(lines) == 1+len(prefixes)
		for i, p := range prefixes {
			ok = ok && strings.HasPrefix(lines[1+i], p)
		}
		if !ok {
			t.Errorf("want the header and %s:\n%s", what, r.stdout)
		}
	}
}

// deliveryRowID and sessionRowID are the ids onlyRow compares.
func deliveryRowID(d deliveryRow) int64 { return d.ID }
func sessionRowID(s sessionRow) string  { return s.ID }

// dbCase is one command run against the seeded schema.
type dbCase struct {
	name string
	// setup changes the seeded rows before the run.
	setup func(t *testing.T, h *harness)
	args  []string
	// code is the exit code wanted.
	code int
	// want and notWant are strings stdout (stderr if code is not 0) must
	// and must not contain.
	want, notWant []string
	// check looks at the output and the database after the run.
	check func(t *testing.T, h *harness, r result)
}

// runDBCases runs cases in order on one schema, reseeding it before each.
func runDBCases(t *testing.T, cases []dbCase) {
	t.Helper()
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.reset(t)
			if tc.setup != nil {
				tc.setup(t, h)
			}
			r := h.run(t, tc.args...)
			if r.code != tc.code {
				t.Fatalf("pollhookctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, r.stderr)
			}
			out := r.stdout
			if tc.code != ExitOK {
				out = r.stderr
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("output contains %q:\n%s%s", w, r.stdout, r.stderr)
				}
			}
			if tc.check != nil {
				tc.check(t, h, r)
			}
		})
	}
}

// decode parses --json output into v, failing t if it does not parse.
func decode[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	return v
}
