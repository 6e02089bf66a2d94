package invariant

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/internal/whsig"
)

// Worker settings the model depends on.
const (
	upstreamTimeout = time.Second
	fortIDTimeout   = 3 * time.Second
	fortIDGrace     = 2 * time.Second
	marksignDefault = 5 * time.Second
	maxBackoff      = 300 * time.Millisecond
)

// shortDeadline is the shortest app deadline drawn with -invariant.short=false.
// Below it the worker's final poll once led the deadline by a tenth of the
// window (under 300 ms), less than its own pickup lag on a loaded machine:
// long-run seed 3003 (150 sessions, 2 kills, 8 s window, load ~20 on 2
// cores) had sessions #46 (window 1.26 s) and #131 (1.52 s) end at their
// deadline with no poll in their last 426 and 452 ms. The lead now has a
// floor (750 ms or half the window, internal/jobs.FinalPollAt), and such
// deadlines are drawn by default again.
const shortDeadline = 3 * time.Second

// defaultDeadline is how long after registration a session of provider is
// polled when the app gives no deadline, as configured in workerEnv.
func defaultDeadline(provider string) time.Duration {
	if provider == "fortid" {
		return fortIDTimeout + fortIDGrace
	}
	return marksignDefault
}

// params are one run's size and bounds.
type params struct {
	seed     uint64
	sessions int
	window   time.Duration // sessions are registered, cancelled, mutated and the worker killed within it
	kills    int
	settle   time.Duration // I1's bound past the deadline without a kill
	recovery time.Duration // I1's bound past a kill
	lag      time.Duration // I4: a request may arrive this long after the deadline (check-then-send)
	lastPoll time.Duration // I2: slack on the final poll's lead (see finalPollWindow)
	served   time.Duration // I2: a terminal answer written this long before the deadline must be the outcome
	short    bool          // draw app deadlines under shortDeadline too
	classes  map[class]bool
	dirts    map[dirt]bool
}

// registration is how a session is inserted: as an app should, or trying
// to set what only pollhook may.
type registration string

const (
	regValid     registration = "valid"
	regSucceeded registration = "insert state=succeeded"
	regPollJob   registration = "insert poll_job_id"
	regFuture    registration = "insert created_at in the future"
)

// mutation is an app's UPDATE of an identity column in flight.
type mutation struct {
	column string
	at     time.Time
	err    string // the database's refusal, "" if it accepted
}

// plan is one session of the run, drawn from the seed.
type plan struct {
	n          int
	provider   string
	flow       string
	ext        string
	locale     string
	reg        registration
	appDL      time.Duration // app deadline after registration; 0 for none
	registerAt time.Duration // offset in the window
	cancelAt   time.Duration // 0 for no cancel
	mutateAt   time.Duration // 0 for no mutation
	mutateCol  string
	tr         *tracked
}

// session is a plan as it went: what the database said at registration,
// and what the app did to it.
type session struct {
	plan
	id         string // "" if the database refused the registration
	refused    string
	registered time.Time // the inserting transaction's now()
	identity   identity
	cancelled  time.Time // when the app asked to cancel
	mutation   *mutation
}

// identity is what I5 says never changes.
type identity struct {
	provider, flow, ext, account, locale, subscriber string
	created                                          time.Time
}

func (i identity) same(o identity) bool {
	return i.provider == o.provider && i.flow == o.flow && i.ext == o.ext && i.account == o.account &&
		i.locale == o.locale && i.subscriber == o.subscriber && i.created.Equal(o.created)
}

func (i identity) String() string {
	return fmt.Sprintf("%s/%s/%s account=%s locale=%s subscriber=%s created=%s", i.provider, i.flow, i.ext, i.account,
		i.locale, i.subscriber, i.created.UTC().Format("15:04:05.000000"))
}

// finalPollWindow is I2's "last moments" of s: a session that ends at its
// deadline must have had a request in flight this close to the deadline.
// The worker's final poll leads the deadline by at most the request timeout
// and a tenth of the session's window, but by no less than 750 ms or half
// the window (internal/jobs.FinalPollAt); slack covers fetch and scheduling
// lag.
func (s *session) finalPollWindow(slack time.Duration) time.Duration {
	window := s.effectiveDeadline().Sub(s.registered)
	return min(upstreamTimeout, max(window/10, min(750*time.Millisecond, window/2))) + slack
}

