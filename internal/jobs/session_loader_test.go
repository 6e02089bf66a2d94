package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	sess "github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestSessionLoaderBatches loads many sessions concurrently, a missing one
// and a malformed id among them, against real Postgres: each run gets its
// own row (or ErrNotFound, or an error for the malformed id alone), and a
// cancellation made between two loads is seen by the second.
func TestSessionLoaderBatches(t *testing.T) {
	ctx := context.Background()
	tdb := testdb.New(t)
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('app', 'http://127.0.0.1:1/hooks')`); err != nil {
		t.Fatal(err)
	}
	var ids []string
	external := map[string]string{}
	for i := range 300 {
		var id string
		if err := tdb.Pool.QueryRow(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber) VALUES ('marksign', 'smartid_identification', $1, 'app') RETURNING id::text`,
			fmt.Sprintf("loader-%d", i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		external[id] = fmt.Sprintf("loader-%d", i)
	}
	l := newSessionLoader(tdb.Pool, sess.NewStore(""))
	missing := "00000000-0000-4000-8000-000000000000"
	var wg sync.WaitGroup
	for i, id := range append(append([]string{}, ids...), missing, "not-a-uuid", ids[0]) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := l.Load(ctx, id)
			switch {
			case id == missing:
				if !errors.Is(err, sess.ErrNotFound) {
					t.Errorf("missing session: %v, want ErrNotFound", err)
				}
			case id == "not-a-uuid":
				if err == nil {
					t.Errorf("malformed id: read %+v", s)
				}
			case err != nil:
				t.Errorf("load %d: %v", i, err)
			case s.ID != id || s.ExternalID != external[id]:
				t.Errorf("load %d: got session %s (%s)", i, s.ID, s.ExternalID)
			}
		}()
	}
	wg.Wait()

	if _, err := tdb.Pool.Exec(ctx, `UPDATE sessions SET cancel_requested_at = now() WHERE id = $1`, ids[7]); err != nil {
		t.Fatal(err)
	}
	s, err := l.Load(ctx, ids[7])
	if err != nil || s.CancelRequested == nil {
		t.Fatalf("after a cancellation: %+v, %v; want it seen", s, err)
	}
}
