package webhook

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func mustSecret(t testing.TB) string {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignMatchesReference(t *testing.T) {
	t.Parallel()
	secrets := []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", // the reference library's test secret (24 bytes)
		mustSecret(t),
		SecretPrefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, 64)),
	}
	tests := []struct {
		name string
		id   string
		ts   time.Time
		body []byte
	}{
		{"json", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1_700_000_000, 0), []byte(`{"type":"session.succeeded","data":{"x":1}}`)},
		{"empty body", NewMessageID(), time.Unix(1, 0), nil},
		{"sub-second time", NewMessageID(), time.Unix(1_700_000_000, 999_999_999), []byte(`{"a":"ä ü \u0000"}`)},
		{"binary body", "msg_x", time.Now(), []byte{0, 1, 2, 0xff, '.', '.'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []string
			for _, s := range secrets {
				wh, err := standardwebhooks.NewWebhook(s)
				if err != nil {
					t.Fatal(err)
				}
				sig, err := wh.Sign(tt.id, tt.ts, tt.body)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Sign(tt.id, tt.ts, tt.body, []string{s})
				if err != nil {
					t.Fatal(err)
				}
				if got != sig {
					t.Errorf("Sign = %q, reference = %q", got, sig)
				}
				want = append(want, sig)
			}
			got, err := Sign(tt.id, tt.ts, tt.body, secrets)
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(want, " "); got != w {
				t.Errorf("Sign with %d secrets = %q, want %q", len(secrets), got, w)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	t.Parallel()
	bad := "whsec_" + base64.StdEncoding.EncodeToString([]byte("short-key-but-secret"))
	tests := []struct {
		name    string
		secrets []string
		want    string
	}{
		{"none", nil, "no signing secret"},
		{"no prefix", []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "signing key 1 of 1"},
		{"short key", []string{mustSecret(t), bad}, "signing key 2 of 2: secret decodes to 20 bytes"},
		{"not base64", []string{"whsec_!!!!"}, "not valid base64"},
	}
	for _, tt := range tests {
		_, err := Sign("msg_1", time.Now(), []byte("{}"), tt.secrets)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Sign error = %v, want it to contain %q", tt.name, err, tt.want)
			continue
		}
		for _, s := range tt.secrets {
			if strings.Contains(err.Error(), strings.TrimPrefix(s, SecretPrefix)) {
				t.Errorf("%s: error %q reveals the secret", tt.name, err)
			}
		}
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	s := mustSecret(t)
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9+/=]{32,}$`).MatchString(s) {
		t.Errorf("NewSecret = %q, does not match the subscriber_secrets check", s)
	}
	key, err := ParseSecret(s)
	if err != nil || len(key) != 32 {
		t.Fatalf("ParseSecret(NewSecret()) = %d bytes, %v; want 32 bytes", len(key), err)
	}
	if s2 := mustSecret(t); s2 == s {
		t.Error("NewSecret returned the same secret twice")
	}

	enc := func(n int) string { return SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		in string
		ok bool
	}{
		{enc(23), false},
		{enc(24), true},
		{enc(64), true},
		{enc(65), false},
		{strings.TrimPrefix(enc(32), SecretPrefix), false},
		{"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)), false},
		{"", false},
	}
	for _, tt := range tests {
		if _, err := ParseSecret(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseSecret(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestNewMessageID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^msg_[A-Za-z0-9]{27}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := NewMessageID()
		if !re.MatchString(id) {
			t.Fatalf("NewMessageID = %q, want %s", id, re)
		}
		if seen[id] {
			t.Fatalf("NewMessageID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestEncodeBase62(t *testing.T) {
	t.Parallel()
	var zero, one, maxv [20]byte
	one[19] = 1
	for i := range maxv {
		maxv[i] = 0xff
	}
	var big [20]byte // 62^1 = 62 encodes as "10"
	big[19] = 62
	tests := []struct {
		in   [20]byte
		want string
	}{
		{zero, strings.Repeat("0", 27)},
		{one, strings.Repeat("0", 26) + "1"},
		{big, strings.Repeat("0", 25) + "10"},
		{maxv, "aWgEPTl1tmebfsQzFP4bxwgy80V"}, // KSUID's maximum
	}
	for _, tt := range tests {
		if got := encodeBase62(tt.in); got != tt.want {
			t.Errorf("encodeBase62(%x) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Encodings sort like the numbers.
	var a, b [20]byte
	a[0], b[0] = 0x10, 0x11
	if x, y := encodeBase62(a), encodeBase62(b); !slices.IsSorted([]string{x, y}) || x == y {
		t.Errorf("encodeBase62 does not preserve order: %q, %q", x, y)
	}
}
