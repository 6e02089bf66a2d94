package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/upstream"
)

// LatencyResult is the end-to-end latency at light load: from the moment
// the simulator first answers a session's terminal state to the moment the
// receiver has verified its webhook. It covers pollhook's terminal handoff
// (outcome, delivery row and job in one transaction), River picking the
// delivery job up, signing and the POST.
type LatencyResult struct {
	// Sessions is how many sessions were measured.
	Sessions int `json:"sessions"`
	// Backoff is the poll schedule used (initial,multiplier,max,randomization).
	Backoff string `json:"backoff"`
	// P50, P95, P99, Max and Mean summarize the latencies.
	P50  Millis `json:"p50_ms"`
	P95  Millis `json:"p95_ms"`
	P99  Millis `json:"p99_ms"`
	Max  Millis `json:"max_ms"`
	Mean Millis `json:"mean_ms"`
}

// latencyBackoff is short, so the terminal answer comes soon; it does not
// enter the measured latency.
const latencyBackoff = "200ms,1.5,1s,0.1"

// latencyInProgress is how many in-progress polls each session answers.
const latencyInProgress = 2

// MeasureLatency registers cfg.LatencySessions sessions one at a time,
// cfg.LatencySpacing apart, each answering two in-progress polls then
// success, and measures terminal answer to verified webhook.
func MeasureLatency(ctx context.Context, cfg Config) (_ *LatencyResult, err error) {
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{} // external id -> arrival
		all     = make(chan struct{})
	)
	st, err := startStack(ctx, cfg, stackOptions{
		backoff: latencyBackoff,
		onWebhook: func(a arrival) {
			mu.Lock()
			defer mu.Unlock()
			if _, dup := arrived[a.ev.Data.ExternalID]; dup {
				return
			}
			arrived[a.ev.Data.ExternalID] = a.at
			if len(arrived) == cfg.LatencySessions {
				close(all)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.stop()) }()

	ids := make([]string, 0, cfg.LatencySessions)
	tick := time.NewTicker(cfg.LatencySpacing)
	defer tick.Stop()
	for range cfg.LatencySessions {
		var rows sessionRows
		id := simulator.MarksignToken(simulator.OutcomeSucceeded, latencyInProgress)
		rows.add(string(upstream.ProviderMarksign), string(upstream.FlowSmartIDIdentification), id)
		if _, err := rows.insert(ctx, st.env.pool); err != nil {
			return nil, err
		}
		ids = append(ids, id)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	select {
	case <-all:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(cfg.Timeout):
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		return nil, fmt.Errorf("only %d of %d webhooks within %s", n, cfg.LatencySessions, cfg.Timeout)
	}

	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(ids))
	for _, id := range ids {
		since, ok := st.providers.sim.TerminalSince(id)
		if !ok {
			return nil, fmt.Errorf("session %s: webhook arrived but the simulator never answered terminal", id)
		}
		d := arrived[id].Sub(since)
		if d < 0 {
			return nil, fmt.Errorf("session %s: webhook arrived %s before the terminal answer", id, -d)
		}
		lat = append(lat, d)
	}
	r := &LatencyResult{Sessions: len(lat), Backoff: latencyBackoff}
	r.P50, r.P95, r.P99, r.Max, r.Mean = latencySummary(lat)
	return r, nil
}
