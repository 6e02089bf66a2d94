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
//	-version                                                 print the version and exit
//
// "simulator healthcheck" (with the same -addr or SIMULATOR_ADDR) exits 0 if
// a simulator answers GET /_sim/healthz on that address, 1 if not: a
// container healthcheck that needs no shell or curl. -h prints the usage.
// Exit status: 0 stopped cleanly (or healthy), 1 failed (or not healthy),
// 2 wrong arguments.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/healthcheck"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// usageHead opens the usage; the flags follow.
const usageHead = `usage: simulator [flags]
       simulator [-addr ADDR] healthcheck

simulator serves a stand-in for the FortID Verifier Service and the Marksign
gateway, with scripted outcomes and optional chaos (package internal/simulator).
"healthcheck" exits 0 if a simulator answers GET /_sim/healthz on ADDR, 1 if not.

Flags (each defaults to its environment variable):
`

// options are the command's settings.
type options struct {
	addr                string
	chaos               float64
	seed                uint64
	slowDelay           time.Duration
	fortIDAPIKey        string
	marksignAccessToken string
	logLevel            slog.Level
	// version is -version.
	version bool
	// command is "" (serve) or "healthcheck".
	command string
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
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, &helpRequest{usage: usageOf(fs)}
		}
		return o, fmt.Errorf("%w\n\n%s", err, usageOf(fs))
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == "healthcheck":
		o.command = rest[0]
	default:
		return o, fmt.Errorf("unexpected argument %q\n\n%s", rest[0], usageOf(fs))
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

// helpRequest is parse's answer to -h: the usage to print.
type helpRequest struct {
	usage string
}

// Error implements error.
func (h *helpRequest) Error() string { return flag.ErrHelp.Error() }

// Unwrap makes errors.Is(err, flag.ErrHelp) hold.
func (h *helpRequest) Unwrap() error { return flag.ErrHelp }

// usageOf is the usage with fs's flags.
func usageOf(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(usageHead)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}

// run runs the command with args (without the program name) and returns its
// exit code.
func run(args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	o, err := parse(args, lookup)
	var help *helpRequest
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.usage)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "simulator:", err)
		return 2
	}
	switch {
	case o.version:
		fmt.Fprintln(stdout, version.Line("simulator"))
		return 0
	case o.command == "healthcheck":
		return runHealthcheck(stdout, stderr, o.addr)
	}
	return serve(o, stderr)
}

// runHealthcheck asks the simulator on addr whether it answers.
func runHealthcheck(stdout, stderr io.Writer, addr string) int {
	url, err := healthcheck.URL(addr, "/_sim/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "simulator healthcheck:", err)
		return 2
	}
	msg, err := healthcheck.Check(context.Background(), url)
	if err != nil {
		fmt.Fprintln(stderr, "simulator healthcheck:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, msg)
	return 0
}

// serve runs the simulator until SIGINT or SIGTERM.
func serve(o options, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
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
