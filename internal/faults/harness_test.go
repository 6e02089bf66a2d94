package faults

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/logging"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/internal/whsig"
)

// Credentials the simulator demands, so a test also shows that the worker
// reads its provider keys from the environment.
const (
	fortIDKey     = "faults-fortid-key"
	marksignToken = "faults-marksign-token"
	subscriber    = "app"
)

// bins holds the worker binary, built once per test run.
var bins harness.Binaries

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// workerBinary builds ./cmd/worker (without -race: the worker under test is
// a production build) the first time a test asks, and returns its path.
func workerBinary(t testing.TB) string {
	t.Helper()
	return bins.Path(t, harness.WorkerPackage)
}

// settings are a worker's environment variables.
type settings map[string]string

// deploymentSettings are only what a deployment must set, here for a
// worker on schema at dbURL with both providers at providerURL: no
// timeout, rescue, backoff or worker count, so those stay at their
// defaults. Webhooks may go to loopback and logs are JSON.
func deploymentSettings(dbURL, schema, providerURL string) settings {
	return settings{
		"DATABASE_URL":                   dbURL,
		"POLLHOOK_SCHEMA":                schema,
		"POLLHOOK_FORTID_URL":            providerURL,
		"POLLHOOK_FORTID_API_KEY":        fortIDKey,
		"POLLHOOK_MARKSIGN_URL":          providerURL,
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN": marksignToken,
		"POLLHOOK_WEBHOOK_ALLOW_HTTP":    "true",
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":   "127.0.0.0/8",
		"POLLHOOK_MAIN_KEY":              testdb.MainKey(),
		"POLLHOOK_LOG_FORMAT":            "json",
	}
}

// baseSettings configures a worker for the fault tests: the deployment
// settings plus fast polling and retries, a short maintenance job timeout,
// warn-level logs and half the default worker counts.
func baseSettings(dbURL, schema, providerURL string) settings {
	s := deploymentSettings(dbURL, schema, providerURL).with(
		"POLLHOOK_HTTP_ADDR", "127.0.0.1:0",
		"POLLHOOK_JOB_TIMEOUT", "5s",
		"POLLHOOK_WEBHOOK_SCHEDULE", "200ms,500ms,1s,2s,2s,2s,2s",
		"POLLHOOK_SWEEP_INTERVAL", "1s",
		"POLLHOOK_LOG_LEVEL", "warn",
		// Half the defaults: at most 80 connections per worker, so the tests
		// stay good neighbours on a shared server.
		"POLLHOOK_POLL_WORKERS", "50",
		"POLLHOOK_DELIVER_WORKERS", "20",
	)
	for flow := range jobs.DefaultConfig().Flows {
		s["POLLHOOK_BACKOFF_"+strings.ToUpper(string(flow))] = "50ms,1.5,300ms,0.1"
	}
	return s
}

// with returns a copy of s with kv (name, value, name, value, ...) set.
func (s settings) with(kv ...string) settings {
	out := make(settings, len(s)+len(kv)/2)
	for k, v := range s {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// startInProcessWorker runs a worker in the test process (so under the race
// detector) with settings s, logging to logPath; it is stopped when t ends.
func startInProcessWorker(ctx context.Context, t testing.TB, s settings, logPath string) *daemon.Daemon {
	t.Helper()
	cfg, err := config.Load(config.Env(s))
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	logger := logging.New(logFile, cfg.LogLevel, logging.FormatJSON)
	w, err := daemon.Start(ctx, cfg, logger)
	if err != nil {
		_ = logFile.Close()
		t.Fatalf("start worker: %v\n%s", err, harness.LogTail(logPath, 20))
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Stop(sctx); err != nil {
			t.Errorf("stop worker: %v", err)
		}
		_ = logFile.Close()
	})
	return w
}

// newSimulator serves a simulator demanding the test credentials and
// returns it with its URL.
func newSimulator(t testing.TB, opts simulator.Options) (*simulator.Simulator, string) {
	t.Helper()
	opts.FortIDAPIKey, opts.MarksignAccessToken = fortIDKey, marksignToken
	sim := simulator.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// seededRand returns a random source for session scripts from a fresh
// seed, which it logs so that a failing run can be replayed.
func seededRand(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed)), seed
}

// scene is where a fault test with scripted sessions runs: a fresh schema,
// a simulator demanding the test credentials, and a seeded random source
// for the scripts.
type scene struct {
	tdb    *testdb.DB
	sim    *simulator.Simulator
	simURL string
	rng    *rand.Rand
}

