// Package jobargs holds the arguments, kinds and queue names of pollhook's
// River jobs: the contract between whoever inserts a job (track, the SQL
// listener, the handoff, replay) and the worker that runs it.
//
// It is a leaf, as River's rivertype is: it imports River and nothing of
// pollhook, so a Go app that registers sessions through package track links
// these types and not the worker (internal/jobs), its providers, metrics or
// backoff. Keep it that way: args carry ids only (never credentials or
// personal data), and anything a job's worker decides belongs with the
// worker.
package jobargs
