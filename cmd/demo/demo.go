package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/logging"
	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/receiver"
)

type options struct {
	keep     bool
	timeout  time.Duration
	httpAddr string
	verbose  bool
	// databaseURL and schema select the database (DATABASE_URL and
	// POLLHOOK_SCHEMA by default).
	databaseURL, schema string
	// logOut receives the components' logs (stderr by default) at logLevel.
	logOut   io.Writer
	logLevel slog.Level
}

// demoSession is one session the demo registers. Its external id follows
// the simulator's naming convention, which scripts the provider's answers.
type demoSession struct {
	provider, flow, locale string
	outcome                simulator.Outcome
	inProgress             int
}

var demoSessions = []demoSession{
	{"marksign", "smartid_identification", "lt", simulator.OutcomeSucceeded, 2},
	{"marksign", "smartid_signing", "en", simulator.OutcomeSucceeded, 3},
	{"marksign", "smartid_hash_signing", "lt", simulator.OutcomeRefused, 1},
	{"marksign", "mobileid_identification", "en", simulator.OutcomeSucceeded, 2},
	{"marksign", "mobileid_signing", "lt", simulator.OutcomeExpired, 2},
	{"marksign", "mobileid_hash_signing", "en", simulator.OutcomeFlaky, 1},
	{"fortid", "verification", "lt", simulator.OutcomeSucceeded, 2},
	{"fortid", "verification", "lt", simulator.OutcomeFailed, 1},
	{"fortid", "verification", "lt", simulator.OutcomeExpired, 2},
}

// printer serialises the demo's output lines.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) line(tag, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%6.2fs  %-8s %s\n", time.Since(p.start).Seconds(), tag, fmt.Sprintf(format, args...))
}

