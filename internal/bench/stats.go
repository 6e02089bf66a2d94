package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Seconds is a duration in seconds, rounded to the millisecond in JSON.
type Seconds float64

// MarshalJSON writes s with millisecond precision.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%.3f", float64(s)), nil
}

// Millis is a latency in milliseconds, printed with 0.1 ms precision.
type Millis float64

// MarshalJSON writes m with 0.01 ms precision.
func (m Millis) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%.2f", float64(m)), nil
}

// String formats m as "12.3ms".
func (m Millis) String() string { return fmt.Sprintf("%.1fms", float64(m)) }

func millis(d time.Duration) Millis { return Millis(float64(d) / float64(time.Millisecond)) }

// meter counts events toward an expected total and notes when the count
// crosses 10 %, 90 % and 100 % of it, so a rate can be taken over the
// steady middle of a run, away from its ramp-up and its tail.
type meter struct {
	mu      sync.Mutex
	total   int
	n       int
	start   time.Time
	lo, hi  time.Time
	last    time.Time
	done    chan struct{}
	settled bool
}

func newMeter(total int) *meter {
	return &meter{total: total, done: make(chan struct{})}
}

// begin marks the start of the run (the whole-run rate is taken from here).
func (m *meter) begin() {
	m.mu.Lock()
	m.start = time.Now()
	m.mu.Unlock()
}

// mark counts one event.
func (m *meter) mark() {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	m.last = now
	if m.n == max(m.total/10, 1) {
		m.lo = now
	}
	if m.n == max(m.total*9/10, 1) {
		m.hi = now
	}
	if m.n == m.total && !m.settled {
		m.settled = true
		close(m.done)
	}
}

// count returns the events counted so far.
func (m *meter) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// wait blocks until the total is reached, ctx ends or timeout passes.
func (m *meter) wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("only %d of %d events within %s", m.count(), m.total, timeout)
	}
}

// rates returns the rate over the middle 80 % of the events and over the
// whole run (begin to last event), both per second, and the run's length.
func (m *meter) rates() (middle, whole float64, elapsed time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	elapsed = m.last.Sub(m.start)
	if elapsed > 0 {
		whole = float64(m.n) / elapsed.Seconds()
	}
	mid := max(m.total*9/10, 1) - max(m.total/10, 1)
	if d := m.hi.Sub(m.lo); mid > 0 && d > 0 {
		middle = float64(mid) / d.Seconds()
	} else {
		middle = whole
	}
	return middle, whole, elapsed
}

// quantile returns the q-quantile (0 to 1) of sorted values, by the
// nearest-rank method.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// latencySummary sorts ds and summarizes them.
func latencySummary(ds []time.Duration) (p50, p95, p99, maxi, mean Millis) {
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	if len(s) > 0 {
		mean = millis(sum / time.Duration(len(s)))
		maxi = millis(s[len(s)-1])
	}
	return millis(quantile(s, .50)), millis(quantile(s, .95)), millis(quantile(s, .99)), maxi, mean
}
