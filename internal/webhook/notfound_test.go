package webhook

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMissingIsNotFound calls every operation on one delivery or subscriber
// with one that does not exist, beside one that does: each answers
// ErrNotFound.
func TestMissingIsNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app")
	ctx := context.Background()
	pool := f.db.Pool
	missing := f.delivery(t, "app", StatePending, 0) + 1000
	tests := []struct {
		op string
		fn func() error
	}{
		{"LoadDelivery", func() error { _, err := LoadDelivery(ctx, pool, missing); return err }},
		{"RecordAttempt", func() error {
			return RecordAttempt(ctx, pool, AtRest{}, missing, 1, "https://hooks.example.com/app", Attempt{StatusCode: 200})
		}},
		{"Redeliver", func() error {
			return f.inTx(func(tx pgx.Tx) error { return Redeliver(ctx, tx, f.river, missing) })
		}},
		{"ReplayFailed", func() error {
			return f.inTx(func(tx pgx.Tx) error { _, err := ReplayFailed(ctx, tx, f.river, "missing", time.Time{}); return err })
		}},
		{"RotateSecret", func() error { _, err := RotateSecret(ctx, pool, nil, "missing", time.Hour, ""); return err }},
		{"Enable", func() error { _, err := Enable(ctx, pool, f.river, AtRest{}, "missing"); return err }},
	}
	for _, tt := range tests {
		if err := tt.fn(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s(missing) = %v, want ErrNotFound", tt.op, err)
		}
	}
}
