package cli

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://app.example/hooks", "https://app.example/hooks"},
		{"http://10.0.0.5:8080/hooks/in", "http://10.0.0.5:8080/hooks/in"},
		{"https://app.example/hooks?token=abc", "https://app.example/hooks?token=redacted"},
		{"https://app.example/hooks?token=abc&tenant=4&flag", "https://app.example/hooks?token=redacted&tenant=redacted&flag=redacted"},
		{"https://app.example/hooks?a=1&b=2;c", "https://app.example/hooks?a=redacted&b=redacted&c=redacted"},
		{"https://app.example/?", "https://app.example/"},
		{"https://user:pass@app.example/hooks", "https://redacted@app.example/hooks"},
		{"https://user:pa55@app.example:8443/h", "https://redacted@app.example:8443/h"},
		{"https://tok3n@app.example/h#frag", "https://redacted@app.example/h"},
		{"https://token@app.example:8443/x?k=v#frag", "https://redacted@app.example:8443/x?k=redacted"},
		{"http://u:p@[::1]:80/x?k=v", "http://redacted@[::1]:80/x?k=redacted"},
		{"https://app.example/a%20b", "https://app.example/a%20b"},
		{"mailto:someone@example.com", "mailto:redacted"},
		{"http://[::1]:namedport", "http://redacted"},
		{"https://a b@x/%zz?q=s3cret", "https://redacted"},
		{"://nothing", "redacted"},
		{"no url at all", "no%20url%20at%20all"},
	}
	for _, tt := range tests {
		got := RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"abc", "pa55", "tok3n", "s3cret"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q still holds %q", tt.in, got, secret)
			}
		}
	}
}

// TestRedactURLHidesGeneratedSecrets builds URLs around random secrets in
// the userinfo, query values and fragment, and checks that none survives
// while the scheme, host and path do.
func TestRedactURLHidesGeneratedSecrets(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 4))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~%:@/?#&=+; "
	secret := func() string {
		var b strings.Builder
		b.WriteString("S3cr")
		for range 4 + r.IntN(20) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 2000 {
		u := url.URL{Scheme: "https", Host: "hooks.example:8443", Path: "/in/x"}
		switch i % 3 {
		case 0:
			u.User = url.UserPassword(secret(), secret())
		case 1:
			u.User = url.User(secret())
		}
		u.RawQuery = url.Values{"token": {secret()}, "plain": {"v"}}.Encode()
		if i%2 == 0 {
			u.Fragment = secret()
		}
		raw := u.String()
		got := RedactURL(raw)
		if !strings.HasPrefix(got, "https://") || !strings.Contains(got, "hooks.example:8443/in/x") {
			t.Fatalf("RedactURL(%q) = %q: lost where the URL points", raw, got)
		}
		if strings.Contains(got, "S3cr") {
			t.Fatalf("RedactURL(%q) = %q: a secret survived", raw, got)
		}
	}
	// Raw strings that do not parse keep at most their scheme.
	for range 2000 {
		word := func() string { return "S3cr" + strings.Map(func(c rune) rune { return 'a' + c%26 }, secret()) }
		raw := "https://" + word() + ":" + word() + "@" + word() + "/%zz?token=" + word()
		if _, err := url.Parse(raw); err == nil {
			t.Fatalf("%q parses", raw)
		}
		if got := RedactURL(raw); got != "https://redacted" {
			t.Fatalf("RedactURL(%q) = %q, want https://redacted", raw, got)
		}
	}
}
