package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/config"
)

// healthcheckTimeout bounds the whole check; /readyz itself gives the
// database 2 s.
const healthcheckTimeout = 5 * time.Second

// healthcheck asks the worker listening on POLLHOOK_HTTP_ADDR whether it is
// ready (GET /readyz) and returns exitOK if it answers 200, exitFailed if
// not, exitUsage if the address cannot be checked.
func healthcheck(stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	addr := httpAddrDefault()
	if v, ok := lookup("POLLHOOK_HTTP_ADDR"); ok && v != "" {
		addr = v
	}
	url, err := readyURL(addr)
	if err != nil {
		fmt.Fprintln(stderr, "worker healthcheck:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "worker healthcheck:", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "worker healthcheck: not ready: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "worker healthcheck: not ready: %s: HTTP %d %s\n", url, resp.StatusCode, msg)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, msg)
	return exitOK
}

// httpAddrDefault is POLLHOOK_HTTP_ADDR's documented default.
func httpAddrDefault() string {
	for _, v := range config.Vars() {
		if v.Name == "POLLHOOK_HTTP_ADDR" {
			return v.Default
		}
	}
	return ""
}

// readyURL is the /readyz URL of a worker listening on addr. A wildcard or
// empty host (0.0.0.0:8080, [::]:8080, :8080) is reached on loopback.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("POLLHOOK_HTTP_ADDR %q: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("POLLHOOK_HTTP_ADDR %q has no fixed port to check", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
