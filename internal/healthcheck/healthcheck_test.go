package healthcheck

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pollhook/pollhook/internal/harness"
)

// checkResult fails t unless call returned want or, if wantErr is set, an
// error containing wantErr.
func checkResult(t *testing.T, call, got string, err error, want, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s = %q, %v; want error %q", call, got, err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s = %q, %v; want %q", call, got, err, want)
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want, err string }{
		{addr: "127.0.0.1:8080", want: "http://127.0.0.1:8080/readyz"},
		{addr: "0.0.0.0:8080", want: "http://127.0.0.1:8080/readyz"},
		{addr: ":9000", want: "http://127.0.0.1:9000/readyz"},
		{addr: "[::]:8080", want: "http://[::1]:8080/readyz"},
		{addr: "worker.internal:80", want: "http://worker.internal:80/readyz"},
		{addr: "127.0.0.1:0", err: "no fixed port"},
		{addr: "8080", err: "missing port"},
	}
	for _, tt := range tests {
		got, err := URL(tt.addr, "/readyz")
		checkResult(t, fmt.Sprintf("URL(%q)", tt.addr), got, err, tt.want, tt.err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("ready\n"))
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	closed := "http://" + harness.MustFreeAddr(t) + "/ok"
	tests := []struct{ url, body, err string }{
		{url: srv.URL + "/ok", body: "ready"},
		{url: srv.URL + "/down", err: "HTTP 503 database unreachable"},
		{url: srv.URL + "/redirect", err: "HTTP 302"},
		{url: closed, err: "not healthy"},
	}
	for _, tt := range tests {
		body, err := Check(context.Background(), tt.url)
		checkResult(t, fmt.Sprintf("Check(%s)", tt.url), body, err, tt.body, tt.err)
	}
}
