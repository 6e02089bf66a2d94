package whsig

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// The key prefixes of Standard Webhooks.
const (
	// SecretPrefix starts an HMAC signing secret (scheme v1).
	SecretPrefix = "whsec_"
	// PrivateKeyPrefix starts an ed25519 private key (scheme v1a).
	PrivateKeyPrefix = "whsk_"
	// PublicKeyPrefix starts an ed25519 public key (scheme v1a).
	PublicKeyPrefix = "whpk_"
)

// Bounds of a secret's decoded HMAC key, in bytes, per Standard Webhooks.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
	newSecretBytes = 32
)

// NewSecret returns a fresh HMAC signing secret: SecretPrefix followed by the
// standard base64 of 32 bytes from crypto/rand.
func NewSecret() string {
	var key [newSecretBytes]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read never fails (Go 1.24+)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key[:])
}

// NewKeyPair returns a fresh ed25519 key pair from crypto/rand: the private
// key as "whsk_" + base64 of its 64 bytes (seed then public key, the layout
// of Go and libsodium) and the public key as "whpk_" + base64 of its 32 bytes.
func NewKeyPair() (private, public string) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader) // crypto/rand never fails
	return PrivateKeyPrefix + base64.StdEncoding.EncodeToString(priv),
		PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParseSecret returns the HMAC key of secret s: the base64-decoded text after
// SecretPrefix, 24 to 64 bytes long. Its errors never contain the secret.
func ParseSecret(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New("secret does not start with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("secret is not valid base64 after " + SecretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("secret decodes to %d bytes, want %d to %d", len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// ParsePrivateKey reads a "whsk_" key: base64 of a 64-byte ed25519 private
// key, or of its 32-byte seed. Its errors never contain the key.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	enc, ok := strings.CutPrefix(s, PrivateKeyPrefix)
	if !ok {
		return nil, errors.New("private key does not start with " + PrivateKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("private key is not valid base64 after " + PrivateKeyPrefix)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		priv := ed25519.PrivateKey(b)
		// The second half must be the public key of the seed.
		if !ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]).Equal(priv) {
			return nil, errors.New("private key's public half does not match its seed")
		}
		return priv, nil
	}
	return nil, fmt.Errorf("private key decodes to %d bytes, want %d or %d", len(b), ed25519.SeedSize, ed25519.PrivateKeySize)
}

// ParsePublicKey reads a "whpk_" key: base64 of a 32-byte ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	enc, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok {
		return nil, errors.New("public key does not start with " + PublicKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("public key is not valid base64 after " + PublicKeyPrefix)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key decodes to %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// PublicKeyOf returns the "whpk_" public key of a "whsk_" private key.
func PublicKeyOf(private string) (string, error) {
	priv, err := ParsePrivateKey(private)
	if err != nil {
		return "", err
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)), nil
}

// IsPrivateKey reports whether s is written as a "whsk_" private key.
func IsPrivateKey(s string) bool { return strings.HasPrefix(s, PrivateKeyPrefix) }
