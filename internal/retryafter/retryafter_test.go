package retryafter_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/retryafter"
)

func TestParse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const day, year = 24 * time.Hour, 366 * 24 * time.Hour
	tests := []struct {
		value string
		limit time.Duration
		want  time.Duration
	}{
		{"", day, 0},
		{"5", day, 5 * time.Second},
		{" 7 ", year, 7 * time.Second},
		{"0", day, 0},
		{"-3", day, 0},
		{"soon", day, 0},
		{"later", year, 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), day, 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), day, 0},
		{"Sun, 01 Mar 2026 12:02:00 GMT", year, 2 * time.Minute},
		{"Sunday, 01-Mar-26 12:00:30 GMT", year, 30 * time.Second},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), day, day},
		{"99999999999", day, day},
		{"99999999999999", year, year},
	}
	for _, tt := range tests {
		if got := retryafter.Parse(tt.value, now, tt.limit); got != tt.want {
			t.Errorf("Parse(%q, limit %s) = %s, want %s", tt.value, tt.limit, got, tt.want)
		}
	}
}