// effectiveDeadline is when polling s must stop: the app's deadline if
// sooner than the flow's default.
func (s *session) effectiveDeadline() time.Time {
	d := s.registered.Add(defaultDeadline(s.provider))
	if s.appDL > 0 && s.registered.Add(s.appDL).Before(d) {
		return s.registered.Add(s.appDL)
	}
	return d
}

// run is one run's world.
type run struct {
	p       params
	t       testing.TB
	start   time.Time
	tdb     *testdb.DB
	prov    *provider
	rc      *harness.Receiver
	apiKey  string
	token   string
	bin     string
	logPath string
	mainKey string // one for the run: a restarted worker opens what the first sealed
	// hookSecret signs the subscriber's webhooks; like the keys, it must
	// appear in no log, metric or job.
	hookSecret string
	sessions   []*session

	mu      sync.Mutex
	proc    *harness.Process
	kills   []time.Time
	ready   []time.Time // when the worker started after each kill answered /readyz
	scrapes int
	metric  []string // canary hits in /metrics
	dbErrs  []string
}

// drawPlans draws every session of the run from rng.
func drawPlans(rng *rand.Rand, p params) []plan {
	plans := make([]plan, p.sessions)
	for i := range plans {
		f := flows[rng.IntN(len(flows))]
		pl := plan{n: i + 1, provider: f.provider, flow: f.flow, locale: []string{"lt", "en"}[rng.IntN(2)], reg: regValid}
		if f.provider == "fortid" {
			var b [16]byte
			for j := range b {
				b[j] = byte(rng.UintN(256))
			}
			h := hex.EncodeToString(b[:])
			pl.ext = h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
		} else {
			var b [12]byte
			for j := range b {
				b[j] = byte(rng.UintN(256))
			}
			pl.ext = "tok-" + hex.EncodeToString(b[:])
		}
		switch r := rng.IntN(100); {
		case r < 3:
			pl.reg = regSucceeded
		case r < 6:
			pl.reg = regPollJob
		case r < 9:
			pl.reg = regFuture
		}
		if rng.IntN(5) != 0 {
			// App deadlines 1-6 s after registration; under 3 s unless
			// -invariant.short=false (see shortDeadline).
			lo := shortDeadline
			if p.short {
				lo = time.Second
			}
			pl.appDL = lo + time.Duration(rng.Int64N(int64(6*time.Second-lo)))
		}
		dl := defaultDeadline(pl.provider)
		if pl.appDL > 0 {
			dl = min(dl, pl.appDL)
		}
		pl.registerAt = time.Duration(rng.Int64N(int64(p.window)))
		if rng.IntN(10) == 0 {
			pl.cancelAt = pl.registerAt + time.Duration(rng.Int64N(int64(dl)))
		}
		if rng.IntN(10) == 0 {
			pl.mutateAt = pl.registerAt + time.Duration(rng.Int64N(int64(dl)))
			pl.mutateCol = []string{"external_id", "provider", "flow", "account", "locale", "subscriber", "created_at"}[rng.IntN(7)]
		}
		sc := drawScript(rng, pl.provider, pl.flow, dl, 6)
		sc = filterScript(sc, p)
		pl.tr = &tracked{provider: pl.provider, script: sc}
		plans[i] = pl
	}
	return plans
}

// filterScript drops the classes and dirt the run leaves out.
func filterScript(sc script, p params) script {
	var steps []step
	for _, st := range sc.steps {
		if p.classes[st.class] && (st.class != classDirtyWaiting || p.dirts[st.dirt]) {
			steps = append(steps, st)
		}
	}
	sc.steps = steps
	if sc.term != nil && !p.dirts[sc.term.dirt] {
		t := *sc.term
		t.dirt = dirtNone
		sc.term = &t
	}
	return sc
}

