// Package logging builds pollhook's slog logger: tint's coloured lines when
// the output is a terminal, JSON otherwise, unless a format is forced.
// Durations are written in milliseconds in JSON ("duration_ms": 1.5), and
// River's routine timer messages are logged at DEBUG, not INFO.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"
)

// Format names an output format.
type Format string

const (
	// FormatAuto picks text on a terminal and JSON elsewhere.
	FormatAuto Format = "auto"
	// FormatText is tint's human-readable text.
	FormatText Format = "text"
	// FormatJSON is one JSON object per line.
	FormatJSON Format = "json"
)

// ParseLevel reads debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// ParseFormat reads auto, text or json.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatAuto, FormatText, FormatJSON:
		return f, nil
	case "":
		return FormatAuto, nil
	}
	return "", fmt.Errorf("log format %q: use auto, text or json", s)
}

// New returns a logger writing to w at level in format.
func New(w io.Writer, level slog.Level, format Format) *slog.Logger {
	if format == FormatAuto {
		format = FormatJSON
		if isTerminal(w) {
			format = FormatText
		}
	}
	if format == FormatText {
		return slog.New(quietHandler{tint.NewTextHandler(w, &tint.Options{
			Level: level, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w), ReplaceAttr: textDuration,
		})})
	}
	return slog.New(quietHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: jsonDuration})})
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
