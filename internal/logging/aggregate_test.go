package logging

import (
	"testing"
	"time"
)

func TestAggregatorLetsOneLinePerKeyAndIntervalThrough(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewAggregator(time.Minute)
	a.now = func() time.Time { return now }

	let := 0
	for range 1000 {
		if ok, _ := a.Allow("marksign/nobody/unconfigured"); ok {
			let++
		}
	}
	if let != 1 {
		t.Fatalf("%d lines let through in one instant, want 1", let)
	}
	if ok, _ := a.Allow("marksign/other/unconfigured"); !ok {
		t.Fatal("another key was held back")
	}
	now = now.Add(time.Minute)
	ok, suppressed := a.Allow("marksign/nobody/unconfigured")
	if !ok || suppressed != 999 {
		t.Fatalf("after a minute: ok %v, suppressed %d; want true, 999", ok, suppressed)
	}
}

func TestAggregatorBoundsItsKeys(t *testing.T) {
	t.Parallel()
	a := NewAggregator(time.Minute)
	for i := range maxAggregateKeys * 2 {
		a.Allow(string(rune(i)))
	}
	if len(a.keys) > maxAggregateKeys {
		t.Fatalf("%d keys remembered, want at most %d", len(a.keys), maxAggregateKeys)
	}
}
