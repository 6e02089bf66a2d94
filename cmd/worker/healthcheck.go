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
func runHealthcheck(stdout, stderr io.Writer, env config.Env) int {
	addr := config.DefaultHTTPAddr
	if v, ok := env.Lookup("POLLHOOK_HTTP_ADDR"); ok && v != "" {
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
