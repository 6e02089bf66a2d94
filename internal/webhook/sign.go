package webhook

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pollhook/pollhook/internal/whsig"
)

// Sign returns the webhook-signature header of a message: one "v1,<base64>"
// per "whsec_" secret (HMAC-SHA256) and one "v1a,<base64>" per "whsk_"
// private key (ed25519), space separated, each over
// "{msgID}.{unix seconds of ts}.{body}" (whsig.Sign). Signing with several
// keys is how a rotation overlaps: a receiver that knows any one of them
// accepts the message.
func Sign(msgID string, ts time.Time, body []byte, secrets []string) (string, error) {
	sig, err := whsig.Sign(msgID, ts.Unix(), body, secrets)
	if err != nil {
		return "", fmt.Errorf("webhook: %w", err)
	}
	return sig, nil
}

// base62 digits in ASCII order, so ids sort like their bytes.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ksuidEpoch is the KSUID epoch (2014-05-13), as Unix seconds.
const ksuidEpoch = 1_400_000_000

// NewMessageID returns a fresh webhook id: "msg_" and 27 base62 characters
// encoding, KSUID style, 4 bytes of seconds since 2014-05-13 and 16 random
// bytes. Ids thus sort roughly by creation time, and never repeat in
// practice.
func NewMessageID() string {
	var b [20]byte
	binary.BigEndian.PutUint32(b[:4], uint32(time.Now().Unix()-ksuidEpoch))
	_, _ = rand.Read(b[4:]) // crypto/rand.Read never fails (Go 1.24+)
	return "msg_" + encodeBase62(b)
}

// encodeBase62 encodes a 160-bit big-endian number as 27 base62 digits,
// left-padded with '0'.
func encodeBase62(b [20]byte) string {
	// Five big-endian 32-bit words, divided by 62 one digit at a time.
	var words [5]uint32
	for i := range words {
		words[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	var out [27]byte
	for i := len(out) - 1; i >= 0; i-- {
		var rem uint64
		for j := range words {
			cur := rem<<32 | uint64(words[j])
			words[j] = uint32(cur / 62)
			rem = cur % 62
		}
		out[i] = base62[rem]
	}
	return string(out[:])
}
