package migrate_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/testdb"
)

func TestUpTwiceAndConcurrently(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t) // already migrated once
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make([]error, 3)
	applied := make([][]migrate.Applied, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = migrate.Up(ctx, tdb.Pool, tdb.Schema, slog.New(slog.DiscardHandler))
		}()
	}
	wg.Wait()
	for i := range 3 {
		if errs[i] != nil {
			t.Fatalf("Up #%d: %v", i, errs[i])
		}
		if len(applied[i]) != 0 {
			t.Fatalf("Up #%d applied %v on a migrated schema, want nothing", i, applied[i])
		}
	}

	sts, err := migrate.List(ctx, tdb.Pool, tdb.Schema)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	for _, s := range sts {
		if !s.Applied {
			t.Errorf("%s %d %s not applied", s.Line, s.Version, s.Name)
		}
		lines[s.Line]++
	}
	if lines["river"] == 0 || lines["pollhook"] == 0 {
		t.Fatalf("status lines = %v, want both river and pollhook", lines)
	}
}

func TestUpOnFreshSchemaFromTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := "t_fresh_" + randSuffix(t)
	pool, err := db.Open(ctx, db.Config{URL: testdb.URL(), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		pool.Close()
	})

	sts, err := migrate.List(ctx, pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Applied {
			t.Fatalf("%s %d applied before Up", s.Line, s.Version)
		}
	}

	var wg sync.WaitGroup
	total := make([]int, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := migrate.Up(ctx, pool, schema, slog.New(slog.DiscardHandler))
			total[i], errs[i] = len(a), err
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Up errors: %v, %v", errs[0], errs[1])
	}
	if (total[0] == 0) == (total[1] == 0) {
		t.Fatalf("applied counts %v: exactly one migrator must do the work", total)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name IN ('sessions','deliveries','subscribers','river_job')", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("found %d of the 4 core tables in %s", n, schema)
	}
}

func TestInvalidSchemaRefused(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "Pollhook", "1abc", "a-b", "x; DROP TABLE y"} {
		if err := db.ValidateSchema(name); err == nil {
			t.Errorf("ValidateSchema(%q) = nil, want error", name)
		}
	}
}
