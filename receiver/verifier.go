package receiver

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/whsig"
)

// The Standard Webhooks headers.
const (
	HeaderID        = whsig.HeaderID
	HeaderTimestamp = whsig.HeaderTimestamp
	HeaderSignature = whsig.HeaderSignature
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
	ErrNoMatchingSignature = errors.New("receiver: no signature matches any key")
	ErrTooOld              = errors.New("receiver: webhook-timestamp is too old")
	ErrTooNew              = errors.New("receiver: webhook-timestamp is too far in the future")
)

// Options configures a Verifier.
type Options struct {
	// Secrets are the HMAC signing secrets ("whsec_...", scheme v1); a
	// message signed with any of them is accepted.
	Secrets []string
	// PublicKeys are ed25519 public keys ("whpk_...", scheme v1a) of
	// subscribers that sign asymmetrically; a message signed by the private
	// key of any of them is accepted. At least one secret or public key is
	// required; both may be given, e.g. while a subscriber switches scheme.
	PublicKeys []string
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
	keys      whsig.Keys
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

// New returns a Verifier; it fails if no secret or public key is given or
// one is malformed. Its errors never contain a secret.
func New(opts Options) (*Verifier, error) {
	if len(opts.Secrets)+len(opts.PublicKeys) == 0 {
		return nil, errors.New("receiver: no secret or public key")
	}
	v := &Verifier{
		tolerance: opts.Tolerance,
		store:     opts.Store,
		maxBody:   opts.MaxBodyBytes,
		now:       opts.Now,
	}
	for i, s := range opts.Secrets {
		if _, err := whsig.ParseSecret(s); err != nil {
			return nil, fmt.Errorf("receiver: secret %d of %d: %w", i+1, len(opts.Secrets), err)
		}
	}
	for i, s := range opts.PublicKeys {
		if _, err := whsig.ParsePublicKey(s); err != nil {
			return nil, fmt.Errorf("receiver: public key %d of %d: %w", i+1, len(opts.PublicKeys), err)
		}
	}
	keys, err := whsig.ParseKeys(append(append([]string(nil), opts.Secrets...), opts.PublicKeys...))
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	v.keys = keys
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

// Verify checks a message's headers and body: the webhook-signature must
// hold a v1 signature by one of the secrets or a v1a signature by the
// private key of one of the public keys, and the webhook-timestamp must
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

	if !v.keys.Verify(id, tsText, body, sigs) {
		return Message{}, ErrNoMatchingSignature
	}
	return Message{ID: id, Timestamp: ts, Body: body}, nil
}
