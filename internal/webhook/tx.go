package webhook

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// withTx runs fn in a transaction of db and commits it if fn returns nil.
// What names the operation in the errors of the transaction itself
// ("webhook: <what>: begin: ..."); fn's errors are returned as they are,
// so fn wraps its own. A failed run is rolled back even once ctx is done.
func withTx(ctx context.Context, db DBTX, what string, fn func(tx pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("webhook: %s: begin: %w", what, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("webhook: %s: commit: %w", what, err)
	}
	return nil
}
