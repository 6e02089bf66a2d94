// Package healthcheck asks a local pollhook process whether it is healthy
// over HTTP: the "healthcheck" subcommands of the worker and the simulator,
// which distroless container images run because they have no shell or curl.
package healthcheck

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Timeout bounds one check.
const Timeout = 5 * time.Second

// URL is the URL of path on a server listening on addr (host:port). A
// wildcard or empty host (0.0.0.0:8080, [::]:8080, :8080) is reached on
// loopback.
func URL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("address %q has no fixed port to check", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// Check GETs url and returns the start of the body if the answer is 200 OK;
// any other answer, or none, is an error. Redirects are not followed.
func Check(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("not healthy: %s answered HTTP %d %s", url, resp.StatusCode, msg)
	}
	return msg, nil
}
