// Package webhook delivers pollhook's webhooks in the Standard Webhooks
// format (https://www.standardwebhooks.com).
//
// A message is signed with every active secret of its subscriber (Sign), sent
// once per attempt by a Sender that refuses private and reserved addresses at
// dial time (Guard), and retried by River on a Schedule. Every attempt is
// recorded in delivery_attempts (RecordAttempt); a subscriber that answers
// 410 Gone or keeps failing is disabled (Disable, DisableIfFailing), and
// its deliveries wait, paused, until an operator enables it again (Enable);
// both, and an exhausted delivery, are reported to the operator's endpoint
// (Notify). Enqueue applies a subscriber's event filter; Acquire its rate
// and in-flight limits, shared by every worker process through Postgres.
// Signing keys and custom header values are sealed under the main key
// (package seal), personal data too when AtRest.Personal. Failed
// deliveries can be sent again with Redeliver and ReplayFailed; a message
// keeps its webhook-id on every attempt and every replay, so receivers can
// dedupe on it.
//
// The database functions take the unqualified table names of pollhook's
// schema: call them with a pool or transaction whose search_path is set to it.
package webhook
