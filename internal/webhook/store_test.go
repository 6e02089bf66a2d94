package webhook

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/jobargs"
)

func TestCreateSubscriber(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	pool := f.db.Pool

	secret := f.subscriber(t, "app.prod-1_x")
	if _, err := ParseSecret(secret); err != nil {
		t.Errorf("CreateSubscriber secret: %v", err)
	}
	long := strings.Repeat("a", 63)
	f.subscriber(t, long)
	if _, err := CreateSubscriber(ctx, pool, nil, "app.prod-1_x", "https://other.example.com/", SubscriberOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate CreateSubscriber = %v, want ErrExists", err)
	}
	for _, name := range []string{"", "App", "-app", ".app", "a b", long + "a", "ä"} {
		if _, err := CreateSubscriber(ctx, pool, nil, name, "https://hooks.example.com/", SubscriberOptions{}); err == nil || !strings.Contains(err.Error(), "is invalid") {
			t.Errorf("CreateSubscriber(%q) = %v, want a name error", name, err)
		}
	}
	for _, url := range []string{"ftp://x.example.com/", "https://u:p@x.example.com/", "x.example.com", "https://"} {
		if _, err := CreateSubscriber(ctx, pool, nil, "ok", url, SubscriberOptions{}); err == nil {
			t.Errorf("CreateSubscriber with URL %q succeeded, want an error", url)
		}
	}

	subs, err := ListSubscribers(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].Name != long || subs[1].Name != "app.prod-1_x" {
		t.Fatalf("ListSubscribers = %+v, want the two created, by name", subs)
	}
	s := subs[1]
	if !s.Enabled || s.ActiveSecrets != 1 || s.URL != "https://hooks.example.com/app.prod-1_x?token=abc" || s.FailingSince != nil || s.CreatedAt.IsZero() {
		t.Errorf("subscriber = %+v", s)
	}
}

func TestLoadDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	secret := f.subscriber(t, "app")
	id := f.delivery(t, "app", StatePending, 0)

	d, err := LoadDelivery(ctx, f.db.Pool, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != id || d.Subscriber != "app" || d.State != StatePending || d.EventType != string(event.TypeSucceeded) ||
		!d.Enabled || d.URL != "https://hooks.example.com/app?token=abc" || d.Attempts != 0 || d.SessionID != nil ||
		!strings.HasPrefix(d.WebhookID, "msg_") || d.DeliveredAt != nil || d.LastStatus != nil {
		t.Errorf("LoadDelivery = %+v", d)
	}
	if !slices.Equal(d.Secrets, []string{secret}) {
		t.Errorf("Secrets = %d of them, want the one secret", len(d.Secrets))
	}
	if got := string(d.Payload); got != `{"data": {"n": 1}, "type": "session.succeeded"}` {
		t.Errorf("Payload = %s", got)
	}

	// After a rotation both sign, newest first; once the old expires, only
	// the new.
	newSecret, err := RotateSecret(ctx, f.db.Pool, nil, "app", time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if d, err = LoadDelivery(ctx, f.db.Pool, id); err != nil || !slices.Equal(d.Secrets, []string{newSecret, secret}) {
		t.Errorf("after rotation: %d secrets, %v; want new then old", len(d.Secrets), err)
	}
	if _, err := f.db.Pool.Exec(ctx, `UPDATE subscriber_secrets SET expires_at = now() - interval '1 second' WHERE secret = $1`, secret); err != nil {
		t.Fatal(err)
	}
	if d, err = LoadDelivery(ctx, f.db.Pool, id); err != nil || !slices.Equal(d.Secrets, []string{newSecret}) {
		t.Errorf("after expiry: %d secrets, %v; want only the new", len(d.Secrets), err)
	}
}

func TestRecordAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app")
	ctx := context.Background()
	pool := f.db.Pool
	id := f.delivery(t, "app", StatePending, 0)
	url := "https://hooks.example.com/app"

	failingSince := func() *time.Time {
		var ts *time.Time
		if err := pool.QueryRow(ctx, `SELECT failing_since FROM subscribers WHERE name = 'app'`).Scan(&ts); err != nil {
			t.Fatal(err)
		}
		return ts
	}
	start := time.Now().Add(-time.Second).Truncate(time.Microsecond)

	// A 500 with a body Postgres text cannot hold as is.
	err := RecordAttempt(ctx, pool, AtRest{}, id, 1, url, Attempt{StartedAt: start, Duration: 1500 * time.Microsecond, StatusCode: 500, ResponseBody: []byte("oops\x00\xffend")})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := LoadDelivery(ctx, pool, id)
	if d.Attempts != 1 || d.LastStatus == nil || *d.LastStatus != 500 || d.LastError == nil || *d.LastError != "HTTP 500" || d.State != StatePending {
		t.Errorf("after a 500: %+v", d)
	}
	first := failingSince()
	if first == nil {
		t.Fatal("failing_since not set after a failure")
	}

	// A network error keeps the first failure time.
	err = RecordAttempt(ctx, pool, AtRest{}, id, 2, url, Attempt{StartedAt: start.Add(time.Millisecond), Err: errors.New("dial tcp: connection refused")})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = LoadDelivery(ctx, pool, id)
	if d.Attempts != 2 || d.LastStatus != nil || d.LastError == nil || *d.LastError != "dial tcp: connection refused" {
		t.Errorf("after a network error: %+v", d)
	}
	if again := failingSince(); again == nil || !again.Equal(*first) {
		t.Errorf("failing_since = %v, want it kept at %v", again, first)
	}

	// Success.
	err = RecordAttempt(ctx, pool, AtRest{}, id, 3, url, Attempt{StartedAt: start.Add(2 * time.Millisecond), Duration: time.Millisecond, StatusCode: 204})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = LoadDelivery(ctx, pool, id)
	if d.Attempts != 3 || d.State != StateSucceeded || d.DeliveredAt == nil || d.LastError != nil || *d.LastStatus != 204 {
		t.Errorf("after success: %+v", d)
	}
	if fs := failingSince(); fs != nil {
		t.Errorf("failing_since = %v after success, want cleared", fs)
	}

	attempts, err := ListAttempts(ctx, pool, AttemptFilter{DeliveryID: id})
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 3 {
		t.Fatalf("ListAttempts = %d, want 3", len(attempts))
	}
	if a := attempts[0]; a.Attempt != 3 || a.StatusCode != 204 || a.Error != "" || a.URL != url || a.Subscriber != "app" || a.DeliveryID != id {
		t.Errorf("newest attempt = %+v", a)
	}
	if a := attempts[2]; a.Attempt != 1 || a.StatusCode != 500 || a.Error != "HTTP 500" ||
		a.ResponseBody != "oops\uFFFD\uFFFDend" || a.Duration != 1500*time.Microsecond || !a.AttemptedAt.Equal(start) {
		t.Errorf("oldest attempt = %+v", a)
	}
	if got, _ := ListAttempts(ctx, pool, AttemptFilter{Subscriber: "app", Limit: 2}); len(got) != 2 || got[0].Attempt != 3 {
		t.Errorf("ListAttempts(subscriber, limit 2) = %+v", got)
	}
	if got, _ := ListAttempts(ctx, pool, AttemptFilter{Subscriber: "other"}); len(got) != 0 {
		t.Errorf("ListAttempts(other) = %d rows, want 0", len(got))
	}
}

func TestMarkFailedAndPaused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app", "off")
	ctx := context.Background()
	if _, err := f.db.Pool.Exec(ctx, `UPDATE subscribers SET enabled = false WHERE name = 'off'`); err != nil {
		t.Fatal(err)
	}
	paused := func(ctx context.Context, db DBTX, id int64) error {
		return pgx.BeginFunc(ctx, f.db.Pool, func(tx pgx.Tx) error { return MarkPaused(ctx, tx, id) })
	}
	tests := []struct {
		subscriber string
		from       DeliveryState
		mark       func(context.Context, DBTX, int64) error
		want       DeliveryState
		wantErr    error
	}{
		{"app", StatePending, MarkFailed, StateFailed, nil},
		{"off", StatePending, paused, StatePaused, nil},
		{"app", StatePending, paused, StatePending, ErrSubscriberEnabled},
		{"app", StateSucceeded, MarkFailed, StateSucceeded, nil},
		{"off", StateSucceeded, paused, StateSucceeded, nil},
		{"off", StateFailed, paused, StateFailed, nil},
	}
	for i, tt := range tests {
		id := f.delivery(t, tt.subscriber, tt.from, 0)
		if err := tt.mark(ctx, f.db.Pool, id); !errors.Is(err, tt.wantErr) {
			t.Fatalf("case %d: err = %v, want %v", i, err, tt.wantErr)
		}
		if got := f.state(t, id); got != tt.want {
			t.Errorf("case %d: %s marked = %s, want %s", i, tt.from, got, tt.want)
		}
	}
}

func TestListDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "a", "b")
	ctx := context.Background()
	old := f.delivery(t, "a", StateFailed, 48*time.Hour)
	failed := f.delivery(t, "a", StateFailed, time.Hour)
	ok := f.delivery(t, "a", StateSucceeded, 0)
	other := f.delivery(t, "b", StateFailed, 0)

	ids := func(filter DeliveryFilter) []int64 {
		t.Helper()
		ds, err := ListDeliveries(ctx, f.db.Pool, filter)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, d := range ds {
			if d.Secrets != nil {
				t.Errorf("ListDeliveries returned secrets")
			}
			out = append(out, d.ID)
		}
		return out
	}
	tests := []struct {
		name   string
		filter DeliveryFilter
		want   []int64
	}{
		{"all", DeliveryFilter{}, []int64{other, ok, failed, old}},
		{"subscriber", DeliveryFilter{Subscriber: "a"}, []int64{ok, failed, old}},
		{"state", DeliveryFilter{State: StateFailed}, []int64{other, failed, old}},
		{"since", DeliveryFilter{Subscriber: "a", State: StateFailed, Since: time.Now().Add(-24 * time.Hour)}, []int64{failed}},
		{"limit", DeliveryFilter{Limit: 1}, []int64{other}},
	}
	for _, tt := range tests {
		if got := ids(tt.filter); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ListDeliveries = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRotateSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	pool := f.db.Pool
	first := f.subscriber(t, "app")

	expiry := func(secret string) *time.Duration {
		t.Helper()
		var left *time.Duration
		var secs *float64
		if err := pool.QueryRow(ctx, `SELECT extract(epoch FROM expires_at - now())::float8 FROM subscriber_secrets WHERE secret = $1`, secret).Scan(&secs); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			t.Fatal(err)
		}
		if secs != nil {
			d := time.Duration(*secs * float64(time.Second))
			left = &d
		} else {
			d := time.Duration(-1)
			left = &d // no expiry
		}
		return left
	}
	near := func(d *time.Duration, want time.Duration) bool {
		return d != nil && *d > want-time.Minute && *d <= want
	}

	second, err := RotateSecret(ctx, pool, nil, "app", time.Hour, "")
	if err != nil || second == first {
		t.Fatalf("RotateSecret = %v", err)
	}
	if e := expiry(first); !near(e, time.Hour) {
		t.Errorf("old secret expires in %v, want about 1h", e)
	}
	if e := expiry(second); e == nil || *e != -1 {
		t.Errorf("new secret expires in %v, want never", e)
	}
	// A rotation with a longer overlap does not extend an expiring secret;
	// the default overlap is 24h.
	third, err := RotateSecret(ctx, pool, nil, "app", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if e := expiry(first); !near(e, time.Hour) {
		t.Errorf("first secret expires in %v, want still about 1h", e)
	}
	if e := expiry(second); !near(e, DefaultRotationOverlap) {
		t.Errorf("second secret expires in %v, want about 24h", e)
	}
	// Expired secrets are deleted by the next rotation.
	if _, err := pool.Exec(ctx, `UPDATE subscriber_secrets SET expires_at = now() - interval '1 minute' WHERE secret = $1`, first); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateSecret(ctx, pool, nil, "app", time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	if e := expiry(first); e != nil {
		t.Errorf("expired secret still stored")
	}
	if e := expiry(third); !near(e, time.Hour) {
		t.Errorf("third secret expires in %v, want about 1h", e)
	}
	subs, _ := ListSubscribers(ctx, pool)
	if len(subs) != 1 || subs[0].ActiveSecrets != 3 {
		t.Errorf("ListSubscribers = %+v, want 3 active secrets", subs)
	}
}

func TestEnableDisable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app", "other")
	ctx := context.Background()
	pool := f.db.Pool
	paused1 := f.delivery(t, "app", StatePaused, time.Hour)
	paused2 := f.delivery(t, "app", StatePaused, 0)
	failed := f.delivery(t, "app", StateFailed, 0)
	otherPaused := f.delivery(t, "other", StatePaused, 0)

	// Inside a transaction that rolls back, nothing changes.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Disable(ctx, tx, nil, AtRest{}, "app", "test"); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if subs, _ := ListSubscribers(ctx, pool); !subs[0].Enabled {
		t.Error("Disable in a rolled back transaction disabled the subscriber")
	}

	if _, err := Disable(ctx, pool, nil, AtRest{}, "app", "receiver answered 410 Gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE subscribers SET failing_since = now() - interval '1 day'`); err != nil {
		t.Fatal(err)
	}
	subs, _ := ListSubscribers(ctx, pool)
	if s := subs[0]; s.Enabled || s.DisabledReason != "receiver answered 410 Gone" {
		t.Errorf("after disabling: %+v", s)
	}
	if _, err := Disable(ctx, pool, nil, AtRest{}, "other", ""); err != nil {
		t.Fatal(err)
	}
	if subs, _ := ListSubscribers(ctx, pool); subs[1].DisabledReason != "disabled by an operator" {
		t.Errorf("default reason = %q", subs[1].DisabledReason)
	}

	if _, err := Enable(ctx, pool, nil, AtRest{}, "app"); err == nil {
		t.Error("enabling without an inserter succeeded")
	}
	if n, err := Enable(ctx, pool, f.river, AtRest{}, "app"); err != nil || n != 2 {
		t.Fatalf("Enable = %d, %v; want 2 paused deliveries queued again", n, err)
	}
	subs, _ = ListSubscribers(ctx, pool)
	if s := subs[0]; !s.Enabled || s.DisabledReason != "" || s.FailingSince != nil {
		t.Errorf("after enabling: %+v, want enabled with reason and failure clock cleared", s)
	}
	for _, id := range []int64{paused1, paused2} {
		if got := f.state(t, id); got != StatePending {
			t.Errorf("paused delivery %d is %s after enabling, want pending", id, got)
		}
		if jobs := f.jobs(t, id); len(jobs) != 1 || jobs[0].State != "available" || jobs[0].Queue != jobargs.QueueDeliver || jobs[0].MaxAttempts != MaxAttemptsBackstop {
			t.Errorf("paused delivery %d jobs = %+v, want one available on %s with the backstop attempts", id, jobs, jobargs.QueueDeliver)
		}
	}
	if got := f.state(t, failed); got != StateFailed || len(f.jobs(t, failed)) != 0 {
		t.Errorf("failed delivery became %s with jobs %v; want it left alone", got, f.jobs(t, failed))
	}
	if got := f.state(t, otherPaused); got != StatePaused || len(f.jobs(t, otherPaused)) != 0 {
		t.Errorf("another subscriber's paused delivery became %s", got)
	}
}

