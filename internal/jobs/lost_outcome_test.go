package jobs_test

// One test per case of issue 10 ("No lost outcome"), each against real
// Postgres, the real worker and loopback HTTP servers.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/pgjson/pgjsontest"
	"github.com/pollhook/pollhook/track"
)

// scriptedProvider answers each status request from a function of the
// session's external id and how many times it was asked.
type scriptedProvider struct {
	answer func(id string, n int) (status int, header http.Header, body string)

	mu    sync.Mutex
	polls map[string]int
}

func newScripted(answer func(id string, n int) (int, http.Header, string)) *scriptedProvider {
	return &scriptedProvider{answer: answer, polls: map[string]int{}}
}

func (p *scriptedProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, ".json")
	id := path[strings.LastIndexByte(path, '/')+1:]
	p.mu.Lock()
	p.polls[id]++
	n := p.polls[id]
	p.mu.Unlock()
	status, header, body := p.answer(id, n)
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (p *scriptedProvider) pollsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.polls[id]
}

const markOK = `{"status":"ok","country":"EE","code":"60001017705","name":"MARY","surname":"ÄNN"}`

// Case 1: when the next interval would pass the deadline, the session gets
// a final poll in its last moments; the provider's answer then is kept.
// FortID with timeout 3 s and grace 1 s (deadline 4 s after registration),
// backoff 1 s x1.5: polls at about +0, +1 and +2.5 s, then the next
// interval would end at +4.75 s. The provider turns terminal at +3.2 s.
// Without a final poll the session ends expired at +4 s; with it (at +3.6 s)
// it succeeds.
func TestLastPollBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	id := uuidN(101)
	var registered atomic.Int64
	prov := newScripted(func(string, int) (int, http.Header, string) {
		if time.Since(time.Unix(0, registered.Load())) >= 3200*time.Millisecond {
			return 200, nil, `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED","presentedClaims":{"age_over_18":true}}`
		}
		return 200, nil, `{"verificationSessionStatus":"IN_PROGRESS"}`
	})
	h := newHarness(t, prov)
	h.cfg.FortIDTimeout, h.cfg.FortIDGrace = 3*time.Second, time.Second
	fc := h.cfg.Flows["verification"]
	fc.Backoff = jobs.Backoff{Initial: time.Second, Multiplier: 1.5, Max: 10 * time.Second}
	h.cfg.Flows["verification"] = fc
	h.start(t, nil)
	registered.Store(time.Now().UnixNano())
	sid := h.insert(t, "fortid", "verification", id)

	got := h.eventFor(t, sid, 20*time.Second)
	if got.event.Type != event.TypeSucceeded {
		t.Fatalf("event %s (%q) after %d polls, want session.succeeded: the final poll before the deadline saw it",
			got.event.Type, got.event.Data.Error, prov.pollsOf(id))
	}
}

