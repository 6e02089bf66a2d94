package logging

import (
	"context"
	"log/slog"
	"strings"
)

// routineRiverMessages are suffixes of River's INFO messages that report
// routine work on a timer, not events: the producer's job counts every 5 s
// while jobs run, and the maintenance services' "Ran successfully" after
// scheduling snoozed jobs or deleting finished ones. River logs them through
// the logger pollhook gives it; quietHandler moves them to DEBUG. Rescued
// jobs (JobRescuer), errors and retries keep their level.
var routineRiverMessages = [...]string{
	": Producer job counts",
	"JobScheduler: Ran successfully",
	"JobCleaner: Ran successfully",
	"QueueCleaner: Ran successfully",
}

// isRoutine reports whether an INFO message is one of River's routine ones.
func isRoutine(msg string) bool {
	for _, s := range routineRiverMessages {
		if strings.HasSuffix(msg, s) {
			return true
		}
	}
	return false
}

// quietHandler demotes River's routine INFO messages to DEBUG and passes
// everything else to the handler it wraps.
type quietHandler struct {
	slog.Handler
}

// Handle implements slog.Handler.
func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && isRoutine(r.Message) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
