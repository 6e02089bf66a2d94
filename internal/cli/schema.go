package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// requiredTables are the tables every pollhookctl command may read.
var requiredTables = [...]string{"subscribers", "subscriber_secrets", "sessions", "deliveries", "delivery_attempts", "river_job"}

// checkSchema refuses a schema that does not exist or lacks pollhook's
// tables, with what to do about it, before a command runs into Postgres's
// "relation does not exist".
func checkSchema(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	var database string
	var exists bool
	var missing []string
	err := pool.QueryRow(ctx, `SELECT current_database(),
			EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
			ARRAY(SELECT t FROM unnest($2::text[]) AS t WHERE to_regclass(format('%I.%I', $1::text, t)) IS NULL)`,
		schema, requiredTables[:]).Scan(&database, &exists, &missing)
	if err != nil {
		return fmt.Errorf("look up schema %s: %w", schema, err)
	}
	switch {
	case !exists:
		return fmt.Errorf("schema %q does not exist in database %q: set POLLHOOK_SCHEMA to pollhook's schema, or create it with \"migrate up\" (same DATABASE_URL and POLLHOOK_SCHEMA)", schema, database)
	case len(missing) > 0:
		return fmt.Errorf("schema %q in database %q has no pollhook tables (missing: %s): run \"migrate up\" with the same DATABASE_URL and POLLHOOK_SCHEMA", schema, database, strings.Join(missing, ", "))
	}
	return nil
}

// explainDBError adds a hint to errors that mean the schema is not the one
// this pollhookctl expects (a table, column or function missing: migrations
// pending), and returns other errors as they are.
func explainDBError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "42P01", "42703", "42883", "3F000": // undefined table, column, function; invalid schema
		return fmt.Errorf("%w (the schema is not what this pollhookctl expects: check \"migrate status\", run \"migrate up\")", err)
	}
	return err
}