// Case 2: a terminal answer whose bytes Postgres refuses (invalid UTF-8,
// \u0000, lone surrogates, numbers beyond numeric) is still the session's
// outcome, for generated answers too.
func TestTerminalAnswerWithBytesPostgresRefusesIsKept(t *testing.T) {
	t.Parallel()
	const seed = 20261124
	r := rand.New(rand.NewPCG(seed, 2))
	bodies := map[string]string{
		"bad-utf8":   "{\"status\":\"ok\",\"country\":\"EE\",\"code\":\"6000101\xff7705\",\"name\":\"M\xc3\",\"surname\":\"A\"}",
		"nul":        `{"status":"ok","code":"6000\u00001","name":"A","surname":"B","peps_data":{"k":"\u0000"}}`,
		"surrogate":  `{"status":"ok","code":"1","name":"\ud800","surname":"\udfff","sanctions_data":["\ud83d"]}`,
		"big-number": `{"status":"ok","code":"1","name":"A","surname":"B","sanctions_data":{"score":1e200000,"tiny":1e-20000}}`,
	}
	for i := range 40 {
		bodies[fmt.Sprintf("gen-%d", i)] = genOKBody(r)
	}
	prov := newScripted(func(ext string, n int) (int, http.Header, string) {
		if n == 1 {
			return 200, nil, `{"status":"waiting"}`
		}
		return 200, nil, bodies[ext]
	})
	h := newHarness(t, prov)
	h.start(t, nil)
	ids := map[string]string{}
	for token := range bodies {
		ids[token] = h.insert(t, "marksign", "smartid_identification", token)
	}
	for token, sid := range ids {
		got := h.eventFor(t, sid, 30*time.Second)
		if got.event.Type != event.TypeSucceeded || len(got.event.Data.Outcome) < 10 {
			t.Errorf("seed %d, answer %s %q: event %s outcome %s, want session.succeeded with the outcome", seed, token, bodies[token], got.event.Type, got.event.Data.Outcome)
		}
		var stored bool
		if err := h.tdb.Pool.QueryRow(context.Background(), `SELECT outcome IS NOT NULL AND answer IS NOT NULL FROM sessions WHERE id = $1`, sid).Scan(&stored); err != nil || !stored {
			t.Errorf("seed %d, answer %s: outcome and answer stored %v (%v)", seed, token, stored, err)
		}
		if n := prov.pollsOf(token); n != 2 {
			t.Errorf("answer %s: polled %d times, want 2 (no re-poll after the terminal answer)", token, n)
		}
	}
}

// genOKBody is a Marksign "ok" answer whose strings hold random bytes and
// escapes and whose data members hold random JSON.
func genOKBody(r *rand.Rand) string {
	str := func() string { return pgjsontest.String(r) }
	return fmt.Sprintf(`{"status":"ok","country":%s,"code":%s,"name":%s,"surname":%s,"control_code":%s,`+
		`"certificate":{"name":%s,"subject":{"serial_number":%s,"common_name":%s}},"sanctions_data":%s,"peps_data":%s}`,
		str(), str(), str(), str(), str(), str(), str(), str(), pgjsontest.Value(r, 0), pgjsontest.Value(r, 0))
}

