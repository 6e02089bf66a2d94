package testdb

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// ExecInternal runs sql with args on d's schema as pollhook's own statements
// run: in a transaction with pollhook.internal on, which the sessions guard
// of migration 00002 requires for writing pollhook's own columns (state,
// outcome, created_at). Fixtures use it to put rows as pollhook would leave
// them. It fails t on error.
func (d *DB) ExecInternal(ctx context.Context, t testing.TB, sql string, args ...any) {
	t.Helper()
	err := pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('pollhook.internal', 'on', true)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("testdb: exec %q: %v", sql, err)
	}
}
