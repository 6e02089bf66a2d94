package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pollhook/pollhook/internal/config"
	"github.com/pollhook/pollhook/internal/healthcheck"
)

// runHealthcheck asks the worker listening on POLLHOOK_HTTP_ADDR whether it is
// ready (GET /readyz) and returns exitOK if it answers 200, exitFailed if
// not, exitUsage if the address cannot be checked.
func runHealthcheck(stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	addr := httpAddrDefault()
	if v, ok := lookup("POLLHOOK_HTTP_ADDR"); ok && v != "" {
		addr = v
	}
	url, err := healthcheck.URL(addr, "/readyz")
	if err != nil {
		fmt.Fprintln(stderr, "worker healthcheck: POLLHOOK_HTTP_ADDR:", err)
		return exitUsage
	}
	msg, err := healthcheck.Check(context.Background(), url)
	if err != nil {
		fmt.Fprintln(stderr, "worker healthcheck:", err)
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
