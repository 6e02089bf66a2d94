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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
