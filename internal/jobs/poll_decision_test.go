package jobs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/upstream"
)

// TestDecide is the polling decision's table: no Postgres, no HTTP.
func TestDecide(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	policy := jobs.PollPolicy{
		Backoff:            jobs.Backoff{Initial: 2 * time.Second, Multiplier: 1.5, Max: 15 * time.Second},
		CredentialsBackoff: time.Minute,
		RetryAfterMax:      30 * time.Second,
		FinalPollLead:      2 * time.Second,
	}
	inProgress := upstream.Result{State: upstream.StateInProgress, HTTPStatus: 200}
	// FortID, timeout 6 s and grace 3 s: the deadline is 9 s after
	// registration, the final poll 0.9 s before it (a tenth of the window).
	const deadline = 9 * time.Second
	tests := []struct {
		name     string
		in       jobs.PollInput
		want     jobs.Action
		wait     time.Duration
		state    session.State
		reason   string
		progress func(jobs.PollProgress) bool
	}{
		{
			name: "first run polls",
			in:   jobs.PollInput{Now: at(0)},
			want: jobs.ActionPoll,
		},
		{
			name:  "a cancel ends the session without a call",
			in:    jobs.PollInput{Now: at(time.Second), CancelRequested: true},
			want:  jobs.ActionEnd,
			state: session.StateCancelled,
		},
		{
			name:   "at the deadline the session ends expired without a call",
			in:     jobs.PollInput{Now: at(deadline), Progress: jobs.PollProgress{Polls: 4, LastAnswer: "in_progress"}},
			want:   jobs.ActionEnd,
			state:  session.StateExpired,
			reason: "after 4 polls",
		},
		{
			name:   "at the deadline after refused credentials the session fails naming the account",
			in:     jobs.PollInput{Now: at(deadline), Account: "shop", Progress: jobs.PollProgress{Polls: 2, LastAnswer: "credentials", LastError: "credentials_error_code_40003"}},
			want:   jobs.ActionEnd,
			state:  session.StateFailed,
			reason: `account "shop"`,
		},
		{
			name: "in progress early: the backoff interval",
			in:   polled(at(0), at(0), inProgress, jobs.PollProgress{}),
			want: jobs.ActionSnooze, wait: 2 * time.Second,
			progress: func(p jobs.PollProgress) bool { return p.Polls == 1 && p.LastResult == "in_progress" },
		},
		{
			name: "an interval that would pass the final poll is cut to it",
			// Third poll at +5.1 s: the next interval (4.5 s) would land at
			// +9.6 s, past the deadline: poll at +8.1 s instead.
			in:   polled(at(5100*time.Millisecond), at(5100*time.Millisecond), inProgress, jobs.PollProgress{Polls: 2}),
			want: jobs.ActionSnooze, wait: 3 * time.Second,
		},
		{
			name: "after the final poll answered in progress: wait for the deadline",
			in:   polled(at(8100*time.Millisecond), at(8200*time.Millisecond), inProgress, jobs.PollProgress{Polls: 3}),
			want: jobs.ActionSnooze, wait: 800 * time.Millisecond,
		},
		{
			name: "after the final poll failed transiently: wait for the deadline",
			in: polled(at(8100*time.Millisecond), at(8900*time.Millisecond),
				upstream.Result{State: upstream.StateInProgress, Transient: true}, jobs.PollProgress{Polls: 3}),
			want: jobs.ActionSnooze, wait: 100 * time.Millisecond,
			progress: func(p jobs.PollProgress) bool { return p.LastResult == "transient" && p.LastError == "no_answer" },
		},
		{
			name:  "a terminal answer ends the session with it",
			in:    polled(at(8100*time.Millisecond), at(8150*time.Millisecond), upstream.Result{State: upstream.StateSucceeded, HTTPStatus: 200}, jobs.PollProgress{Polls: 3}),
			want:  jobs.ActionEnd,
			state: session.StateSucceeded,
		},
		{
			name:   "a terminal failure keeps the provider's code",
			in:     polled(at(time.Second), at(time.Second), upstream.Result{State: upstream.StateRefused, HTTPStatus: 400, ErrorCode: 40020}, jobs.PollProgress{}),
			want:   jobs.ActionEnd,
			state:  session.StateRefused,
			reason: "40020",
		},
		{
			name: "Retry-After longer than the interval is honoured",
			in:   polled(at(0), at(0), upstream.Result{State: upstream.StateInProgress, Transient: true, HTTPStatus: 429, RetryAfter: 4 * time.Second}, jobs.PollProgress{}),
			want: jobs.ActionSnooze, wait: 4 * time.Second,
			progress: func(p jobs.PollProgress) bool { return p.LastError == "rate_limited" && p.Transient == 1 },
		},
		{
			name: "Retry-After never delays the final poll",
			in:   polled(at(time.Second), at(time.Second), upstream.Result{State: upstream.StateInProgress, Transient: true, HTTPStatus: 429, RetryAfter: 999999 * time.Second}, jobs.PollProgress{}),
			want: jobs.ActionSnooze, wait: 7100 * time.Millisecond,
		},
		{
			name: "credentials failure: the credentials backoff, cut to the final poll",
			in:   polled(at(0), at(0), upstream.Result{State: upstream.StateInProgress, CredentialsProblem: true, HTTPStatus: 401}, jobs.PollProgress{}),
			want: jobs.ActionSnooze, wait: 8100 * time.Millisecond,
			progress: func(p jobs.PollProgress) bool {
				return p.LastAnswer == "credentials" && p.LastError == "credentials_http_401" && p.CredentialsFailures == 1
			},
		},
		{
			name: "an unknown status keeps polling and records its length only",
			in:   polled(at(0), at(0), upstream.Result{State: upstream.StateInProgress, HTTPStatus: 200, UnknownStatus: "PNOEE-60001017705"}, jobs.PollProgress{}),
			want: jobs.ActionSnooze, wait: 2 * time.Second,
			progress: func(p jobs.PollProgress) bool { return p.LastResult == "unknown_status" && p.UnknownStatusLen == 17 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Registered, in.Deadline = t0, at(deadline)
			d := jobs.Decide(in, policy)
			if d.Action != tt.want || d.Wait != tt.wait || d.State != tt.state || !strings.Contains(d.Reason, tt.reason) {
				t.Fatalf("Decide = action %d wait %s state %q reason %q; want action %d wait %s state %q reason containing %q",
					d.Action, d.Wait, d.State, d.Reason, tt.want, tt.wait, tt.state, tt.reason)
			}
			if d.Action == jobs.ActionSnooze && !d.Progress.NextPollAt.Equal(in.Now.Add(d.Wait)) {
				t.Fatalf("next poll at %s, want now + wait", d.Progress.NextPollAt)
			}
			if tt.progress != nil && !tt.progress(d.Progress) {
				t.Fatalf("progress %+v", d.Progress)
			}
		})
	}
}

