package whsig

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// The signature schemes, as they prefix a signature in the header.
const (
	// SchemeHMAC is v1: HMAC-SHA256 with a "whsec_" secret.
	SchemeHMAC = "v1"
	// SchemeEd25519 is v1a: ed25519 with a "whsk_" private key.
	SchemeEd25519 = "v1a"
)

// ErrNoKey is returned by Sign when it is given no key.
var ErrNoKey = errors.New("no signing secret")

// Content returns the signed content of a message:
// "{id}.{timestamp}.{body}", the timestamp written as sent in the header.
func Content(id, timestamp string, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(timestamp)+2+len(body))
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, timestamp...)
	b = append(b, '.')
	return append(b, body...)
}

// hmacSignature is the raw v1 signature of a message.
func hmacSignature(key []byte, id, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Sign returns the webhook-signature header of a message sent at unix
// seconds: one "v1,<base64>" per "whsec_" secret and one "v1a,<base64>" per
// "whsk_" private key, in the order given, space separated. Its errors name
// the key's position, never the key.
func Sign(id string, unix int64, body []byte, keys []string) (string, error) {
	if len(keys) == 0 {
		return "", ErrNoKey
	}
	ts := strconv.FormatInt(unix, 10)
	var sb strings.Builder
	var content []byte
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		switch {
		case strings.HasPrefix(k, SecretPrefix):
			key, err := ParseSecret(k)
			if err != nil {
				return "", fmt.Errorf("signing key %d of %d: %w", i+1, len(keys), err)
			}
			sb.WriteString(SchemeHMAC + ",")
			sb.WriteString(base64.StdEncoding.EncodeToString(hmacSignature(key, id, ts, body)))
		case strings.HasPrefix(k, PrivateKeyPrefix):
			priv, err := ParsePrivateKey(k)
			if err != nil {
				return "", fmt.Errorf("signing key %d of %d: %w", i+1, len(keys), err)
			}
			if content == nil {
				content = Content(id, ts, body)
			}
			sb.WriteString(SchemeEd25519 + ",")
			sb.WriteString(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, content)))
		default:
			return "", fmt.Errorf("signing key %d of %d: starts with neither %s nor %s", i+1, len(keys), SecretPrefix, PrivateKeyPrefix)
		}
	}
	return sb.String(), nil
}

// Keys verify signatures: HMAC secrets for v1 and ed25519 public keys for
// v1a. The zero value verifies nothing. It is safe for concurrent use.
type Keys struct {
	hmac   [][]byte
	public []ed25519.PublicKey
}

// ParseKeys reads verification keys: "whsec_" secrets and "whpk_" public
// keys, in any mix. Its errors name the key's position, never the key.
func ParseKeys(keys []string) (Keys, error) {
	var k Keys
	for i, s := range keys {
		switch {
		case strings.HasPrefix(s, SecretPrefix):
			key, err := ParseSecret(s)
			if err != nil {
				return Keys{}, fmt.Errorf("key %d of %d: %w", i+1, len(keys), err)
			}
			k.hmac = append(k.hmac, key)
		case strings.HasPrefix(s, PublicKeyPrefix):
			pub, err := ParsePublicKey(s)
			if err != nil {
				return Keys{}, fmt.Errorf("key %d of %d: %w", i+1, len(keys), err)
			}
			k.public = append(k.public, pub)
		default:
			return Keys{}, fmt.Errorf("key %d of %d: starts with neither %s nor %s", i+1, len(keys), SecretPrefix, PublicKeyPrefix)
		}
	}
	return k, nil
}

// Len is the number of keys.
func (k Keys) Len() int { return len(k.hmac) + len(k.public) }

// Verify reports whether header (a webhook-signature value) holds a
// signature of the message by one of the keys. Items of other schemes, and
// malformed items, are skipped. HMAC signatures are compared in constant
// time.
func (k Keys) Verify(id, timestamp string, body []byte, header string) bool {
	var expected [][]byte
	var content []byte
	for _, item := range strings.Fields(header) {
		scheme, sig, ok := strings.Cut(item, ",")
		if !ok {
			continue
		}
		switch scheme {
		case SchemeHMAC:
			if len(k.hmac) == 0 {
				continue
			}
			if expected == nil {
				for _, key := range k.hmac {
					expected = append(expected, []byte(base64.StdEncoding.EncodeToString(hmacSignature(key, id, timestamp, body))))
				}
			}
			for _, e := range expected {
				if hmac.Equal([]byte(sig), e) {
					return true
				}
			}
		case SchemeEd25519:
			if len(k.public) == 0 {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(sig)
			if err != nil || len(raw) != ed25519.SignatureSize {
				continue
			}
			if content == nil {
				content = Content(id, timestamp, body)
			}
			for _, pub := range k.public {
				if ed25519.Verify(pub, content, raw) {
					return true
				}
			}
		}
	}
	return false
}
