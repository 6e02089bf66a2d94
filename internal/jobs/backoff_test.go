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

func TestBackoffStepsWithin(t *testing.T) {
	t.Parallel()
	// On time, polls come at 0, 1, 3, 7, 15, 25, 35 s...
	b := Backoff{Initial: time.Second, Multiplier: 2, Max: 10 * time.Second}
	tests := []struct {
		age  time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{999 * time.Millisecond, 0},
		{time.Second, 1},
		{2 * time.Second, 1},
		{3 * time.Second, 2},
		{7 * time.Second, 3},
		{14 * time.Second, 3},
		{15 * time.Second, 4},
		{25 * time.Second, 5},
		{34 * time.Second, 5},
		{35 * time.Second, 6},
		{time.Hour, 4 + int((time.Hour-15*time.Second)/(10*time.Second))},
	}
	for _, tt := range tests {
		if got := b.StepsWithin(tt.age); got != tt.want {
			t.Errorf("StepsWithin(%s) = %d, want %d", tt.age, got, tt.want)
		}
	}
	// A schedule that never grows divides at once, however long the age.
	flat := Backoff{Initial: time.Millisecond, Multiplier: 1, Max: time.Millisecond}
	if got := flat.StepsWithin(24 * time.Hour); got != int(24*time.Hour/time.Millisecond) {
		t.Errorf("flat StepsWithin(24h) = %d", got)
	}
}

// TestBackoffStepsWithinMatchesPunctualPolls walks the schedule as a
// punctual poller would and checks that the steps it counts agree with
// Interval at every poll.
func TestBackoffStepsWithinMatchesPunctualPolls(t *testing.T) {
	t.Parallel()
	for _, b := range []Backoff{
		{Initial: 500 * time.Millisecond, Multiplier: 1.08, Max: 5 * time.Second},
		{Initial: 2 * time.Second, Multiplier: 1.5, Max: 15 * time.Second},
		{Initial: time.Second, Multiplier: 1, Max: time.Second},
	} {
		var at time.Duration
		for n := range 200 {
			if got := b.StepsWithin(at); got != n {
				t.Fatalf("%+v: poll %d at %s: StepsWithin = %d", b, n, at, got)
			}
			at += b.Interval(n)
		}
	}
}
