package whsig

import (
	"encoding/base64"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// genMessage draws a hostile message: any bytes in id and body, any time.
func genMessage(r *rand.Rand) (string, int64, []byte) {
	id := make([]byte, r.IntN(40))
	for i := range id {
		id[i] = byte(r.IntN(256))
	}
	body := make([]byte, r.IntN(300))
	for i := range body {
		body[i] = byte(r.IntN(256))
	}
	return string(id), r.Int64N(4_000_000_000) - 1_000_000_000, body
}

// TestSignV1MatchesReference checks every v1 signature against the
// Standard Webhooks reference library, over generated messages.
func TestSignV1MatchesReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		secret := NewSecret()
		id, unix, body := genMessage(r)
		got, err := Sign(id, unix, body, []string{secret})
		if err != nil {
			t.Fatal(err)
		}
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		want, err := wh.Sign(id, time.Unix(unix, 0), body)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("case %d: Sign = %q, reference = %q", i, got, want)
		}
	}
}

// TestSignV1aIndependent checks every v1a signature with an independent
// ed25519 implementation (curve25519-voi), over generated messages, and the
// header layout of the Standard Webhooks spec.
func TestSignV1aIndependent(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		priv, pub := NewKeyPair()
		id, unix, body := genMessage(r)
		header, err := Sign(id, unix, body, []string{priv})
		if err != nil {
			t.Fatal(err)
		}
		sig, ok := strings.CutPrefix(header, "v1a,")
		if !ok || strings.Contains(sig, " ") {
			t.Fatalf("case %d: header %q is not one v1a item", i, header)
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) != 64 {
			t.Fatalf("case %d: signature is not base64 of 64 bytes: %v", i, err)
		}
		pk, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pub, PublicKeyPrefix))
		if err != nil || len(pk) != 32 {
			t.Fatalf("case %d: public key %q is not whpk_ + base64 of 32 bytes", i, pub)
		}
		content := []byte(id + "." + strconv.FormatInt(unix, 10) + "." + string(body))
		if !voi.Verify(voi.PublicKey(pk), content, raw) {
			t.Fatalf("case %d: curve25519-voi rejects the v1a signature", i)
		}
		content[len(content)-1-len(body)] ^= 1 // the '.' before the body
		if voi.Verify(voi.PublicKey(pk), content, raw) {
			t.Fatalf("case %d: curve25519-voi accepts a signature of other content", i)
		}
	}
}

// TestVerifyRotation signs with a mix of old and new keys of both schemes
// and checks that a receiver knowing any one of them accepts, one knowing
// none refuses, and any change to id, timestamp or body is refused.
func TestVerifyRotation(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret := NewSecret(), NewSecret()
	oldPriv, oldPub := NewKeyPair()
	newPriv, newPub := NewKeyPair()
	_, strangerPub := NewKeyPair()
	id, ts, body := "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231", []byte(`{"type":"session.succeeded"}`)
	header, err := Sign(id, 1674087231, body, []string{newPriv, oldPriv, newSecret, oldSecret})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(header); len(got) != 4 || !strings.HasPrefix(got[0], "v1a,") || !strings.HasPrefix(got[2], "v1,") {
		t.Fatalf("header %q: want v1a, v1a, v1, v1 items", header)
	}
	for _, known := range [][]string{{oldSecret}, {newSecret}, {oldPub}, {newPub}, {strangerPub, newPub}, {NewSecret(), oldPub}} {
		k, err := ParseKeys(known)
		if err != nil {
			t.Fatal(err)
		}
		if !k.Verify(id, ts, body, header) {
			t.Errorf("keys %d: refused a message signed by one of them", k.Len())
		}
		if k.Verify(id+"x", ts, body, header) || k.Verify(id, "1674087232", body, header) || k.Verify(id, ts, append(body, ' '), header) {
			t.Errorf("keys %d: accepted a changed message", k.Len())
		}
	}
	for _, unknown := range [][]string{{NewSecret()}, {strangerPub}, nil} {
		k, err := ParseKeys(unknown)
		if err != nil {
			t.Fatal(err)
		}
		if k.Verify(id, ts, body, header) {
			t.Errorf("keys %v accepted a message none of them signed", unknown)
		}
	}
	// A v1a item is not accepted as v1 or the reverse, and junk is skipped.
	k, _ := ParseKeys([]string{oldPub})
	v1Only := strings.ReplaceAll(header, "v1a,", "v1,")
	if k.Verify(id, ts, body, v1Only) {
		t.Error("ed25519 signatures relabelled v1 were accepted")
	}
	if !k.Verify(id, ts, body, "v2,xyz v1a,!!! junk "+header) {
		t.Error("junk items before a good one made Verify fail")
	}
}

func TestParseKeysNeverRevealsKeys(t *testing.T) {
	t.Parallel()
	priv, pub := NewKeyPair()
	cases := []struct {
		name string
		keys []string
		want string
	}{
		{"short secret", []string{SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, 20))}, "key 1 of 1: secret decodes to 20 bytes"},
		{"private key given to a verifier", []string{priv}, "key 1 of 1: starts with neither"},
		{"short public key", []string{pub[:len(pub)-8]}, "key 1 of 1: public key"},
		{"no prefix", []string{strings.TrimPrefix(pub, PublicKeyPrefix)}, "starts with neither"},
	}
	for _, c := range cases {
		_, err := ParseKeys(c.keys)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
			continue
		}
		for _, k := range c.keys {
			if len(k) > 10 && strings.Contains(err.Error(), k[6:]) {
				t.Errorf("%s: error reveals the key", c.name)
			}
		}
	}
}

func TestKeyPairFormats(t *testing.T) {
	t.Parallel()
	priv, pub := NewKeyPair()
	p, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := PublicKeyOf(priv)
	if err != nil || got != pub {
		t.Fatalf("PublicKeyOf = %q, %v; want %q", got, err, pub)
	}
	// A 32-byte seed is read as the same key.
	seed := PrivateKeyPrefix + base64.StdEncoding.EncodeToString(p.Seed())
	if p2, err := ParsePrivateKey(seed); err != nil || !p2.Equal(p) {
		t.Errorf("seed form: %v", err)
	}
	// A 64-byte key whose public half does not match its seed is refused.
	bad := append([]byte(nil), p...)
	bad[40] ^= 1
	if _, err := ParsePrivateKey(PrivateKeyPrefix + base64.StdEncoding.EncodeToString(bad)); err == nil {
		t.Error("a key with a wrong public half was accepted")
	}
	if a, b := NewKeyPair(); a == priv || b == pub {
		t.Error("NewKeyPair repeated a key")
	}
	if _, err := Sign("m", 1, nil, []string{pub}); err == nil {
		t.Error("signing with a public key did not fail")
	}
	if _, err := Sign("m", 1, nil, nil); err != ErrNoKey {
		t.Errorf("Sign with no key = %v, want ErrNoKey", err)
	}
}
