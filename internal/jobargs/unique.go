package jobargs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// uniqueWhileLive makes a job unique by its args among the live jobs only
// (available, pending, running, retryable, scheduled): a second insert while
// one lives is a no-op, while a completed, discarded or cancelled job does
// not block a fresh one. Both kinds use it; their InsertOpts say why.
func uniqueWhileLive() river.UniqueOpts {
	return river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable,
			rivertype.JobStatePending,
			rivertype.JobStateRunning,
			rivertype.JobStateRetryable,
			rivertype.JobStateScheduled,
		},
	}
}
