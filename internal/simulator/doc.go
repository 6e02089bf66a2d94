// Package simulator is a stand-in for the providers pollhook polls: the
// FortID Verifier Service and the six status endpoints of the Marksign
// gateway, on both the LT (no prefix) and EN (/en prefix) paths. The demo,
// the tests and the benchmarks share it.
//
// # Endpoints
//
//	GET  /verification-session/status/{id}         FortID (header X-API-KEY)
//	POST [/en]/smartid/status/{token}.json          Smart-ID identification
//	POST [/en]/smartid/sign/status/{token}.json     Smart-ID signing
//	POST [/en]/smartid/sign/hash/status/{token}.json Smart-ID hash signing
//	POST [/en]/mobile/status/{token}.json           Mobile-ID identification
//	POST [/en]/mobile/sign/status/{token}.json      Mobile-ID signing
//	POST [/en]/mobile/sign-hash/status/{token}.json Mobile-ID hash signing
//
// and the control endpoints:
//
//	PUT  /_sim/scenarios/{id}  set the Scenario of an id (JSON Scenario)
//	GET  /_sim/scenarios/{id}  the Scenario an id follows
//	GET  /_sim/polls/{id}      {"polls", "scripted_polls", "terminal_since"}
//	POST /_sim/reset           forget every id
//
// # Scenarios
//
// Every id (FortID session id or Marksign token) follows a Scenario:
// Scenario.InProgressPolls answers "in progress" (IN_PROGRESS, or Marksign
// "waiting"), then the answers of Scenario.Outcome. The scenario of an id is,
// in order: the one set with SetScenario or PUT /_sim/scenarios/{id}; the
// one its name encodes (below); Options.DefaultScenario; 2 in-progress polls
// then succeeded.
//
// # Id and token convention
//
// So that sessions registered straight into the database need no setup
// call, an id can carry its scenario:
//
//   - A Marksign token "sim-<outcome>-<n>" or "sim-<outcome>-<n>-<anything>"
//     follows <n> (decimal, 0 to 999) in-progress polls then <outcome>, one
//     of the Outcome values: "sim-refused-3-a1b2" answers "waiting" three
//     times, then error 40020.
//   - A Marksign token "sim-<outcome>-at-<ms>" or
//     "sim-<outcome>-at-<ms>-<anything>" answers in progress until the
//     wall-clock instant <ms> (Unix milliseconds), then <outcome>: a session
//     that ends at a time of its own, not at a poll count, as when a person
//     confirms on a phone. Scenario.TerminalAt (JSON "terminal_at", RFC 3339)
//     does the same for any id, FortID's included.
//   - A UUID (FortID session id or Marksign token) whose first group is
//     "0000OONN", OO and NN decimal digits, follows NN in-progress polls
//     then outcome number OO: 01 succeeded, 02 failed, 03 refused, 04
//     expired, 05 not_found, 06 rejected, 07 flaky, 08 slow, 09 malformed,
//     10 unknown_status. "00000403-1c2d-4e5f-8a9b-0c1d2e3f4a5b" answers
//     in progress three times, then expired. Any other UUID, including OO
//     "00", follows the default scenario.
//
// For ids that follow the convention, flaky answers 2 server errors before
// its success, FortID expired answers 410 for 1000 polls (its grace period) then 404, and slow delays
// each answer by 2 s. MarksignToken and FortIDSessionID build such ids.
//
// # Outcomes per provider
//
// Marksign answers a terminal error with error_code failed 40401 (40022 for
// signing flows), refused 40020, expired 40021, not_found 40402, rejected
// 40001 (Scenario.ErrorCode overrides), sent with HTTP status code/100.
// FortID answers failed and refused with VERIFICATION_FAILED (FortID has no
// refusal), expired with 410 for Scenario.GracePolls polls then 404,
// not_found with 404, rejected with 400.
//
// # Chaos
//
// With Options.Chaos > 0, each poll is, with that probability, answered by a
// transient failure chosen at random: HTTP 500, HTTP 503, a 503 sent after
// Options.SlowDelay, or malformed JSON. Chaos answers are counted by Polls
// but are not scripted polls: they do not advance the scenario, so every
// session still ends in its scripted state.
package simulator
