package webhook

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/testdb"
	"github.com/pollhook/pollhook/internal/whsig"
)

func TestValidateHeader(t *testing.T) {
	t.Parallel()
	ok := []struct{ name, value string }{
		{"Authorization", "Bearer abc"},
		{"X-Api-Key", "k\twith tab"},
		{"x_custom.1!", ""},
		{"X-Long", strings.Repeat("v", 4096)},
	}
	for _, c := range ok {
		if err := ValidateHeader(c.name, c.value); err != nil {
			t.Errorf("ValidateHeader(%q) = %v, want ok", c.name, err)
		}
	}
	bad := []struct{ name, value, want string }{
		{"webhook-signature", "x", "reserved"},
		{"Webhook-Id", "x", "reserved"},
		{"Host", "evil.example", "reserved"},
		{"content-length", "0", "reserved"},
		{"Transfer-Encoding", "chunked", "reserved"},
		{"Connection", "close", "reserved"},
		{"Proxy-Authorization", "x", "reserved"},
		{"User-Agent", "x", "reserved"},
		{"Bad Name", "x", "not an HTTP token"},
		{"Bad:Name", "x", "not an HTTP token"},
		{"", "x", "1-256"},
		{"X-Inject", "a\r\nX-Evil: 1", "control character"},
		{"X-Nul", "a\x00b", "control character"},
		{"X-Long", strings.Repeat("v", 4097), "longer than"},
	}
	for _, c := range bad {
		err := ValidateHeader(c.name, c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateHeader(%q) = %v, want %q", c.name, err, c.want)
		}
		if err != nil && len(c.value) > 3 && strings.Contains(err.Error(), c.value) {
			t.Errorf("ValidateHeader(%q) error reveals the value", c.name)
		}
	}
	if err := ValidateHeader("webhook-id", ""); !errors.Is(err, ErrReservedHeader) {
		t.Errorf("webhook-id: %v, want ErrReservedHeader", err)
	}
}

func TestMatchEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{nil, "session.succeeded", true},
		{[]string{"session.succeeded"}, "session.succeeded", true},
		{[]string{"session.succeeded"}, "session.failed", false},
		{[]string{"session.*"}, "session.failed", true},
		{[]string{"session.*"}, "subscriber.disabled", false},
		{[]string{"session.*"}, "sessionx.failed", false},
		{[]string{"subscriber.*", "delivery.exhausted"}, "delivery.exhausted", true},
		{[]string{"session.succeeded"}, "session.succeeded.extra", false},
	}
	for _, tt := range tests {
		if got := MatchEvent(tt.patterns, tt.typ); got != tt.want {
			t.Errorf("MatchEvent(%v, %q) = %t, want %t", tt.patterns, tt.typ, got, tt.want)
		}
	}
	for _, p := range []string{"*", "session.", ".*", "Session.x", "session.*.x", "session.a-b"} {
		if ValidateEventPattern(p) == nil {
			t.Errorf("ValidateEventPattern(%q) accepted", p)
		}
	}
}

