package jobs

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// permanentDBError reports whether err is a refusal by the database that
// the same statement would meet again: a data exception (class 22, e.g.
// invalid bytes), an integrity constraint (23), a syntax or access rule
// (42), or a PL/pgSQL raise (P0). Connection losses, serialization failures,
// deadlocks, lock timeouts, lack of resources and shutdowns (08, 40, 53, 55,
// 57, 58), like any error that is not Postgres's, may heal on a retry.
func permanentDBError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "42", "P0":
		return true
	}
	return false
}

// dbErrorAttrs are the log attributes of a database error: its SQLSTATE,
// constraint and column, never the values it may quote.
func dbErrorAttrs(err error) []any {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return []any{"error", err}
	}
	return []any{"sqlstate", pgErr.Code, "constraint", pgErr.ConstraintName, "column", pgErr.ColumnName, "table", pgErr.TableName}
}
