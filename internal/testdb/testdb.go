// Package testdb gives tests a real Postgres: each call makes a fresh schema
// in the test database, applies every migration to it and drops it when the
// test ends, so tests run in parallel without seeing each other's rows.
//
// The database comes from TEST_DATABASE_URL, else DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/test. scripts/pg.sh (run by make test
// and .ci/run) makes sure one answers.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/migrate"
	"github.com/pollhook/pollhook/internal/seal"
)

// DefaultURL is the database tests use when no environment variable names one.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL returns the database URL tests connect to.
func URL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// MainKey returns a fresh main key for POLLHOOK_MAIN_KEY: tests run the
// worker as production does, with signing secrets sealed.
func MainKey() string {
	k, err := seal.Generate("test")
	if err != nil {
		panic(err) // "test" is a valid id
	}
	return k
}

// MainKeys returns a keyring of a fresh main key (MainKey), for tests that
// seal and open values themselves.
func MainKeys(t testing.TB) *seal.Keyring {
	t.Helper()
	keys, err := seal.Parse(MainKey())
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// DB is a migrated schema of the test database.
type DB struct {
	// Pool's connections use Schema as search_path.
	Pool *pgxpool.Pool
	// Schema is the fresh schema's name.
	Schema string
	// URL is the database URL (without the schema).
	URL string
}

// New creates a fresh, migrated schema and a pool on it; both are removed
// when t ends. It fails t if Postgres does not answer.
func New(t testing.TB) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	url := URL()

	pool, err := db.Open(ctx, db.Config{URL: url, Schema: schema, MaxConns: 20})
	if err != nil {
		t.Fatalf("testdb: %v (start Postgres with scripts/pg.sh or set TEST_DATABASE_URL)", err)
	}
	if _, err := migrate.Up(ctx, pool, schema, slog.New(slog.DiscardHandler)); err != nil {
		pool.Close()
		t.Fatalf("testdb: migrate %s: %v", schema, err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Logf("testdb: drop %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Logf("testdb: drop %s: %v", schema, err)
		}
	})
	return &DB{Pool: pool, Schema: schema, URL: url}
}
