package jobs_test

import (
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
)

func TestDeriveTimeouts(t *testing.T) {
	t.Parallel()
	const s = time.Second
	for _, tc := range []struct {
		name                             string
		upstream, webhook, maint, rescue time.Duration
		want                             jobs.Timeouts
		wantErr                          bool
	}{
		{name: "defaults", upstream: 10 * s, webhook: 15 * s, maint: time.Minute,
			want: jobs.Timeouts{Poll: 15 * s, Deliver: 20 * s, Maintenance: time.Minute, RescueAfter: 25 * s}},
		{name: "slow provider", upstream: 40 * s, webhook: 15 * s, maint: time.Minute,
			want: jobs.Timeouts{Poll: 45 * s, Deliver: 20 * s, Maintenance: time.Minute, RescueAfter: 50 * s}},
		{name: "explicit rescue", upstream: 10 * s, webhook: 15 * s, maint: time.Minute, rescue: 2 * time.Minute,
			want: jobs.Timeouts{Poll: 15 * s, Deliver: 20 * s, Maintenance: time.Minute, RescueAfter: 2 * time.Minute}},
		{name: "rescue equal to the longest timeout", upstream: 10 * s, webhook: 15 * s, maint: time.Minute, rescue: 20 * s,
			want: jobs.Timeouts{Poll: 15 * s, Deliver: 20 * s, Maintenance: time.Minute, RescueAfter: 20 * s}},
		{name: "rescue shorter than a delivery", upstream: 10 * s, webhook: 15 * s, maint: time.Minute, rescue: 19 * s, wantErr: true},
		{name: "no upstream timeout", webhook: 15 * s, maint: time.Minute, wantErr: true},
		{name: "negative webhook timeout", upstream: 10 * s, webhook: -s, maint: time.Minute, wantErr: true},
		{name: "no maintenance timeout", upstream: 10 * s, webhook: 15 * s, wantErr: true},
	} {
		got, err := jobs.DeriveTimeouts(tc.upstream, tc.webhook, tc.maint, tc.rescue)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: DeriveTimeouts = %+v, %v; want %+v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestDeriveTimeoutsInvariants checks, over generated inputs, that a job's
// run always ends (by its timeout) before River may presume its worker dead,
// and that each kind gets at least its network call's timeout.
func TestDeriveTimeoutsInvariants(t *testing.T) {
	t.Parallel()
	for i := range 2000 {
		up := time.Duration(1+(i*7919)%120_000) * time.Millisecond
		wh := time.Duration(1+(i*104729)%120_000) * time.Millisecond
		rescue := time.Duration((i*31)%5) * 20 * time.Second
		got, err := jobs.DeriveTimeouts(up, wh, time.Minute, rescue)
		// An explicit rescue-after is refused exactly when a poll or a
		// delivery (its call plus the 5 s margin) could outlast it.
		if wantErr := rescue > 0 && rescue < max(up, wh)+5*time.Second; wantErr != (err != nil) {
			t.Fatalf("up %s webhook %s rescue %s: error %v", up, wh, rescue, err)
		}
		if err != nil {
			continue
		}
		if got.Poll <= up || got.Deliver <= wh {
			t.Fatalf("up %s webhook %s: poll %s, deliver %s leave no margin", up, wh, got.Poll, got.Deliver)
		}
		if got.RescueAfter < got.Poll || got.RescueAfter < got.Deliver {
			t.Fatalf("up %s webhook %s rescue %s: rescue-after %s undercuts a timeout (%+v)", up, wh, rescue, got.RescueAfter, got)
		}
	}
}
