package webhook

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestDefaultSchedule(t *testing.T) {
	t.Parallel()
	s := DefaultSchedule()
	if got, want := s.String(), "5s,5m0s,30m0s,2h0m0s,5h0m0s,10h0m0s,10h0m0s"; got != want {
		t.Errorf("DefaultSchedule = %s, want %s", got, want)
	}
	if got, want := s.Total(), 27*time.Hour+35*time.Minute+5*time.Second; got != want {
		t.Errorf("Total = %s, want %s (Svix's ~27.6h)", got, want)
	}
	s[0] = time.Hour
	if DefaultSchedule()[0] != 5*time.Second {
		t.Error("DefaultSchedule shares its slice between calls")
	}
}

func TestScheduleDelay(t *testing.T) {
	t.Parallel()
	s := Schedule{time.Second, time.Minute, time.Hour}
	tests := []struct {
		retry int
		rnd   func() float64
		want  time.Duration
	}{
		{0, nil, time.Second},
		{1, nil, time.Minute},
		{2, nil, time.Hour},
		{3, nil, time.Hour},
		{1000, nil, time.Hour},
		{-1, nil, time.Second},
		{1, func() float64 { return 0 }, 48 * time.Second},
		{1, func() float64 { return 0.5 }, time.Minute},
		{1, func() float64 { return 0.999999 }, 72*time.Second - 24*time.Microsecond},
	}
	for _, tt := range tests {
		got := s.Delay(tt.retry, tt.rnd)
		if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("Delay(%d) = %s, want %s", tt.retry, got, tt.want)
		}
	}
	if got := (Schedule{}).Delay(0, rand.Float64); got != 0 {
		t.Errorf("empty schedule Delay = %s, want 0", got)
	}
}

func TestScheduleJitterBounds(t *testing.T) {
	t.Parallel()
	s := DefaultSchedule()
	rng := rand.New(rand.NewPCG(1, 2))
	for retry, base := range s {
		lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
		var below, above bool
		for range 2000 {
			d := s.Delay(retry, rng.Float64)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %s, outside [%s, %s]", retry, d, lo, hi)
			}
			below = below || d < base-base/10
			above = above || d > base+base/10
		}
		if !below || !above {
			t.Errorf("Delay(%d) never strayed 10%% from %s: no jitter", retry, base)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // String of the result; "" = error
	}{
		{"5s,5m,30m", "5s,5m0s,30m0s"},
		{" 1s , 2h ", "1s,2h0m0s"},
		{"90m", "1h30m0s"},
		{"", ""},
		{"5s,,5m", ""},
		{"5s,0s", ""},
		{"5s,-1m", ""},
		{"5x", ""},
		{"5", ""},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseSchedule(%q) = %s, want an error", tt.in, s)
		case tt.want != "" && err != nil:
			t.Errorf("ParseSchedule(%q) error: %v", tt.in, err)
		case tt.want != "" && s.String() != tt.want:
			t.Errorf("ParseSchedule(%q) = %s, want %s", tt.in, s, tt.want)
		}
	}
	s, err := ParseSchedule(DefaultSchedule().String())
	if err != nil || s.String() != DefaultSchedule().String() {
		t.Errorf("ParseSchedule(DefaultSchedule().String()) = %s, %v", s, err)
	}
}

func TestClampRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d, lo, hi, want time.Duration
	}{
		{30 * time.Second, time.Minute, time.Hour, time.Minute},
		{2 * time.Hour, time.Minute, time.Hour, time.Hour},
		{10 * time.Minute, time.Minute, time.Hour, 10 * time.Minute},
		{48 * time.Hour, 0, 0, 48 * time.Hour},
		{0, 0, time.Hour, 0},
	}
	for _, tt := range tests {
		if got := ClampRetryAfter(tt.d, tt.lo, tt.hi); got != tt.want {
			t.Errorf("ClampRetryAfter(%s, %s, %s) = %s, want %s", tt.d, tt.lo, tt.hi, got, tt.want)
		}
	}
}
