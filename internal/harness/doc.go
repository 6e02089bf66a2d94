// Package harness runs pollhook the way an operator does, for tests and the
// bench: it builds a binary once (Build, Binaries), starts it as a child
// process with a controlled environment, waits for its /readyz, stops it
// with SIGTERM or kills it with SIGKILL, and captures its output to a log
// file that tests scan (Process). Receiver is a recording webhook
// subscriber: it verifies every delivery with the receiver package, records
// each verified copy with its webhook-id, and can be told to fail.
//
// The package is not a _test file so that several packages (faults,
// invariant, bench, jobs' end-to-end tests) share one copy. It must not
// import the worker's packages (jobs, worker): it drives them from outside.
package harness
