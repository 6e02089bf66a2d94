// Package deps holds no code. Its test guards the dependency sets of
// pollhook's public packages (track, event, receiver) and of the job-args
// leaf they share with the worker: an app that imports them must not link
// the worker, its providers, metrics or backoff.
//
// When a public package gains an import, add it to the allow-list in
// deps_test.go on purpose, saying why, and keep anything it brings with it
// as light as the package itself.
package deps