func polled(polledAt, now time.Time, res upstream.Result, prog jobs.PollProgress) jobs.PollInput {
	return jobs.PollInput{Progress: prog, Now: now, Polled: true, PolledAt: polledAt, Result: res}
}

// TestDecideNeverSkipsTheLastPoll walks every flow's schedule against
// deadlines from 1 s to 10 min: the walk never ends a session by its
// deadline without a poll in the final window, and never polls past it.
func TestDecideNeverSkipsTheLastPoll(t *testing.T) {
	t.Parallel()
	cfg := jobs.DefaultConfig()
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for flow, fc := range cfg.Flows {
		p := jobs.PollPolicy{Backoff: fc.Backoff, CredentialsBackoff: cfg.CredentialsBackoff,
			RetryAfterMax: cfg.ProviderRetryAfterMax, FinalPollLead: cfg.FinalPollLead}
		for _, window := range []time.Duration{time.Second, 1800 * time.Millisecond, 9 * time.Second, 61 * time.Second, 5 * time.Minute, 6 * time.Minute} {
			for _, retryAfter := range []time.Duration{0, 3 * time.Second, 999999 * time.Second} {
				deadline := t0.Add(window)
				final := jobs.FinalPollAt(p, t0, deadline)
				now, prog, lastPoll := t0, jobs.PollProgress{}, time.Time{}
				for step := 0; ; step++ {
					if step > 10000 {
						t.Fatalf("%s %s: no end", flow, window)
					}
					d := jobs.Decide(jobs.PollInput{Progress: prog, Now: now, Registered: t0, Deadline: deadline}, p)
					if d.Action == jobs.ActionEnd {
						if now.Before(deadline) {
							t.Fatalf("%s %s: ended at %s before the deadline", flow, window, now.Sub(t0))
						}
						if lastPoll.Before(final) {
							t.Fatalf("%s window %s retry-after %s: last poll at %s, before the final poll time %s",
								flow, window, retryAfter, lastPoll.Sub(t0), final.Sub(t0))
						}
						break
					}
					if now.After(deadline) || !now.Before(deadline) {
						t.Fatalf("%s %s: polls at %s, past the deadline", flow, window, now.Sub(t0))
					}
					lastPoll = now
					res := upstream.Result{State: upstream.StateInProgress, HTTPStatus: 200, RetryAfter: retryAfter}
					d = jobs.Decide(jobs.PollInput{Progress: prog, Now: now.Add(50 * time.Millisecond), Registered: t0,
						Deadline: deadline, Polled: true, PolledAt: now, Result: res}, p)
					prog = d.Progress
					now = prog.NextPollAt
				}
			}
		}
	}
}

