package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Prefix starts every sealed value.
const Prefix = "sealed:"

// KeyBytes is the size of a main key: 32 bytes, for AES-256.
const KeyBytes = 32

// ErrNoKey is returned when a sealed value is opened without a Keyring.
var ErrNoKey = errors.New("seal: value is sealed but no main key is configured (POLLHOOK_MAIN_KEY)")

// ErrUnknownKey is returned when a value was sealed under a key the Keyring
// does not hold.
var ErrUnknownKey = errors.New("seal: value is sealed under a key that is not configured")

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the main keys. The first seals; every one opens. A nil
// *Keyring means no main key: Seal then returns values in clear and Open
// refuses sealed ones. It is safe for concurrent use.
type Keyring struct {
	keys []key
}

// Parse reads POLLHOOK_MAIN_KEY: comma-separated keys, newest first, each
// "<id>:<base64 of 32 bytes>" or just the base64 (its id is then derived
// from the key). Standard and URL base64, padded or not, are accepted. Its
// errors never contain a key.
func Parse(v string) (*Keyring, error) {
	var k Keyring
	seen := map[string]bool{}
	for i, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, enc, hasID := strings.Cut(item, ":")
		if !hasID {
			enc, id = id, ""
		}
		raw, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("seal: main key %d: %w", i+1, err)
		}
		if !hasID {
			sum := sha256.Sum256(raw)
			id = base64.RawURLEncoding.EncodeToString(sum[:6])
		}
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("seal: main key %d: id must be 1-32 of A-Z, a-z, 0-9, '_', '-'", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("seal: main key %d: id %q is used twice", i+1, id)
		}
		seen[id] = true
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("seal: main key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: main key %d: %w", i+1, err)
		}
		k.keys = append(k.keys, key{id: id, aead: aead})
	}
	if len(k.keys) == 0 {
		return nil, errors.New("seal: no main key given")
	}
	return &k, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeyBytes {
				return nil, fmt.Errorf("decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(b), KeyBytes)
			}
			return b, nil
		}
	}
	return nil, errors.New("is not base64 (generate one with: openssl rand -base64 32)")
}

// Generate returns a fresh main key from crypto/rand as "<id>:<base64>", the
// form Parse reads; id must be 1-32 of A-Z, a-z, 0-9, '_', '-'.
func Generate(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("seal: key id %q: use 1-32 of A-Z, a-z, 0-9, '_', '-'", id)
	}
	var b [KeyBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return id + ":" + base64.StdEncoding.EncodeToString(b[:]), nil
}

// CurrentID is the id of the key that seals, "" for a nil Keyring.
func (k *Keyring) CurrentID() string {
	if k == nil {
		return ""
	}
	return k.keys[0].id
}

// IDs lists the keys' ids, the sealing one first.
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// IsSealed reports whether s is a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Seal encrypts plaintext for purpose (e.g. "subscriber_secrets.secret")
// under the first key. With a nil Keyring it returns plaintext unchanged.
func (k *Keyring) Seal(purpose string, plaintext []byte) string {
	if k == nil {
		return string(plaintext)
	}
	cur := k.keys[0]
	nonce := make([]byte, cur.aead.NonceSize(), cur.aead.NonceSize()+len(plaintext)+cur.aead.Overhead())
	_, _ = rand.Read(nonce)
	out := cur.aead.Seal(nonce, nonce, plaintext, []byte(purpose))
	return Prefix + cur.id + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the plaintext of a value sealed for purpose. A value that is
// not sealed is returned as it is.
func (k *Keyring) Open(purpose, s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok {
		return []byte(s), nil
	}
	if k == nil {
		return nil, ErrNoKey
	}
	id, enc, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("seal: malformed sealed value")
	}
	for _, key := range k.keys {
		if key.id != id {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || len(raw) < key.aead.NonceSize() {
			return nil, errors.New("seal: malformed sealed value")
		}
		n := key.aead.NonceSize()
		out, err := key.aead.Open(nil, raw[:n], raw[n:], []byte(purpose))
		if err != nil {
			return nil, fmt.Errorf("seal: value sealed under key %q for %s does not open: %w", id, purpose, err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %q (have %s)", ErrUnknownKey, id, strings.Join(k.IDs(), ", "))
}

// Stale reports whether s should be sealed again: it is in clear while a key
// is configured, or sealed under a key other than the first.
func (k *Keyring) Stale(s string) bool {
	if k == nil {
		return false
	}
	rest, ok := strings.CutPrefix(s, Prefix)
	return !ok || !strings.HasPrefix(rest, k.keys[0].id+":")
}

// SealJSON seals a JSON document for a jsonb column: the result is a JSON
// string holding the sealed value, which jsonb accepts. With a nil Keyring,
// or for an empty document, it returns doc unchanged.
func (k *Keyring) SealJSON(purpose string, doc []byte) []byte {
	if k == nil || len(doc) == 0 {
		return doc
	}
	out, _ := json.Marshal(k.Seal(purpose, doc)) // a string always marshals
	return out
}

// OpenJSON reverses SealJSON; a document that is not a sealed JSON string is
// returned as it is.
func (k *Keyring) OpenJSON(purpose string, doc []byte) ([]byte, error) {
	var s string
	if len(doc) == 0 || doc[0] != '"' || json.Unmarshal(doc, &s) != nil || !IsSealed(s) {
		return doc, nil
	}
	return k.Open(purpose, s)
}

// StaleJSON reports whether a jsonb document should be sealed again.
func (k *Keyring) StaleJSON(doc []byte) bool {
	if k == nil || len(doc) == 0 {
		return false
	}
	var s string
	if doc[0] != '"' || json.Unmarshal(doc, &s) != nil {
		return true
	}
	return k.Stale(s)
}
