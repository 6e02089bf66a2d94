package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/version"
)

func TestMain(m *testing.M) {
	if os.Getenv("POLLHOOK_CTL_AS_COMMAND") == "1" {
		var args []string
		for _, a := range os.Args[1:] {
			if !strings.HasPrefix(a, "-test.") {
				args = append(args, a)
			}
		}
		os.Args = append([]string{"pollhookctl"}, args...)
		main()
		return
	}
	os.Exit(m.Run())
}

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
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestMain$"}, tt.args...)...)
		cmd.Env = append(os.Environ(), "POLLHOOK_CTL_AS_COMMAND=1",
			"DATABASE_URL=postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || !strings.Contains(out.String(), tt.stdoutPart) || !strings.Contains(errOut.String(), tt.stderrPart) {
			t.Errorf("pollhookctl %q: exit %d (want %d)\nstdout: %s\nstderr: %s", tt.args, code, tt.code, out.String(), errOut.String())
		}
	}
}