// TestFinalPollLead pins how long before the deadline the final poll is
// due: FinalPollLead for long windows, a tenth of a short window, but
// never less than 750 ms (or half the window) so that a loaded worker's
// pickup lag cannot push the final poll past the deadline.
func TestFinalPollLead(t *testing.T) {
	t.Parallel()
	p := jobs.PollPolicy{FinalPollLead: 2 * time.Second}
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ window, lead time.Duration }{
		{400 * time.Millisecond, 200 * time.Millisecond},
		{time.Second, 500 * time.Millisecond},
		{1260 * time.Millisecond, 630 * time.Millisecond},
		{3 * time.Second, 750 * time.Millisecond},
		{10 * time.Second, time.Second},
		{20 * time.Second, 2 * time.Second},
		{5 * time.Minute, 2 * time.Second},
	} {
		deadline := t0.Add(tt.window)
		if got := deadline.Sub(jobs.FinalPollAt(p, t0, deadline)); got != tt.lead {
			t.Errorf("window %s: final poll %s before the deadline, want %s", tt.window, got, tt.lead)
		}
	}
}

// TestDecideFollowsTheSessionsAge checks that a session whose polls came
// late (a worker behind a burst of registrations) waits what a punctual
// session of its age would, not the interval of its few polls, and that a
// punctual one is not slowed down.
func TestDecideFollowsTheSessionsAge(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	policy := jobs.PollPolicy{Backoff: jobs.Backoff{Initial: time.Second, Multiplier: 2, Max: 10 * time.Second}, FinalPollLead: 2 * time.Second}
	inProgress := upstream.Result{State: upstream.StateInProgress, HTTPStatus: 200}
	tests := []struct {
		name  string
		polls int           // polls before this one
		age   time.Duration // this poll's time after registration
		wait  time.Duration
	}{
		{"punctual first poll", 0, 0, time.Second},
		{"punctual third poll (0, 1, 3 s)", 2, 3 * time.Second, 4 * time.Second},
		{"first poll 7 s late: the fourth interval", 0, 7 * time.Second, 8 * time.Second},
		{"second poll a minute late: the maximum", 1, time.Minute, 10 * time.Second},
		{"more polls than the age gives (run early by hand): the poll count", 5, 3 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := t0.Add(tt.age)
			in := polled(at, at, inProgress, jobs.PollProgress{Polls: tt.polls})
			in.Registered, in.Deadline = t0, t0.Add(time.Hour)
			if d := jobs.Decide(in, policy); d.Action != jobs.ActionSnooze || d.Wait != tt.wait {
				t.Fatalf("Decide = action %d wait %s, want snooze %s", d.Action, d.Wait, tt.wait)
			}
		})
	}
}
