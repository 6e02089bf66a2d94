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
		{"https://app.example/hooks?token=abc", "https://app.example/hooks?token=REDACTED"},
		{"https://app.example/hooks?a=1&b=2;c", "https://app.example/hooks?a=REDACTED&b=REDACTED&REDACTED"},
		{"https://app.example/?", "https://app.example/?"},
		{"https://user:pass@app.example/hooks", "https://REDACTED@app.example/hooks"},
		{"https://token@app.example:8443/x?k=v#frag", "https://REDACTED@app.example:8443/x?k=REDACTED#REDACTED"},
		{"https://app.example/a%20b", "https://app.example/a%20b"},
		{"mailto:someone@example.com", "mailto:REDACTED"},
		{"http://[::1]:namedport", "REDACTED"},
		{"://nothing", "REDACTED"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactURLHidesGeneratedSecrets builds URLs around random secrets in
// the userinfo, query values and fragment, and checks that none survives
// while the host does.
func TestRedactURLHidesGeneratedSecrets(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 4))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~%:@/?#&=+ "
	secret := func() string {
		var b strings.Builder
		b.WriteString("S3cr")
		for range 4 + r.IntN(20) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 2000 {
		user, pass, val, frag := secret(), secret(), secret(), secret()
		u := url.URL{Scheme: "https", Host: "hooks.example:8443", Path: "/in/x"}
		switch i % 3 {
		case 0:
			u.User = url.UserPassword(user, pass)
		case 1:
			u.User = url.User(user)
		}
		u.RawQuery = url.Values{"token": {val}, "plain": {"v"}}.Encode()
		if i%2 == 0 {
			u.Fragment = frag
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
}
