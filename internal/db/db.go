// Package db opens pollhook's connection pool.
//
// Every table pollhook owns, River's included, lives in one Postgres schema
// (POLLHOOK_SCHEMA, default "pollhook"). The pool opened here sets
// search_path to that schema so pollhook's queries name tables unqualified,
// while River is told the schema through river.Config.Schema.
package db

import (
	"context"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultSchema is the schema pollhook uses when POLLHOOK_SCHEMA is unset.
const DefaultSchema = "pollhook"

// schemaRE matches the schema names pollhook accepts: River's own rule, kept
// shorter so River's notification topics still fit in 63 bytes.
var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,39}$`)

// ValidateSchema returns an error if name cannot be used as pollhook's schema.
func ValidateSchema(name string) error {
	if !schemaRE.MatchString(name) {
		return fmt.Errorf("db: schema %q is invalid: use 1-40 lower-case letters, digits or underscores, not starting with a digit", name)
	}
	return nil
}

// Config configures the pool.
type Config struct {
	// URL is a libpq connection string or URL (DATABASE_URL).
	URL string
	// Schema is pollhook's schema (POLLHOOK_SCHEMA).
	Schema string
	// MaxConns caps the pool; zero keeps pgxpool's default.
	MaxConns int32
	// AsyncCommit turns synchronous_commit off on the pool's connections: a
	// commit returns before its WAL reaches disk, and a Postgres crash may
	// lose the last moments of commits (never corrupt them). Only for River's
	// queue statements (fetch, snooze, completion), whose loss runs a job
	// again; pollhook's own rows go through a pool without it.
	AsyncCommit bool
}

// Open connects a pool whose connections use cfg.Schema as search_path and
// checks that the database answers.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	if err := ValidateSchema(cfg.Schema); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's parse errors can echo the password: say only what failed.
		return nil, fmt.Errorf("db: DATABASE_URL cannot be parsed as a connection string")
	}
	pcfg.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	pcfg.ConnConfig.RuntimeParams["application_name"] = "pollhook"
	if cfg.AsyncCommit {
		pcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
		pcfg.ConnConfig.RuntimeParams["application_name"] = "pollhook_river"
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("db: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: database at %s:%d does not answer: %w", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, err)
	}
	return pool, nil
}

// DefaultURL is the database used when DATABASE_URL is unset: the local
// server scripts/pg.sh starts.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/pollhook?sslmode=disable"
