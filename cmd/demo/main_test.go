package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/version"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		code       int
		done       bool
		stdoutPart string
		stderrPart string
	}{
		{args: nil},
		{args: []string{"-keep", "-timeout", "30s"}},
		{args: []string{"-h"}, done: true, stdoutPart: "-keep"},
		{args: []string{"--help"}, done: true, stdoutPart: "usage: demo"},
		{args: []string{"--version"}, done: true, stdoutPart: version.Line("demo")},
		{args: []string{"-kep"}, code: 2, done: true, stderrPart: "not defined: -kep"},
		{args: []string{"fast"}, code: 2, done: true, stderrPart: `unexpected argument "fast"`},
		{args: []string{"-timeout", "soon"}, code: 2, done: true, stderrPart: "invalid value"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		opts, code, done := parseFlags(tt.args, &out, &errOut)
		if code != tt.code || done != tt.done || !strings.Contains(out.String(), tt.stdoutPart) || !strings.Contains(errOut.String(), tt.stderrPart) {
			t.Errorf("demo %q: code %d done %v\nstdout: %s\nstderr: %s", tt.args, code, done, out.String(), errOut.String())
		}
		if tt.code == 2 && !strings.Contains(errOut.String(), "usage: demo") {
			t.Errorf("demo %q: no usage on stderr", tt.args)
		}
		if len(tt.args) == 3 && (!opts.keep || opts.timeout != 30*time.Second) {
			t.Errorf("demo %q: options %+v", tt.args, opts)
		}
	}
}
