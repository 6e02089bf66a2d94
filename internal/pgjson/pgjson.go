// Package pgjson makes provider bytes storable in Postgres.
//
// Go's JSON parser accepts documents that Postgres's jsonb refuses: strings
// holding invalid UTF-8, the escape \u0000, lone surrogate escapes such as
// \ud800 or \udc00, and numbers outside numeric's range (more than 131,072
// digits before the decimal point or 16,383 after it, e.g. 1e131072 or
// 1e-16384). text columns likewise refuse invalid UTF-8 and NUL bytes. A
// terminal answer carrying any of them must still be stored (I2 in
// docs/INVARIANTS.md), so every provider-derived value goes through this
// package before it reaches a jsonb or text column.
package pgjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Replacement stands in for what Postgres cannot store in a string.
const Replacement = "\uFFFD"

// Numeric's limits: digits before and after the decimal point.
const (
	maxIntDigits   = 131072
	maxScaleDigits = 16383
)

// Sanitize returns doc as a JSON document jsonb accepts with the same
// structure: invalid UTF-8, NUL characters and lone surrogates in strings
// and keys become U+FFFD, and a number numeric cannot hold becomes a string
// of its literal. Object members are re-encoded in key order (jsonb keeps
// no order) and without HTML escaping. An empty doc returns nil; a doc that
// is not JSON is an error.
func Sanitize(doc []byte) ([]byte, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("pgjson: not JSON: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("pgjson: not JSON: data after the document")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(clean(v)); err != nil {
		return nil, fmt.Errorf("pgjson: encode: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Text returns s as a text column accepts it: valid UTF-8 without NUL.
func Text(s string) string {
	s = strings.ToValidUTF8(s, Replacement)
	return strings.ReplaceAll(s, "\x00", Replacement)
}

// clean rewrites a decoded value. The decoder has already replaced invalid
// UTF-8 and lone surrogates with U+FFFD.
func clean(v any) any {
	switch v := v.(type) {
	case string:
		return Text(v)
	case json.Number:
		if !numericFits(string(v)) {
			return string(v)
		}
		return v
	case []any:
		for i := range v {
			v[i] = clean(v[i])
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[Text(k)] = clean(e)
		}
		return out
	}
	return v
}

// numericFits reports whether Postgres's numeric can hold the JSON number
// lit.
func numericFits(lit string) bool {
	lit = strings.TrimPrefix(lit, "-")
	mant, expPart, hasExp := strings.Cut(strings.ToLower(lit), "e")
	exp := int64(0)
	if hasExp {
		e, err := strconv.ParseInt(expPart, 10, 32)
		if err != nil {
			return false
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if int64(len(intPart))+exp > maxIntDigits {
		return false
	}
	return int64(len(frac))-exp <= maxScaleDigits
}
