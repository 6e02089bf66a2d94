package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Defaults of Options.
const (
	DefaultTolerance    = 5 * time.Minute
	DefaultMaxBodyBytes = 1 << 20
)

// maxIDLength bounds a webhook-id, which the dedupe store keeps.
const maxIDLength = 256

// The reasons Verify refuses a message. Missing and malformed headers are
// the sender's mistake (400); a wrong signature or a timestamp outside the
// tolerance means the message is not authentic or not fresh (401).
var (
	ErrMissingHeaders      = errors.New("receiver: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidHeaders      = errors.New("receiver: malformed webhook-id, webhook-timestamp or webhook-signature header")
	ErrNoMatchingSignature = errors.New("receiver: no signature matches any secret")
	ErrTooOld              = errors.New("receiver: webhook-timestamp is too old")
	ErrTooNew              = errors.New("receiver: webhook-timestamp is too far in the future")
)

// Options configures a Verifier.
type Options struct {
	// Secrets are the signing secrets ("whsec_..."); a message signed with
	// any of them is accepted. At least one is required.
	Secrets []string
	// Tolerance is how far a message's timestamp may be from now, in
	// either direction (default 5 minutes).
	Tolerance time.Duration
	// Store remembers processed webhook-ids for Middleware (default a
	// MemoryStore with its defaults).
	Store Store
	// MaxBodyBytes caps the body Middleware reads (default 1 MiB).
	MaxBodyBytes int64
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Verifier checks webhook signatures and timestamps. It is safe for
// concurrent use.
type Verifier struct {
	keys      [][]byte
	tolerance time.Duration
	store     Store
	maxBody   int64
	now       func() time.Time
}

// Message is a verified webhook.
type Message struct {
	// ID is the webhook-id, the same on every delivery of the message.
	ID string
	// Timestamp is the webhook-timestamp.
	Timestamp time.Time
	// Body is the signed body.
	Body []byte
}

// New returns a Verifier; it fails if no secret is given or one is not a
// valid "whsec_" secret. Its errors never contain a secret.
func New(opts Options) (*Verifier, error) {
	if len(opts.Secrets) == 0 {
		return nil, errors.New("receiver: no secret")
	}
	v := &Verifier{
		tolerance: opts.Tolerance,
		store:     opts.Store,
		maxBody:   opts.MaxBodyBytes,
		now:       opts.Now,
	}
	for i, s := range opts.Secrets {
		key, err := parseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("receiver: secret %d of %d: %w", i+1, len(opts.Secrets), err)
		}
		v.keys = append(v.keys, key)
	}
	if v.tolerance <= 0 {
		v.tolerance = DefaultTolerance
	}
	if v.store == nil {
		v.store = NewMemoryStore(0, 0)
	}
	if v.maxBody <= 0 {
		v.maxBody = DefaultMaxBodyBytes
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// parseSecret decodes a "whsec_" secret into its HMAC key.
func parseSecret(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, errors.New("is not valid base64 after whsec_")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("decodes to %d bytes, want 24 to 64", len(key))
	}
	return key, nil
}

// Verify checks a message's headers and body: the webhook-signature must
// hold a v1 signature by one of the secrets, and the webhook-timestamp must
// be within the tolerance of now. It does not dedupe.
func (v *Verifier) Verify(header http.Header, body []byte) (Message, error) {
	id := header.Get(HeaderID)
	tsText := header.Get(HeaderTimestamp)
	sigs := header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return Message{}, ErrMissingHeaders
	}
	if len(id) > maxIDLength {
		return Message{}, fmt.Errorf("%w: webhook-id longer than %d bytes", ErrInvalidHeaders, maxIDLength)
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return Message{}, fmt.Errorf("%w: webhook-timestamp is not Unix seconds", ErrInvalidHeaders)
	}
	ts := time.Unix(unix, 0)
	now := v.now()
	switch {
	case now.Sub(ts) > v.tolerance:
		return Message{}, fmt.Errorf("%w: %s old, tolerance %s", ErrTooOld, now.Sub(ts).Truncate(time.Second), v.tolerance)
	case ts.Sub(now) > v.tolerance:
		return Message{}, fmt.Errorf("%w: %s ahead, tolerance %s", ErrTooNew, ts.Sub(now).Truncate(time.Second), v.tolerance)
	}

	expected := make([][]byte, len(v.keys))
	for i, key := range v.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(tsText))
		mac.Write([]byte{'.'})
		mac.Write(body)
		expected[i] = []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	for _, vs := range strings.Fields(sigs) {
		sig, ok := strings.CutPrefix(vs, "v1,")
		if !ok {
			continue // another scheme, e.g. v1a
		}
		for _, e := range expected {
			if hmac.Equal([]byte(sig), e) {
				return Message{ID: id, Timestamp: ts, Body: body}, nil
			}
		}
	}
	return Message{}, ErrNoMatchingSignature
}
