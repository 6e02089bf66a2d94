package receiver

import (
	"context"
	"sync"
	"time"
)

// Store remembers the webhook-ids a receiver has processed, for dedupe. Use
// a shared store (Redis, a database table) when several instances receive.
type Store interface {
	// Seen reports whether id was remembered and has not expired.
	Seen(ctx context.Context, id string) (bool, error)
	// Remember records that id was processed.
	Remember(ctx context.Context, id string) error
}

// Defaults of NewMemoryStore.
const (
	// DefaultTTL covers pollhook's whole default retry schedule (about
	// 28 hours) with room for a replay the next day.
	DefaultTTL = 48 * time.Hour
	// DefaultMaxEntries bounds the memory a MemoryStore uses (a few MB).
	DefaultMaxEntries = 100_000
)

// MemoryStore is an in-process Store: ids expire after a TTL, and beyond
// its capacity the oldest are forgotten first. It is safe for concurrent
// use; it does not survive a restart.
type MemoryStore struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	until map[string]time.Time
	order []entry // by insertion, so by expiry
	head  int     // order[:head] is consumed
}

type entry struct {
	id    string
	until time.Time
}

// NewMemoryStore returns a MemoryStore keeping ids for ttl (DefaultTTL if
// zero or less), at most maxEntries of them (DefaultMaxEntries if zero or
// less).
func NewMemoryStore(ttl time.Duration, maxEntries int) *MemoryStore {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &MemoryStore{ttl: ttl, max: maxEntries, now: time.Now, until: make(map[string]time.Time)}
}

// Seen reports whether id was remembered less than the TTL ago.
func (s *MemoryStore) Seen(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.until[id]
	return ok && s.now().Before(until), nil
}

// Remember records id for the TTL, forgetting expired ids and, when full,
// the oldest.
func (s *MemoryStore) Remember(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	until := now.Add(s.ttl)
	s.until[id] = until
	s.order = append(s.order, entry{id: id, until: until})
	for s.head < len(s.order) {
		e := s.order[s.head]
		if !now.After(e.until) && len(s.until) <= s.max {
			break
		}
		// Drop the map entry only if it is this one, not a later
		// Remember of the same id.
		if s.until[e.id] == e.until {
			delete(s.until, e.id)
		}
		s.order[s.head] = entry{}
		s.head++
	}
	if s.head > len(s.order)/2 {
		s.order = append(s.order[:0:0], s.order[s.head:]...)
		s.head = 0
	}
	return nil
}

// Len returns how many ids the store holds.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.until)
}
