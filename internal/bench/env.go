package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/receiver"
)

// Credentials the simulator demands and the worker is given.
const (
	simFortIDKey     = "bench-fortid-key"
	simMarksignToken = "bench-marksign-token"
	subscriberName   = "bench"
)

// schemaEnv is a fresh, migrated schema and a pool on it.
type schemaEnv struct {
	url    string
	schema string
	pool   *pgxpool.Pool
}

// newSchema creates bench_<random> in the database at url and migrates it.
// The caller must call drop, whatever happens next.
func newSchema(ctx context.Context, url string, maxConns int32) (*schemaEnv, error) {
	return newSchemaVia(ctx, url, url, maxConns, false)
}

// newSchemaVia is newSchema with the pool connecting to poolURL (a proxy in
// front of url); the schema is dropped through url. asyncCommit opens the
// pool as pollhook opens River's (db.Config.AsyncCommit): River's no-op and
// the floor run on it, the best setting River has here, as pollhook's own
// River client does.
func newSchemaVia(ctx context.Context, url, poolURL string, maxConns int32, asyncCommit bool) (*schemaEnv, error) {
	var b [5]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	pool, err := db.Open(ctx, db.Config{URL: poolURL, Schema: schema, MaxConns: maxConns, AsyncCommit: asyncCommit})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", schema, err)
	}
	e := &schemaEnv{url: url, schema: schema, pool: pool}
	if _, err := migrate.Up(ctx, pool, schema, discardLogger()); err != nil {
		e.drop()
		return nil, fmt.Errorf("migrate %s: %w", schema, err)
	}
	return e, nil
}

// drop closes the pool and drops the schema. It runs on its own context so
// that it also cleans up after Ctrl-C.
func (e *schemaEnv) drop() error {
	e.pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.url)
	if err != nil {
		return fmt.Errorf("drop %s: connect: %w", e.schema, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{e.schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop %s: %w", e.schema, err)
	}
	return nil
}

// size is the disk size of every table of the schema, indexes and TOAST
// included.
func (e *schemaEnv) size(ctx context.Context) (int64, error) {
	var n int64
	err := e.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'm', 'p')`, e.schema).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("schema size: %w", err)
	}
	return n, nil
}

// server is an HTTP server on a free loopback port.
type server struct {
	url string
	srv *http.Server
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &server{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *server) close() { _ = s.srv.Close() }

// providers is the simulator on a loopback port, counting every status
// poll it answers.
type providers struct {
	sim   *simulator.Simulator
	srv   *server
	polls func() // called once per provider poll; may be nil
}

func startProviders(onPoll func()) (*providers, error) {
	p := &providers{
		sim: simulator.New(simulator.Options{
			FortIDAPIKey:        simFortIDKey,
			MarksignAccessToken: simMarksignToken,
			MaxSessions:         1_000_000,
		}),
		polls: onPoll,
	}
	srv, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.sim.ServeHTTP(w, r)
		if p.polls != nil && !strings.HasPrefix(r.URL.Path, "/_sim/") {
			p.polls()
		}
	}))
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	p.srv = srv
	return p, nil
}

// arrival is a verified webhook as the receiver got it.
type arrival struct {
	at time.Time
	ev event.Event
}

// subscriber is a receiver (verifying signatures, dropping duplicates) on a
// loopback port, registered as subscriber "bench".
type subscriber struct {
	srv    *server
	secret string
}

func startSubscriber(onWebhook func(arrival)) (*subscriber, error) {
	secret, err := webhook.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("subscriber secret: %w", err)
	}
	v, err := receiver.New(receiver.Options{Secrets: []string{secret}})
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	srv, err := serve(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		msg, _ := receiver.MessageFrom(r.Context())
		var ev event.Event
		if err := json.Unmarshal(msg.Body, &ev); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if onWebhook != nil {
			onWebhook(arrival{at: at, ev: ev})
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	return &subscriber{srv: srv, secret: secret}, nil
}

// register inserts subscriber "bench" into the schema.
func (s *subscriber) register(ctx context.Context, pool *pgxpool.Pool) error {
	return harness.AddSubscriber(ctx, pool, subscriberName, s.srv.url+"/hooks", s.secret)
}

// sessionRows are sessions to register, column by column.
type sessionRows struct {
	providers, flows, externalIDs []string
}

func (s *sessionRows) add(provider, flow, externalID string) {
	s.providers = append(s.providers, provider)
	s.flows = append(s.flows, flow)
	s.externalIDs = append(s.externalIDs, externalID)
}

func (s *sessionRows) len() int { return len(s.externalIDs) }

// insert registers the sessions with one INSERT, as an app would, and
// returns how long the statement took.
func (s *sessionRows) insert(ctx context.Context, pool *pgxpool.Pool) (time.Duration, error) {
	start := time.Now()
	tag, err := pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber)
		SELECT p, f, x, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS v(p, f, x)`,
		s.providers, s.flows, s.externalIDs, subscriberName)
	if err != nil {
		return 0, fmt.Errorf("register sessions: %w", err)
	}
	if int(tag.RowsAffected()) != s.len() {
		return 0, fmt.Errorf("register sessions: inserted %d of %d", tag.RowsAffected(), s.len())
	}
	return time.Since(start), nil
}

// workerEnv is the configuration a worker needs to poll the simulator and
// deliver to the loopback receiver.
//
// Every worker of a run must share one main key; this one is fixed, as the
// bench's schemas are throwaway.
func workerEnv(url, schema, simURL, httpAddr string) map[string]string {
	return map[string]string{
		"DATABASE_URL":                   url,
		"POLLHOOK_SCHEMA":                schema,
		"POLLHOOK_HTTP_ADDR":             httpAddr,
		"POLLHOOK_FORTID_URL":            simURL,
		"POLLHOOK_FORTID_API_KEY":        simFortIDKey,
		"POLLHOOK_MARKSIGN_URL":          simURL,
		"POLLHOOK_MARKSIGN_ACCESS_TOKEN": simMarksignToken,
		"POLLHOOK_WEBHOOK_ALLOW_HTTP":    "true",
		"POLLHOOK_MAIN_KEY":              benchMainKey,
		"POLLHOOK_WEBHOOK_ALLOW_CIDRS":   "127.0.0.0/8,::1/128",
	}
}

// benchMainKey seals the bench workers' signing secrets: a fixed 32-byte
// key, fine for throwaway schemas.
const benchMainKey = "bench:YmVuY2gtbWFpbi1rZXktZm9yLXRocm93YXdheS1zY2g="
