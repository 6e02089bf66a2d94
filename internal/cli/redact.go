package cli

import (
	"net/url"
	"strings"
)

// redacted replaces a hidden part of a URL.
const redacted = "REDACTED"

// RedactURL returns raw with everything that may be a credential hidden, for
// listings that show where webhooks go but not how the receiver
// authenticates them: the userinfo ("user:pass@" becomes "REDACTED@"), every
// query value ("?token=abc" becomes "?token=REDACTED"; a parameter without
// "=" is replaced whole) and the fragment. Scheme, host, port and path are
// kept. A URL that does not parse is replaced whole, so nothing of it leaks.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	if u.Opaque != "" {
		return u.Scheme + ":" + redacted
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + ":")
	}
	if u.Host != "" || u.User != nil || strings.HasPrefix(raw[len(u.Scheme):], "://") {
		b.WriteString("//")
	}
	if u.User != nil {
		b.WriteString(redacted + "@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteString("?" + redactQueryString(u.RawQuery))
	}
	if u.Fragment != "" || u.RawFragment != "" {
		b.WriteString("#" + redacted)
	}
	return b.String()
}

// redactQueryString keeps a query's parameter names and hides their values.
func redactQueryString(q string) string {
	if q == "" {
		return ""
	}
	parts := strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' })
	for i, p := range parts {
		if name, _, ok := strings.Cut(p, "="); ok {
			parts[i] = name + "=" + redacted
		} else {
			parts[i] = redacted
		}
	}
	return strings.Join(parts, "&")
}
