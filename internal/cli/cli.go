// Package cli implements pollhookctl, the operator's command line: it lists
// and changes subscribers, sessions and deliveries directly in pollhook's
// database, with the worker's configuration (DATABASE_URL and
// POLLHOOK_SCHEMA).
//
// Every command prints a human table by default and JSON with --json. Bad
// arguments exit 2 with a one-line message and the command's usage, runtime
// errors exit 1, success exits 0. Run holds all of it, so tests call it
// directly; cmd/pollhookctl only wires it to the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/version"
)

// Exit codes returned by Run.
const (
	// ExitOK: the command succeeded.
	ExitOK = 0
	// ExitError: the command failed at run time (database, not found, ...).
	ExitError = 1
	// ExitUsage: the arguments were wrong.
	ExitUsage = 2
)

// programName prefixes every message on stderr.
const programName = "pollhookctl"

// Run runs pollhookctl with args (without the program name), writing results
// to stdout and messages to stderr, reading DATABASE_URL and POLLHOOK_SCHEMA
// through getenv. It returns the process exit code: ExitOK, ExitError or
// ExitUsage.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cmds := commands()
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: no command given\n\n", programName)
		writeUsage(stderr, cmds)
		return ExitUsage
	}
	switch {
	case len(args) == 1 && (args[0] == "version" || args[0] == "--version" || args[0] == "-version"):
		fmt.Fprintln(stdout, version.Line(programName))
		return ExitOK
	case args[0] == "help" || isHelpFlag(args[0]):
		return runHelp(stdout, stderr, cmds, args[1:])
	case len(args) == 2 && isHelpFlag(args[1]):
		// "pollhookctl subscribers -h" lists the group's commands.
		return runHelp(stdout, stderr, cmds, args[:1])
	}

	cmd, rest, err := findCommand(cmds, args)
	if err != nil {
		return usageFailure(stderr, cmds, err)
	}
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	defer e.close()
	fs := newFlagSet(cmd, &e.json)
	act := cmd.setup(fs)
	pos, err := parseArgs(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		writeCommandUsage(stdout, cmd)
		return ExitOK
	}
	if err == nil {
		err = checkArgCount(cmd, pos)
	}
	if err == nil {
		err = requireFlags(fs, cmd.required...)
	}
	if err == nil {
		err = act(ctx, e, pos)
	}
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		if ue.cmd == nil {
			ue.cmd = cmd
		}
		return usageFailure(stderr, cmds, ue)
	default:
		fmt.Fprintf(stderr, "%s: %v\n", programName, explainDBError(err))
		return ExitError
	}
}

// action runs a command once its flags are parsed; args are its positional
// arguments, already counted.
type action func(ctx context.Context, e *env, args []string) error

// command is one pollhookctl command, e.g. "subscribers add".
type command struct {
	// group and name make the command's words, e.g. "subscribers", "add".
	group, name string
	// args names the positional arguments, e.g. {"NAME", "URL"}.
	args []string
	// required names the flags that must be given.
	required []string
	// summary says in one line what the command does.
	summary string
	// detail, if set, explains more in the command's own usage.
	detail string
	// setup defines the command's flags on fs and returns the action, which
	// reads them once parsed.
	setup func(fs *flag.FlagSet) action
}

// path is the command's words, e.g. "subscribers add".
func (c *command) path() string { return c.group + " " + c.name }

// commands returns every command, in the order help lists them.
func commands() []*command {
	var out []*command
	out = append(out, subscriberCommands()...)
	out = append(out, sessionCommands()...)
	out = append(out, deliveryCommands()...)
	out = append(out, keyCommands()...)
	return out
}

// groups returns the command groups in help order.
func groups(cmds []*command) []string {
	var out []string
	for _, c := range cmds {
		if len(out) == 0 || out[len(out)-1] != c.group {
			out = append(out, c.group)
		}
	}
	return out
}

