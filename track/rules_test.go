package track_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/track"
)

// TestRegisterMeetsTheDatabaseRules: Register refuses what migration 00002
// refuses, with ErrInvalid and a clear reason, and finds a FortID session
// registered in another case.
func TestRegisterMeetsTheDatabaseRules(t *testing.T) {
	t.Parallel()
	tdb, tr := setup(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		s    track.Session
		why  string
	}{
		{"129-character token", track.Session{Provider: "marksign", Flow: "smartid_signing", ExternalID: strings.Repeat("a", 129), Subscriber: "app"}, "longer than 128"},
		{"deadline in the past", track.Session{Provider: "marksign", Flow: "smartid_signing", ExternalID: "tok-past", Subscriber: "app", Deadline: time.Now().Add(-time.Minute)}, "not a finite time after"},
	} {
		_, err := register(ctx, tdb, tr, tt.s)
		if !errors.Is(err, track.ErrInvalid) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", tt.name, err, tt.why)
		}
	}
	first, err := register(ctx, tdb, tr, track.Session{Provider: "fortid", Flow: "verification", ExternalID: strings.ToUpper(fortIDUUID), Subscriber: "app"})
	if err != nil || !first.Created {
		t.Fatalf("register: %+v %v", first, err)
	}
	again, err := register(ctx, tdb, tr, track.Session{Provider: "fortid", Flow: "verification", ExternalID: fortIDUUID, Subscriber: "app"})
	if err != nil || again.Created || again.SessionID != first.SessionID {
		t.Fatalf("the same FortID id in lower case: %+v %v, want the first session %s", again, err, first.SessionID)
	}
}
