package track_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/track"
)

// ExampleTracker_Register registers a Smart-ID identification session inside
// the app's own transaction, then registers it again: the second call finds
// the existing session instead of creating a second one.
func ExampleTracker_Register() {
	ctx := context.Background()
	const schema = "example_track"
	pool, err := db.Open(ctx, db.Config{URL: testdb.URL(), Schema: schema})
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	drop := func() { _, _ = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") }
	drop() // a run that crashed may have left it
	defer drop()
	if _, err := migrate.Up(ctx, pool, schema, slog.New(slog.DiscardHandler)); err != nil {
		panic(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('shop', 'https://shop.example/hooks')`); err != nil {
		panic(err)
	}

	tracker, err := track.New(schema)
	if err != nil {
		panic(err)
	}
	session := track.Session{
		Provider:   "marksign",
		Flow:       "smartid_identification",
		ExternalID: "19f1c829-63f2-eb7f-b473-8bb481298dc2",
		Subscriber: "shop",
		AppRef:     "user-7",
		Locale:     "en",
	}
	for range 2 {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			// ... the app's own writes go here, in the same transaction ...
			reg, err := tracker.Register(ctx, tx, session)
			if err != nil {
				return err
			}
			fmt.Printf("created=%v state=%s\n", reg.Created, reg.State)
			return nil
		})
		if err != nil {
			panic(err)
		}
	}
	// Output:
	// created=true state=pending
	// created=false state=pending
}