// workerEnv is the worker's configuration for the run.
func (r *run) workerEnv(addr, providerURL string) map[string]string {
	env := map[string]string{
		"DATABASE_URL":                    r.tdb.URL,
		"POLLHOOK_SCHEMA":                 r.tdb.Schema,
		"POLLHOOK_HTTP_ADDR":              addr,
		"POLLHOOK_FORTID_URL":             providerURL,
		"POLLHOOK_FORTID_API_KEY":         r.apiKey,
		"POLLHOOK_MARKSIGN_URL":           providerURL,
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN":  r.token,
		"POLLHOOK_UPSTREAM_TIMEOUT":       upstreamTimeout.String(),
		"POLLHOOK_FORTID_SESSION_TIMEOUT": fortIDTimeout.String(),
		"POLLHOOK_FORTID_GRACE_PERIOD":    fortIDGrace.String(),
		"POLLHOOK_MARKSIGN_DEADLINE":      marksignDefault.String(),
		"POLLHOOK_CREDENTIALS_BACKOFF":    "500ms",
		"POLLHOOK_WEBHOOK_ALLOW_HTTP":     "true",
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":    "127.0.0.0/8",
		"POLLHOOK_MAIN_KEY":               r.mainKey,
		"POLLHOOK_JOB_TIMEOUT":            "3s",
		"POLLHOOK_WEBHOOK_SCHEDULE":       "100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s,1s",
		"POLLHOOK_SWEEP_INTERVAL":         "1s",
		"POLLHOOK_FETCH_POLL_INTERVAL":    "50ms",
		"POLLHOOK_LOG_FORMAT":             "json",
		"POLLHOOK_LOG_LEVEL":              "info",
		"POLLHOOK_POLL_WORKERS":           "50",
		"POLLHOOK_DELIVER_WORKERS":        "20",
		"POLLHOOK_DB_MAX_CONNS":           "30",
	}
	for _, f := range flows {
		env["POLLHOOK_BACKOFF_"+strings.ToUpper(f.flow)] = "50ms,1.5," + maxBackoff.String() + ",0.1"
	}
	// FortID polls sparsely, as by default: a gap of seconds before the
	// deadline is where a missing final poll shows.
	env["POLLHOOK_BACKOFF_VERIFICATION"] = "200ms,2,3s,0.1"
	return env
}

// startWorker starts a worker process and makes it the current one.
func (r *run) startWorker(ctx context.Context, providerURL string) error {
	addr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	r.mu.Lock()
	name := fmt.Sprintf("worker#%d", len(r.kills)+1)
	r.mu.Unlock()
	p, err := harness.Start(ctx, harness.Options{Path: r.bin, Name: name, Env: r.workerEnv(addr, providerURL), LogPath: r.logPath, Addr: addr})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	return nil
}

