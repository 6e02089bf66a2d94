// Package seal encrypts what pollhook keeps at rest under a main key
// (POLLHOOK_MAIN_KEY): signing secrets and custom header values always, and,
// as an option, personal data (session outcomes and answers, delivery
// payloads, attempt bodies).
//
// A sealed value is text, "sealed:<key id>:<base64url>", holding an
// AES-256-GCM nonce and ciphertext; the purpose it was sealed for (its table
// and column) is authenticated with it, so a value copied to another column
// does not open. A Keyring holds several keys so the main key can be
// rotated: the first seals, all open, and Keyring.Stale tells which values
// to seal again under the first (pollhookctl keys reencrypt).
//
// Values that are not sealed open as themselves: rows written before a key
// was configured, or by SQL, keep working and are sealed when next touched.
package seal
