package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEBackoffRow keeps README's POLLHOOK_BACKOFF_<FLOW> row equal to
// the defaults and names the code has.
func TestREADMEBackoffRow(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := "| `POLLHOOK_BACKOFF_<FLOW>` | `" + backoffDefaults() + "` | " + backoffDoc() + " |"
	if !strings.Contains(string(readme), row) {
		t.Errorf("README.md lacks the row\n%s", row)
	}
	for _, name := range []string{"POLLHOOK_BACKOFF_VERIFICATION", "POLLHOOK_BACKOFF_SMARTID_IDENTIFICATION", "POLLHOOK_BACKOFF_MOBILEID_HASH_SIGNING"} {
		if !strings.Contains(row, name) {
			t.Errorf("the row does not name %s", name)
		}
	}
}

func TestBackoffVarsReadBack(t *testing.T) {
	t.Parallel()
	// Every documented default parses back to the schedule it came from.
	for _, part := range strings.Split(backoffDefaults(), "; ") {
		sched, _, _ := strings.Cut(part, " ")
		if _, err := ParseBackoff(sched); err != nil {
			t.Errorf("default %q does not parse: %v", sched, err)
		}
	}
}
