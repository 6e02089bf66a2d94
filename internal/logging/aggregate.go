package logging

import (
	"sync"
	"time"
)

// Aggregator lets one log line per key through per interval and counts the
// lines it held back, so that a problem repeated by thousands of sessions
// (an unconfigured account, a provider down) is logged once a minute with a
// count rather than once per session. It is safe for concurrent use.
type Aggregator struct {
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*aggregate
}

type aggregate struct {
	last       time.Time
	suppressed int
}

// DefaultAggregateEvery is the interval of NewAggregator(0).
const DefaultAggregateEvery = time.Minute

// NewAggregator returns an Aggregator letting a key through once per every
// (DefaultAggregateEvery if zero).
func NewAggregator(every time.Duration) *Aggregator {
	if every <= 0 {
		every = DefaultAggregateEvery
	}
	return &Aggregator{every: every, now: time.Now, keys: map[string]*aggregate{}}
}

// Allow reports whether a line for key may be logged now and how many lines
// for it were held back since the last one let through.
func (a *Aggregator) Allow(key string) (ok bool, suppressed int) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.keys[key]
	if e == nil {
		if len(a.keys) >= maxAggregateKeys {
			a.prune(now)
		}
		a.keys[key] = &aggregate{last: now}
		return true, 0
	}
	if now.Sub(e.last) < a.every {
		e.suppressed++
		return false, 0
	}
	suppressed = e.suppressed
	e.last, e.suppressed = now, 0
	return true, suppressed
}

// maxAggregateKeys bounds the keys remembered: keys may come from rows
// (account names).
const maxAggregateKeys = 10000

// prune forgets keys quiet for two intervals, or all of them if none is.
func (a *Aggregator) prune(now time.Time) {
	for k, e := range a.keys {
		if now.Sub(e.last) > 2*a.every {
			delete(a.keys, k)
		}
	}
	if len(a.keys) >= maxAggregateKeys {
		clear(a.keys)
	}
}
