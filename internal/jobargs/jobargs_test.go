package jobargs_test

import (
	"encoding/json"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/jobargs"
)

// Both kinds implement River's interfaces with their insert options.
var (
	_ river.JobArgsWithInsertOpts = jobargs.Poll{}
	_ river.JobArgsWithInsertOpts = jobargs.Deliver{}
)

func TestPoll(t *testing.T) {
	t.Parallel()
	a := jobargs.Poll{SessionID: "0b9f6f4e-2f7c-4a55-9d8e-2a1c3f9d7e10"}
	if a.Kind() != "pollhook.poll" {
		t.Errorf("Kind = %q", a.Kind())
	}
	opts := a.InsertOpts()
	if opts.Queue != jobargs.QueuePoll || opts.MaxAttempts != 25 || !opts.UniqueOpts.ByArgs {
		t.Errorf("InsertOpts = %+v, want the poll queue, 25 attempts, unique by args", opts)
	}
	// Unique while live; completed left out, so River's scheduler does not
	// check moved jobs against every retained completed poll job (#785).
	live := map[rivertype.JobState]bool{}
	for _, s := range opts.UniqueOpts.ByState {
		live[s] = true
	}
	for _, s := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled} {
		if !live[s] {
			t.Errorf("UniqueOpts.ByState lacks %s: a session could get two live poll jobs", s)
		}
	}
	if live[rivertype.JobStateCompleted] {
		t.Error("UniqueOpts.ByState holds completed: River's scheduler would check against every retained completed job")
	}
	assertJSON(t, a, `{"session_id":"0b9f6f4e-2f7c-4a55-9d8e-2a1c3f9d7e10"}`)
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	a := jobargs.Deliver{DeliveryID: 7}
	if a.Kind() != "pollhook.deliver" {
		t.Errorf("Kind = %q", a.Kind())
	}
	opts := a.InsertOpts()
	if opts.Queue != jobargs.QueueDeliver || !opts.UniqueOpts.ByArgs {
		t.Errorf("InsertOpts = %+v, want the deliver queue, unique by args", opts)
	}
	if opts.MaxAttempts != 0 {
		t.Errorf("InsertOpts.MaxAttempts = %d: the attempt budget is the inserter's (the webhook schedule), not the leaf's", opts.MaxAttempts)
	}
	live := map[rivertype.JobState]bool{}
	for _, s := range opts.UniqueOpts.ByState {
		live[s] = true
	}
	for _, s := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled} {
		if !live[s] {
			t.Errorf("UniqueOpts.ByState lacks %s: two live jobs could send one delivery", s)
		}
	}
	for _, s := range []rivertype.JobState{rivertype.JobStateCompleted, rivertype.JobStateDiscarded, rivertype.JobStateCancelled} {
		if live[s] {
			t.Errorf("UniqueOpts.ByState holds %s: a redelivery could not insert a fresh job", s)
		}
	}
	assertJSON(t, a, `{"delivery_id":7}`)
}

// TestQueuesDistinct keeps every kind in a queue of its own, so that the
// worker's per-queue slots (poll vs deliver) mean what they say.
func TestQueuesDistinct(t *testing.T) {
	t.Parallel()
	if jobargs.QueuePoll == jobargs.QueueDeliver || jobargs.QueuePoll == river.QueueDefault || jobargs.QueueDeliver == river.QueueDefault {
		t.Fatalf("queues collide: poll %q, deliver %q, default %q", jobargs.QueuePoll, jobargs.QueueDeliver, river.QueueDefault)
	}
}

// assertJSON checks the encoded args: ids only, so nothing secret or
// personal can reach river_job.args.
func assertJSON(t *testing.T, args river.JobArgs, want string) {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s args encode as %s, want %s", args.Kind(), b, want)
	}
}
