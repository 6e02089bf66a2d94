// Package pgjsontest generates hostile JSON for tests: documents Go's parser
// accepts that Postgres's jsonb may refuse (raw invalid UTF-8, \u0000, lone
// surrogates, numbers beyond numeric's range), deterministic for a seeded
// *rand.Rand. It is imported by tests only.
package pgjsontest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Value writes a random JSON value, nested at most a few levels below depth.
func Value(r *rand.Rand, depth int) string {
	k := r.IntN(7)
	if depth > 3 {
		k = r.IntN(3)
	}
	switch k {
	case 0:
		return String(r)
	case 1:
		return Number(r)
	case 2:
		return []string{"true", "false", "null"}[r.IntN(3)]
	case 3, 4:
		var b strings.Builder
		b.WriteByte('{')
		for j := range r.IntN(4) {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(String(r) + ":" + Value(r, depth+1))
		}
		b.WriteByte('}')
		return b.String()
	default:
		parts := make([]string, r.IntN(4))
		for j := range parts {
			parts[j] = Value(r, depth+1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
}

// String writes a JSON string of random raw bytes (control characters
// escaped, as JSON requires) and random escapes, surrogates and NULs among
// them.
func String(r *rand.Rand) string {
	var b strings.Builder
	b.WriteByte('"')
	for range r.IntN(12) {
		switch r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, `\u%04x`, []int{0, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x7f, 0xfffd, 0xfffe, 0x1f}[r.IntN(9)])
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

// Number writes a random JSON number, sometimes beyond numeric's range.
func Number(r *rand.Rand) string {
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
