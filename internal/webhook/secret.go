package webhook

import (
	"fmt"

	"github.com/pollhook/pollhook/internal/whsig"
)

// SecretPrefix starts every HMAC signing secret.
const SecretPrefix = whsig.SecretPrefix

// NewSecret returns a fresh HMAC signing secret: SecretPrefix followed by the
// standard base64 of 32 random bytes.
func NewSecret() (string, error) {
	return whsig.NewSecret(), nil
}

// ParseSecret returns the HMAC key of secret s: the base64-decoded text after
// SecretPrefix, which must be 24 to 64 bytes long. Its errors never contain
// the secret.
func ParseSecret(s string) ([]byte, error) {
	key, err := whsig.ParseSecret(s)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return key, nil
}