// Case 3: values the worker cannot handle are refused at registration, and
// a row from before the rule (an infinite deadline) still ends.
func TestRegistrationRefusesWhatTheWorkerCannotDo(t *testing.T) {
	t.Parallel()
	prov := newScripted(func(string, int) (int, http.Header, string) { return 200, nil, markOK })
	h := newHarness(t, prov)
	ctx := context.Background()
	for _, tt := range []struct {
		name, sql, constraint string
	}{
		{"infinite deadline", `INSERT INTO sessions (provider, flow, external_id, subscriber, deadline) VALUES ('marksign', 'smartid_signing', 'tok-inf', 'app', 'infinity')`, "sessions_deadline_check"},
		{"deadline before registration", `INSERT INTO sessions (provider, flow, external_id, subscriber, deadline) VALUES ('marksign', 'smartid_signing', 'tok-past', 'app', now() - interval '1 minute')`, "sessions_deadline_check"},
		{"129-character token", `INSERT INTO sessions (provider, flow, external_id, subscriber) VALUES ('marksign', 'smartid_signing', repeat('a', 129), 'app')`, "sessions_marksign_token_check"},
		{"infinite cancellation", `INSERT INTO sessions (provider, flow, external_id, subscriber, cancel_requested_at) VALUES ('marksign', 'smartid_signing', 'tok-c', 'app', 'infinity')`, "sessions_cancel_requested_at_check"},
	} {
		_, err := h.tdb.Pool.Exec(ctx, tt.sql)
		if constraintOf(err) != tt.constraint {
			t.Errorf("%s: error %v, want a refusal by %s", tt.name, err, tt.constraint)
		}
	}
	var longest string
	if err := h.tdb.Pool.QueryRow(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
		VALUES ('marksign', 'smartid_signing', repeat('a', 128), 'app') RETURNING id::text`).Scan(&longest); err != nil {
		t.Fatalf("a 128-character token (the client's limit) is refused: %v", err)
	}

	// A row registered before migration 00002 with an infinite deadline.
	var legacy string
	err := pgx.BeginFunc(ctx, h.tdb.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE sessions DISABLE TRIGGER sessions_guard_insert`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber, deadline)
			VALUES ('marksign', 'smartid_signing', 'tok-legacy', 'app', 'infinity') RETURNING id::text`).Scan(&legacy); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `ALTER TABLE sessions ENABLE TRIGGER sessions_guard_insert`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h.start(t, nil)
	for _, sid := range []string{legacy, longest} {
		if got := h.eventFor(t, sid, 20*time.Second); got.event.Type != event.TypeSucceeded {
			t.Fatalf("session %s (the legacy row with an infinite deadline, or the 128-character token): %s, want session.succeeded", sid, got.event.Type)
		}
	}
}

func constraintOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// Case 4: a FortID id in another case is the same session.
func TestFortIDIdsAreOneSessionWhateverTheCase(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newScripted(func(string, int) (int, http.Header, string) {
		return 200, nil, `{"verificationSessionStatus":"VERIFICATION_SUCCEEDED"}`
	}))
	ctx := context.Background()
	upper := "497F6ECA-6276-4993-BFEB-53CBBBBA6F08"
	for _, id := range []string{upper, strings.ToLower(upper), "497f6eca-6276-4993-BFEB-53cbbbba6f08"} {
		if _, err := h.tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
			VALUES ('fortid', 'verification', $1, 'app') ON CONFLICT (provider, external_id) DO NOTHING`, id); err != nil {
			t.Fatal(err)
		}
	}
	tracker, err := track.New(h.tdb.Schema)
	if err != nil {
		t.Fatal(err)
	}
	var reg track.Registration
	err = pgx.BeginFunc(ctx, h.tdb.Pool, func(tx pgx.Tx) error {
		reg, err = tracker.Register(ctx, tx, track.Session{Provider: "fortid", Flow: "verification", ExternalID: upper, Subscriber: "app"})
		return err
	})
	if err != nil || reg.Created {
		t.Fatalf("track.Register of the same id in upper case: %+v, %v; want the existing session", reg, err)
	}
	var n int
	var stored string
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT count(*), min(external_id) FROM sessions`).Scan(&n, &stored); err != nil {
		t.Fatal(err)
	}
	if n != 1 || stored != strings.ToLower(upper) {
		t.Fatalf("%d sessions, id %q; want one, in lower case", n, stored)
	}
	h.start(t, nil)
	h.receiver.waitFor(1, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a wrong second webhook
	if got := len(h.receiver.received); got != 1 {
		t.Fatalf("%d webhooks, want 1", got)
	}
}

// Case 5: an app cannot change a session's identity in flight nor set
// pollhook's own columns; cancellation still works.
func TestAppCannotCorruptASession(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	prov := newScripted(func(ext string, n int) (int, http.Header, string) {
		if ext == "tok-flight" && n == 1 {
			<-release // the app's update happens during this poll
		}
		if ext == "tok-flight" {
			return 200, nil, markOK
		}
		return 200, nil, `{"status":"waiting"}`
	})
	h := newHarness(t, prov)
	ctx := context.Background()
	for _, tt := range []struct{ col, val string }{
		{"state", "'succeeded'"}, {"poll_job_id", "42"}, {"created_at", "now() + interval '1 hour'"},
		{"outcome", `'{"personal_code":"1"}'`}, {"finished_at", "now()"}, {"error", "'x'"},
	} {
		_, err := h.tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber, `+tt.col+`)
			VALUES ('marksign', 'smartid_signing', 'tok-`+tt.col+`', 'app', `+tt.val+`)`)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.ConstraintName != "sessions_owned_columns" || pgErr.ColumnName != tt.col {
			t.Errorf("insert setting %s: %v, want a refusal naming the column", tt.col, err)
		}
	}
	h.start(t, nil)
	sid := h.insert(t, "marksign", "smartid_signing", "tok-flight")
	waitUntil(t, 10*time.Second, func() bool { return prov.pollsOf("tok-flight") == 1 })
	for _, set := range []string{"external_id = 'tok-other'", "account = 'other'", "flow = 'smartid_identification'",
		"subscriber = 'app'", "created_at = now()", "state = 'failed'", "deadline = now() + interval '1 day'"} {
		_, err := h.tdb.Pool.Exec(ctx, `UPDATE sessions SET `+set+` WHERE id = $1`, sid)
		if err == nil && set != "subscriber = 'app'" {
			t.Errorf("UPDATE SET %s during a poll was accepted", set)
		}
	}
	close(release)
	got := h.eventFor(t, sid, 20*time.Second)
	if got.event.Type != event.TypeSucceeded || got.event.Data.ExternalID != "tok-flight" {
		t.Fatalf("event %s for %q, want session.succeeded for tok-flight", got.event.Type, got.event.Data.ExternalID)
	}

	// Cancellation stays possible.
	other := h.insert(t, "marksign", "smartid_signing", "tok-cancel")
	waitUntil(t, 10*time.Second, func() bool { return prov.pollsOf("tok-cancel") >= 1 })
	if _, err := h.tdb.Pool.Exec(ctx, `UPDATE sessions SET cancel_requested_at = now(), updated_at = now() WHERE id = $1`, other); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if got := h.eventFor(t, other, 20*time.Second); got.event.Type != event.TypeCancelled {
		t.Fatalf("event %s, want session.cancelled", got.event.Type)
	}
}