func run(ctx context.Context, out io.Writer, opts options) error {
	p := &printer{w: out, start: time.Now()}
	url, schema := opts.databaseURL, opts.schema
	logger := logging.New(opts.logOut, opts.logLevel, logging.FormatText)

	pool, err := db.Open(ctx, db.Config{URL: url, Schema: schema})
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := migrate.Up(ctx, pool, schema, logger)
	if err != nil {
		return err
	}
	p.line("migrate", "schema %q up to date (%d migrations applied now)", schema, len(applied))

	// The simulated providers, printing every poll they answer.
	sim := simulator.New(simulator.Options{FortIDAPIKey: "demo-fortid-key", MarksignAccessToken: "demo-marksign-token", Logger: logger})
	simURL, closeSim, err := serve(pollPrinter(p, sim))
	if err != nil {
		return err
	}
	defer closeSim()
	p.line("sim", "providers simulated at %s", simURL)

	// The subscriber: a receiver verifying signatures with the demo secret.
	secret, err := webhook.NewSecret()
	if err != nil {
		return err
	}
	verifier, err := receiver.New(receiver.Options{Secrets: []string{secret}})
	if err != nil {
		return err
	}
	arrived := make(chan event.Event, len(demoSessions)*2)
	rcvURL, closeRcv, err := serve(verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, _ := receiver.MessageFrom(r.Context())
		var ev event.Event
		if err := json.Unmarshal(msg.Body, &ev); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		p.line("webhook", "%s %-18s %s/%s ref=%s signature verified", msg.ID, ev.Type, ev.Data.Provider, ev.Data.Flow, deref(ev.Data.AppRef))
		arrived <- ev
		w.WriteHeader(http.StatusNoContent)
	})))
	if err != nil {
		return err
	}
	defer closeRcv()
	if err := upsertSubscriber(ctx, pool, rcvURL+"/hooks", secret); err != nil {
		return err
	}
	p.line("receiver", "subscriber %q at %s/hooks", "demo", rcvURL)

	// A main key of its own: the demo's secret is sealed as in production.
	mainKey, err := seal.Generate("demo")
	if err != nil {
		return err
	}
	cfg, err := config.Load(config.Lookup(map[string]string{
		"DATABASE_URL":                    url,
		"POLLHOOK_SCHEMA":                 schema,
		"POLLHOOK_HTTP_ADDR":              opts.httpAddr,
		"POLLHOOK_FORTID_URL":             simURL,
		"POLLHOOK_FORTID_API_KEY":         "demo-fortid-key",
		"POLLHOOK_MARKSIGN_URL":           simURL,
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN":  "demo-marksign-token",
		"POLLHOOK_WEBHOOK_ALLOW_HTTP":     "true",
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":    "127.0.0.0/8,::1/128",
		"POLLHOOK_RIVERUI_INSECURE":       "true",
		"POLLHOOK_SWEEP_INTERVAL":         "1s",
		"POLLHOOK_FORTID_SESSION_TIMEOUT": "1m",
		"POLLHOOK_FORTID_GRACE_PERIOD":    "30s",
		"POLLHOOK_WEBHOOK_SCHEDULE":       "1s,2s,5s,10s",
		"POLLHOOK_MAIN_KEY":               mainKey,
	}, demoBackoffs()))
	if err != nil {
		return err
	}
	w, err := daemon.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = w.Stop(sctx)
	}()
	p.line("worker", "running: http://%s/riverui/ (River UI)  http://%s/metrics  http://%s/readyz", w.Addr, w.Addr, w.Addr)

	ids, err := register(ctx, pool)
	if err != nil {
		return err
	}
	p.line("register", "%d sessions inserted by one SQL INSERT", len(ids))

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchOutcomes(watchCtx, pool, p, ids)

	timeout := time.After(opts.timeout)
	got := map[string]bool{}
	for len(got) < len(ids) {
		select {
		case ev := <-arrived:
			if _, ours := ids[ev.Data.SessionID]; ours {
				got[ev.Data.SessionID] = true
			}
		case <-timeout:
			return fmt.Errorf("only %d of %d webhooks arrived within %s", len(got), len(ids), opts.timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.line("done", "all %d webhooks arrived, every signature verified", len(ids))
	if opts.keep {
		p.line("keep", "still running (Ctrl-C stops); insert sessions into %s.sessions with subscriber 'demo' to see them flow", schema)
		<-ctx.Done()
	}
	return nil
}

// register inserts the demo sessions with one SQL statement, as an app
// would, and returns their ids.
func register(ctx context.Context, pool *pgxpool.Pool) (map[string]demoSession, error) {
	run := randomHex(4)
	var providers, flows, externalIDs, locales, refs []string
	for i, s := range demoSessions {
		ext := simulator.MarksignToken(s.outcome, s.inProgress) + "-" + run
		if s.provider == "fortid" {
			ext = simulator.FortIDSessionID(s.outcome, s.inProgress)
		}
		providers, flows, externalIDs, locales = append(providers, s.provider), append(flows, s.flow), append(externalIDs, ext), append(locales, s.locale)
		refs = append(refs, fmt.Sprintf("demo-%s-%d", run, i+1))
	}
	rows, err := pool.Query(ctx, `INSERT INTO sessions (provider, flow, external_id, locale, subscriber, app_ref)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], array_fill('demo'::text, ARRAY[$6::int]), $5::text[])
		RETURNING id::text, app_ref`, providers, flows, externalIDs, locales, refs, len(demoSessions))
	if err != nil {
		return nil, fmt.Errorf("register demo sessions: %w", err)
	}
	defer rows.Close()
	ids := map[string]demoSession{}
	for rows.Next() {
		var id, ref string
		if err := rows.Scan(&id, &ref); err != nil {
			return nil, err
		}
		var i int
		_, _ = fmt.Sscanf(ref[strings.LastIndex(ref, "-")+1:], "%d", &i)
		ids[id] = demoSessions[i-1]
	}
	return ids, rows.Err()
}

// watchOutcomes prints each demo session's terminal outcome as the worker
// persists it.
func watchOutcomes(ctx context.Context, pool *pgxpool.Pool, p *printer, ids map[string]demoSession) {
	seen := map[string]bool{}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	for ctx.Err() == nil {
		rows, err := pool.Query(ctx, `SELECT id::text, provider, flow, state, coalesce(error, '') FROM sessions
			WHERE id = ANY($1::uuid[]) AND finished_at IS NOT NULL`, list)
		if err == nil {
			for rows.Next() {
				var id, provider, flow, state, reason string
				if rows.Scan(&id, &provider, &flow, &state, &reason) == nil && !seen[id] {
					seen[id] = true
					if reason != "" {
						reason = " (" + reason + ")"
					}
					p.line("outcome", "%s/%s -> %s%s", provider, flow, state, reason)
				}
			}
			rows.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pollPrinter prints every provider call the simulator answers.
func pollPrinter(p *printer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if !strings.HasPrefix(r.URL.Path, "/_sim/") {
			p.line("poll", "%s %s -> %d", r.Method, r.URL.Path, rec.status)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status before passing it on.
func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// serve runs h on a free loopback port.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func upsertSubscriber(ctx context.Context, pool *pgxpool.Pool, url, secret string) error {
	_, err := pool.Exec(ctx, `WITH s AS (
			INSERT INTO subscribers (name, url) VALUES ('demo', $1)
			ON CONFLICT (name) DO UPDATE SET url = excluded.url, enabled = true, disabled_reason = NULL, failing_since = NULL, updated_at = now()
			RETURNING name
		), d AS (
			DELETE FROM subscriber_secrets WHERE subscriber = 'demo'
		)
		INSERT INTO subscriber_secrets (subscriber, secret) SELECT name, $2 FROM s`, url, secret)
	if err != nil {
		return fmt.Errorf("demo subscriber: %w", err)
	}
	return nil
}

// demoBackoffs polls every flow quickly so the demo ends in seconds.
func demoBackoffs() map[string]string {
	m := map[string]string{}
	for _, s := range demoSessions {
		m["POLLHOOK_BACKOFF_"+strings.ToUpper(s.flow)] = "300ms,1.5,2s,0.1"
	}
	return m
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
