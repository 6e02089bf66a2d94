// Command demo runs pollhook end to end on one machine: it migrates the
// database, starts the provider simulator, a webhook receiver and a worker,
// registers demo sessions with one SQL INSERT, and prints each poll, each
// terminal outcome and each verified webhook as they happen. It exits 0 once
// every demo session's webhook has arrived (-keep keeps it running).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/db"
)

func main() {
	var opts options
	flag.BoolVar(&opts.keep, "keep", false, "keep running after every webhook arrived (Ctrl-C stops)")
	flag.DurationVar(&opts.timeout, "timeout", 2*time.Minute, "give up if the webhooks have not all arrived by then")
	flag.StringVar(&opts.httpAddr, "http", config.DefaultHTTPAddr, "worker HTTP address (health, metrics, River UI)")
	flag.BoolVar(&opts.verbose, "v", false, "show the worker's own logs too")
	flag.Parse()
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

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
