package whsig

import (
	"bytes"
	"strconv"
	"testing"
)

// BenchmarkSign prints the cost of signing a 1 kB message with one key of
// each scheme; BenchmarkVerify the receiver's side.
func BenchmarkSign(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	priv, _ := NewKeyPair()
	for _, k := range []struct{ name, key string }{{"v1", NewSecret()}, {"v1a", priv}} {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, body, []string{k.key}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	secret := NewSecret()
	priv, pub := NewKeyPair()
	for _, k := range []struct{ name, sign, verify string }{{"v1", secret, secret}, {"v1a", priv, pub}} {
		b.Run(k.name, func(b *testing.B) {
			header, err := Sign("msg_1", 1674087231, body, []string{k.sign})
			if err != nil {
				b.Fatal(err)
			}
			keys, err := ParseKeys([]string{k.verify})
			if err != nil {
				b.Fatal(err)
			}
			ts := strconv.Itoa(1674087231)
			for b.Loop() {
				if !keys.Verify("msg_1", ts, body, header) {
					b.Fatal("does not verify")
				}
			}
		})
	}
}
