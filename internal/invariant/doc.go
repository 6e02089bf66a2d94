// Package invariant holds pollhook's invariant suite: a model-based test
// that drives the real worker binary (through internal/harness, so it can
// be killed at any instant) against an adversarial provider on loopback,
// and checks after each run that the promises I1-I6 of docs/INVARIANTS.md
// held for every session:
//
//   - I1: a session registered with valid input reaches a terminal state no
//     later than its deadline plus a bound (Settle; after a worker kill, the
//     kill plus Recovery);
//   - I2: a terminal answer the provider served before the deadline is the
//     session's outcome (state and content), and a session that ends at its
//     deadline had a poll in its last moments;
//   - I3: exactly one webhook-id per session, delivered at least once;
//   - I4: no request to the provider after the session's terminal answer was
//     served or past its deadline, and never two at once for one session;
//   - I5: a session's identity never changes after registration;
//   - I6: no secret or personal data planted by the test (canaries) in the
//     worker's logs, its /metrics, or River's job args and metadata.
//
// Each session draws a random script from every class of answer (in
// progress, each terminal kind of Marksign and FortID, garbage, non-UTF-8
// bytes, \u0000, lone surrogates, huge and slow bodies, 5xx, 429 with any
// Retry-After, redirects, hangs), a random deadline, and perhaps an app
// cancel or a mutation attempt; the worker is SIGKILLed and restarted at
// random instants. make test runs a small fixed-seed run; flags run longer
// ones:
//
//	go test ./internal/invariant -run TestInvariants -invariant.seed=7 \
//	    -invariant.sessions=300 -invariant.duration=20m -timeout=30m
//
// A failure prints the seed and each failing session's full history.
//
// The package has no API: this file only documents it.
package invariant
