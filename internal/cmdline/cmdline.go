// Package cmdline parses a command's flags the way every pollhook command
// does: -h and --help print the usage to stdout and exit 0, --version prints
// the stamped version and exits 0, and a bad flag prints the error and the
// usage to stderr and exits 2.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/pollhook/pollhook/internal/version"
)

// Exit codes shared by the commands.
const (
	// ExitOK is a clean exit (help and --version included).
	ExitOK = 0
	// ExitUsage is a wrong argument or flag.
	ExitUsage = 2
)

// Parse adds --version to fs, parses args and handles help, --version and
// flag errors. It returns stop true with the exit code when the command
// must end there; otherwise fs.Args() holds the remaining arguments.
func Parse(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) (code int, stop bool) {
	fs.SetOutput(io.Discard)
	showVersion := fs.Bool("version", false, "print the version and exit")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return ExitOK, true
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n\n%s", fs.Name(), err, usage)
		return ExitUsage, true
	case *showVersion:
		fmt.Fprintln(stdout, version.Line(fs.Name()))
		return ExitOK, true
	}
	return ExitOK, false
}
