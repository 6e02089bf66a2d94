package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/upstream"
)

// PollResult is pollhook's poll rate with a near-zero backoff: the rate
// pollhook itself can sustain.
type PollResult struct {
	// Sessions is N.
	Sessions int `json:"sessions"`
	// PollsPerSession is K+1: K in-progress polls, then the terminal one.
	PollsPerSession int `json:"polls_per_session"`
	// Polls is what the simulator counted.
	Polls int `json:"polls"`
	// PollsPerSecond is the rate over the middle 80 % of the polls.
	PollsPerSecond float64 `json:"polls_per_s"`
	// WholeRunPerSecond is Polls over the time from the INSERT to the last
	// poll (enqueueing and the first fetch included).
	WholeRunPerSecond float64 `json:"whole_run_polls_per_s"`
	// Elapsed is the time from the INSERT to the last poll.
	Elapsed Seconds `json:"elapsed_s"`
	// Setting is the River setting the poller ran with.
	Setting Setting `json:"setting"`
}

// nearZeroBackoff polls again 1 ms after each answer.
const nearZeroBackoff = "1ms,1,1ms,0"

// pollRig is a running stack for poll-rate runs; run can be called more
// than once (the benchmark does).
type pollRig struct {
	cfg   Config
	st    *stack
	meter atomic.Pointer[meter]
}

func newPollRig(ctx context.Context, cfg Config) (*pollRig, error) {
	r := &pollRig{cfg: cfg}
	r.meter.Store(newMeter(0))
	st, err := startStack(ctx, cfg, stackOptions{
		backoff: nearZeroBackoff,
		onPoll:  func() { r.meter.Load().mark() },
	})
	if err != nil {
		return nil, err
	}
	r.st = st
	return r, nil
}

func (r *pollRig) close() error { return r.st.stop() }

// run registers n Smart-ID sessions answering k in-progress polls then
// success, and waits until the simulator answered all n*(k+1) polls.
func (r *pollRig) run(ctx context.Context, n, k int) (*PollResult, error) {
	var rows sessionRows
	for range n {
		rows.add(string(upstream.ProviderMarksign), string(upstream.FlowSmartIDIdentification), simulator.MarksignToken(simulator.OutcomeSucceeded, k))
	}
	total := n * (k + 1)
	m := newMeter(total)
	r.meter.Store(m)
	m.begin()
	if _, err := rows.insert(ctx, r.st.env.pool); err != nil {
		return nil, err
	}
	if err := m.wait(ctx, r.cfg.Timeout); err != nil {
		return nil, fmt.Errorf("polls: %w", err)
	}
	mid, whole, elapsed := m.rates()
	return &PollResult{Sessions: n, PollsPerSession: k + 1, Polls: m.count(), PollsPerSecond: mid, WholeRunPerSecond: whole,
		Elapsed: Seconds(elapsed.Seconds()), Setting: r.cfg.pollhookSetting()}, nil
}

// MeasurePoll runs cfg.PollSessions sessions of cfg.PollsInProgress+1
// polls each through an in-process worker with a 1 ms backoff, so that the
// poll rate is bounded by pollhook, and counts the polls at the simulator.
func MeasurePoll(ctx context.Context, cfg Config) (_ *PollResult, err error) {
	r, err := newPollRig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, r.close()) }()
	res, err := r.run(ctx, cfg.PollSessions, cfg.PollsInProgress)
	if err != nil {
		return nil, err
	}
	// The sessions ended: make sure every one did, as it should have.
	if err := waitFinished(ctx, r.st, cfg.PollSessions, 30*time.Second); err != nil {
		return nil, err
	}
	return res, nil
}

// waitFinished waits until n sessions of the stack's schema are finished.
func waitFinished(ctx context.Context, st *stack, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var done int
		if err := st.env.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE finished_at IS NOT NULL`).Scan(&done); err != nil {
			return fmt.Errorf("count finished sessions: %w", err)
		}
		if done >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d sessions finished within %s", done, n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
