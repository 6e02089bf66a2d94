package cli

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/pollhook/pollhook/internal/db"
)

// usageIntro opens the whole usage.
const usageIntro = `pollhookctl operates pollhook: its subscribers, sessions and webhook deliveries,
straight in its database.

Usage:
  pollhookctl COMMAND SUBCOMMAND [ARGS] [FLAGS]
  pollhookctl help [COMMAND [SUBCOMMAND]]
  pollhookctl --version
`

// usageFooter closes the whole usage.
const usageFooter = `Every command takes --json to print JSON for scripts instead of a table.
Flags may come before or after the arguments; "--" ends the flags.
--since takes a duration back from now (90m, 1h, 7d) or an RFC 3339 time.

Environment (the worker's own):
  DATABASE_URL     Postgres connection URL (default ` + db.DefaultURL + `)
  POLLHOOK_SCHEMA  pollhook's schema (default ` + db.DefaultSchema + `)

The schema must be migrated first ("migrate up").

Exit status: 0 on success, 1 on a runtime error, 2 on bad arguments.
`

// writeUsage prints every command with its synopsis and summary.
func writeUsage(w io.Writer, cmds []*command) {
	fmt.Fprint(w, usageIntro)
	for _, g := range groups(cmds) {
		fmt.Fprintln(w)
		writeCommandList(w, cmds, g)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, usageFooter)
}

// writeGroupUsage prints the commands of one group.
func writeGroupUsage(w io.Writer, cmds []*command, group string) {
	fmt.Fprintf(w, "Usage: pollhookctl %s SUBCOMMAND [ARGS] [FLAGS]\n\n", group)
	writeCommandList(w, cmds, group)
	fmt.Fprintf(w, "\nRun \"pollhookctl help %s SUBCOMMAND\" for a command's flags.\n", group)
}

// writeCommandList prints a group's commands, a synopsis and summary each.
func writeCommandList(w io.Writer, cmds []*command, group string) {
	fmt.Fprintf(w, "%s:\n", titleCase(group))
	for _, c := range cmds {
		if c.group != group {
			continue
		}
		fs := newFlagSet(c, new(bool))
		c.setup(fs)
		fmt.Fprintf(w, "  %s\n      %s\n", synopsis(c, fs), c.summary)
	}
}

// writeCommandUsage prints one command's usage with its flags.
func writeCommandUsage(w io.Writer, cmd *command) {
	fs := newFlagSet(cmd, new(bool))
	cmd.setup(fs)
	fmt.Fprintf(w, "Usage: pollhookctl %s\n\n%s.\n", synopsis(cmd, fs), titleCase(cmd.summary))
	if cmd.detail != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.detail)
	}
	fmt.Fprint(w, "\nFlags (before or after the arguments):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if ph := flagPlaceholder(f); ph != "" {
			name += " " + ph
		}
		_, usage := flag.UnquoteUsage(f)
		switch f.DefValue {
		case "", "0", "false":
		default:
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
	})
	_ = tw.Flush()
}

// titleCase upper-cases the first letter of an ASCII word.
func titleCase(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
