package main

import (
	"testing"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/version"
)

func TestMain(m *testing.M) { cmdtest.Main(m, run) }

// TestProcessExitCodes runs this test binary as the pollhookctl process and
// checks the exit status and where the output goes.
func TestProcessExitCodes(t *testing.T) {
	t.Parallel()
	tests := []cmdtest.Case{
		{Args: []string{"--version"}, Code: 0, Stdout: version.Line("pollhookctl")},
		{Args: []string{"-h"}, Code: 0, Stdout: "pollhookctl --version"},
		{Args: []string{"sessions", "show", "-1"}, Code: 2, Stderr: `session id "-1" is not a UUID`},
		{Args: []string{"frobnicate"}, Code: 2, Stderr: `unknown command "frobnicate"`},
		{Args: []string{"sessions", "list"}, Code: 1, Stderr: "does not answer"},
	}
	for _, tc := range tests {
		tc.Check(t, "pollhookctl", cmdtest.Run(t, []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}, tc.Args...))
	}
}
