// Command worker runs pollhook: it polls registered sessions at their
// providers and delivers the outcomes as signed webhooks. Configuration comes
// from environment variables (see README.md).
//
// Usage:
//
//	worker               run until SIGINT or SIGTERM
//	worker healthcheck   exit 0 if the worker on POLLHOOK_HTTP_ADDR is ready, 1 if not
//	worker --version     print the version
//	worker --help        print the usage
//
// Wrong arguments exit 2 without starting anything.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/cmdline"
	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/logging"
	"github.com/pollhook/pollhook/internal/version"
)

// Exit codes.
const (
	// exitOK: stopped cleanly, or healthy.
	exitOK = 0
	// exitFailed: failed at run time, or not healthy.
	exitFailed = 1
	// exitUsage: wrong arguments or configuration; nothing was started.
	exitUsage = 2
)

const usage = `usage: worker [--version] [--help]
       worker healthcheck

worker runs pollhook: it polls registered sessions at their providers and
delivers their outcomes as signed webhooks, until SIGINT or SIGTERM. Every
setting comes from environment variables (README.md, "Configuration"); run
"migrate up" first.

Commands:
  (none)       run the worker
  healthcheck  GET /readyz on POLLHOOK_HTTP_ADDR (default ` + config.DefaultHTTPAddr + `) and
               exit 0 if the worker is ready, 1 if not: a container healthcheck
               that needs no shell or curl

Flags:
  --version    print the version and exit
  -h, --help   print this help and exit

Exit status: 0 stopped cleanly (or healthy), 1 failed (or not healthy),
2 wrong arguments or configuration.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, config.Environ(os.Environ())))
}

// run runs the command with args (without the program name) in env and
// returns its exit code.
func run(args []string, stdout, stderr io.Writer, env config.Env) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	if code, stop := cmdline.Parse(fs, args, usage, stdout, stderr); stop {
		return code
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
		return runWorker(stderr, env)
	case rest[0] == "healthcheck" && len(rest) == 1:
		return runHealthcheck(stdout, stderr, env)
	case rest[0] == "healthcheck":
		fmt.Fprintf(stderr, "worker: healthcheck takes no arguments, got %q\n\n%s", rest[1:], usage)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "worker: unknown command %q\n\n%s", rest[0], usage)
		return exitUsage
	}
}

// runWorker runs the worker until SIGINT or SIGTERM.
func runWorker(stderr io.Writer, env config.Env) int {
	cfg, err := config.Load(env)
	if err != nil {
		fmt.Fprintln(stderr, "worker:", err)
		return exitUsage
	}
	logger := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	logger.Info("starting worker", "version", version.String())
	w, err := daemon.Start(ctx, cfg, logger)
	if err != nil {
		logger.Error("worker failed to start", "error", err)
		return exitFailed
	}
	<-ctx.Done()
	logger.Info("shutting down: letting running jobs finish (30s at most)")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(sctx); err != nil {
		logger.Error("shutdown", "error", err)
		return exitFailed
	}
	logger.Info("stopped")
	return exitOK
}
