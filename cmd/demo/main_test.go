package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/version"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmdtest.Case
		// done: parseFlags has said all there is to say, the demo must not run.
		done bool
	}{
		{Case: cmdtest.Case{Args: nil}},
		{Case: cmdtest.Case{Args: []string{"-keep", "-timeout", "30s"}}},
		{Case: cmdtest.Case{Args: []string{"-h"}, Stdout: "-keep"}, done: true},
		{Case: cmdtest.Case{Args: []string{"--help"}, Stdout: "usage: demo"}, done: true},
		{Case: cmdtest.Case{Args: []string{"--version"}, Stdout: version.Line("demo")}, done: true},
		{Case: cmdtest.Case{Args: []string{"-kep"}, Code: 2, Stderr: "not defined: -kep"}, done: true},
		{Case: cmdtest.Case{Args: []string{"fast"}, Code: 2, Stderr: `unexpected argument "fast"`}, done: true},
		{Case: cmdtest.Case{Args: []string{"-timeout", "soon"}, Code: 2, Stderr: "invalid value"}, done: true},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		opts, code, done := parseFlags(tt.Args, &out, &errOut)
		tt.Check(t, "demo", cmdtest.Result{Stdout: out.String(), Stderr: errOut.String(), Code: code})
		if done != tt.done {
			t.Errorf("demo %q: done %v, want %v", tt.Args, done, tt.done)
		}
		if tt.Code == 2 && !strings.Contains(errOut.String(), "usage: demo") {
			t.Errorf("demo %q: no usage on stderr", tt.Args)
		}
		if len(tt.Args) == 3 && (!opts.keep || opts.timeout != 30*time.Second) {
			t.Errorf("demo %q: options %+v", tt.Args, opts)
		}
	}
}
