// Package session is the home of a tracked session's vocabulary: its State,
// the providers and flows pollhook polls, the rules a provider's session id
// must follow, and Store, the reads and writes of the sessions table that the
// poll job, pollhookctl and track share.
//
// It imports only pgx, so the public track package can use it without
// linking the worker. The database enforces the same rules (migrations
// 00001 and 00002); docs/INVARIANTS.md says which rule lives where.
package session
