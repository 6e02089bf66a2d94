package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustParse(t *testing.T, v string) *Keyring {
	t.Helper()
	k, err := Parse(v)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustGenerate(t *testing.T, id string) string {
	t.Helper()
	k, err := Generate(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealOpen round-trips generated values, checks that the ciphertext
// never holds them, and that purpose, key and every byte are authenticated.
func TestSealOpen(t *testing.T) {
	t.Parallel()
	k := mustParse(t, mustGenerate(t, "k1"))
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 500 {
		p := make([]byte, r.IntN(200))
		for j := range p {
			p[j] = byte(r.IntN(256))
		}
		s := k.Seal("t.c", p)
		if !IsSealed(s) || !strings.HasPrefix(s, "sealed:k1:") {
			t.Fatalf("case %d: Seal = %q", i, s)
		}
		if len(p) >= 4 && strings.Contains(s, string(p)) {
			t.Fatalf("case %d: sealed value contains the plaintext", i)
		}
		got, err := k.Open("t.c", s)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("case %d: Open = %q, %v", i, got, err)
		}
		if _, err := k.Open("t.other", s); err == nil {
			t.Fatalf("case %d: opened under another purpose", i)
		}
		// Flip one character of the payload.
		b := []byte(s)
		pos := len("sealed:k1:") + r.IntN(len(b)-len("sealed:k1:"))
		if b[pos] == 'A' {
			b[pos] = 'B'
		} else {
			b[pos] = 'A'
		}
		if got, err := k.Open("t.c", string(b)); err == nil && !bytes.Equal(got, p) {
			t.Fatalf("case %d: a tampered value opened to other bytes", i)
		}
	}
	if s1, s2 := k.Seal("p", []byte("x")), k.Seal("p", []byte("x")); s1 == s2 {
		t.Error("two seals of one value are equal: nonce reused")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := mustGenerate(t, "old"), mustGenerate(t, "new")
	before := mustParse(t, oldKey)
	after := mustParse(t, newKey+","+oldKey)
	s := before.Seal("p", []byte("whsec_secret"))
	if !after.Stale(s) || before.Stale(s) {
		t.Errorf("Stale: after rotation %t (want true), before %t (want false)", after.Stale(s), before.Stale(s))
	}
	got, err := after.Open("p", s)
	if err != nil || string(got) != "whsec_secret" {
		t.Fatalf("the rotated keyring cannot open an old value: %v", err)
	}
	s2 := after.Seal("p", got)
	if !strings.HasPrefix(s2, "sealed:new:") || after.Stale(s2) {
		t.Errorf("resealed value %q is not under the new key", s2)
	}
	if _, err := before.Open("p", s2); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old keyring opening a new value: %v, want ErrUnknownKey", err)
	}
	if !after.Stale("whsec_in_clear") {
		t.Error("a value in clear is not stale")
	}
	var none *Keyring
	if got, err := none.Open("p", "clear"); err != nil || string(got) != "clear" {
		t.Errorf("nil keyring Open of clear text: %q %v", got, err)
	}
	if _, err := none.Open("p", s); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil keyring Open of a sealed value: %v, want ErrNoKey", err)
	}
	if none.Seal("p", []byte("x")) != "x" || none.Stale("x") {
		t.Error("nil keyring must keep values in clear")
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	k := mustParse(t, mustGenerate(t, "j"))
	doc := []byte(`{"personal_code":"38001010000","name":"Jonas"}`)
	sealed := k.SealJSON("sessions.outcome", doc)
	var s string
	if err := json.Unmarshal(sealed, &s); err != nil || !IsSealed(s) || bytes.Contains(sealed, []byte("38001010000")) {
		t.Fatalf("SealJSON = %s: not a JSON string holding a sealed value", sealed)
	}
	got, err := k.OpenJSON("sessions.outcome", sealed)
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("OpenJSON = %s, %v", got, err)
	}
	if got, _ := k.OpenJSON("x", doc); !bytes.Equal(got, doc) {
		t.Error("a document in clear did not open as itself")
	}
	if !k.StaleJSON(doc) || k.StaleJSON(sealed) || k.StaleJSON(nil) {
		t.Error("StaleJSON wrong")
	}
	if got := k.SealJSON("x", nil); got != nil {
		t.Errorf("SealJSON(nil) = %q", got)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	std := base64.StdEncoding.EncodeToString(raw)
	k := mustParse(t, std)
	if id := k.CurrentID(); len(id) != 8 {
		t.Errorf("derived id %q", id)
	}
	if k2 := mustParse(t, base64.RawURLEncoding.EncodeToString(raw)); k2.CurrentID() != k.CurrentID() {
		t.Error("the same key in URL base64 got another id")
	}
	two := mustParse(t, " a:"+std+" , b:"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if got := strings.Join(two.IDs(), ","); got != "a,b" {
		t.Errorf("IDs = %s", got)
	}
	bad := []struct{ in, want string }{
		{"", "no main key"},
		{"a:" + base64.StdEncoding.EncodeToString(raw[:16]), "decodes to 16 bytes"},
		{"a:not base64 at all!", "not base64"},
		{"bad id!:" + std, "id must be"},
		{"a:" + std + ",a:" + std, "used twice"},
	}
	for _, c := range bad {
		_, err := Parse(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.in, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), std) {
			t.Errorf("Parse error reveals the key")
		}
	}
	if _, err := Generate("no spaces"); err == nil {
		t.Error("Generate accepted a bad id")
	}
}
