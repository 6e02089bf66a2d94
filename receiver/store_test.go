package receiver

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func TestMemoryStoreTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore(time.Hour, 0)
	s.now = func() time.Time { return now }

	seen := func(id string) bool {
		t.Helper()
		ok, err := s.Seen(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if seen("a") {
		t.Error("empty store has seen a")
	}
	_ = s.Remember(ctx, "a")
	if !seen("a") || seen("b") {
		t.Error("after Remember(a): want a seen, b not")
	}
	now = now.Add(59 * time.Minute)
	_ = s.Remember(ctx, "b")
	if !seen("a") {
		t.Error("a forgotten before its TTL")
	}
	now = now.Add(2 * time.Minute)
	if seen("a") || !seen("b") {
		t.Error("after 61 minutes: want a expired, b seen")
	}
	_ = s.Remember(ctx, "c") // sweeps a
	if n := s.Len(); n != 2 {
		t.Errorf("Len = %d, want 2 after expired a is swept", n)
	}

	// Remembering again extends the TTL; the stale queue entry must not
	// evict it.
	_ = s.Remember(ctx, "b")
	now = now.Add(59 * time.Minute)
	_ = s.Remember(ctx, "d")
	if !seen("b") {
		t.Error("re-remembered b expired at its first TTL")
	}
}

func TestMemoryStoreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewMemoryStore(time.Hour, 100)
	for i := range 1000 {
		_ = s.Remember(ctx, strconv.Itoa(i))
		if n := s.Len(); n > 100 {
			t.Fatalf("Len = %d after %d ids, want at most 100", n, i+1)
		}
	}
	if ok, _ := s.Seen(ctx, "0"); ok {
		t.Error("oldest id still held beyond capacity")
	}
	if ok, _ := s.Seen(ctx, "999"); !ok {
		t.Error("newest id forgotten")
	}
	if len(s.order)-s.head > 200 {
		t.Errorf("queue holds %d entries for 100 ids", len(s.order)-s.head)
	}
}
