// Command worker runs pollhook: it polls registered sessions at their
// providers and delivers the outcomes as signed webhooks. Configuration comes
// from environment variables (see README.md).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/daemon"
	"github.com/pollhook/pollhook/internal/logging"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := config.Load(config.Environ(os.Environ()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 2
	}
	logger := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	w, err := daemon.Start(ctx, cfg, logger)
	if err != nil {
		logger.Error("worker failed to start", "error", err)
		return 1
	}
	<-ctx.Done()
	logger.Info("shutting down: letting running jobs finish (30s at most)")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Stop(sctx); err != nil {
		logger.Error("shutdown", "error", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}
