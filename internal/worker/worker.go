// Package worker assembles a pollhook worker process: the database pool,
// the provider clients, the webhook sender, the River service and the HTTP
// server with health, readiness and metrics. cmd/worker runs it; the demo
// and the tests run it in-process.
package worker

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

// Worker is a running pollhook worker.
type Worker struct {
	// Pool is the worker's database pool.
	Pool *pgxpool.Pool
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

// Options tune a worker beyond its configuration (tests, demo, bench).
type Options struct {
	// FetchPollInterval overrides River's fetch poll interval.
	FetchPollInterval time.Duration
}

// Start connects, starts River and the HTTP server, and returns the running
// worker. The schema must be migrated (cmd/migrate up).
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger, opts Options) (*Worker, error) {
	pool, err := db.Open(ctx, db.Config{URL: cfg.DatabaseURL, Schema: cfg.Schema, MaxConns: int32(cfg.DBMaxConns)})
	if err != nil {
		return nil, err
	}
	w := &Worker{Pool: pool, cfg: cfg, logger: logger}
	if err := w.start(ctx, opts); err != nil {
		pool.Close()
		return nil, err
	}
	return w, nil
}

func (w *Worker) start(ctx context.Context, opts Options) error {
	var missing bool
	if err := w.Pool.QueryRow(ctx, "SELECT to_regclass('sessions') IS NULL OR to_regclass('river_job') IS NULL").Scan(&missing); err != nil {
		return fmt.Errorf("worker: check schema: %w", err)
	}
	if missing {
		return fmt.Errorf("worker: schema %q is not migrated: run `go run ./cmd/migrate up` first", w.cfg.Schema)
	}
	if err := jobs.PrepareWebhooks(ctx, w.Pool, w.cfg.Jobs.Webhook, w.logger); err != nil {
		return err
	}
	poller, err := upstream.New(w.cfg.Upstream, w.logger.With("component", "upstream"))
	if err != nil {
		return fmt.Errorf("worker: providers: %w", err)
	}
	middleware, stopTracing, err := tracing(ctx, w.cfg.OTLPEndpoint)
	if err != nil {
		return err
	}
	w.stopTracing = stopTracing
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	svc, err := jobs.NewService(w.cfg.Jobs, jobs.Deps{
		Pool:                 w.Pool,
		Schema:               w.cfg.Schema,
		Poller:               poller,
		Sender:               webhook.NewSender(w.cfg.Sender),
		Logger:               w.logger,
		Metrics:              m,
		JobTimeout:           w.cfg.JobTimeout,
		RescueStuckJobsAfter: w.cfg.RescueAfter,
		FetchPollInterval:    opts.FetchPollInterval,
		Middleware:           middleware,
	})
	if err != nil {
		return err
	}
	w.Service = svc
	reg.MustRegister(jobs.NewJobCollector(w.Pool))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		_, _ = rw.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", w.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if w.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if err := w.mountRiverUI(ctx, mux); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", w.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("worker: listen on %s: %w", w.cfg.HTTPAddr, err)
	}
	w.ln, w.Addr = ln, ln.Addr().String()
	w.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := w.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.logger.Error("http server stopped", "error", err)
		}
	}()
	if err := svc.Start(ctx); err != nil {
		_ = w.server.Close()
		return err
	}
	w.logger.InfoContext(ctx, "worker started", "http", "http://"+w.Addr, "schema", w.cfg.Schema,
		"poll_workers", w.cfg.Jobs.PollWorkers, "deliver_workers", w.cfg.Jobs.DeliverWorkers)
	return nil
}

// ready answers 200 when the database answers and River runs.
func (w *Worker) ready(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := w.Pool.Ping(ctx); err != nil {
		http.Error(rw, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	if !w.Service.Started() {
		http.Error(rw, "river not started", http.StatusServiceUnavailable)
		return
	}
	_, _ = rw.Write([]byte("ready\n"))
}

// Stop shuts down: the HTTP server, then River, letting running jobs finish
// until ctx ends (then they are cancelled and retried later), then the pool.
func (w *Worker) Stop(ctx context.Context) error {
	var errs []error
	if w.server != nil {
		errs = append(errs, w.server.Shutdown(ctx))
	}
	if w.Service != nil {
		errs = append(errs, w.Service.Stop(ctx))
	}
	if w.stopTracing != nil {
		errs = append(errs, w.stopTracing(ctx))
	}
	w.Pool.Close()
	return errors.Join(errs...)
}