// TestEnqueueFilterMatchesMatchEvent: the filter Enqueue applies in SQL is
// MatchEvent, over generated filters and event types, and a subscriber
// that does not want an event gets no delivery row.
func TestEnqueueFilterMatchesMatchEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "app")
	ctx := context.Background()
	words := []string{"session", "sessions", "subscriber", "delivery", "succeeded", "failed", "disabled", "a", "a_b"}
	r := rand.New(rand.NewPCG(11, 12))
	word := func() string { return words[r.IntN(len(words))] }
	typ := func() string {
		s := words[r.IntN(len(words)-1)] // the first segment has no '_'
		for range 1 + r.IntN(2) {
			s += "." + word()
		}
		return s
	}
	for i := range 150 {
		var patterns []string
		for range r.IntN(4) {
			p := typ()
			if r.IntN(3) == 0 {
				p = p[:strings.LastIndexByte(p, '.')] + ".*"
			}
			patterns = append(patterns, p)
		}
		valid := SubscriberOptions{EventTypes: patterns}.Validate() == nil
		_, err := f.db.Pool.Exec(ctx, `UPDATE subscribers SET event_types = $1 WHERE name = 'app'`, nonNil(patterns))
		if (err == nil) != valid {
			t.Fatalf("case %d: filter %v: table error %v, Go validation ok=%t", i, patterns, err, valid)
		}
		if !valid {
			continue
		}
		et := typ()
		var id int64
		err = f.inTx(func(tx pgx.Tx) error {
			var err error
			id, err = Enqueue(ctx, tx, f.river, AtRest{}, Event{Subscriber: "app", Type: et, Payload: []byte(`{}`)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := MatchEvent(patterns, et); (id != 0) != want {
			t.Fatalf("case %d: filter %v, type %s: SQL enqueued=%t, MatchEvent=%t", i, patterns, et, id != 0, want)
		}
	}
	// The table refuses what ValidateEventPattern refuses.
	for _, bad := range []string{"*", "Session.x", "session.*.x", ""} {
		if _, err := f.db.Pool.Exec(ctx, `UPDATE subscribers SET event_types = $1 WHERE name = 'app'`, []string{bad}); err == nil {
			t.Errorf("event_types {%q} accepted by the table", bad)
		}
	}
}

func TestThrottleDecision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		s      throttleState
		rate   float64
		max    int
		tokens float64
		wait   time.Duration
		ok     bool
	}{
		{"no limits", throttleState{}, 0, 0, 0, 0, true},
		{"full bucket", throttleState{Tokens: 10}, 10, 0, 9, 0, true},
		{"empty bucket waits for one token", throttleState{Tokens: 0}, 10, 0, 0, 100 * time.Millisecond, false},
		{"refills with time", throttleState{Tokens: 0, Elapsed: 250 * time.Millisecond}, 10, 0, 1.5, 0, true},
		{"refill capped at burst", throttleState{Tokens: 5, Elapsed: time.Hour}, 10, 0, 9, 0, true},
		{"slow rate burst is one", throttleState{Tokens: 0.5, Elapsed: time.Hour}, 0.1, 0, 0, 0, true},
		{"slow rate wait capped", throttleState{Tokens: 0}, 0.01, 0, 0, maxThrottleWait, false},
		{"slots full", throttleState{Tokens: 10, InFlight: 2}, 10, 2, 10, busyWait, false},
		{"slot free", throttleState{InFlight: 1}, 0, 2, 0, 0, true},
		{"nearly a token waits at least the minimum", throttleState{Tokens: 0.9999}, 10, 0, 0.9999, minThrottleWait, false},
	}
	for _, tt := range tests {
		tokens, wait, ok := throttleDecision(tt.s, tt.rate, tt.max)
		if ok != tt.ok || wait != tt.wait || tokens < tt.tokens-1e-9 || tokens > tt.tokens+1e-9 {
			t.Errorf("%s: = %.4f, %s, %t; want %.4f, %s, %t", tt.name, tokens, wait, ok, tt.tokens, tt.wait, tt.ok)
		}
	}
}

// TestSubscriberV1aAndSealing: a v1a subscriber's private key is sealed,
// its public key listed and revealed; a rotation to v1 overlaps both; the
// custom headers are sealed and open in LoadDelivery.
func TestSubscriberV1aAndSealing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	keys := testdb.MainKeys(t)
	pub, err := CreateSubscriber(ctx, f.db.Pool, keys, "edge", "https://edge.example/h", SubscriberOptions{
		Scheme: SchemeV1a, EventTypes: []string{"session.*"}, Headers: map[string]string{"authorization": "Bearer t0ken"},
		RatePerSecond: 50, MaxInFlight: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := f.db.Pool.QueryRow(ctx, `SELECT secret FROM subscriber_secrets WHERE subscriber = 'edge'`).Scan(&stored); err != nil || !seal.IsSealed(stored) {
		t.Fatalf("stored key %.12q, %v: want it sealed", stored, err)
	}
	if got, err := RevealSecret(ctx, f.db.Pool, keys, "edge"); err != nil || got != pub {
		t.Errorf("RevealSecret = %q, %v; want the public key", got, err)
	}
	subs, err := ListSubscribers(ctx, f.db.Pool)
	if err != nil {
		t.Fatal(err)
	}
	s := subs[0]
	if s.Scheme != SchemeV1a || len(s.PublicKeys) != 1 || s.PublicKeys[0] != pub || s.HeaderNames[0] != "Authorization" ||
		s.RatePerSecond != 50 || s.MaxInFlight != 3 || s.EventTypes[0] != "session.*" {
		t.Errorf("listed %+v", s)
	}
	secret, err := RotateSecret(ctx, f.db.Pool, keys, "edge", time.Hour, SchemeV1)
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("rotate to v1 = %.6q, %v", secret, err)
	}
	id := f.delivery(t, "edge", StatePending, 0)
	d, err := LoadDelivery(ctx, f.db.Pool, id)
	if err != nil {
		t.Fatal(err)
	}
	if !d.StaleSecrets(nil) && d.StaleSecrets(keys) {
		t.Error("freshly sealed keys reported stale")
	}
	if err := d.Open(keys); err != nil {
		t.Fatal(err)
	}
	if len(d.Secrets) != 2 || d.Secrets[0] != secret || !whsig.IsPrivateKey(d.Secrets[1]) || d.Headers["authorization"] != "Bearer t0ken" {
		t.Fatalf("opened delivery: %d secrets, headers %v", len(d.Secrets), d.Headers != nil)
	}
	header, err := Sign(d.WebhookID, time.Unix(1700000000, 0), d.Payload, d.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{secret, pub} {
		v, _ := whsig.ParseKeys([]string{k})
		if !v.Verify(d.WebhookID, "1700000000", d.Payload, header) {
			t.Errorf("the overlap's header does not verify with the %.5s key", k)
		}
	}
	// Without the main key nothing sealed opens, and the error says why.
	d2, _ := LoadDelivery(ctx, f.db.Pool, id)
	if err := d2.Open(nil); !errors.Is(err, seal.ErrNoKey) {
		t.Errorf("Open without key = %v, want ErrNoKey", err)
	}

	// Update: clear headers, new filter; refused options change nothing.
	empty := map[string]string{}
	events := []string{"session.failed"}
	if err := UpdateSubscriber(ctx, f.db.Pool, keys, "edge", SubscriberChange{Headers: &empty, EventTypes: &events}); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{"webhook-id": "x"}
	if err := UpdateSubscriber(ctx, f.db.Pool, keys, "edge", SubscriberChange{Headers: &bad}); !errors.Is(err, ErrReservedHeader) {
		t.Errorf("update with a reserved header = %v", err)
	}
	subs, _ = ListSubscribers(ctx, f.db.Pool)
	if len(subs[0].HeaderNames) != 0 || subs[0].EventTypes[0] != "session.failed" {
		t.Errorf("after update: %+v", subs[0])
	}
	if err := UpdateSubscriber(ctx, f.db.Pool, keys, "nobody", SubscriberChange{EventTypes: &events}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing subscriber = %v", err)
	}
}

// TestResealRotatesMainKey: values in clear and under an old main key are
// sealed under the new one, subscribers without a key get one, and after
// the old key is dropped everything still opens.
func TestResealRotatesMainKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	oldKey, newKey := testdb.MainKey(), strings.Replace(testdb.MainKey(), "test:", "new:", 1)
	oldRing, _ := seal.Parse(oldKey)
	both, _ := seal.Parse(newKey + "," + oldKey)
	newOnly, _ := seal.Parse(newKey)

	if _, err := CreateSubscriber(ctx, f.db.Pool, oldRing, "sealed-old", "https://a.example/", SubscriberOptions{Headers: map[string]string{"X-K": "v"}}); err != nil {
		t.Fatal(err)
	}
	plain := whsig.NewSecret()
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO subscribers (name, url) VALUES ('by-sql', 'https://b.example/'), ('no-key', 'https://c.example/')`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO subscriber_secrets (subscriber, secret) VALUES ('by-sql', $1)`, plain); err != nil {
		t.Fatal(err)
	}
	id := f.delivery(t, "by-sql", StateSucceeded, 0)
	res, err := Reseal(ctx, f.db.Pool, AtRest{Keys: both, Personal: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Generated != 1 || res.Secrets < 2 || res.Headers != 1 || res.Personal < 1 {
		t.Errorf("Reseal = %+v, want 1 generated, 2+ keys, 1 header set, the payload", res)
	}
	rows, _ := f.db.Pool.Query(ctx, `SELECT secret FROM subscriber_secrets UNION ALL SELECT headers_sealed FROM subscribers WHERE headers_sealed IS NOT NULL
		UNION ALL SELECT payload #>> '{}' FROM deliveries`)
	vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(vals) != 5 {
		t.Fatalf("%d values, %v", len(vals), err)
	}
	for _, v := range vals {
		if !strings.HasPrefix(v, "sealed:new:") {
			t.Errorf("value %.16q not sealed under the new key", v)
		}
	}
	if got, err := RevealSecret(ctx, f.db.Pool, newOnly, "by-sql"); err != nil || got != plain {
		t.Errorf("by-sql secret after rotation: %v", err)
	}
	if got, err := RevealSecret(ctx, f.db.Pool, newOnly, "no-key"); err != nil || !strings.HasPrefix(got, "whsec_") {
		t.Errorf("no-key secret: %v", err)
	}
	d, err := LoadDelivery(ctx, f.db.Pool, id)
	if err != nil || d.Open(newOnly) != nil || !strings.Contains(string(d.Payload), "session.succeeded") {
		t.Errorf("payload after rotation: %v", err)
	}
	// A second run has nothing left to do.
	if res, err := Reseal(ctx, f.db.Pool, AtRest{Keys: newOnly, Personal: true}); err != nil || res != (ResealResult{}) {
		t.Errorf("second Reseal = %+v, %v; want nothing", res, err)
	}
}

// TestSQLInsertedV1aKey: a whsk_ key an app inserts by SQL, in clear and
// without its public key, is sealed, gets its public key, and is what
// RevealSecret shows; no second key is generated.
func TestSQLInsertedV1aKey(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	keys := testdb.MainKeys(t)
	priv, pub := whsig.NewKeyPair()
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO subscribers (name, url, scheme) VALUES ('sqlv1a', 'https://a.example/', 'v1a')`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool.Exec(ctx, `INSERT INTO subscriber_secrets (subscriber, secret) VALUES ('sqlv1a', $1)`, priv); err != nil {
		t.Fatal(err)
	}
	if got, err := RevealSecret(ctx, f.db.Pool, keys, "sqlv1a"); err != nil || got != pub {
		t.Errorf("RevealSecret before sealing = %.10q, %v; want the public key of the inserted key", got, err)
	}
	if err := SealKeysOf(ctx, f.db.Pool, keys, "sqlv1a"); err != nil {
		t.Fatal(err)
	}
	var n int
	var stored, public string
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) OVER (), secret, coalesce(public_key, '') FROM subscriber_secrets WHERE subscriber = 'sqlv1a'`).Scan(&n, &stored, &public); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !seal.IsSealed(stored) || public != pub {
		t.Errorf("%d keys, sealed %t, public key %t", n, seal.IsSealed(stored), public == pub)
	}
}
