package faults

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/simulator"
)

// TestProviderChaos lets the simulated providers answer 20 % of all polls
// with a transient failure (HTTP 500, 503, a 503 after SlowDelay, malformed
// JSON). Chaos answers do not advance a session's script, so every session
// must still end in its scripted state, each scripted answer read exactly
// once: pollhook treats every chaos answer as transient and stops polling
// at the terminal answer.
//
// POLLHOOK_UPSTREAM_TIMEOUT (2 s) is deliberately above SlowDelay (300 ms):
// slow chaos answers arrive late. Below it they would time out, and a
// scripted answer that happened to be slow under load would be counted by
// the simulator yet lost by the client, which would shift the script.
func TestProviderChaos(t *testing.T) {
	const sessions = 300
	ctx := context.Background()
	sc := newScene(t, simulator.Options{Chaos: 0.2, SlowDelay: 300 * time.Millisecond})

	rc := newSubscriber(ctx, t, sc.tdb.Pool)
	logPath := filepath.Join(t.TempDir(), "worker.log")
	startInProcessWorker(ctx, t, sc.settings().with("POLLHOOK_UPSTREAM_TIMEOUT", "2s"), logPath)

	registered := registerScripted(ctx, t, sc.tdb.Pool, makePlans(sc.rng, sessions, endingOutcomes, 1, 4))
	start := time.Now()
	waitDone(ctx, t, sc.tdb.Pool, rc, sessions, 90*time.Second, logPath)
	elapsed := time.Since(start)
	f := checkRun(ctx, t, sc.tdb.Pool, rc, registered)

	polls, chaos, hit := 0, 0, 0
	for id, p := range registered {
		n, scripted := sc.sim.Polls(p.externalID), sc.sim.ScriptedPolls(p.externalID)
		polls += n
		chaos += n - scripted
		if n > scripted {
			hit++
		}
		if scripted != p.scriptedPolls() {
			t.Errorf("session %s (%s, script %s after %d in progress): %d scripted answers read, want %d",
				id, p.provider, p.outcome, p.inProgress, scripted, p.scriptedPolls())
		}
	}
	if chaos == 0 {
		t.Errorf("no chaos answer in %d polls: the test did not test anything", polls)
	}
	t.Logf("faults: chaos sessions=%d polls=%d chaos_answers=%d (%.0f%%) sessions_hit=%d webhooks=%d duplicates=%d lost=%d elapsed=%s",
		f.sessions, polls, chaos, 100*float64(chaos)/float64(max(polls, 1)), hit, f.webhooks, f.duplicates, f.lost,
		elapsed.Round(100*time.Millisecond))
}
