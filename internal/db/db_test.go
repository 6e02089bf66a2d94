package db_test

import (
	"context"
	"testing"

	"github.com/pollhook/pollhook/internal/db"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestAsyncCommitOnlyWhereAsked checks that a pool opened with AsyncCommit
// (River's) commits without waiting for the WAL flush, and that the default
// pool (pollhook's own rows) keeps the server's synchronous commit.
func TestAsyncCommitOnlyWhereAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tdb := testdb.New(t)
	for _, tt := range []struct {
		async bool
		want  string
		app   string
	}{
		{false, "on", "pollhook"},
		{true, "off", "pollhook_river"},
	} {
		pool, err := db.Open(ctx, db.Config{URL: tdb.URL, Schema: tdb.Schema, MaxConns: 2, AsyncCommit: tt.async})
		if err != nil {
			t.Fatal(err)
		}
		var got, app, path string
		err = pool.QueryRow(ctx, `SELECT current_setting('synchronous_commit'), current_setting('application_name'), current_setting('search_path')`).Scan(&got, &app, &path)
		pool.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want || app != tt.app || path != tdb.Schema {
			t.Errorf("AsyncCommit %v: synchronous_commit %s, application_name %s, search_path %s; want %s, %s, %s",
				tt.async, got, app, path, tt.want, tt.app, tdb.Schema)
		}
	}
}
