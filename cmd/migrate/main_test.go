package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/testdb"
)

// migrateCmd runs this test binary as the migrate command.
func migrateCmd(t *testing.T, schema string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestMain$"}, args...)...)
	cmd.Env = append(os.Environ(), "POLLHOOK_MIGRATE_AS_COMMAND=1", "DATABASE_URL="+testdb.URL(), "POLLHOOK_SCHEMA="+schema)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

func TestMain(m *testing.M) {
	if os.Getenv("POLLHOOK_MIGRATE_AS_COMMAND") == "1" {
		var args []string
		for _, a := range os.Args[1:] {
			if !strings.HasPrefix(a, "-test.") {
				args = append(args, a)
			}
		}
		os.Exit(run(args))
	}
	os.Exit(m.Run())
}

func TestUpStatusAndUsage(t *testing.T) {
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

	out, code := migrateCmd(t, schema, "status")
	if code != 0 || !strings.Contains(out, "false") || strings.Contains(out, "true") {
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
	for _, args := range [][]string{{}, {"down"}, {"up", "extra"}} {
		if out, code := migrateCmd(t, schema, args...); code != 2 || !strings.Contains(out, "usage: migrate") {
			t.Errorf("migrate %v: exit %d, want 2 with usage\n%s", args, code, out)
		}
	}
	if out, code := migrateCmd(t, "Bad-Schema", "up"); code != 1 || !strings.Contains(out, "schema") {
		t.Errorf("bad schema: exit %d\n%s", code, out)
	}
}
