// Command migrate applies pollhook's schema: `migrate up` creates the schema
// (POLLHOOK_SCHEMA), applies River's migrations and pollhook's own; `migrate
// status` lists every migration and whether it is applied. It is safe to run
// twice or from two processes at once.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/migrate"
)

const usage = `usage: migrate up|status

  up      create the schema and apply every pending migration
  status  list River's and pollhook's migrations and whether each is applied

DATABASE_URL and POLLHOOK_SCHEMA select the database and schema.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		url = db.DefaultURL
	}
	schema := os.Getenv("POLLHOOK_SCHEMA")
	if schema == "" {
		schema = db.DefaultSchema
	}
	ctx := context.Background()
	pool, err := db.Open(ctx, db.Config{URL: url, Schema: schema})
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		return 1
	}
	defer pool.Close()

	switch args[0] {
	case "up":
		applied, err := migrate.Up(ctx, pool, schema, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			fmt.Fprintln(os.Stderr, "migrate:", err)
			return 1
		}
		for _, a := range applied {
			fmt.Printf("applied %s %d %s\n", a.Line, a.Version, a.Name)
		}
		fmt.Printf("schema %s is up to date (%d applied now)\n", schema, len(applied))
	case "status":
		sts, err := migrate.List(ctx, pool, schema)
		if err != nil {
			fmt.Fprintln(os.Stderr, "migrate:", err)
			return 1
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LINE\tVERSION\tNAME\tAPPLIED")
		for _, s := range sts {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%v\n", s.Line, s.Version, s.Name, s.Applied)
		}
		_ = tw.Flush()
	}
	return 0
}
