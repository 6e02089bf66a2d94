package jobs

import (
	"testing"
	"time"
)

func TestBackoffInterval(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: time.Second, Multiplier: 2, Max: 10 * time.Second}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, time.Second},
		{1, 2 * time.Second},
		{2, 4 * time.Second},
		{3, 8 * time.Second},
		{4, 10 * time.Second},
		{50, 10 * time.Second},
		{1_000_000, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := b.Interval(tt.n); got != tt.want {
			t.Errorf("Interval(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

func TestBackoffIntervalRandomized(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: time.Second, Multiplier: 1.5, Max: 5 * time.Second, Randomization: 0.2}
	for n := range 20 {
		base := min(float64(time.Second)*pow(1.5, n), float64(5*time.Second))
		for range 50 {
			got := float64(b.Interval(n))
			if got < base*0.8-1 || got > base*1.2+1 {
				t.Fatalf("Interval(%d) = %s, want within ±20%% of %s", n, time.Duration(got), time.Duration(base))
			}
		}
	}
}

func TestBackoffValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    Backoff
		ok   bool
	}{
		{"ok", Backoff{Initial: time.Second, Multiplier: 1.5, Max: time.Minute, Randomization: 0.1}, true},
		{"zero initial", Backoff{Multiplier: 1.5, Max: time.Minute}, false},
		{"shrinking", Backoff{Initial: time.Second, Multiplier: 0.5, Max: time.Minute}, false},
		{"max below initial", Backoff{Initial: time.Minute, Multiplier: 2, Max: time.Second}, false},
		{"randomization 1", Backoff{Initial: time.Second, Multiplier: 2, Max: time.Minute, Randomization: 1}, false},
	}
	for _, tt := range tests {
		if err := tt.b.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
