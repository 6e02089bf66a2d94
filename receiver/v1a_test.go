package receiver_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/webhook"
	"github.com/pollhook/pollhook/internal/whsig"
	"github.com/pollhook/pollhook/receiver"
)

// TestVerifyV1a: a receiver holding only a public key accepts what the
// private key signed, alone or beside v1 secrets, and during a rotation
// that overlaps old and new keys of either scheme.
func TestVerifyV1a(t *testing.T) {
	t.Parallel()
	priv, pub := whsig.NewKeyPair()
	oldPriv, oldPub := whsig.NewKeyPair()
	_, stranger := whsig.NewKeyPair()
	secret := newSecret(t)
	now := time.Now()
	tests := []struct {
		name    string
		signers []string
		opts    receiver.Options
		ok      bool
	}{
		{"public key only", []string{priv}, receiver.Options{PublicKeys: []string{pub}}, true},
		{"public key beside a secret", []string{priv}, receiver.Options{Secrets: []string{newSecret(t)}, PublicKeys: []string{pub}}, true},
		{"v1 message, verifier knows both", []string{secret}, receiver.Options{Secrets: []string{secret}, PublicKeys: []string{pub}}, true},
		{"rotation, old public key", []string{priv, oldPriv}, receiver.Options{PublicKeys: []string{oldPub}}, true},
		{"scheme switch, v1 secret", []string{priv, secret}, receiver.Options{Secrets: []string{secret}}, true},
		{"stranger's public key", []string{priv}, receiver.Options{PublicKeys: []string{stranger}}, false},
		{"secret cannot verify v1a", []string{priv}, receiver.Options{Secrets: []string{secret}}, false},
	}
	for _, tt := range tests {
		r := signed(t, webhook.NewMessageID(), now, body, tt.signers...)
		_, err := mustNew(t, tt.opts).Verify(r.Header, []byte(body))
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify = %v, want ok=%t", tt.name, err, tt.ok)
		}
		if !tt.ok && !errors.Is(err, receiver.ErrNoMatchingSignature) {
			t.Errorf("%s: error %v, want ErrNoMatchingSignature", tt.name, err)
		}
		// A changed body never verifies.
		if _, err := mustNew(t, tt.opts).Verify(r.Header, []byte(strings.Replace(body, "abc", "abd", 1))); err == nil {
			t.Errorf("%s: a changed body verified", tt.name)
		}
	}

	// Through the middleware, as an app would run it.
	h := &handler{}
	w := serve(mustNew(t, receiver.Options{PublicKeys: []string{pub}}).Middleware(h), signed(t, "msg_v1a", now, body, priv))
	if w.Code != http.StatusOK || h.calls.Load() != 1 || h.body != body {
		t.Errorf("middleware: status %d, %d calls, body %q", w.Code, h.calls.Load(), h.body)
	}

	if _, err := receiver.New(receiver.Options{PublicKeys: []string{priv}}); err == nil || strings.Contains(err.Error(), priv[5:]) {
		t.Errorf("New with a private key as public key: %v (want an error that does not reveal it)", err)
	}
}
