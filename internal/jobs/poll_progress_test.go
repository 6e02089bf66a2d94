package jobs

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// TestProgressDerivesPolls checks that the poll count read back is exact
// whichever polls wrote their progress: a random walk of polls, each
// writing (as the worker does when progressChanged) or not, River counting
// every snooze, agrees with a plain counter at every step.
func TestProgressDerivesPolls(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for walk := range 200 {
		var (
			stored  []byte // the job's metadata as River keeps it
			snoozes int
			polls   int
		)
		for step := range 1 + rng.IntN(40) {
			prog := ProgressFromMetadata(stored)
			if prog.Polls != polls {
				t.Fatalf("walk %d step %d: read %d polls, made %d (metadata %s)", walk, step, prog.Polls, polls, stored)
			}
			polls++
			prog.Polls++
			write := rng.IntN(3) == 0 || step == 0
			if write {
				prog.SnoozesAt = snoozes + 1
				stored = metadataWith(t, prog, snoozes+1)
			} else {
				stored = withSnoozes(t, stored, snoozes+1)
			}
			snoozes++
		}
	}
}

// TestProgressWithoutEntry reads a job that never wrote progress: new, or
// answered plainly in progress so far; and progress of an older version,
// written by every poll, counts no snoozes on top.
func TestProgressWithoutEntry(t *testing.T) {
	if p := ProgressFromMetadata(nil); p != (PollProgress{}) {
		t.Errorf("new job: %+v", p)
	}
	if p := ProgressFromMetadata([]byte(`{"snoozes": 4}`)); p != plainProgress(4) || p.LastAnswer != "in_progress" {
		t.Errorf("four plain polls: %+v", p)
	}
	if p := ProgressFromMetadata([]byte(`{"snoozes": 9, "pollhook": {"polls": 3, "last_result": "transient"}}`)); p.Polls != 3 {
		t.Errorf("progress of an older version: %+v, want its own 3 polls", p)
	}
	if progressChanged(storedProgress([]byte(`{"snoozes": 4}`)), plainProgress(5)) {
		t.Error("a plain poll after plain polls counts as a change")
	}
	if !progressChanged(storedProgress(nil), PollProgress{Polls: 1, LastResult: resultTransient, LastAnswer: ""}) {
		t.Error("a transient first poll does not count as a change")
	}
}

// TestProgressChanged lists what forces a write and what does not.
func TestProgressChanged(t *testing.T) {
	base := PollProgress{Polls: 3, LastResult: "in_progress", LastAnswer: "in_progress", LastHTTPStatus: 200,
		LastPolledAt: time.Unix(100, 0), NextPollAt: time.Unix(105, 0), SnoozesAt: 3}
	same := base
	same.Polls, same.LastPolledAt, same.NextPollAt, same.SnoozesAt = 9, time.Unix(200, 0), time.Unix(205, 0), 9
	if progressChanged(base, same) {
		t.Errorf("a later in-progress poll counts as a change: %+v -> %+v", base, same)
	}
	for name, mut := range map[string]func(*PollProgress){
		"transient": func(p *PollProgress) { p.LastResult, p.Transient, p.LastError = resultTransient, 1, "http_5xx" },
		"credentials": func(p *PollProgress) {
			p.LastResult, p.LastAnswer, p.CredentialsFailures = resultCredentials, resultCredentials, 1
		},
		"unknown status": func(p *PollProgress) { p.LastResult, p.UnknownStatusLen = resultUnknownStatus, 10 },
		"http status":    func(p *PollProgress) { p.LastHTTPStatus = 202 },
	} {
		next := base
		mut(&next)
		if !progressChanged(base, next) {
			t.Errorf("%s: not a change", name)
		}
	}
	if !progressChanged(PollProgress{}, base) {
		t.Error("the first poll's progress is not a change")
	}
}

// TestProgressFromJob takes the times a poll that wrote nothing left in the
// job's columns.
func TestProgressFromJob(t *testing.T) {
	attempted, scheduled := time.Unix(1000, 0), time.Unix(1005, 0)
	meta := metadataWith(t, PollProgress{Polls: 2, LastPolledAt: time.Unix(900, 0), NextPollAt: time.Unix(905, 0), SnoozesAt: 2}, 4)
	p := ProgressFromJob(&rivertype.JobRow{Metadata: meta, AttemptedAt: &attempted, ScheduledAt: scheduled})
	if p.Polls != 4 || !p.LastPolledAt.Equal(attempted) || !p.NextPollAt.Equal(scheduled) {
		t.Errorf("progress = %+v, want 4 polls, last at %s, next at %s", p, attempted, scheduled)
	}
	if p := ProgressFromJob(&rivertype.JobRow{ScheduledAt: scheduled}); p.Polls != 0 || !p.NextPollAt.IsZero() {
		t.Errorf("a job that never polled: %+v", p)
	}
}

func metadataWith(t *testing.T, p PollProgress, snoozes int) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{ProgressKey: p, "snoozes": snoozes})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withSnoozes(t *testing.T, metadata []byte, snoozes int) []byte {
	t.Helper()
	m := map[string]json.RawMessage{}
	if len(metadata) > 0 {
		if err := json.Unmarshal(metadata, &m); err != nil {
			t.Fatal(err)
		}
	}
	m["snoozes"], _ = json.Marshal(snoozes)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
