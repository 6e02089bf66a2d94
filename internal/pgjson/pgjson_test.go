package pgjson_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pollhook/pollhook/internal/pgjson"
	"github.com/pollhook/pollhook/internal/testdb"
)

// refused are documents Go's parser accepts and jsonb refuses: each one is
// stored after Sanitize.
var refused = []struct{ name, doc string }{
	{"invalid UTF-8 in a string", "{\"name\":\"J\xffn\xc3\"}"},
	{"invalid UTF-8 in a key", "{\"n\xfe\":1}"},
	{"NUL escape", `{"code":"6000\u00001"}`},
	{"lone high surrogate", `{"a":"\ud800"}`},
	{"lone low surrogate", `{"a":"x\udc00y"}`},
	{"high surrogate then a letter", `["\ud83dA"]`},
	{"number above numeric", `{"n":1e131072}`},
	{"number below numeric's scale", `{"n":1e-16384}`},
	{"many fraction digits", `[0.` + strings.Repeat("1", 16384) + `]`},
	{"long integer", `[1` + strings.Repeat("0", 131072) + `]`},
	{"NUL escape in a key", `{"\u0000":true}`},
}

func TestSanitizeMakesRefusedDocumentsStorable(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	for _, tt := range refused {
		if !json.Valid([]byte(tt.doc)) {
			t.Fatalf("%s: the case must be JSON Go accepts", tt.name)
		}
		var ok bool
		if err := tdb.Pool.QueryRow(ctx, `SELECT $1::text::jsonb IS NOT NULL`, tt.doc).Scan(&ok); err == nil {
			t.Errorf("%s: Postgres accepts it as is; the case is not one it refuses", tt.name)
		}
		clean, err := pgjson.Sanitize([]byte(tt.doc))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := tdb.Pool.QueryRow(ctx, `SELECT $1::jsonb IS NOT NULL`, string(clean)).Scan(&ok); err != nil {
			t.Errorf("%s: sanitized %.80q still refused: %v", tt.name, clean, err)
		}
	}
}

func TestTextIsStorable(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	for _, s := range []string{"a\x00b", "J\xffn", "ok", "\xc3"} {
		var got string
		if err := tdb.Pool.QueryRow(context.Background(), `SELECT $1::text`, pgjson.Text(s)).Scan(&got); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestSanitizeProperty draws random JSON documents whose strings hold random
// bytes and escapes and whose numbers have random exponents: every sanitized
// document is stored, and a document Postgres accepts as is keeps its value.
func TestSanitizeProperty(t *testing.T) {
	t.Parallel()
	tdb := testdb.New(t)
	ctx := context.Background()
	seed := uint64(20261124)
	r := rand.New(rand.NewPCG(seed, 1))
	const n = 400
	refusedAsIs := 0
	for i := range n {
		doc := genValue(r, 0)
		if !json.Valid([]byte(doc)) {
			t.Fatalf("seed %d case %d: generator made invalid JSON %q", seed, i, doc)
		}
		clean, err := pgjson.Sanitize([]byte(doc))
		if err != nil {
			t.Fatalf("seed %d case %d: %q: %v", seed, i, doc, err)
		}
		if !utf8.Valid(clean) {
			t.Fatalf("seed %d case %d: sanitized is not UTF-8: %q", seed, i, clean)
		}
		var ok bool
		if err := tdb.Pool.QueryRow(ctx, `SELECT $1::jsonb IS NOT NULL`, string(clean)).Scan(&ok); err != nil {
			t.Fatalf("seed %d case %d: sanitized %q of %q refused: %v", seed, i, clean, doc, err)
		}
		if !utf8.ValidString(doc) {
			refusedAsIs++
			continue
		}
		var same bool
		if err := tdb.Pool.QueryRow(ctx, `SELECT $1::jsonb = $2::text::jsonb`, string(clean), doc).Scan(&same); err != nil {
			refusedAsIs++
			continue // Postgres refuses the original: any storable rewrite will do
		}
		if !same {
			t.Fatalf("seed %d case %d: Postgres accepts %q but sanitizing changed it to %q", seed, i, doc, clean)
		}
	}
	// The generator must reach what Postgres refuses, or the test proves
	// nothing.
	if refusedAsIs < n/4 || refusedAsIs > n*9/10 {
		t.Fatalf("seed %d: %d of %d documents refused as is: the generator misses a class", seed, refusedAsIs, n)
	}
	t.Logf("seed %d: %d documents, %d of them refused by jsonb as is, all stored after Sanitize", seed, n, refusedAsIs)
}

// genValue writes a random JSON value.
func genValue(r *rand.Rand, depth int) string {
	k := r.IntN(7)
	if depth > 3 {
		k = r.IntN(3)
	}
	switch k {
	case 0:
		return genString(r)
	case 1:
		return genNumber(r)
	case 2:
		return []string{"true", "false", "null"}[r.IntN(3)]
	case 3, 4:
		var b strings.Builder
		b.WriteByte('{')
		for j := range r.IntN(4) {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(genString(r) + ":" + genValue(r, depth+1))
		}
		b.WriteByte('}')
		return b.String()
	default:
		parts := make([]string, r.IntN(4))
		for j := range parts {
			parts[j] = genValue(r, depth+1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
}

// genString writes a JSON string of random raw bytes (control characters
// escaped, as JSON requires) and random escapes, surrogates and NULs among
// them.
func genString(r *rand.Rand) string {
	var b strings.Builder
	b.WriteByte('"')
	for range r.IntN(12) {
		switch r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, `\u%04x`, []int{0, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0x1f}[r.IntN(7)])
		case 1:
			b.WriteString(`\ud83d\ude00`)
		case 2:
			b.WriteString([]string{`\"`, `\\`, `\n`, `\/`, `\t`}[r.IntN(5)])
		default:
			c := byte(r.IntN(256))
			switch {
			case c < 0x20:
				fmt.Fprintf(&b, `\u%04x`, c)
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// genNumber writes a random JSON number, sometimes beyond numeric's range.
func genNumber(r *rand.Rand) string {
	s := fmt.Sprint(r.IntN(1000))
	if r.IntN(2) == 0 {
		s += "." + fmt.Sprint(r.IntN(1000))
	}
	if r.IntN(2) == 0 {
		exps := []int{1, -1, 300, -300, 16380, -16380, 16384, -16384, 131070, 131073, -200000, 200000}
		s += "e" + fmt.Sprint(exps[r.IntN(len(exps))])
	}
	if r.IntN(3) == 0 {
		s = "-" + s
	}
	return s
}
