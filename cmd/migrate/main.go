// Command migrate applies pollhook's schema: `migrate up` creates the schema
// (POLLHOOK_SCHEMA), applies River's migrations and pollhook's own; `migrate
// status` lists every migration and whether it is applied; `migrate
// validate` checks that the applied migrations are exactly the ones this
// binary carries. It is safe to run twice or from two processes at once.
//
// Exit status: 0 done (or up to date), 1 failed, 2 wrong arguments,
// 3 migrations pending (status, validate) or unknown to this binary
// (validate).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pollhook/pollhook/internal/cmdline"
	"github.com/pollhook/pollhook/internal/db"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	// exitNotInStep: migrations are pending, or applied but unknown.
	exitNotInStep = 3
)

const usage = `usage: migrate up|status|validate
       migrate --version | --help

Commands:
  up        create the schema and apply every pending migration
  status    list River's and pollhook's migrations and whether each is applied;
            exit 3 if any is pending
  validate  check that the applied migrations are exactly the ones this binary
            carries (none pending, none unknown); exit 3 if not

DATABASE_URL (default ` + db.DefaultURL + `) and
POLLHOOK_SCHEMA (default ` + db.DefaultSchema + `) select the database and schema.

Exit status: 0 done or up to date, 1 failed, 2 wrong arguments,
3 migrations pending (status, validate) or unknown to this binary (validate).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run runs the command with args (without the program name) and returns its
// exit code.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if code, stop := cmdline.Parse(fs, args, usage, stdout, stderr); stop {
		return code
	}
	rest := fs.Args()
	if len(rest) == 1 && rest[0] == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if len(rest) != 1 || subcommands[rest[0]] == nil {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cfg := db.Config{URL: getenv("DATABASE_URL"), Schema: getenv("POLLHOOK_SCHEMA")}
	if cfg.URL == "" {
		cfg.URL = db.DefaultURL
	}
	if cfg.Schema == "" {
		cfg.Schema = db.DefaultSchema
	}
	ctx := context.Background()
	pool, err := db.Open(ctx, cfg)
	code := exitOK
	if err == nil {
		defer pool.Close()
		code, err = subcommands[rest[0]](ctx, stdout, stderr, pool, cfg.Schema)
	}
	if err != nil {
		fmt.Fprintln(stderr, "migrate:", err)
		return exitFailed
	}
	return code
}
