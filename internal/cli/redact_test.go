package cli

import "testing"

func TestRedactQuery(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://app.example/hooks", "https://app.example/hooks"},
		{"https://app.example/hooks?token=abc", "https://app.example/hooks?[redacted]"},
		{"https://app.example/?", "https://app.example/?[redacted]"},
	}
	for _, tt := range tests {
		if got := redactQuery(tt.in); got != tt.want {
			t.Errorf("redactQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