// newScene sets up a scene for t with a simulator configured by opts. The
// simulator's chaos choices follow the logged seed too.
func newScene(t testing.TB, opts simulator.Options) scene {
	t.Helper()
	tdb := testdb.New(t)
	rng, seed := seededRand(t)
	opts.Seed = seed
	sim, simURL := newSimulator(t, opts)
	return scene{tdb: tdb, sim: sim, simURL: simURL, rng: rng}
}

// settings are baseSettings for a worker on the scene's schema and
// simulator.
func (sc scene) settings() settings { return baseSettings(sc.tdb.URL, sc.tdb.Schema, sc.simURL) }

// newSubscriber serves a recording receiver on a loopback port and inserts
// the subscriber row pointing at it.
func newSubscriber(ctx context.Context, t testing.TB, pool *pgxpool.Pool) *harness.Receiver {
	t.Helper()
	secret := whsig.NewSecret()
	rc, url := harness.ServeReceiver(t, secret)
	if err := harness.AddSubscriber(ctx, pool, subscriber, url, secret); err != nil {
		t.Fatal(err)
	}
	return rc
}

// startWorkerProc starts the worker binary bin with settings s on a free
// HTTP address, its logs appended to logPath, and, if ready, waits for its
// /readyz. It is killed when t ends if it still runs.
func startWorkerProc(ctx context.Context, t testing.TB, bin, name string, s settings, logPath string, ready bool) *harness.Process {
	t.Helper()
	addr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	opts := harness.Options{Path: bin, Name: name, Env: s.with("POLLHOOK_HTTP_ADDR", addr), LogPath: logPath}
	if ready {
		opts.Addr = addr
	}
	p, err := harness.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.Exited() {
			_ = p.Kill()
		}
	})
	return p
}

// answers (see the simulator's id conventions).
type plan struct {
	provider, flow, externalID, locale string
	outcome                            simulator.Outcome
	inProgress                         int
	want                               string // the terminal state the script leads to
}

// flows are every provider flow, FortID's first.
var flows = []struct{ provider, flow string }{
	{"fortid", string(upstream.FlowFortIDVerification)},
	{"marksign", string(upstream.FlowSmartIDIdentification)},
	{"marksign", string(upstream.FlowSmartIDSigning)},
	{"marksign", string(upstream.FlowSmartIDHashSigning)},
	{"marksign", string(upstream.FlowMobileIDIdentification)},
	{"marksign", string(upstream.FlowMobileIDSigning)},
	{"marksign", string(upstream.FlowMobileIDHashSigning)},
}

// endingOutcomes are the scripted outcomes that end by themselves quickly:
// not malformed (never ends) nor slow (2 s per answer).
var endingOutcomes = []simulator.Outcome{
	simulator.OutcomeSucceeded, simulator.OutcomeFailed, simulator.OutcomeRefused, simulator.OutcomeExpired,
	simulator.OutcomeNotFound, simulator.OutcomeRejected, simulator.OutcomeFlaky, simulator.OutcomeUnknownStatus,
}

// wantState is the terminal state pollhook must reach for outcome at
// provider, per the simulator's documented answers.
func wantState(provider string, o simulator.Outcome) string {
	switch o {
	case simulator.OutcomeSucceeded, simulator.OutcomeFlaky, simulator.OutcomeSlow, simulator.OutcomeUnknownStatus:
		return "succeeded"
	case simulator.OutcomeRefused:
		if provider == "fortid" {
			return "failed" // FortID has no refusal: VERIFICATION_FAILED
		}
		return "refused"
	}
	return string(o) // failed, expired, not_found, rejected
}

// scriptedPolls is how many scripted answers p's script has up to and
// including its terminal one.
func (p plan) scriptedPolls() int {
	if p.outcome == simulator.OutcomeFlaky {
		return p.inProgress + 2 + 1 // the convention's 2 server errors
	}
	return p.inProgress + 1
}

// makePlans returns n sessions cycling through every flow, with outcomes
// drawn from outcomes and minIP to maxIP in-progress polls each (at most 1
// for a slow script).
func makePlans(rng *rand.Rand, n int, outcomes []simulator.Outcome, minIP, maxIP int) []plan {
	plans := make([]plan, n)
	for i := range plans {
		outcome, inProgress := outcomes[rng.IntN(len(outcomes))], minIP+rng.IntN(maxIP-minIP+1)
		if outcome == simulator.OutcomeSlow {
			inProgress = min(inProgress, 1) // 2 s per answer
		}
		plans[i] = newPlan(i, outcome, inProgress, []string{"lt", "en"}[rng.IntN(2)])
	}
	return plans
}

