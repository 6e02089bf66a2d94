package main

import (
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/version"
)

func TestMain(m *testing.M) { cmdtest.Main(m, run) }

// TestProcessExitCodes runs this test binary as the pollhookctl process and
// checks the exit status and where the output goes.
func TestProcessExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		code       int
		stdoutPart string
		stderrPart string
	}{
		{args: []string{"--version"}, code: 0, stdoutPart: version.Line("pollhookctl")},
		{args: []string{"-h"}, code: 0, stdoutPart: "pollhookctl --version"},
		{args: []string{"sessions", "show", "-1"}, code: 2, stderrPart: `session id "-1" is not a UUID`},
		{args: []string{"frobnicate"}, code: 2, stderrPart: `unknown command "frobnicate"`},
		{args: []string{"sessions", "list"}, code: 1, stderrPart: "does not answer"},
	}
	for _, tt := range tests {
		r := cmdtest.Run(t, []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}, tt.args...)
		if r.Code != tt.code || !strings.Contains(r.Stdout, tt.stdoutPart) || !strings.Contains(r.Stderr, tt.stderrPart) {
			t.Errorf("pollhookctl %q: exit %d (want %d)\nstdout: %s\nstderr: %s", tt.args, r.Code, tt.code, r.Stdout, r.Stderr)
		}
	}
}