// scrape reads the current worker's /metrics and notes any canary.
func (r *run) scrape() {
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	if p == nil || p.Exited() {
		return
	}
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get("http://" + p.Addr() + "/metrics")
	if err != nil {
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scrapes++
	for _, line := range strings.Split(string(b), "\n") {
		if hit := r.leak(line); hit != "" && len(r.metric) < 20 {
			r.metric = append(r.metric, hit)
		}
	}
}

// leak returns what secret or canary line contains, or "".
func (r *run) leak(line string) string {
	secrets := []string{r.apiKey, r.token, canaryPrefix}
	if _, key, ok := strings.Cut(r.mainKey, ":"); ok && key != "" {
		secrets = append(secrets, key)
	}
	if b64 := strings.TrimPrefix(r.hookSecret, whsig.SecretPrefix); b64 != "" {
		secrets = append(secrets, b64)
	}
	for _, s := range secrets {
		if strings.Contains(line, s) {
			return fmt.Sprintf("%q in %.300q", s, line)
		}
	}
	return ""
}

// execute runs the whole scenario: worker, registrations, cancels,
// mutations, kills; then waits until every registered session is done (or
// its bound has passed) and stops the worker.
func execute(ctx context.Context, t testing.TB, bin string, p params) *run {
	rng := rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15))
	r := &run{p: p, t: t, bin: bin, tdb: testdb.New(t), logPath: filepath.Join(t.TempDir(), "worker.log"),
		apiKey: canary(rng, "apikey"), token: canary(rng, "token"), mainKey: testdb.MainKey()}
	r.prov = newProvider(r.apiKey, r.token)
	srv := httptest.NewServer(r.prov)
	t.Cleanup(srv.Close)
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	r.hookSecret = secret
	var hookURL string
	r.rc, hookURL = harness.ServeReceiver(t, secret)
	// A tenth of the deliveries fail: retries must keep the one webhook-id.
	seed := p.seed
	r.rc.FailWith(func(n int) harness.Failure {
		if (uint64(n)*2654435761+seed)%10 == 0 {
			return harness.Failure{Status: http.StatusServiceUnavailable}
		}
		return harness.Failure{}
	})
	// "other" is where a mutation tries to move a session.
	for _, name := range []string{"app", "other"} {
		if err := harness.AddSubscriber(ctx, r.tdb.Pool, name, hookURL, secret); err != nil {
			t.Fatal(err)
		}
	}
	plans := drawPlans(rng, p)
	killAt := make([]time.Duration, p.kills)
	for i := range killAt {
		killAt[i] = time.Duration(rng.Int64N(int64(p.window)))
	}
	sort.Slice(killAt, func(i, j int) bool { return killAt[i] < killAt[j] })
	gaps := make([]time.Duration, p.kills)
	for i := range gaps {
		gaps[i] = time.Duration(rng.IntN(400)) * time.Millisecond
	}

	if err := r.startWorker(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.mu.Lock()
		p := r.proc
		r.mu.Unlock()
		if p != nil && !p.Exited() {
			_ = p.Kill()
		}
	})
	r.start = time.Now()
	stopScrape := make(chan struct{})
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		for {
			select {
			case <-stopScrape:
				return
			case <-time.After(300 * time.Millisecond):
				r.scrape()
			}
		}
	}()

	var wg sync.WaitGroup
	// The app: registrations, cancels, mutations, each at its instant.
	r.sessions = make([]*session, len(plans))
	for i, pl := range plans {
		s := &session{plan: pl}
		r.sessions[i] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(r.start.Add(s.registerAt)))
			r.register(ctx, s)
			if s.id == "" {
				return
			}
			// Each act the plan has, at its instant.
			var acts sync.WaitGroup
			actAt := func(at time.Duration, act func(context.Context, *session)) {
				if at > 0 {
					acts.Go(func() {
						time.Sleep(time.Until(r.start.Add(at)))
						act(ctx, s)
					})
				}
			}
			actAt(s.cancelAt, r.cancel)
			actAt(s.mutateAt, r.mutate)
			acts.Wait()
		}()
	}
	// The operator's bad day: SIGKILL at random instants, restart.
	for i, at := range killAt {
		time.Sleep(time.Until(r.start.Add(at)))
		r.mu.Lock()
		proc := r.proc
		r.mu.Unlock()
		r.scrape()
		if err := proc.Kill(); err != nil {
			t.Fatalf("kill: %v\n%s", err, harness.LogTail(r.logPath, 20))
		}
		r.mu.Lock()
		r.kills = append(r.kills, time.Now())
		r.mu.Unlock()
		time.Sleep(gaps[i])
		if err := r.startWorker(ctx, srv.URL); err != nil {
			t.Fatal(err)
		}
		r.mu.Lock()
		r.ready = append(r.ready, time.Now())
		r.mu.Unlock()
	}
	wg.Wait()

	// Wait until every registered session is terminal, delivered and
	// received, or its I1 bound (plus delivery time) has passed for all.
	var latest time.Time
	for _, s := range r.sessions {
		if s.id != "" {
			if b := r.bound(s).Add(10 * time.Second); b.After(latest) {
				latest = b
			}
		}
	}
	for time.Now().Before(latest) {
		if r.allDone(ctx) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stopScrape)
	<-scraped
	r.scrape()
	r.mu.Lock()
	proc := r.proc
	r.mu.Unlock()
	if err := proc.Stop(20 * time.Second); err != nil {
		t.Errorf("stop worker: %v\n%s", err, harness.LogTail(r.logPath, 20))
	}
	return r
}

// register inserts s as the app would (or as a buggy one would).
func (r *run) register(ctx context.Context, s *session) {
	r.prov.add(s.ext, s.tr)
	var deadline any
	if s.appDL > 0 {
		deadline = time.Now().Add(s.appDL)
	}
	cols, vals := "provider, flow, external_id, locale, subscriber, deadline", "$1, $2, $3, $4, 'app', $5"
	switch s.reg {
	case regSucceeded:
		cols, vals = cols+", state", vals+", 'succeeded'"
	case regPollJob:
		cols, vals = cols+", poll_job_id", vals+", 424242"
	case regFuture:
		cols, vals = cols+", created_at", vals+", now() + interval '1 hour'"
	}
	q := `INSERT INTO sessions (` + cols + `) VALUES (` + vals + `)
		RETURNING id::text, now(), provider, flow, external_id, account, locale, subscriber, created_at`
	var id identity
	var sid string
	var now time.Time
	err := r.tdb.Pool.QueryRow(ctx, q, s.provider, s.flow, s.ext, s.locale, deadline).
		Scan(&sid, &now, &id.provider, &id.flow, &id.ext, &id.account, &id.locale, &id.subscriber, &id.created)
	if err != nil {
		s.refused = err.Error()
		if s.reg == regValid {
			r.mu.Lock()
			r.dbErrs = append(r.dbErrs, fmt.Sprintf("session %d: valid registration refused: %v", s.n, err))
			r.mu.Unlock()
		}
		return
	}
	// A deadline given relative to the client's clock: the model uses the
	// database's, so restate appDL against it.
	if s.appDL > 0 {
		s.appDL = deadline.(time.Time).Sub(now)
	}
	s.id, s.registered, s.identity = sid, now, id
	// I5: the registration time is when the row was inserted, whatever
	// created_at the app tried to give.
	s.identity.created = now
	s.tr.mu.Lock()
	s.tr.registered = now
	s.tr.mu.Unlock()
}

