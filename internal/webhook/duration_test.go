package webhook

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		100 * time.Millisecond:        "100ms",
		5 * time.Second:               "5s",
		time.Minute:                   "1m",
		90 * time.Second:              "1m30s",
		2 * time.Hour:                 "2h",
		90 * time.Minute:              "1h30m",
		120 * time.Hour:               "120h",
		time.Hour + time.Second:       "1h0m1s",
		0:                             "0s",
		1500 * time.Microsecond:       "1.5ms",
		30*24*time.Hour + time.Minute: "720h1m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("FormatDuration(%v) = %q reads back as %v, %v", d, FormatDuration(d), back, err)
		}
	}
}
