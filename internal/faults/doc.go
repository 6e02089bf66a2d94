// Package faults holds pollhook's fault-injection tests: they run in the
// normal test suite (go test -race ./...) and check that what pollhook
// promises, every session ending in its provider's state and every outcome
// reaching the subscriber at least once under one stable webhook-id, holds
// when things break:
//
//   - TestKill9Worker kills the worker binary with SIGKILL again and again;
//   - TestPostgresRestart restarts a private PostgreSQL cluster under a
//     running worker;
//   - TestProviderChaos lets the simulated providers answer 5xx, slow and
//     malformed answers at random;
//   - TestSubscriberDown refuses connections, then answers 503, before the
//     subscriber accepts;
//   - TestTwoWorkers runs two worker binaries on one schema.
//
// Each test prints its figures (sessions, kills, duplicates, losses, ...) as
// its last log line, e.g.
//
//	faults: kill9 sessions=1000 kills=12 webhooks=1000 duplicates=37 (same webhook-id) lost=0
//
// The package has no API: this file only documents it. The shared harness
// (worker binary and processes, the recording receiver, seeding by SQL, the
// final checks) is in harness_test.go and pgcluster_test.go.
package faults
