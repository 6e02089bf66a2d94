package logging

import (
	"log/slog"
	"math"
	"time"
)

// jsonDuration rewrites a time.Duration attribute for JSON output, where
// slog would write nanoseconds as an integer: "duration": 1234567 becomes
// "duration_ms": 1.235, milliseconds as a number rounded to the microsecond,
// with the unit in the key. Every other attribute passes unchanged.
//
// It is a slog.HandlerOptions.ReplaceAttr function.
func jsonDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	return slog.Float64(a.Key+"_ms", durationMillis(a.Value.Duration()))
}

// durationMillis is d in milliseconds, rounded to three decimals (one
// microsecond).
func durationMillis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// textDuration rounds a time.Duration attribute for text output to the
// microsecond, keeping Go's notation (1.234567s, 15ms).
//
// It is a tint.Options.ReplaceAttr function.
func textDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	return slog.Duration(a.Key, a.Value.Duration().Round(time.Microsecond))
}
