package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
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

// Sign returns the webhook-signature header of a message: one "v1,<base64>"
// per secret, space separated, each the HMAC-SHA256 of
// "{msgID}.{unix seconds of ts}.{body}" keyed by the secret. Signing with
// several secrets is how a rotation overlaps: a receiver that knows any one
// of them accepts the message.
func Sign(msgID string, ts time.Time, body []byte, secrets []string) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("webhook: no signing secret")
	}
	var sb strings.Builder
	for i, s := range secrets {
		key, err := ParseSecret(s)
		if err != nil {
			return "", fmt.Errorf("webhook: signing secret %d of %d: %w", i+1, len(secrets), err)
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(signature(key, msgID, ts.Unix(), body)))
	}
	return sb.String(), nil
}

// signature is the raw v1 HMAC of a message.
func signature(key []byte, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
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
