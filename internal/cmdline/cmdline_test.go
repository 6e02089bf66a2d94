package cmdline

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const usage = "usage: tool [flags]\n"
	for _, tt := range []struct {
		args           []string
		code           int
		stop           bool
		stdout, stderr string
		rest           []string
	}{
		{args: nil, code: ExitOK},
		{args: []string{"up", "now"}, code: ExitOK, rest: []string{"up", "now"}},
		{args: []string{"-h"}, code: ExitOK, stop: true, stdout: usage},
		{args: []string{"--help"}, code: ExitOK, stop: true, stdout: usage},
		{args: []string{"--version"}, code: ExitOK, stop: true, stdout: "tool "},
		{args: []string{"--nope"}, code: ExitUsage, stop: true, stderr: "tool: flag provided but not defined: -nope\n\n" + usage},
	} {
		var stdout, stderr bytes.Buffer
		fs := flag.NewFlagSet("tool", flag.ContinueOnError)
		code, stop := Parse(fs, tt.args, usage, &stdout, &stderr)
		if code != tt.code || stop != tt.stop {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tt.args, code, stop, tt.code, tt.stop)
		}
		if !strings.HasPrefix(stdout.String(), tt.stdout) || (tt.stdout == "" && stdout.Len() > 0) {
			t.Errorf("Parse(%q) stdout %q, want %q", tt.args, stdout.String(), tt.stdout)
		}
		if stderr.String() != tt.stderr {
			t.Errorf("Parse(%q) stderr %q, want %q", tt.args, stderr.String(), tt.stderr)
		}
		if !stop && strings.Join(fs.Args(), " ") != strings.Join(tt.rest, " ") {
			t.Errorf("Parse(%q) left %q, want %q", tt.args, fs.Args(), tt.rest)
		}
	}
}
