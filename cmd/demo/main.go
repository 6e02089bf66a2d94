// Command demo runs pollhook end to end on one machine: it migrates the
// database, starts the provider simulator, a webhook receiver and a worker,
// registers demo sessions with one SQL INSERT, and prints each poll, each
// terminal outcome and each verified webhook as they happen. It exits 0 once
// every demo session's webhook has arrived (-keep keeps it running).
//
// -h prints the flags, -version the version; a wrong flag or any argument
// exits 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/version"
)

func main() {
	opts, code, done := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	if done {
		os.Exit(code)
	}
	if ln, err := net.Listen("tcp", opts.httpAddr); err == nil {
		_ = ln.Close()
	} else {
		// Something else holds the port: any free one will do, the demo
		// prints the address it got.
		opts.httpAddr = "127.0.0.1:0"
	}
	opts.databaseURL = envOr("DATABASE_URL", db.DefaultURL)
	opts.schema = envOr("POLLHOOK_SCHEMA", db.DefaultSchema)
	opts.logOut, opts.logLevel = os.Stderr, slog.LevelError
	if opts.verbose {
		opts.logLevel = slog.LevelInfo
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags. done reports that the command has nothing
// more to do (help, version, or a usage error) and should exit with code.
func parseFlags(args []string, stdout, stderr io.Writer) (opts options, code int, done bool) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&opts.keep, "keep", false, "keep running after every webhook arrived (Ctrl-C stops)")
	fs.DurationVar(&opts.timeout, "timeout", 2*time.Minute, "give up if the webhooks have not all arrived by then")
	fs.StringVar(&opts.httpAddr, "http", config.DefaultHTTPAddr, "worker HTTP address (health, metrics, River UI)")
	fs.BoolVar(&opts.verbose, "v", false, "show the worker's own logs too")
	showVersion := fs.Bool("version", false, "print the version and exit")
	usage := func(w io.Writer) {
		fmt.Fprint(w, "usage: demo [flags]\n\nRuns pollhook end to end on this machine (DATABASE_URL, POLLHOOK_SCHEMA) and exits 0\nonce every demo webhook has arrived.\n\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return opts, 0, true
	case err != nil:
		fmt.Fprintf(stderr, "demo: %v\n\n", err)
		usage(stderr)
		return opts, 2, true
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "demo: unexpected argument %q (flags only)\n\n", fs.Arg(0))
		usage(stderr)
		return opts, 2, true
	case *showVersion:
		fmt.Fprintln(stdout, version.Line("demo"))
		return opts, 0, true
	}
	return opts, 0, false
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
