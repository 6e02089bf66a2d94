// Command pollhookctl is pollhook's operator command line: it manages
// subscribers and their signing secrets, shows sessions and their poll jobs,
// cancels sessions, and lists, redelivers and replays webhook deliveries,
// straight in pollhook's database (DATABASE_URL, POLLHOOK_SCHEMA).
//
// Run "pollhookctl help" for every command. All of it lives in
// internal/cli; this file only wires it to the process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pollhook/pollhook/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs pollhookctl with args until it ends or a signal stops it, and
// returns the exit code.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, args, os.Stdout, os.Stderr, os.Getenv)
}
