package cli

import (
	"net/url"
	"strings"
)

// redacted replaces a hidden part of a URL.
const redacted = "redacted"

// RedactURL returns raw with everything that may be a credential hidden, for
// output that shows where webhooks go but not how the receiver
// authenticates them: the userinfo ("user:pass@" becomes "redacted@"),
// every query value ("?token=abc&flag" becomes "?token=redacted&flag=redacted")
// and the fragment (dropped). Scheme, host, port and path are kept. A URL
// that does not parse keeps only its scheme ("https://redacted"), so nothing
// of it leaks.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		if scheme, _, ok := strings.Cut(raw, "://"); ok && isScheme(scheme) {
			return scheme + "://" + redacted
		}
		if scheme, _, ok := strings.Cut(raw, ":"); ok && isScheme(scheme) {
			return scheme + ":" + redacted
		}
		return redacted
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	u.RawQuery = redactQueryString(u.RawQuery)
	u.ForceQuery = false
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// redactQueryString keeps a query's parameter names and hides their values.
func redactQueryString(q string) string {
	var parts []string
	for _, p := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(p, "=")
		parts = append(parts, name+"="+redacted)
	}
	return strings.Join(parts, "&")
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func isScheme(s string) bool {
	if s == "" || !('a' <= s[0]|0x20 && s[0]|0x20 <= 'z') {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z', '0' <= c && c <= '9', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}