// cancel asks pollhook to stop tracking s, as README tells apps to.
func (r *run) cancel(ctx context.Context, s *session) {
	at := time.Now()
	if _, err := r.tdb.Pool.Exec(ctx, `UPDATE sessions SET cancel_requested_at = now() WHERE id = $1`, s.id); err != nil {
		r.mu.Lock()
		r.dbErrs = append(r.dbErrs, fmt.Sprintf("session %d: cancel refused: %v", s.n, err))
		r.mu.Unlock()
		return
	}
	s.cancelled = at
}

// mutate tries to change an identity column of s.
func (r *run) mutate(ctx context.Context, s *session) {
	m := &mutation{column: s.mutateCol, at: time.Now()}
	var q string
	switch s.mutateCol {
	case "external_id":
		if s.provider == "fortid" {
			q = `UPDATE sessions SET external_id = '00000000-0000-4000-a000-000000000000' WHERE id = $1`
		} else {
			q = `UPDATE sessions SET external_id = 'tok-mutated-' || substr(md5(id::text), 1, 8) WHERE id = $1`
		}
	case "provider":
		q = `UPDATE sessions SET provider = CASE provider WHEN 'fortid' THEN 'marksign' ELSE 'fortid' END WHERE id = $1`
	case "flow":
		q = `UPDATE sessions SET flow = CASE flow WHEN 'smartid_signing' THEN 'mobileid_signing' ELSE 'smartid_signing' END WHERE id = $1`
	case "account":
		q = `UPDATE sessions SET account = 'other' WHERE id = $1`
	case "locale":
		q = `UPDATE sessions SET locale = CASE locale WHEN 'lt' THEN 'en' ELSE 'lt' END WHERE id = $1`
	case "subscriber":
		q = `UPDATE sessions SET subscriber = 'other' WHERE id = $1`
	default:
		q = `UPDATE sessions SET created_at = created_at + interval '1 hour' WHERE id = $1`
	}
	if _, err := r.tdb.Pool.Exec(ctx, q, s.id); err != nil {
		m.err = err.Error()
	}
	s.mutation = m
}

// bound is how long the run waits for s: its deadline plus settle, pushed
// to a kill plus recovery by any kill before that (boundFor, known after
// the run, is I1's tighter bound).
func (r *run) bound(s *session) time.Time {
	b := s.effectiveDeadline().Add(r.p.settle)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.kills {
		if k.After(s.registered) && !k.After(b) && k.Add(r.p.recovery).After(b) {
			b = k.Add(r.p.recovery)
		}
	}
	return b
}

// boundFor is I1's bound for s once the run is over: its deadline plus
// settle; after a kill, the restarted worker's readiness plus settle (a
// snoozed job waits for no leader: River makes short snoozes available at
// once); and for a session whose poll job a kill left running (River
// rescued it), the kill plus recovery.
func (r *run) boundFor(s *session, tb tables) time.Time {
	b := s.effectiveDeadline().Add(r.p.settle)
	stuck := len(tb.rescues[s.id]) > 0
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, k := range r.kills {
		if !k.After(s.registered) || k.After(b) {
			continue
		}
		next := k.Add(r.p.recovery)
		if !stuck && i < len(r.ready) {
			next = r.ready[i].Add(r.p.settle)
		}
		if next.After(b) {
			b = next
		}
	}
	return b
}

// allDone reports whether every registered session is terminal, its
// delivery succeeded and its webhook arrived.
func (r *run) allDone(ctx context.Context) bool {
	var open int
	if err := r.tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions s LEFT JOIN deliveries d ON d.session_id = s.id
		WHERE s.finished_at IS NULL OR d.state IS DISTINCT FROM 'succeeded'`).Scan(&open); err != nil {
		return false
	}
	if open > 0 {
		return false
	}
	for _, s := range r.sessions {
		if s.id != "" && len(r.rc.Of(s.id)) == 0 {
			return false
		}
	}
	return true
}
