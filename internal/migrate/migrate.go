// Package migrate applies River's and pollhook's migrations to pollhook's
// schema.
//
// River's tables come from rivermigrate (with Config.Schema); pollhook's own
// from the goose migrations embedded by package migrations. Both run under
// one Postgres advisory lock, so two processes migrating at once take turns,
// and both skip what is applied, so running twice is harmless.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/migrations"
)

// gooseTable is the table goose records pollhook's versions in, inside the
// schema.
const gooseTable = "pollhook_migrations"

// Applied is one migration applied by Up.
type Applied struct {
	// Line is "river" or "pollhook".
	Line string
	// Version is the migration's version number.
	Version int64
	// Name describes the migration.
	Name string
}

// Up creates schema if needed and applies every pending River and pollhook
// migration to it. pool must be opened with db.Open on the same schema.
func Up(ctx context.Context, pool *pgxpool.Pool, schema string, logger *slog.Logger) ([]Applied, error) {
	if err := db.ValidateSchema(schema); err != nil {
		return nil, err
	}
	var applied []Applied
	err := withLock(ctx, pool, schema, func() error {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", schema, err)
		}
		rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: logger})
		if err != nil {
			return fmt.Errorf("migrate: river migrator: %w", err)
		}
		res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return fmt.Errorf("migrate: river migrations: %w", err)
		}
		for _, v := range res.Versions {
			applied = append(applied, Applied{Line: "river", Version: int64(v.Version), Name: v.Name})
		}
		gp, closeDB, err := gooseProvider(pool)
		if err != nil {
			return err
		}
		defer closeDB()
		results, err := gp.Up(ctx)
		if err != nil {
			return fmt.Errorf("migrate: pollhook migrations: %w", err)
		}
		for _, r := range results {
			applied = append(applied, Applied{Line: "pollhook", Version: r.Source.Version, Name: r.Source.Path})
		}
		return nil
	})
	return applied, err
}

// Status is the state of one migration.
type Status struct {
	// Line is "river" or "pollhook".
	Line string
	// Version is the migration's version number.
	Version int64
	// Name describes the migration.
	Name string
	// Applied reports whether the migration is applied.
	Applied bool
}

// List reports every known migration of both lines and whether it is applied.
func List(ctx context.Context, pool *pgxpool.Pool, schema string) ([]Status, error) {
	if err := db.ValidateSchema(schema); err != nil {
		return nil, err
	}
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("migrate: river migrator: %w", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return nil, fmt.Errorf("migrate: look up schema: %w", err)
	}
	appliedRiver := map[int]bool{}
	if exists {
		ms, err := rm.ExistingVersions(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: river versions: %w", err)
		}
		for _, m := range ms {
			appliedRiver[m.Version] = true
		}
	}
	var out []Status
	for _, m := range rm.AllVersions() {
		out = append(out, Status{Line: "river", Version: int64(m.Version), Name: m.Name, Applied: appliedRiver[m.Version]})
	}
	gp, closeDB, err := gooseProvider(pool)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	if exists {
		sts, err := gp.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate: pollhook status: %w", err)
		}
		for _, s := range sts {
			out = append(out, Status{Line: "pollhook", Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
		}
		return out, nil
	}
	for _, s := range gp.ListSources() {
		out = append(out, Status{Line: "pollhook", Version: s.Version, Name: s.Path})
	}
	return out, nil
}

// gooseProvider builds a goose provider over pool's connections (whose
// search_path is pollhook's schema).
func gooseProvider(pool *pgxpool.Pool) (*goose.Provider, func(), error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	gp, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS,
		goose.WithTableName(gooseTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("migrate: goose provider: %w", err)
	}
	return gp, func() { sqlDB.Close() }, nil
}

// withLock runs fn while holding a session advisory lock keyed on schema, so
// concurrent migrators serialise.
func withLock(ctx context.Context, pool *pgxpool.Pool, schema string, fn func() error) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", "pollhook.migrate."+schema); err != nil {
		return fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must be released even if ctx is done.
		if _, uerr := conn.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext($1))", "pollhook.migrate."+schema); uerr != nil {
			err = errors.Join(err, fmt.Errorf("migrate: release advisory lock: %w", uerr))
		}
	}()
	return fn()
}