// findCommand picks the command named by the first two words of args and
// returns the rest.
func findCommand(cmds []*command, args []string) (*command, []string, error) {
	group := args[0]
	var names []string
	for _, c := range cmds {
		if c.group == group {
			names = append(names, c.name)
		}
	}
	if len(names) == 0 {
		return nil, nil, &usageError{msg: fmt.Sprintf("unknown command %q", group)}
	}
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return nil, nil, &usageError{msg: fmt.Sprintf("%s needs a subcommand: %s", group, strings.Join(names, ", ")), group: group}
	}
	for _, c := range cmds {
		if c.group == group && c.name == args[1] {
			return c, args[2:], nil
		}
	}
	return nil, nil, &usageError{msg: fmt.Sprintf("unknown command %q (want one of: %s)", group+" "+args[1], strings.Join(names, ", ")), group: group}
}

func isHelpFlag(s string) bool {
	return s == "-h" || s == "-help" || s == "--help"
}

// checkArgCount refuses missing or extra positional arguments.
func checkArgCount(cmd *command, pos []string) error {
	if len(pos) < len(cmd.args) {
		return &usageError{msg: "missing " + strings.Join(cmd.args[len(pos):], " ")}
	}
	if len(pos) > len(cmd.args) {
		return &usageError{msg: fmt.Sprintf("unexpected argument %q", pos[len(cmd.args)])}
	}
	return nil
}

// usageError is a bad argument: Run prints it with the usage and exits 2.
type usageError struct {
	// cmd is the command whose usage to print; nil prints the group's or
	// the whole usage.
	cmd *command
	// group, if cmd is nil, names the group whose commands to list.
	group string
	msg   string
}

// Error implements error.
func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError for the running command.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// usageFailure prints a usage error and the matching usage to stderr.
func usageFailure(stderr io.Writer, cmds []*command, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n\n", programName, err)
	var ue *usageError
	switch {
	case errors.As(err, &ue) && ue.cmd != nil:
		writeCommandUsage(stderr, ue.cmd)
	case errors.As(err, &ue) && ue.group != "":
		writeGroupUsage(stderr, cmds, ue.group)
	default:
		writeUsage(stderr, cmds)
	}
	return ExitUsage
}

// runHelp prints the whole usage, a group's or a command's.
func runHelp(stdout, stderr io.Writer, cmds []*command, args []string) int {
	switch len(args) {
	case 0:
		writeUsage(stdout, cmds)
		return ExitOK
	case 1:
		for _, g := range groups(cmds) {
			if g == args[0] {
				writeGroupUsage(stdout, cmds, g)
				return ExitOK
			}
		}
	case 2:
		for _, c := range cmds {
			if c.group == args[0] && c.name == args[1] {
				writeCommandUsage(stdout, c)
				return ExitOK
			}
		}
	}
	return usageFailure(stderr, cmds, usagef("no help for %q", strings.Join(args, " ")))
}

// env is what a command runs with: its outputs, its configuration and the
// database connections it opens on first use.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// json is set by --json.
	json bool

	pool   *pgxpool.Pool
	schema string
	client *river.Client[pgx.Tx]
}

// config returns DATABASE_URL and POLLHOOK_SCHEMA, with their defaults.
func (e *env) config() db.Config {
	cfg := db.Config{URL: e.getenv("DATABASE_URL"), Schema: e.getenv("POLLHOOK_SCHEMA"), MaxConns: 4}
	if cfg.URL == "" {
		cfg.URL = db.DefaultURL
	}
	if cfg.Schema == "" {
		cfg.Schema = db.DefaultSchema
	}
	return cfg
}

// db opens the pool on first use.
func (e *env) db(ctx context.Context) (*pgxpool.Pool, error) {
	if e.pool != nil {
		return e.pool, nil
	}
	cfg := e.config()
	pool, err := db.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, pool, cfg.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	e.pool, e.schema = pool, cfg.Schema
	return pool, nil
}

// river returns an insert-only River client on the pool, made on first use.
func (e *env) river(ctx context.Context) (*river.Client[pgx.Tx], error) {
	if e.client != nil {
		return e.client, nil
	}
	pool, err := e.db(ctx)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Schema: e.schema, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	e.client = client
	return client, nil
}

// inTx runs fn in a transaction on the pool, committing if it returns nil.
func (e *env) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, fn)
}

// close releases the pool, if one was opened.
func (e *env) close() {
	if e.pool != nil {
		e.pool.Close()
	}
}
