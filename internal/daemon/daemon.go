// Package daemon assembles the running pollhook process: the database pool,
// the provider clients, the webhook sender, the River service and the HTTP
// server with health, readiness, metrics, River UI and pprof. cmd/worker runs
// it; the demo, the bench and the tests run it in-process. (River's job
// workers, such as jobs.PollWorker, are a different thing: they live in
// internal/jobs.)
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/upstream"
	"github.com/pollhook/pollhook/internal/webhook"
)

// Daemon is a running pollhook worker process.
type Daemon struct {
	// Pool is the daemon's database pool.
	Pool *pgxpool.Pool
	// riverPool carries River's queue statements (jobs.Deps.RiverPool).
	riverPool *pgxpool.Pool
	// Service runs River and the session listener.
	Service *jobs.Service
	// Addr is the HTTP server's bound address.
	Addr string

	cfg         config.Config
	logger      *slog.Logger
	server      *http.Server
	ln          net.Listener
	stopTracing func(context.Context) error
}

// Start connects, starts River and the HTTP server, and returns the running
// daemon. The schema must be migrated (cmd/migrate up).
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Daemon, error) {
	pool, err := db.Open(ctx, db.Config{URL: cfg.DatabaseURL, Schema: cfg.Schema, MaxConns: int32(cfg.DBMaxConns)})
	if err != nil {
		return nil, err
	}
	// River's queue statements commit without waiting for the WAL flush
	// (see db.Config.AsyncCommit): at 30 000 sessions in flight the fetches
	// and snoozes queued on WAL syncs (docs/BENCHMARKS.md, "What limits the
	// scale").
	riverPool, err := db.Open(ctx, db.Config{URL: cfg.DatabaseURL, Schema: cfg.Schema, MaxConns: riverMaxConns(cfg.DBMaxConns), AsyncCommit: true})
	if err != nil {
		pool.Close()
		return nil, err
	}
	d := &Daemon{Pool: pool, riverPool: riverPool, cfg: cfg, logger: logger}
	if err := d.start(ctx); err != nil {
		pool.Close()
		riverPool.Close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) start(ctx context.Context) error {
	var missing bool
	if err := d.Pool.QueryRow(ctx, "SELECT to_regclass('sessions') IS NULL OR to_regclass('river_job') IS NULL").Scan(&missing); err != nil {
		return fmt.Errorf("daemon: check schema: %w", err)
	}
	if missing {
		return fmt.Errorf("daemon: schema %q is not migrated: run `go run ./cmd/migrate up` first", d.cfg.Schema)
	}
	if err := jobs.PrepareWebhooks(ctx, d.Pool, d.cfg.Jobs.Webhook, d.logger); err != nil {
		return err
	}
	poller, err := upstream.New(d.cfg.Upstream, d.logger.With("component", "upstream"))
	if err != nil {
		return fmt.Errorf("daemon: providers: %w", err)
	}
	middleware, stopTracing, err := tracing(ctx, d.cfg.OTLPEndpoint)
	if err != nil {
		return err
	}
	d.stopTracing = stopTracing
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg, jobs.MetricLabels(d.cfg.Upstream))
	svc, err := jobs.NewService(d.cfg.Jobs, jobs.Deps{
		Pool:                 d.Pool,
		RiverPool:            d.riverPool,
		Schema:               d.cfg.Schema,
		Poller:               poller,
		Sender:               webhook.NewSender(d.cfg.Sender),
		Logger:               d.logger,
		Metrics:              m,
		JobTimeout:           d.cfg.JobTimeout,
		UpstreamTimeout:      d.cfg.Upstream.RequestTimeout,
		WebhookTimeout:       d.cfg.Sender.Timeout,
		RescueStuckJobsAfter: d.cfg.RescueAfter,
		Middleware:           middleware,
	})
	if err != nil {
		return err
	}
	d.Service = svc
	reg.MustRegister(jobs.NewJobCollector(d.Pool, svc.Queues(), d.logger))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		_, _ = rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", d.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if d.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if err := d.mountRiverUI(ctx, mux); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", d.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("daemon: listen on %s: %w", d.cfg.HTTPAddr, err)
	}
	d.ln, d.Addr = ln, ln.Addr().String()
	d.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := d.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.logger.Error("http server stopped", "error", err)
		}
	}()
	if err := svc.Start(ctx); err != nil {
		_ = d.server.Close()
		return err
	}
	d.logger.InfoContext(ctx, "worker started", "http", "http://"+d.Addr, "schema", d.cfg.Schema,
		"poll_workers", d.cfg.Jobs.PollWorkers, "deliver_workers", d.cfg.Jobs.DeliverWorkers)
	return nil
}

// ready answers 200 when the database answers and River runs.
func (d *Daemon) ready(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := d.Pool.Ping(ctx); err != nil {
		http.Error(rw, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	if !d.Service.Started() {
		http.Error(rw, "river not started", http.StatusServiceUnavailable)
		return
	}
	_, _ = rw.Write([]byte("ready\n"))
}

// Stop shuts down: the HTTP server, then River, letting running jobs finish
// until ctx ends (then they are cancelled and retried later), then the pool.
func (d *Daemon) Stop(ctx context.Context) error {
	var errs []error
	if d.server != nil {
		errs = append(errs, d.server.Shutdown(ctx))
	}
	if d.Service != nil {
		errs = append(errs, d.Service.Stop(ctx))
	}
	if d.stopTracing != nil {
		errs = append(errs, d.stopTracing(ctx))
	}
	d.Pool.Close()
	d.riverPool.Close()
	return errors.Join(errs...)
}

// riverMaxConns sizes River's pool: half of pollhook's own (River's
// producers, completer, notifier and maintenance hold connections only
// briefly, the notifier one for good), at least four.
func riverMaxConns(dbMaxConns int) int32 {
	return int32(max(dbMaxConns/2, 4))
}
