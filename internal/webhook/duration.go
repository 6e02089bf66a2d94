package webhook

import (
	"strings"
	"time"
)

// FormatDuration writes d in Go's duration syntax without zero trailing
// units ("5m", "120h", "1h30m", "100ms"), as pollhook's configuration reads
// durations and README documents them. time.ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
