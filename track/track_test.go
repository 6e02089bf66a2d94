package track_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/track"
)

const fortIDUUID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"

func setup(t *testing.T) (*testdb.DB, *track.Tracker) {
	t.Helper()
	tdb := testdb.New(t)
	if _, err := tdb.Pool.Exec(context.Background(),
		`INSERT INTO subscribers (name, url) VALUES ('app', 'https://app.example/hooks')`); err != nil {
		t.Fatal(err)
	}
	tr, err := track.New(tdb.Schema)
	if err != nil {
		t.Fatal(err)
	}
	return tdb, tr
}

func register(ctx context.Context, tdb *testdb.DB, tr *track.Tracker, s track.Session) (track.Registration, error) {
	var reg track.Registration
	err := pgx.BeginFunc(ctx, tdb.Pool, func(tx pgx.Tx) error {
		var err error
		reg, err = tr.Register(ctx, tx, s)
		return err
	})
	return reg, err
}

func TestSQLConstraintsRefuseBadInput(t *testing.T) {
	t.Parallel()
	tdb, _ := setup(t)
	ctx := context.Background()
	tests := []struct {
		name, provider, flow, id, constraint string
	}{
		{"unknown provider", "acme", "verification", fortIDUUID, "sessions_provider_check"},
		{"fortid id not a uuid", "fortid", "verification", "not-a-uuid", "sessions_fortid_uuid_check"},
		{"flow of another provider", "fortid", "smartid_identification", fortIDUUID, "sessions_provider_flow_check"},
		{"unknown marksign flow", "marksign", "smartid_login", "tok-1", "sessions_provider_flow_check"},
		{"id with a slash", "marksign", "smartid_identification", "../etc", "sessions_external_id_check"},
		{"empty id", "marksign", "smartid_identification", "", "sessions_external_id_check"},
	}
	for _, tt := range tests {
		_, err := tdb.Pool.Exec(ctx, `INSERT INTO sessions (provider, flow, external_id, subscriber) VALUES ($1, $2, $3, 'app')`,
			tt.provider, tt.flow, tt.id)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.ConstraintName != tt.constraint {
			t.Errorf("%s: err = %v, want violation of %s", tt.name, err, tt.constraint)
		}
	}

	// A second row for the same (provider, external id).
	insert := `INSERT INTO sessions (provider, flow, external_id, subscriber) VALUES ('fortid', 'verification', $1, 'app')`
	if _, err := tdb.Pool.Exec(ctx, insert, fortIDUUID); err != nil {
		t.Fatal(err)
	}
	_, err := tdb.Pool.Exec(ctx, insert, fortIDUUID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.ConstraintName != "sessions_provider_external_id_key" {
		t.Fatalf("duplicate insert: err = %v, want unique violation", err)
	}
	var n int
	if err := tdb.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("sessions = %d (%v), want 1", n, err)
	}
}

func TestRegisterRefusesWithClearErrors(t *testing.T) {
	t.Parallel()
	tdb, tr := setup(t)
	ctx := context.Background()
	tests := []struct {
		name string
		s    track.Session
		want string
	}{
		{"unknown provider", track.Session{Provider: "acme", Flow: "verification", ExternalID: fortIDUUID, Subscriber: "app"}, `unknown provider "acme"`},
		{"malformed fortid id", track.Session{Provider: "fortid", Flow: "verification", ExternalID: "123", Subscriber: "app"}, "is not a UUID"},
		{"unknown subscriber", track.Session{Provider: "fortid", Flow: "verification", ExternalID: fortIDUUID, Subscriber: "nobody"}, `subscriber "nobody" does not exist`},
		{"bad locale", track.Session{Provider: "marksign", Flow: "smartid_signing", ExternalID: "tok", Subscriber: "app", Locale: "de"}, "locale"},
		{"bad flow", track.Session{Provider: "marksign", Flow: "verification", ExternalID: "tok", Subscriber: "app"}, `has no flow "verification"`},
	}
	for _, tt := range tests {
		_, err := register(ctx, tdb, tr, tt.s)
		if !errors.Is(err, track.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrInvalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestRegisterTwiceConcurrentlyYieldsOneSessionAndOneJob(t *testing.T) {
	t.Parallel()
	tdb, tr := setup(t)
	ctx := context.Background()
	s := track.Session{Provider: "marksign", Flow: "mobileid_identification", ExternalID: "381ed84f-0851-ce1e-a048-fa1e13a53bba", Subscriber: "app", AppRef: "user-7", Locale: "en"}

	const n = 8
	var wg sync.WaitGroup
	regs := make([]track.Registration, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			regs[i], errs[i] = register(ctx, tdb, tr, s)
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("register #%d: %v", i, errs[i])
		}
		if regs[i].SessionID != regs[0].SessionID {
			t.Fatalf("registrations returned sessions %s and %s", regs[0].SessionID, regs[i].SessionID)
		}
		if regs[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d registrations say they created the session, want 1", created)
	}
	var sessions, pollJobs int
	if err := tdb.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM river_job WHERE kind = 'pollhook.poll')`).Scan(&sessions, &pollJobs); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || pollJobs != 1 {
		t.Fatalf("sessions = %d, poll jobs = %d; want 1 and 1", sessions, pollJobs)
	}
	var args string
	if err := tdb.Pool.QueryRow(ctx, `SELECT args::text FROM river_job WHERE kind = 'pollhook.poll'`).Scan(&args); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(args, regs[0].SessionID) || strings.Contains(args, "381ed84f") {
		t.Fatalf("poll job args %s: want the session id and nothing of the provider's", args)
	}
}

func TestRegisterRollsBackWithTheCallersTransaction(t *testing.T) {
	t.Parallel()
	tdb, tr := setup(t)
	ctx := context.Background()
	tx, err := tdb.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Register(ctx, tx, track.Session{Provider: "fortid", Flow: "verification", ExternalID: fortIDUUID, Subscriber: "app"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tdb.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM river_job)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after rollback = %d (%v), want 0", n, err)
	}
}
