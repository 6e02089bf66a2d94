// Package cmdtest lets a command's tests run their own test binary as the
// command, so that they check what the process does: its exit status, what
// it prints on stdout and on stderr, how it stops on SIGTERM. Main, in the
// command package's TestMain, turns the test binary into the command when
// Run or Start asks for it. Buffer collects output that goroutines are
// still writing.
package cmdtest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// asCommand is the environment variable that makes a test binary run as its
// command.
const asCommand = "POLLHOOK_TEST_AS_COMMAND"

// Main is the TestMain of a command's package: it runs the tests, or, in a
// test binary started by Run or Start, runs the command with the arguments
// given after the test flags and exits with the code run returns.
func Main(m *testing.M, run func(args []string) int) {
	if os.Getenv(asCommand) != "1" {
		os.Exit(m.Run())
	}
	var args []string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-test.") {
			args = append(args, a)
		}
	}
	os.Exit(run(args))
}

// selfArgs are the arguments that start this test binary as its command
// with args: no test runs, Main runs the command.
func selfArgs(args []string) []string {
	return append([]string{"-test.run=^TestMain$"}, args...)
}

// Result is what a finished command printed and how it exited.
type Result struct {
	Stdout, Stderr string
	// Code is the exit status.
	Code int
}

// Run runs this test binary as its command with args, its environment this
// process's with env (KEY=value) added, and returns the result; it fails t
// if the process could not run.
func Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(os.Args[0], selfArgs(args)...)
	cmd.Env = append(append(os.Environ(), asCommand+"=1"), env...)
	return RunCmd(t, cmd)
}

// RunCmd runs cmd to its end and returns the result; it fails t if cmd
// could not run, but not for a non-zero exit status.
func RunCmd(t testing.TB, cmd *exec.Cmd) Result {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}

// Case is one run of a command in a table test: its arguments and what it
// must do.
type Case struct {
	Args []string
	// Code is the exit status wanted.
	Code int
	// Stdout and Stderr are parts that stdout and stderr must contain.
	Stdout, Stderr string
}

// Check fails t unless r is what c wants, naming the command cmd in the
// message; it reports whether r passed.
func (c Case) Check(t testing.TB, cmd string, r Result) bool {
	t.Helper()
	if r.Code != c.Code || !strings.Contains(r.Stdout, c.Stdout) || !strings.Contains(r.Stderr, c.Stderr) {
		t.Errorf("%s %q: exit %d (want %d)\nstdout: %s\nstderr: %s", cmd, c.Args, r.Code, c.Code, r.Stdout, r.Stderr)
		return false
	}
	return true
}
