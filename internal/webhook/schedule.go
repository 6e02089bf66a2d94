package webhook

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// jitter is the spread of a retry delay: ±20% of it, as Svix does.
const jitter = 0.2

// Schedule is the delay before each retry of a delivery; the first attempt
// is immediate, so a schedule of n delays allows n+1 attempts.
type Schedule []time.Duration

// DefaultSchedule returns Svix's schedule: 5s, 5m, 30m, 2h, 5h, 10h, 10h,
// about 27.6 hours from first attempt to last.
func DefaultSchedule() Schedule {
	return Schedule{
		5 * time.Second,
		5 * time.Minute,
		30 * time.Minute,
		2 * time.Hour,
		5 * time.Hour,
		10 * time.Hour,
		10 * time.Hour,
	}
}

// Delay returns the wait before retry number retry (0 for the retry after
// the first attempt), spread by ±20% with rnd, which returns a number in
// [0, 1) (math/rand/v2.Float64). A retry beyond the schedule uses its last
// delay; a nil rnd gives the exact delay; an empty schedule gives zero.
func (s Schedule) Delay(retry int, rnd func() float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	d := s[min(max(retry, 0), len(s)-1)]
	if rnd == nil {
		return d
	}
	return time.Duration(float64(d) * (1 - jitter + 2*jitter*rnd()))
}

// MaxAttemptsBackstop is the River MaxAttempts of a delivery job. It is only
// a backstop: the delivery worker owns the retry budget and settles a
// delivery as failed after Schedule.Attempts attempts of the schedule
// configured when it runs, whoever inserted the job (a first delivery, a
// redelivery, a replay or an enable). ParseSchedule keeps schedules well
// below it.
const MaxAttemptsBackstop = 1000

// maxDelays bounds a schedule's length, below MaxAttemptsBackstop.
const maxDelays = 100

// Attempts is the retry budget of a delivery: the first attempt and one
// per delay.
func (s Schedule) Attempts() int { return len(s) + 1 }

// Exhausted reports whether attempt (1 for the first) was a delivery's last
// under the schedule.
func (s Schedule) Exhausted(attempt int) bool { return attempt >= s.Attempts() }

// Total returns the sum of the schedule's delays: roughly how long after
// the first attempt the last one happens.
func (s Schedule) Total() time.Duration {
	var t time.Duration
	for _, d := range s {
		t += d
	}
	return t
}

// String returns the schedule in the form ParseSchedule reads.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// ParseSchedule reads a comma-separated list of positive Go durations, e.g.
// "5s,5m,30m,2h".
func ParseSchedule(v string) (Schedule, error) {
	if strings.TrimSpace(v) == "" {
		return nil, errors.New("webhook: schedule is empty")
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxDelays {
		return nil, fmt.Errorf("webhook: schedule has %d delays, at most %d", len(parts), maxDelays)
	}
	s := make(Schedule, 0, len(parts))
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("webhook: schedule delay %d: %w", i+1, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("webhook: schedule delay %d (%s) must be positive", i+1, d)
		}
		s = append(s, d)
	}
	return s, nil
}

// ClampRetryAfter bounds a receiver's Retry-After to [lo, hi]; a hi of zero
// or less leaves it unbounded above.
func ClampRetryAfter(d, lo, hi time.Duration) time.Duration {
	if hi > 0 && d > hi {
		d = hi
	}
	return max(d, lo)
}
