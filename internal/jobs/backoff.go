package jobs

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Backoff is the exponential polling schedule of one flow.
type Backoff struct {
	// Initial is the first interval.
	Initial time.Duration
	// Multiplier grows each interval from the previous one.
	Multiplier float64
	// Max caps an interval.
	Max time.Duration
	// Randomization spreads each interval by ±Randomization of itself.
	Randomization float64
}

// Validate reports a setting that cannot make a schedule.
func (b Backoff) Validate() error {
	switch {
	case b.Initial <= 0:
		return fmt.Errorf("backoff: initial interval %s must be positive", b.Initial)
	case b.Multiplier < 1:
		return fmt.Errorf("backoff: multiplier %g must be at least 1", b.Multiplier)
	case b.Max < b.Initial:
		return fmt.Errorf("backoff: max interval %s is below the initial %s", b.Max, b.Initial)
	case b.Randomization < 0 || b.Randomization >= 1:
		return fmt.Errorf("backoff: randomization %g must be in [0, 1)", b.Randomization)
	}
	return nil
}

// Interval returns the wait after the n-th poll (n from 0). It is derived
// from n alone, which pollhook persists with the job, so a restarted worker
// continues the sequence where it was rather than from the start.
func (b Backoff) Interval(n int) time.Duration {
	eb := b.exponential(b.Randomization)
	// The interval stops growing at Max, so the walk stops there too: at most
	// log(Max/Initial)/log(Multiplier) steps, whatever n is.
	for i := 0; i < n && float64(b.Initial)*pow(b.Multiplier, i) < float64(b.Max); i++ {
		eb.NextBackOff()
	}
	return eb.NextBackOff()
}

// StepsWithin is how many polls the schedule makes within age of a
// session's registration when every poll is on time (without
// randomization). Decide advances the schedule by the poll count or by
// this, whichever is further: a worker that fell behind (a burst of
// registrations, a slow database) slows its sessions down as punctual
// polling would have, instead of keeping them in their fast start and
// itself overloaded.
func (b Backoff) StepsWithin(age time.Duration) int {
	// The library's own unrandomized intervals, so the steps agree with
	// Interval to the nanosecond.
	eb := b.exponential(0)
	n, t, prev := 0, time.Duration(0), time.Duration(-1)
	for {
		iv := eb.NextBackOff()
		switch {
		case t+iv > age:
			return n
		case iv == prev:
			// The interval no longer grows: the rest is a division.
			return n + int((age-t)/iv)
		}
		t, n, prev = t+iv, n+1, iv
	}
}

// exponential is the library's schedule for b with the given
// randomization, never stopping.
func (b Backoff) exponential(randomization float64) *backoff.ExponentialBackOff {
	eb := &backoff.ExponentialBackOff{
		InitialInterval:     b.Initial,
		RandomizationFactor: randomization,
		Multiplier:          b.Multiplier,
		MaxInterval:         b.Max,
		MaxElapsedTime:      0,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	eb.Reset()
	return eb
}

func pow(x float64, n int) float64 {
	r := 1.0
	for range n {
		r *= x
	}
	return r
}
