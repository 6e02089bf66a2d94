package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/version"
)

// migrateCmd runs this test binary as the migrate command and returns
// what it printed, stdout then stderr, and its exit status.
func migrateCmd(t *testing.T, schema string, args ...string) (string, int) {
	t.Helper()
	r := cmdtest.Run(t, []string{"DATABASE_URL=" + testdb.URL(), "POLLHOOK_SCHEMA=" + schema}, args...)
	return r.Stdout + r.Stderr, r.Code
}

func TestMain(m *testing.M) {
	cmdtest.Main(m, func(args []string) int { return run(args, os.Stdout, os.Stderr, os.Getenv) })
}

func TestUpStatusAndUsage(t *testing.T) {
	schema := freshSchema(t)
	out, code := migrateCmd(t, schema, "status")
	if code != 3 || !strings.Contains(out, "false") || strings.Contains(out, "true") || !strings.Contains(out, "run \"migrate up\"") {
		t.Fatalf("status before up: exit %d\n%s", code, out)
	}
	out, code = migrateCmd(t, schema, "up")
	if code != 0 || !strings.Contains(out, "applied pollhook 1") || !strings.Contains(out, "applied river") {
		t.Fatalf("up: exit %d\n%s", code, out)
	}
	out, code = migrateCmd(t, schema, "up")
	if code != 0 || !strings.Contains(out, "(0 applied now)") {
		t.Fatalf("second up: exit %d\n%s", code, out)
	}
	out, code = migrateCmd(t, schema, "status")
	if code != 0 || strings.Contains(out, "false") || !strings.Contains(out, "pollhook  1") {
		t.Fatalf("status after up: exit %d\n%s", code, out)
	}
	out, code = migrateCmd(t, schema, "validate")
	if code != 0 || !strings.Contains(out, "is valid") {
		t.Fatalf("validate after up: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{}, {"down"}, {"up", "extra"}, {"--force", "up"}} {
		if out, code := migrateCmd(t, schema, args...); code != 2 || !strings.Contains(out, "usage: migrate") {
			t.Errorf("migrate %v: exit %d, want 2 with usage\n%s", args, code, out)
		}
	}
	if out, code := migrateCmd(t, "Bad-Schema", "up"); code != 1 || !strings.Contains(out, "schema") {
		t.Errorf("bad schema: exit %d\n%s", code, out)
	}
}

// freshSchema names a schema that is dropped when t ends.
func freshSchema(t *testing.T) string {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	schema := "t_cmd_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), testdb.URL())
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			_ = conn.Close(context.Background())
		}
	})
	return schema
}

// TestValidate checks validate's exit codes: 3 with pending migrations
// (fresh schema, and one pollhook migration rolled back by hand), 0 in
// step, 3 with an applied migration this binary does not carry, of either
// line.
func TestValidate(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	ctx := context.Background()
	out, code := migrateCmd(t, schema, "validate")
	if code != 3 || !strings.Contains(out, "pending: river 1") || !strings.Contains(out, "pending: pollhook 1") {
		t.Fatalf("validate of a fresh schema: exit %d, want 3 listing pending\n%s", code, out)
	}
	if out, code := migrateCmd(t, schema, "up"); code != 0 {
		t.Fatalf("up: exit %d\n%s", code, out)
	}
	if out, code := migrateCmd(t, schema, "validate"); code != 0 {
		t.Fatalf("validate after up: exit %d\n%s", code, out)
	}
	conn, err := pgx.Connect(ctx, testdb.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(q string) {
		t.Helper()
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// A migration from a newer pollhook.
	exec(`INSERT INTO ` + schema + `.pollhook_migrations (version_id, is_applied) VALUES (99999, true)`)
	out, code = migrateCmd(t, schema, "validate")
	if code != 3 || !strings.Contains(out, "unknown: pollhook 99999") || !strings.Contains(out, "newer pollhook") {
		t.Fatalf("validate with an unknown pollhook migration: exit %d\n%s", code, out)
	}
	if out, code := migrateCmd(t, schema, "status"); code != 0 {
		t.Fatalf("status lists known migrations only, all applied: exit %d\n%s", code, out)
	}
	exec(`DELETE FROM ` + schema + `.pollhook_migrations WHERE version_id = 99999`)
	// A migration from a newer River.
	exec(`INSERT INTO ` + schema + `.river_migration (line, version) VALUES ('main', 999)`)
	out, code = migrateCmd(t, schema, "validate")
	if code != 3 || !strings.Contains(out, "unknown: river 999") {
		t.Fatalf("validate with an unknown River migration: exit %d\n%s", code, out)
	}
	exec(`DELETE FROM ` + schema + `.river_migration WHERE version = 999`)
	// pollhook's first migration recorded as not applied.
	exec(`DELETE FROM ` + schema + `.pollhook_migrations WHERE version_id = 1`)
	out, code = migrateCmd(t, schema, "validate")
	if code != 3 || !strings.Contains(out, "pending: pollhook 1") || !strings.Contains(out, `run "migrate up"`) {
		t.Fatalf("validate with pollhook 1 pending: exit %d\n%s", code, out)
	}
	if out, code := migrateCmd(t, schema, "status"); code != 3 {
		t.Fatalf("status with pollhook 1 pending: exit %d, want 3\n%s", code, out)
	}
}

// TestHelpAndVersion checks that help and version exit 0 on stdout and need
// no database.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut, func(string) string { return "" }); code != 0 ||
			!strings.HasPrefix(out.String(), "usage: migrate") || errOut.Len() != 0 {
			t.Errorf("migrate %q: exit %d\nstdout: %s\nstderr: %s", args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	if code := run([]string{"--version"}, &out, io.Discard, func(string) string { return "" }); code != 0 ||
		out.String() != version.Line("migrate")+"\n" {
		t.Errorf("migrate --version: exit %d, %q", code, out.String())
	}
	// A database that does not answer is a runtime failure, not a usage one.
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"
		}
		return ""
	}
	if code := run([]string{"status"}, io.Discard, io.Discard, getenv); code != 1 {
		t.Errorf("status without a database: exit %d, want 1", code)
	}
}
