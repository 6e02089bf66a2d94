package jobargs_test

import (
	"testing"

	"github.com/pollhook/pollhook/internal/jobargs"
)

func TestPollRunsInItsProvidersQueue(t *testing.T) {
	t.Parallel()
	for provider, want := range map[string]string{"fortid": "poll_fortid", "marksign": "poll_marksign", "": "poll"} {
		if got := (jobargs.Poll{SessionID: "x", Provider: provider}).InsertOpts().Queue; got != want {
			t.Errorf("provider %q: queue %q, want %q", provider, got, want)
		}
	}
}
