package deploy

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// promtoolInstall says how to get promtool where it is missing.
const promtoolInstall = "promtool is not installed: `apt-get install -y prometheus` (Debian/Ubuntu; .ci/run does it) " +
	"or put the promtool binary of a Prometheus release on PATH"

// promtool returns promtool's path, failing t if there is none.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal(promtoolInstall)
	}
	return path
}

// TestPromtoolChecksAndTestsRules runs `promtool check rules` over the rules
// and `promtool test rules` over their unit tests.
func TestPromtoolChecksAndTestsRules(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "pollhook-rules.yml"},
		{"test", "rules", "pollhook-rules.test.yml"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
