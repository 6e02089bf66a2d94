package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/version"
)

// subcommand runs one of migrate's subcommands on schema. It returns the
// exit code, or an error, which run reports and exits exitFailed with.
type subcommand func(ctx context.Context, stdout, stderr io.Writer, pool *pgxpool.Pool, schema string) (int, error)

// subcommands are migrate's subcommands by name.
var subcommands = map[string]subcommand{"up": up, "status": status, "validate": validate}

// up applies every pending migration.
func up(ctx context.Context, stdout, stderr io.Writer, pool *pgxpool.Pool, schema string) (int, error) {
	applied, err := migrate.Up(ctx, pool, schema, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return 0, err
	}
	for _, a := range applied {
		fmt.Fprintf(stdout, "applied %s %d %s\n", a.Line, a.Version, a.Name)
	}
	fmt.Fprintf(stdout, "schema %s is up to date (%d applied now)\n", schema, len(applied))
	return exitOK, nil
}

// status lists every migration; it exits exitNotInStep if one is pending.
func status(ctx context.Context, stdout, stderr io.Writer, pool *pgxpool.Pool, schema string) (int, error) {
	sts, err := migrate.List(ctx, pool, schema)
	if err != nil {
		return 0, err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tVERSION\tNAME\tAPPLIED")
	pending := 0
	for _, s := range sts {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%v\n", s.Line, s.Version, s.Name, s.Applied)
		if !s.Applied {
			pending++
		}
	}
	_ = tw.Flush()
	if pending > 0 {
		fmt.Fprintf(stderr, "migrate: %d migrations pending in schema %s: run \"migrate up\"\n", pending, schema)
		return exitNotInStep, nil
	}
	return exitOK, nil
}

// validate checks that applied and embedded migrations are the same.
func validate(ctx context.Context, stdout, stderr io.Writer, pool *pgxpool.Pool, schema string) (int, error) {
	c, err := migrate.Validate(ctx, pool, schema)
	if err != nil {
		return 0, err
	}
	if c.OK() {
		fmt.Fprintf(stdout, "schema %s is valid: every migration this binary carries is applied, and no other\n", schema)
		return exitOK, nil
	}
	for _, s := range c.Pending {
		fmt.Fprintf(stderr, "pending: %s %d %s\n", s.Line, s.Version, s.Name)
	}
	for _, s := range c.Unknown {
		fmt.Fprintf(stderr, "unknown: %s %d is applied but this binary does not carry it\n", s.Line, s.Version)
	}
	switch {
	case len(c.Unknown) > 0:
		fmt.Fprintf(stderr, "migrate: schema %s was migrated by a newer pollhook or River than this binary (%s): deploy that version\n", schema, version.String())
	default:
		fmt.Fprintf(stderr, "migrate: schema %s has %d migrations pending: run \"migrate up\"\n", schema, len(c.Pending))
	}
	return exitNotInStep, nil
}
