package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/upstream"
)

// DetectionConfig configures the detection-delay run.
type DetectionConfig struct {
	// PerFlow is the number of sessions per flow; zero skips the run.
	PerFlow int
	// After and Spread place each session's terminal instant uniformly in
	// [registration+After, registration+After+Spread]: a person confirming
	// at a time of their own, not at a poll.
	After, Spread time.Duration
}

// DetectionResult is the delay from the instant a session became terminal
// at the provider to its verified webhook at the receiver, at pollhook's
// default cadence (default backoffs, fetch and workers) and light load.
type DetectionResult struct {
	// Flows has one entry per flow.
	Flows []FlowDetection `json:"flows"`
	// After and Spread are the terminal instants' placement.
	After  Seconds `json:"after_s"`
	Spread Seconds `json:"spread_s"`
}

// FlowDetection is one flow's detection delay.
type FlowDetection struct {
	// Flow is the flow; Backoff its default schedule.
	Flow    upstream.Flow `json:"flow"`
	Backoff string        `json:"backoff"`
	// Sessions is how many were measured.
	Sessions int `json:"sessions"`
	// P50, P99, Max and Mean summarize the delays.
	P50  Millis `json:"p50_ms"`
	P99  Millis `json:"p99_ms"`
	Max  Millis `json:"max_ms"`
	Mean Millis `json:"mean_ms"`
	// PollsPerSession is the mean number of provider polls a session took
	// (the provider load that bought the delay).
	PollsPerSession float64 `json:"polls_per_session"`
}

// MeasureDetection registers cfg.Detection.PerFlow sessions of every flow
// in one INSERT, each turning succeeded at an instant of its own, and
// measures the delay from that instant to the verified webhook.
func MeasureDetection(ctx context.Context, cfg Config) (_ *DetectionResult, err error) {
	dc := cfg.Detection
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
		total   = dc.PerFlow * len(jobs.DefaultConfig().Flows)
		all     = make(chan struct{})
	)
	st, err := startStack(ctx, cfg, stackOptions{onWebhook: func(a arrival) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := arrived[a.ev.Data.ExternalID]; dup {
			return
		}
		arrived[a.ev.Data.ExternalID] = a.at
		if len(arrived) == total {
			close(all)
		}
	}})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.stop()) }()

	def := jobs.DefaultConfig()
	flows := slices.Sorted(func(yield func(upstream.Flow) bool) {
		for f := range def.Flows {
			if !yield(f) {
				return
			}
		}
	})
	rng := rand.New(rand.NewPCG(11, 11))
	type tracked struct {
		flow upstream.Flow
		id   string
		at   time.Time
	}
	var (
		rows     sessionRows
		sessions []tracked
	)
	now := time.Now()
	for _, f := range flows {
		for range dc.PerFlow {
			at := now.Add(dc.After + time.Duration(rng.Int64N(int64(dc.Spread)+1)))
			var id string
			provider := upstream.ProviderMarksign
			if f == upstream.FlowFortIDVerification {
				provider = upstream.ProviderFortID
				id = simulator.FortIDSessionID(simulator.OutcomeSucceeded, 0)
				if err := st.providers.sim.SetScenario(id, simulator.Scenario{Outcome: simulator.OutcomeSucceeded, TerminalAt: at}); err != nil {
					return nil, err
				}
			} else {
				id = simulator.MarksignTokenAt(simulator.OutcomeSucceeded, at)
			}
			rows.add(string(provider), string(f), id)
			sessions = append(sessions, tracked{f, id, at})
		}
	}
	if _, err := rows.insert(ctx, st.env.pool); err != nil {
		return nil, err
	}
	timeout := dc.After + dc.Spread + cfg.Timeout
	select {
	case <-all:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(timeout):
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		return nil, fmt.Errorf("only %d of %d webhooks within %s", n, total, timeout)
	}

	mu.Lock()
	defer mu.Unlock()
	res := &DetectionResult{After: Seconds(dc.After.Seconds()), Spread: Seconds(dc.Spread.Seconds())}
	for _, f := range flows {
		var (
			delays []time.Duration
			polls  int
		)
		for _, s := range sessions {
			if s.flow != f {
				continue
			}
			d := arrived[s.id].Sub(s.at)
			if d < 0 {
				return nil, fmt.Errorf("session %s: webhook %s before the terminal instant", s.id, -d)
			}
			delays = append(delays, d)
			polls += st.providers.sim.Polls(s.id)
		}
		fd := FlowDetection{Flow: f, Backoff: backoffString(def.Flows[f].Backoff), Sessions: len(delays), PollsPerSession: float64(polls) / float64(len(delays))}
		fd.P50, _, fd.P99, fd.Max, fd.Mean = latencySummary(delays)
		res.Flows = append(res.Flows, fd)
	}
	return res, nil
}

// backoffString formats b as the POLLHOOK_BACKOFF_<FLOW> value.
func backoffString(b jobs.Backoff) string {
	return fmt.Sprintf("%s,%g,%s,%g", b.Initial, b.Multiplier, b.Max, b.Randomization)
}
