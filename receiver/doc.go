// Package receiver verifies pollhook's webhooks in a subscriber's HTTP
// server.
//
// pollhook signs every webhook the Standard Webhooks way: the headers
// webhook-id, webhook-timestamp and webhook-signature carry one signature
// per active key of the subscriber: HMAC-SHA256 ("v1", with a "whsec_"
// secret) or ed25519 ("v1a", verified with the subscriber's "whpk_" public
// key, which need not be kept secret). A Verifier accepts a message signed
// by any of its secrets or public keys, so during a rotation a receiver may
// hold the old key, the new one or both. It refuses messages
// whose timestamp is outside its tolerance (default 5 minutes either way),
// which stops replays of captured requests, and its Middleware answers 200
// without calling the handler to a webhook-id it has already processed,
// since pollhook delivers at least once.
//
//	v, err := receiver.New(receiver.Options{Secrets: []string{os.Getenv("POLLHOOK_SECRET")}})
//	if err != nil { ... }
//	http.Handle("POST /webhooks/pollhook", v.Middleware(handler))
//
// For a subscriber with the v1a scheme, pass its public key instead:
//
//	receiver.New(receiver.Options{PublicKeys: []string{os.Getenv("POLLHOOK_PUBLIC_KEY")}})
//
// In the handler, MessageFrom(r.Context()) returns the verified message; the
// request body is restored and can be read again.
package receiver
