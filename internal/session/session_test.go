package session_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pollhook/pollhook/internal/session"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestExternalIDRulesAgreeWithTheDatabase draws ids around every rule's
// edges: the Go rule (which the Marksign client and track use) accepts an id
// exactly when the sessions table does.
func TestExternalIDRulesAgreeWithTheDatabase(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	if _, err := tdb.Pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('app', 'https://app.example/h')`); err != nil {
		t.Fatal(err)
	}
	const seed = 7
	r := rand.New(rand.NewPCG(seed, 3))
	alphabet := []string{"a", "X", "0", "-", "_", ".", "~", " ", "/", "%", "\x00", "é"}
	for i := range 600 {
		p := session.Providers()[r.IntN(2)]
		var id string
		switch r.IntN(4) {
		case 0: // a UUID, perhaps damaged
			id = "497f6eca-6276-4993-BFEB-53cbbbba6f08"
			if r.IntN(2) == 0 {
				k := r.IntN(len(id))
				id = id[:k] + alphabet[r.IntN(len(alphabet))] + id[k+1:]
			}
		default:
			n := []int{0, 1, 127, 128, 129, 200, 201, r.IntN(40)}[r.IntN(8)]
			var b strings.Builder
			for range n {
				if r.IntN(20) == 0 {
					b.WriteString(alphabet[r.IntN(len(alphabet))])
				} else {
					b.WriteByte("abcdefABCDEF0123456789-_"[r.IntN(24)])
				}
			}
			id = b.String()
		}
		flow := session.FlowsOf(p)[0]
		goErr := session.ValidateExternalID(p, id)
		var dbErr error
		if strings.ContainsRune(id, 0) {
			dbErr = errors.New("NUL cannot be sent") // Postgres text refuses it on the wire
		} else {
			dbErr = pgx.BeginFunc(ctx, tdb.Pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber) VALUES ($1, $2, $3, 'app')`, p, flow, id)
				if err == nil {
					return errRollback
				}
				return err
			})
			if errors.Is(dbErr, errRollback) {
				dbErr = nil
			}
			var pgErr *pgconn.PgError
			if dbErr != nil && (!errors.As(dbErr, &pgErr) || pgErr.Code != "23514") {
				t.Fatalf("seed %d case %d: %s %q: unexpected error %v", seed, i, p, id, dbErr)
			}
		}
		if (goErr == nil) != (dbErr == nil) {
			t.Fatalf("seed %d case %d: %s id %q: Go rule says %v, database says %v", seed, i, p, id, goErr, dbErr)
		}
	}
}

var errRollback = errors.New("rollback")

func TestStatesProvidersAndFlows(t *testing.T) {
	t.Parallel()
	for _, s := range session.States() {
		if s.Active() == s.Terminal() {
			t.Errorf("state %s: active %v, terminal %v", s, s.Active(), s.Terminal())
		}
	}
	if got := len(session.Flows()); got != 7 {
		t.Errorf("%d flows, want 7", got)
	}
	for _, f := range session.Flows() {
		if session.ProviderOf(f) == "" {
			t.Errorf("flow %s has no provider", f)
		}
	}
	if got := session.CanonicalExternalID(session.ProviderFortID, "ABC"); got != "abc" {
		t.Errorf("canonical FortID id %q", got)
	}
	if got := session.CanonicalExternalID(session.ProviderMarksign, "ABC"); got != "ABC" {
		t.Errorf("canonical Marksign token %q", got)
	}
}

// TestStoreListsTheTableAccepts checks the Go lists against the table's
// CHECK constraints: every state, provider and flow they list is accepted.
func TestStoreListsTheTableAccepts(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	for _, s := range session.States() {
		var ok bool
		if err := tdb.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) LIKE '%''' || $1 || '''%' FROM pg_constraint WHERE conname = 'sessions_state_check' AND connamespace = $2::regnamespace`,
			string(s), tdb.Schema).Scan(&ok); err != nil || !ok {
			t.Errorf("state %s not in the table's CHECK (%v)", s, err)
		}
	}
	for _, f := range session.Flows() {
		var ok bool
		if err := tdb.Pool.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) LIKE '%''' || $1 || '''%' FROM pg_constraint WHERE conname = 'sessions_provider_flow_check' AND connamespace = $2::regnamespace`,
			string(f), tdb.Schema).Scan(&ok); err != nil || !ok {
			t.Errorf("flow %s not in the table's CHECK (%v)", f, err)
		}
	}
}
