// Package deploy holds pollhook's operations files, tested here: the
// Prometheus rules (prometheus/pollhook-rules.yml, with promtool unit tests
// in prometheus/pollhook-rules.test.yml) and the Grafana dashboard
// (grafana/pollhook-dashboard.json). The package has no code: its tests
// run promtool over the rules and check that every metric the rules and the
// dashboard use is one a worker exports.
package deploy