// Case 6: a provider that accepts and never answers holds its own queue's
// slots only: every Marksign session ends while every FortID request is
// still hanging.
func TestDeadProviderDoesNotDelayTheOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var fortidDone atomic.Int32
	prov := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/verification-session/") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			fortidDone.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(markOK))
	})
	h := newHarness(t, prov)
	h.cfg.PollWorkers = 4
	h.deps = func(d *jobs.Deps) {
		// FortID's requests hang until the test ends: no request timeout
		// frees a slot meanwhile, whatever the machine's speed.
		d.Poller = h.poller(t, 5*time.Minute, nil)
	}
	stop := h.start(t, nil)
	defer func() {
		close(release)
		stop()
	}()
	ctx := context.Background()
	if _, err := h.tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
		SELECT 'fortid', 'verification', '7b0c3a52-1f4e-4d7a-9c3b-' || lpad(i::text, 12, '0'), 'app' FROM generate_series(1, 40) AS i`); err != nil {
		t.Fatal(err)
	}
	// Let the FortID jobs take their slots first.
	waitUntil(t, 10*time.Second, func() bool {
		var running int
		_ = h.tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'pollhook.poll' AND state = 'running'`).Scan(&running)
		return running >= 4
	})
	if _, err := h.tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
		SELECT 'marksign', 'smartid_identification', 'tok-live-' || i, 'app' FROM generate_series(1, 20) AS i`); err != nil {
		t.Fatal(err)
	}
	h.receiver.waitFor(20, 30*time.Second)
	if n := fortidDone.Load(); n != 0 {
		t.Fatalf("%d FortID requests returned before the Marksign sessions ended: the Marksign sessions waited for FortID's slots", n)
	}
}

// Case 7: a provider's Retry-After cannot park a session until its
// deadline.
func TestRetryAfterIsBounded(t *testing.T) {
	t.Parallel()
	prov := newScripted(func(ext string, n int) (int, http.Header, string) {
		if n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"999999"}}, `{}`
		}
		return 200, nil, markOK
	})
	h := newHarness(t, prov)
	h.cfg.ProviderRetryAfterMax = 300 * time.Millisecond
	h.start(t, nil)
	sid := h.insert(t, "marksign", "smartid_identification", "tok-429",
		fmt.Sprintf("deadline='%s'", time.Now().Add(4*time.Second).Format(time.RFC3339Nano)))
	got := h.eventFor(t, sid, 20*time.Second)
	if got.event.Type != event.TypeSucceeded || prov.pollsOf("tok-429") != 2 {
		t.Fatalf("event %s after %d polls, want session.succeeded at the second poll", got.event.Type, prov.pollsOf("tok-429"))
	}
}

// Case 8: provider text stays out of logs and job metadata, and a failure
// that many sessions repeat is logged once with a count.
func TestProviderTextStaysOutOfLogsAndMetadata(t *testing.T) {
	t.Parallel()
	const personal = "60001017705"
	prov := newScripted(func(ext string, n int) (int, http.Header, string) {
		switch {
		case n == 1:
			return 200, nil, `{"status":"PNOEE-` + personal + `"}`
		case n == 2:
			return 500, nil, `{"status":"error","error_code":50000,"message":"lookup of ` + personal + ` failed"}`
		case n == 3:
			return 200, nil, `{"status":"error","error_code":99999,"message":"person ` + personal + `"}`
		}
		return 400, nil, `{"status":"error","error_code":40020,"message":"user ` + personal + ` refused"}`
	})
	h := newHarness(t, prov)
	h.cfg.CredentialsBackoff = 100 * time.Millisecond
	var logs cmdtest.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.start(t, logger)
	sid := h.insert(t, "marksign", "smartid_identification", "tok-text")
	got := h.eventFor(t, sid, 20*time.Second)
	if got.event.Type != event.TypeRefused || !strings.Contains(got.event.Data.Error, personal) {
		t.Fatalf("event %s %q: the app gets the provider's message", got.event.Type, got.event.Data.Error)
	}

	// 300 sessions naming an account the worker does not have.
	ctx := context.Background()
	if _, err := h.tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber, account, deadline)
		SELECT 'marksign', 'smartid_signing', 'tok-nobody-' || i, 'app', 'nobody', now() + interval '1500 milliseconds'
		FROM generate_series(1, 300) AS i`); err != nil {
		t.Fatal(err)
	}
	h.receiver.waitFor(301, 60*time.Second)

	var leaks int
	if err := h.tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE metadata::text LIKE $1 OR errors::text LIKE $1 OR args::text LIKE $1`,
		"%"+personal+"%").Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("%d River jobs hold the personal code in their metadata, errors or args", leaks)
	}
	if strings.Contains(logs.String(), personal) {
		t.Errorf("logs hold the personal code:\n%s", grepLines(logs.String(), personal))
	}
	errorLines := strings.Count(logs.String(), `"level":"ERROR"`)
	if errorLines < 1 || errorLines > 2 {
		t.Errorf("%d ERROR lines for 300 sessions of one unconfigured account, want 1 (once a minute)", errorLines)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A handoff the database refuses for a reason no retry fixes ends the
// session without the outcome, at ERROR with the session id, rather than
// polling again until the deadline.
func TestHandoffRefusedForGoodEndsTheSessionLoudly(t *testing.T) {
	t.Parallel()
	prov := newScripted(func(string, int) (int, http.Header, string) { return 200, nil, markOK })
	h := newHarness(t, prov)
	ctx := context.Background()
	// A rule of the operator's that refuses any webhook carrying an outcome.
	if _, err := h.tdb.Pool.Exec(ctx, `CREATE FUNCTION refuse_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF jsonb_typeof(NEW.payload->'data'->'outcome') = 'object' THEN RAISE EXCEPTION 'no outcomes here'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_outcomes BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse_outcomes()`); err != nil {
		t.Fatal(err)
	}
	var logs cmdtest.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h.start(t, logger)
	sid := h.insert(t, "marksign", "smartid_identification", "tok-refused-handoff")
	got := h.eventFor(t, sid, 20*time.Second)
	if got.event.Type != event.TypeSucceeded || !strings.Contains(got.event.Data.Error, "outcome not stored") {
		t.Fatalf("event %s %q, want session.succeeded saying the outcome was not stored", got.event.Type, got.event.Data.Error)
	}
	if n := prov.pollsOf("tok-refused-handoff"); n != 1 {
		t.Fatalf("polled %d times, want 1: no re-poll after the terminal answer", n)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"database refused the session's outcome`) ||
		!strings.Contains(grepLines(logs.String(), `"level":"ERROR"`), sid) || !strings.Contains(logs.String(), `"sqlstate":"P0001"`) {
		t.Fatalf("no ERROR naming the session and the SQLSTATE:\n%s", logs.String())
	}
}
