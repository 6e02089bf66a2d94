package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/testdb"
)

// TestDemoEndToEndLeaksNoSecrets runs the whole demo (every flow, every
// component) with debug logs captured, checks it succeeds, and fails if any
// credential, webhook secret, personal code or certificate value appears in
// the logs or the demo's output.
func TestDemoEndToEndLeaksNoSecrets(t *testing.T) {
	tdb := testdb.New(t)
	var out, logs cmdtest.Buffer
	err := run(context.Background(), &out, options{
		timeout:     90 * time.Second,
		httpAddr:    "127.0.0.1:0",
		databaseURL: tdb.URL,
		schema:      tdb.Schema,
		logOut:      &logs,
		logLevel:    slog.LevelDebug,
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	output := out.String()
	if !strings.Contains(output, "all 9 webhooks arrived, every signature verified") {
		t.Fatalf("demo output lacks its success line:\n%s", output)
	}
	for _, typ := range []string{"session.succeeded", "session.refused", "session.expired", "session.failed"} {
		if !strings.Contains(output, typ) {
			t.Errorf("demo output shows no %s webhook", typ)
		}
	}

	// The demo logs at debug: every poll, every attempt, River's own logs.
	all := logs.String() + output
	if len(logs.String()) < 1000 {
		t.Fatalf("captured only %d bytes of logs: the check would be empty", len(logs.String()))
	}
	var certValue string
	if err := tdb.Pool.QueryRow(context.Background(),
		`SELECT outcome->'certificate'->>'value' FROM sessions WHERE outcome ? 'certificate' LIMIT 1`).Scan(&certValue); err != nil || len(certValue) < 100 {
		t.Fatalf("no certificate value stored to look for (%v)", err)
	}
	for name, secret := range map[string]string{
		"FortID API key":          "demo-fortid-key",
		"Marksign access token":   "demo-marksign-token",
		"webhook secret":          "whsec_",
		"personal code":           "60001017705",
		"certificate value":       certValue[:40],
		"certificate value (end)": certValue[len(certValue)-40:],
	} {
		if strings.Contains(all, secret) {
			t.Errorf("%s appears in the logs", name)
		}
	}
}
