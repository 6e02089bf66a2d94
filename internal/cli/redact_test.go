package cli

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://app.example/hooks", "https://app.example/hooks"},
		{"https://app.example/hooks?token=abc", "https://app.example/hooks?token=redacted"},
		{"https://app.example/hooks?token=abc&tenant=4&flag", "https://app.example/hooks?token=redacted&tenant=redacted&flag=redacted"},
		{"https://app.example/?", "https://app.example/"},
		{"https://user:pa55@app.example:8443/h", "https://redacted@app.example:8443/h"},
		{"https://tok3n@app.example/h#frag", "https://redacted@app.example/h"},
		{"http://u:p@[::1]:80/x?k=v", "http://redacted@[::1]:80/x?k=redacted"},
		{"https://a b@x/%zz?q=s3cret", "https://redacted"},
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
