// Command simulator serves a stand-in for the providers pollhook polls: the
// FortID Verifier Service and the Marksign gateway's six status endpoints,
// with scripted outcomes and optional chaos. See package
// internal/simulator for the endpoints and the id/token convention.
//
// Flags (each with an environment variable as default):
//
//	-addr                   SIMULATOR_ADDR                   listen address (127.0.0.1:8088)
//	-chaos                  SIMULATOR_CHAOS                  probability of a transient failure per poll (0)
//	-seed                   SIMULATOR_SEED                   chaos seed, 0 for random (0)
//	-slow-delay             SIMULATOR_SLOW_DELAY             delay of slow chaos answers (15s)
//	-fortid-api-key         SIMULATOR_FORTID_API_KEY         the only FortID API key accepted (any if empty)
//	-marksign-access-token  SIMULATOR_MARKSIGN_ACCESS_TOKEN  the only Marksign access token accepted (any if empty)
//	-log-level              SIMULATOR_LOG_LEVEL              debug, info, warn or error (info)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/simulator"
)

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv))
}

// options are the command's settings.
type options struct {
	addr                string
	chaos               float64
	seed                uint64
	slowDelay           time.Duration
	fortIDAPIKey        string
	marksignAccessToken string
	logLevel            slog.Level
}

// parse reads the flags, whose defaults come from the environment.
func parse(args []string, lookup func(string) (string, bool)) (options, error) {
	env := func(name, def string) string {
		if v, ok := lookup(name); ok && v != "" {
			return v
		}
		return def
	}
	var o options
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", env("SIMULATOR_ADDR", "127.0.0.1:8088"), "listen address (env SIMULATOR_ADDR)")
	chaos := fs.String("chaos", env("SIMULATOR_CHAOS", "0"), "probability 0..1 of a transient failure per poll (env SIMULATOR_CHAOS)")
	seed := fs.String("seed", env("SIMULATOR_SEED", "0"), "chaos seed, 0 for random (env SIMULATOR_SEED)")
	slow := fs.String("slow-delay", env("SIMULATOR_SLOW_DELAY", simulator.DefaultSlowDelay.String()), "delay of slow chaos answers (env SIMULATOR_SLOW_DELAY)")
	fs.StringVar(&o.fortIDAPIKey, "fortid-api-key", env("SIMULATOR_FORTID_API_KEY", ""), "the only FortID API key accepted; any if empty (env SIMULATOR_FORTID_API_KEY)")
	fs.StringVar(&o.marksignAccessToken, "marksign-access-token", env("SIMULATOR_MARKSIGN_ACCESS_TOKEN", ""), "the only Marksign access token accepted; any if empty (env SIMULATOR_MARKSIGN_ACCESS_TOKEN)")
	level := fs.String("log-level", env("SIMULATOR_LOG_LEVEL", "info"), "debug, info, warn or error (env SIMULATOR_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.chaos, err = strconv.ParseFloat(*chaos, 64); err != nil || o.chaos < 0 || o.chaos > 1 {
		return o, fmt.Errorf("chaos %q must be a number between 0 and 1", *chaos)
	}
	if o.seed, err = strconv.ParseUint(*seed, 10, 64); err != nil {
		return o, fmt.Errorf("seed %q must be a non-negative integer", *seed)
	}
	if o.slowDelay, err = time.ParseDuration(*slow); err != nil || o.slowDelay <= 0 {
		return o, fmt.Errorf("slow delay %q must be a positive Go duration such as 15s", *slow)
	}
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return o, fmt.Errorf("log level %q: %w", *level, err)
	}
	return o, nil
}

func run(args []string, lookup func(string) (string, bool)) int {
	o, err := parse(args, lookup)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "simulator:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.logLevel}))
	sim := simulator.New(simulator.Options{
		Chaos:               o.chaos,
		Seed:                o.seed,
		SlowDelay:           o.slowDelay,
		FortIDAPIKey:        o.fortIDAPIKey,
		MarksignAccessToken: o.marksignAccessToken,
		Logger:              logger,
	})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		logger.Error("listen", "addr", o.addr, "error", err)
		return 1
	}
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("simulator listening", "addr", ln.Addr().String(), "chaos", o.chaos,
		"fortid_key_required", o.fortIDAPIKey != "", "marksign_token_required", o.marksignAccessToken != "")

	select {
	case err := <-errc:
		logger.Error("serve", "error", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("shutdown", "error", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}
