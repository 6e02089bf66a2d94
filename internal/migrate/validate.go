package migrate

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/pollhook/pollhook/internal/db"
)

// Check compares the migrations applied to a schema with the ones this
// binary embeds, as River's "river validate" does for its own line.
type Check struct {
	// Pending are embedded migrations not applied yet: run Up.
	Pending []Status
	// Unknown are applied migrations this binary does not embed: the schema
	// was migrated by a newer pollhook (or River) than this one.
	Unknown []Status
}

// OK reports whether applied and embedded migrations are the same.
func (c Check) OK() bool { return len(c.Pending) == 0 && len(c.Unknown) == 0 }

// Validate reports the pending and the unknown migrations of schema, for
// both lines. A schema that does not exist has every migration pending. It
// reads the version tables directly, so versions unknown to this binary are
// reported rather than refused.
func Validate(ctx context.Context, pool *pgxpool.Pool, schema string) (Check, error) {
	if err := db.ValidateSchema(schema); err != nil {
		return Check{}, err
	}
	embedded, err := embeddedVersions(pool, schema)
	if err != nil {
		return Check{}, err
	}
	applied, err := appliedVersions(ctx, pool, schema)
	if err != nil {
		return Check{}, err
	}
	var c Check
	for _, line := range []string{"river", "pollhook"} {
		for _, s := range embedded[line] {
			if !slices.Contains(applied[line], s.Version) {
				c.Pending = append(c.Pending, s)
			}
		}
		for _, v := range applied[line] {
			if !slices.ContainsFunc(embedded[line], func(s Status) bool { return s.Version == v }) {
				c.Unknown = append(c.Unknown, Status{Line: line, Version: v, Applied: true})
			}
		}
	}
	return c, nil
}

// embeddedVersions lists the migrations this binary carries, by line.
func embeddedVersions(pool *pgxpool.Pool, schema string) (map[string][]Status, error) {
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("migrate: river migrator: %w", err)
	}
	out := map[string][]Status{}
	for _, m := range rm.AllVersions() {
		out["river"] = append(out["river"], Status{Line: "river", Version: int64(m.Version), Name: m.Name})
	}
	gp, closeDB, err := gooseProvider(pool)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	for _, s := range gp.ListSources() {
		out["pollhook"] = append(out["pollhook"], Status{Line: "pollhook", Version: s.Version, Name: s.Path})
	}
	return out, nil
}

// appliedVersions reads the versions recorded as applied in schema, by line,
// whether or not this binary knows them.
func appliedVersions(ctx context.Context, pool *pgxpool.Pool, schema string) (map[string][]int64, error) {
	out := map[string][]int64{}
	var riverTable, gooseTbl *string
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1)::text, to_regclass($2)::text`,
		pgx.Identifier{schema, "river_migration"}.Sanitize(), pgx.Identifier{schema, gooseTable}.Sanitize(),
	).Scan(&riverTable, &gooseTbl); err != nil {
		return nil, fmt.Errorf("migrate: look up migration tables: %w", err)
	}
	read := func(line, query string) error {
		rows, err := pool.Query(ctx, query)
		if err != nil {
			return fmt.Errorf("migrate: %s versions: %w", line, err)
		}
		vs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("migrate: %s versions: %w", line, err)
		}
		out[line] = vs
		return nil
	}
	if riverTable != nil {
		if err := read("river", `SELECT version::bigint FROM `+pgx.Identifier{schema, "river_migration"}.Sanitize()+
			` WHERE line = 'main' ORDER BY version`); err != nil {
			return nil, err
		}
	}
	if gooseTbl != nil {
		if err := read("pollhook", `SELECT DISTINCT version_id FROM `+pgx.Identifier{schema, gooseTable}.Sanitize()+
			` WHERE version_id > 0 AND is_applied ORDER BY version_id`); err != nil {
			return nil, err
		}
	}
	return out, nil
}
