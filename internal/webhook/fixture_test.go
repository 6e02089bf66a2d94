package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/testdb"
)

// fixture is a migrated schema with an insert-only River client on it.
type fixture struct {
	db    *testdb.DB
	river *river.Client[pgx.Tx]
}

// newFixture returns a fixture with the named subscribers created, each
// posting to https://hooks.example.com/<name>?token=abc. A test that needs
// a subscriber's secret creates that one with subscriber instead.
func newFixture(t *testing.T, subscribers ...string) *fixture {
	t.Helper()
	tdb := testdb.New(t)
	client, err := river.NewClient(riverpgxv5.New(tdb.Pool), &river.Config{Schema: tdb.Schema})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: tdb, river: client}
	for _, name := range subscribers {
		f.subscriber(t, name)
	}
	return f
}

func (f *fixture) subscriber(t *testing.T, name string) string {
	t.Helper()
	secret, err := CreateSubscriber(context.Background(), f.db.Pool, nil, name, "https://hooks.example.com/"+name+"?token=abc", SubscriberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// delivery inserts a delivery in state, created age ago.
func (f *fixture) delivery(t *testing.T, subscriber string, state DeliveryState, age time.Duration) int64 {
	t.Helper()
	var id int64
	err := f.db.Pool.QueryRow(context.Background(), `INSERT INTO deliveries (webhook_id, subscriber, event_type, payload, state, created_at)
		VALUES ($1, $2, 'session.succeeded', '{"type": "session.succeeded", "data": {"n": 1}}', $3, now() - $4::bigint * interval '1 microsecond')
		RETURNING id`, NewMessageID(), subscriber, state, age.Microseconds()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) state(t *testing.T, id int64) DeliveryState {
	t.Helper()
	d, err := LoadDelivery(context.Background(), f.db.Pool, id)
	if err != nil {
		t.Fatal(err)
	}
	return d.State
}

// jobRow is a delivery job as River stored it.
type jobRow struct {
	ID          int64
	State       string
	Queue       string
	MaxAttempts int
	Due         bool
}

func (f *fixture) jobs(t *testing.T, deliveryID int64) []jobRow {
	t.Helper()
	rows, err := f.db.Pool.Query(context.Background(), `SELECT id, state::text, queue, max_attempts, scheduled_at <= now()
		FROM river_job WHERE kind = 'pollhook.deliver' AND (args->>'delivery_id')::bigint = $1 ORDER BY id`, deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[jobRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// inTx runs fn in a committed transaction.
func (f *fixture) inTx(fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(context.Background(), f.db.Pool, fn)
}