func TestDisableIfFailing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app")
	ctx := context.Background()
	pool := f.db.Pool
	setFailing := func(sql string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE subscribers SET failing_since = `+sql); err != nil {
			t.Fatal(err)
		}
	}
	check := func(period time.Duration, want bool) {
		t.Helper()
		got, err := DisableIfFailing(ctx, pool, nil, AtRest{}, "app", period)
		if err != nil || got != want {
			t.Errorf("DisableIfFailing(%s) = %t, %v; want %t", period, got, err, want)
		}
	}

	check(0, false) // healthy
	setFailing(`now() - interval '4 days'`)
	check(0, false) // failing, not yet 5 days
	check(72*time.Hour, true)
	subs, _ := ListSubscribers(ctx, pool)
	if s := subs[0]; s.Enabled || !strings.HasPrefix(s.DisabledReason, "deliveries failing for more than 3d (since 20") {
		t.Errorf("after DisableIfFailing: %+v", s)
	}
	check(72*time.Hour, false) // already disabled

	if _, err := Enable(ctx, pool, f.river, AtRest{}, "app"); err != nil {
		t.Fatal(err)
	}
	setFailing(`now() - interval '6 days'`)
	check(0, true)
	if _, err := DisableIfFailing(ctx, pool, nil, AtRest{}, "missing", 0); err != nil {
		t.Errorf("DisableIfFailing(missing) = %v", err)
	}
}

func TestFormatPeriod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{5 * 24 * time.Hour, "5d"},
		{36 * time.Hour, "36h"},
		{90 * time.Minute, "1h30m"},
		{45 * time.Second, "45s"},
		{time.Minute, "1m"},
		{40 * time.Second, "40s"},
		{150 * time.Second, "2m30s"},
		{2*time.Hour + 30*time.Second, "2h0m30s"},
	}
	for _, tt := range tests {
		if got := formatPeriod(tt.in); got != tt.want {
			t.Errorf("formatPeriod(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
