// Package whsig is the Standard Webhooks signature primitive shared by the
// sender (internal/webhook) and the public receiver package: header names,
// key formats and the v1 (HMAC-SHA256) and v1a (ed25519) schemes.
//
// It imports only the standard library, so the receiver package stays light.
//
// The signed content of a message is "{webhook-id}.{webhook-timestamp}.{body}".
// A webhook-signature header holds one "scheme,base64" item per signing key,
// space separated; a receiver accepts the message if any item verifies under
// one of its keys, which is how key rotation overlaps. Keys are written the
// Standard Webhooks way: "whsec_" + base64 of a 24-64 byte HMAC key,
// "whsk_" + base64 of an ed25519 private key, "whpk_" + base64 of an ed25519
// public key.
package whsig
