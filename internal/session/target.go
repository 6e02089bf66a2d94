package session

// Target is what a poll needs to reach a session at its provider: pollhook's
// id, the provider family and flow, the provider's id, and the account and
// locale to poll with. Session embeds it, and so does upstream.Session, the
// provider clients' view of a session.
type Target struct {
	// ID is pollhook's session id (a UUID); provider clients use it in logs
	// only.
	ID string
	// Provider is the provider family.
	Provider Provider
	// Flow is the provider flow: the status endpoint to poll.
	Flow Flow
	// ExternalID is the provider's session id or token.
	ExternalID string
	// Account names the configured provider credentials to poll with
	// ("default" if empty).
	Account string
	// Locale is the Marksign message language; it picks Marksign's path: "lt"
	// (no prefix) or "en" (/en prefix).
	Locale string
}
