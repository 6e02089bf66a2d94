package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// object is a decoded JSON object whose members are read by exact name and
// leniently: a member of an unexpected type reads as absent instead of
// failing the whole answer.
type object map[string]json.RawMessage

// errNotObject is returned by parseObject for valid JSON that is not an
// object.
var errNotObject = errors.New("answer is JSON but not an object")

// parseObject decodes body, which must be one JSON object.
func parseObject(body []byte) (object, error) {
	trimmed := trimJSONSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("answer body is empty")
	}
	if !json.Valid(trimmed) {
		return nil, errors.New("answer is not valid JSON")
	}
	if trimmed[0] != '{' {
		return nil, errNotObject
	}
	var o object
	if err := json.Unmarshal(trimmed, &o); err != nil {
		return nil, errors.New("answer is not a JSON object")
	}
	if o == nil {
		o = object{}
	}
	return o, nil
}

// str returns member key as a string: a JSON string as is, a number or
// boolean as written, anything else (null, object, array, absent) as "".
func (o object) str(key string) string {
	raw := trimJSONSpace(o[key])
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	case '{', '[', 'n':
		return ""
	}
	return string(raw)
}

// int returns member key as an integer: a JSON number or a string of one;
// 0 if absent, null, fractional, out of range or of another type.
func (o object) int(key string) int {
	s := strings.TrimSpace(o.str(key))
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return int(n)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
		return int(f)
	}
	return 0
}

// raw returns member key as received; nil if absent or null.
func (o object) raw(key string) json.RawMessage {
	raw := trimJSONSpace(o[key])
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// obj returns member key as an object; nil if absent or not an object.
func (o object) obj(key string) object {
	raw := trimJSONSpace(o[key])
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var sub object
	if json.Unmarshal(raw, &sub) != nil {
		return nil
	}
	if sub == nil {
		sub = object{}
	}
	return sub
}

// trimJSONSpace trims JSON whitespace (not every Unicode space: "\v" is
// not JSON whitespace).
func trimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

// truncate shortens a provider-supplied value recorded in a Result.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// beginDecode starts the Result of an answer: in progress until a decoder
// says otherwise, with the body kept as the answer when it is JSON and the
// provider's message when it has one. doc is nil and perr set when the body
// is not a JSON object.
func beginDecode(status int, body []byte) (res Result, doc object, perr error) {
	res = Result{State: StateInProgress, HTTPStatus: status}
	doc, perr = parseObject(body)
	if perr == nil || errors.Is(perr, errNotObject) {
		res.Answer = append([]byte(nil), body...)
	}
	if doc != nil {
		res.Message = truncate(doc.str("message"), 1024)
	}
	return res, doc, perr
}

// answerStatus reads field, the provider's session status, from a 2xx
// answer. When the body is not a JSON object or lacks the field, it makes
// res transient with an error saying so and returns ok false: the decoder
// returns res as it is.
func answerStatus(res *Result, doc object, perr error, field string) (st string, ok bool) {
	if perr != nil {
		res.Transient, res.Err = true, fmt.Errorf("HTTP %d: %w", res.HTTPStatus, perr)
		return "", false
	}
	if st = doc.str(field); st == "" {
		res.Transient, res.Err = true, fmt.Errorf("HTTP %d: answer has no %s", res.HTTPStatus, field)
		return "", false
	}
	return st, true
}

// otherStatus makes res transient for an answer the decoder's own cases did
// not take: rate limited (429), a server error (5xx), or an unexpected
// status, whose error ends with detail.
func otherStatus(res *Result, detail string) {
	res.Transient = true
	switch status := res.HTTPStatus; {
	case status == http.StatusTooManyRequests:
		res.Err = errors.New("HTTP 429: rate limited")
	case status >= 500:
		res.Err = fmt.Errorf("HTTP %d: server error", status)
	default:
		res.Err = fmt.Errorf("unexpected HTTP status %d%s", status, detail)
	}
}