// newPlan returns the i-th session of a run, in flow i modulo the flows:
// its external id scripts outcome after inProgress in-progress answers.
func newPlan(i int, outcome simulator.Outcome, inProgress int, locale string) plan {
	f := flows[i%len(flows)]
	p := plan{provider: f.provider, flow: f.flow, outcome: outcome, inProgress: inProgress, locale: locale,
		want: wantState(f.provider, outcome)}
	if p.provider == "fortid" {
		p.externalID = simulator.FortIDSessionID(outcome, inProgress)
	} else {
		p.externalID = simulator.MarksignToken(outcome, inProgress)
	}
	return p
}

// register inserts plans with ONE SQL statement, as an app would, and
// returns them by session id.
func register(ctx context.Context, pool *pgxpool.Pool, plans []plan) (map[string]plan, error) {
	var providers, flowNames, externalIDs, locales []string
	byExternal := make(map[string]plan, len(plans))
	for _, p := range plans {
		providers, flowNames = append(providers, p.provider), append(flowNames, p.flow)
		externalIDs, locales = append(externalIDs, p.externalID), append(locales, p.locale)
		byExternal[p.externalID] = p
	}
	rows, err := pool.Query(ctx, `INSERT INTO sessions (provider, flow, external_id, locale, subscriber)
		SELECT p, f, e, l, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(p, f, e, l)
		RETURNING id::text, external_id`, providers, flowNames, externalIDs, locales, subscriber)
	if err != nil {
		return nil, fmt.Errorf("register %d sessions: %w", len(plans), err)
	}
	defer rows.Close()
	out := make(map[string]plan, len(plans))
	for rows.Next() {
		var id, ext string
		if err := rows.Scan(&id, &ext); err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		out[id] = byExternal[ext]
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if len(out) != len(plans) {
		return nil, fmt.Errorf("register: %d sessions inserted, want %d", len(out), len(plans))
	}
	return out, nil
}

// registerScripted registers plans, failing t on error. The simulator's id
// convention scripts them; a FortID "expired" id answers 410 through a long
// grace period, as FortID does, so a poll repeated after a crash (at-least-
// once polling) still reads expired.
func registerScripted(ctx context.Context, t testing.TB, pool *pgxpool.Pool, plans []plan) map[string]plan {
	t.Helper()
	registered, err := register(ctx, pool, plans)
	if err != nil {
		t.Fatal(err)
	}
	return registered
}

// merge returns the union of session maps.
func merge(ms ...map[string]plan) map[string]plan {
	out := map[string]plan{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// waitFor calls cond every 100 ms until it reports done, ctx ends or
// timeout passes; then it fails t with what and cond's last status.
func waitFor(ctx context.Context, t testing.TB, timeout time.Duration, what string, cond func(context.Context) (done bool, status string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, status := cond(ctx)
		if done {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not done within %s: %s", what, timeout, status)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// progress is one look at how far a run is.
type progress struct {
	open      int // sessions not terminal
	pending   int // deliveries missing or not succeeded
	received  int // sessions with a webhook received
	sessions  int
	riverJobs string // River jobs by kind and state, for failure messages
}

func (p progress) done() bool { return p.open == 0 && p.pending == 0 && p.received == p.sessions }

func (p progress) String() string {
	return fmt.Sprintf("%d of %d sessions not terminal, %d deliveries not succeeded, %d of %d webhooks received; River jobs: %s",
		p.open, p.sessions, p.pending, p.received, p.sessions, p.riverJobs)
}

// look reads the run's progress.
func look(ctx context.Context, pool *pgxpool.Pool, rc *harness.Receiver, sessions int) (progress, error) {
	p := progress{sessions: sessions, received: rc.Sessions()}
	err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE s.finished_at IS NULL),
			count(*) FILTER (WHERE d.state IS DISTINCT FROM 'succeeded')
		FROM sessions s LEFT JOIN deliveries d ON d.session_id = s.id`).Scan(&p.open, &p.pending)
	if err != nil {
		return p, fmt.Errorf("look: %w", err)
	}
	rows, err := pool.Query(ctx, `SELECT kind || ':' || state || '=' || count(*) FROM river_job GROUP BY kind, state ORDER BY 1`)
	if err != nil {
		return p, fmt.Errorf("look: river jobs: %w", err)
	}
	var parts []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return p, fmt.Errorf("look: river jobs: %w", err)
		}
		parts = append(parts, s)
	}
	rows.Close()
	p.riverJobs = strings.Join(parts, " ")
	return p, rows.Err()
}

// waitDone waits until every session is terminal, its delivery succeeded and
// its webhook was received.
func waitDone(ctx context.Context, t testing.TB, pool *pgxpool.Pool, rc *harness.Receiver, sessions int, timeout time.Duration, logs ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p, err := look(ctx, pool, rc, sessions)
		if err == nil && p.done() {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			msg := fmt.Sprintf("run not finished within %s: %v (last error: %v)", timeout, p, err)
			for _, l := range logs {
				msg += "\n" + harness.LogTail(l, 15)
			}
			t.Fatal(msg)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// figures are a run's outcome as the final checks saw it.
type figures struct {
	sessions   int
	webhooks   int // sessions whose webhook arrived
	copies     int // verified copies received, duplicates included
	duplicates int // copies beyond the first, all with the first's webhook-id
	lost       int // sessions whose webhook never arrived
	attempts   int // delivery attempts pollhook recorded
}

// checkRun asserts the promises: every session terminal in its scripted
// state; its delivery succeeded; its webhook received at least once, every
// copy with the delivery's webhook-id and the session's state; no webhook-id
// for two sessions; no copy that failed verification.
func checkRun(ctx context.Context, t testing.TB, pool *pgxpool.Pool, rc *harness.Receiver, sessions map[string]plan) figures {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT s.id::text, s.state, coalesce(d.webhook_id, ''), coalesce(d.state, ''), coalesce(d.attempts, 0)
		FROM sessions s LEFT JOIN deliveries d ON d.session_id = s.id`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		state, webhookID, delivery string
		attempts                   int
	}
	got := map[string]row{}
	for rows.Next() {
		var id string
		var r row
		if err := rows.Scan(&id, &r.state, &r.webhookID, &r.delivery, &r.attempts); err != nil {
			t.Fatal(err)
		}
		got[id] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	verified, _, bad := rc.Counts()
	f := figures{sessions: len(sessions), copies: verified}
	var problems []string
	problem := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(got) != len(sessions) {
		problem("%d sessions in the database, want %d", len(got), len(sessions))
	}
	ids := make([]string, 0, len(sessions))
	for id := range sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p, r := sessions[id], got[id]
		f.attempts += r.attempts
		if r.state != p.want {
			problem("session %s (%s %s, script %s after %d in progress): state %q, want %q", id, p.provider, p.flow, p.outcome, p.inProgress, r.state, p.want)
		}
		if r.delivery != string(webhook.StateSucceeded) {
			problem("session %s: delivery %s is %q, want succeeded", id, r.webhookID, r.delivery)
		}
		copies := rc.Of(id)
		if len(copies) == 0 {
			f.lost++
			problem("session %s: webhook never received (delivery %s %q, %d attempts)", id, r.webhookID, r.delivery, r.attempts)
			continue
		}
		f.webhooks++
		f.duplicates += len(copies) - 1
		for i, c := range copies {
			if c.WebhookID != copies[0].WebhookID {
				problem("session %s: copy %d has webhook-id %s, the first had %s", id, i+1, c.WebhookID, copies[0].WebhookID)
			}
		}
		if copies[0].WebhookID != r.webhookID {
			problem("session %s: received webhook-id %s, the delivery's is %s", id, copies[0].WebhookID, r.webhookID)
		}
		if st := copies[0].Event.Data.State; st != p.want {
			problem("session %s: webhook says state %q, want %q", id, st, p.want)
		}
	}
	for _, d := range rc.Deliveries() {
		if _, ok := sessions[d.Event.Data.SessionID]; !ok {
			problem("webhook received for unknown session %s", d.Event.Data.SessionID)
		}
	}
	for _, c := range rc.Conflicts() {
		problem("%s", c)
	}
	if bad > 0 {
		problem("%d webhooks failed verification", bad)
	}
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more problems", len(problems)-i)
			break
		}
		t.Error(p)
	}
	return f
}

// riverCount runs a count query on River's tables.
func riverCount(ctx context.Context, pool *pgxpool.Pool, query string, args ...any) (int, error) {
	var n int
	if err := pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// discardLogger is a logger for harness parts whose logs do not matter.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
