package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps webhooks away from the network pollhook runs in (SSRF): a
// target URL must be https without credentials, and every address its host
// resolves to must be public, unless it lies in an allowed prefix.
//
// The check happens when the connection is dialled (DialContext): the host
// is resolved once, every address is checked, and the connection goes to a
// checked address, so a DNS answer cannot change between check and connect.
// The zero Guard is the strict policy.
type Guard struct {
	// AllowHTTP permits plain http targets (POLLHOOK_WEBHOOK_ALLOW_HTTP).
	AllowHTTP bool
	// AllowCIDRs are prefixes a target may resolve into although they are
	// private or reserved, e.g. 10.0.0.0/8 for subscribers on the internal
	// network (POLLHOOK_WEBHOOK_ALLOW_CIDRS).
	AllowCIDRs []netip.Prefix
	// Resolver resolves host names; nil uses net.DefaultResolver.
	Resolver Resolver
}

// RefusedError is the error of a target the Guard refuses.
type RefusedError struct {
	// Target is the refused host (or scheme://host for a refused URL).
	Target string
	// IP is the refused address; invalid when the URL itself is refused.
	IP netip.Addr
	// Reason says what is wrong, e.g. "private address".
	Reason string

	hint string
}

// Error returns e.g. "webhook: target 10.0.0.5 refused: private address
// (allow it with POLLHOOK_WEBHOOK_ALLOW_CIDRS)".
func (e *RefusedError) Error() string {
	var sb strings.Builder
	sb.WriteString("webhook: target ")
	sb.WriteString(e.Target)
	if e.IP.IsValid() && e.IP.String() != e.Target {
		sb.WriteString(" (" + e.IP.String() + ")")
	}
	sb.WriteString(" refused: ")
	sb.WriteString(e.Reason)
	if e.hint != "" {
		sb.WriteString(" (" + e.hint + ")")
	}
	return sb.String()
}

const (
	hintCIDRs = "allow it with POLLHOOK_WEBHOOK_ALLOW_CIDRS"
	hintHTTP  = "allow it with POLLHOOK_WEBHOOK_ALLOW_HTTP"
)

// CheckURL parses a target URL and refuses, with a *RefusedError, a scheme
// other than https (or http when AllowHTTP), credentials in the URL, and a
// literal IP address that CheckIP refuses. Host names are checked when
// dialled.
func (g Guard) CheckURL(raw string) (*url.URL, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	target := u.Scheme + "://" + u.Host
	if u.Scheme != "https" && !(u.Scheme == "http" && g.AllowHTTP) {
		r := &RefusedError{Target: target, Reason: "scheme " + u.Scheme + " is not https"}
		if u.Scheme == "http" {
			r.hint = hintHTTP
		}
		return nil, r
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil {
		if err := g.CheckIP(ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// ParseURL parses a subscriber URL: absolute http or https, with a host, and
// without credentials or fragment. Its errors never echo the URL, which may
// carry a token in its query.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("webhook: URL cannot be parsed")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("webhook: URL scheme %q is not http or https", u.Scheme)
	case u.Hostname() == "":
		return nil, errors.New("webhook: URL has no host")
	case u.User != nil:
		return nil, &RefusedError{Target: u.Scheme + "://" + u.Host, Reason: "URL carries credentials; use the signature to authenticate pollhook"}
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("webhook: URL has a fragment")
	case strings.ContainsAny(raw, " \t\r\n"):
		return nil, errors.New("webhook: URL contains white space")
	}
	return u, nil
}

// CheckIP returns a *RefusedError if ip is not a public unicast address and
// lies in no allowed prefix.
func (g Guard) CheckIP(ip netip.Addr) error {
	ip = ip.WithZone("")
	if g.allowed(ip) {
		return nil
	}
	if reason := classify(ip); reason != "" {
		return &RefusedError{Target: ip.String(), IP: ip, Reason: reason, hint: hintCIDRs}
	}
	return nil
}

// allowed reports whether ip, or the IPv4 address it maps or embeds, lies in
// an allowed prefix.
func (g Guard) allowed(ip netip.Addr) bool {
	cands := []netip.Addr{ip, ip.Unmap()}
	if v4, ok := embeddedV4(ip); ok {
		cands = append(cands, v4)
	}
	for _, p := range g.AllowCIDRs {
		for _, c := range cands {
			if p.Contains(c) {
				return true
			}
		}
	}
	return false
}

// Resolve returns host's addresses (host itself if it is an address) and
// refuses, with a *RefusedError, if CheckIP refuses any of them.
func (g Guard) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, g.CheckIP(ip)
	}
	var res Resolver = net.DefaultResolver
	if g.Resolver != nil {
		res = g.Resolver
	}
	ips, err := res.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("webhook: resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("webhook: resolve %s: no addresses", host)
	}
	for i, ip := range ips {
		ip = ip.Unmap()
		ips[i] = ip
		if err := g.CheckIP(ip); err != nil {
			var r *RefusedError
			if errors.As(err, &r) {
				r.Target = host
			}
			return nil, err
		}
	}
	return ips, nil
}

// DialContext returns a dial function for http.Transport that resolves the
// host, refuses it if any address is refused, and connects to the checked
// addresses in turn with base (which it does not modify). The connection's
// address is checked again just before connecting, so nothing unchecked is
// ever dialled.
func (g Guard) DialContext(base *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := *base
	inner := base.ControlContext
	if inner == nil && base.Control != nil {
		outer := base.Control
		inner = func(_ context.Context, network, address string, c syscall.RawConn) error {
			return outer(network, address, c)
		}
	}
	d.Control = nil
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook: dial %s: %w", address, err)
		}
		if err := g.CheckIP(ap.Addr()); err != nil {
			return err
		}
		if inner != nil {
			return inner(ctx, network, address, c)
		}
		return nil
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("webhook: dial %s: %w", addr, err)
		}
		ips, err := g.Resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		var firstErr error
		for _, ip := range ips {
			conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return conn, nil
			}
			if firstErr == nil {
				firstErr = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, firstErr
	}
}

// special is a range of addresses a webhook must not reach.
type special struct {
	prefix netip.Prefix
	reason string
}

// specialRanges lists the non-public IPv4 and IPv6 ranges (IANA special
// purpose registries), most specific first.
func specialRanges() []special {
	p := netip.MustParsePrefix
	return []special{
		{p("255.255.255.255/32"), "broadcast address"},
		{p("0.0.0.0/32"), "unspecified address"},
		{p("0.0.0.0/8"), "reserved address (this network)"},
		{p("10.0.0.0/8"), "private address"},
		{p("172.16.0.0/12"), "private address"},
		{p("192.168.0.0/16"), "private address"},
		{p("127.0.0.0/8"), "loopback address"},
		{p("169.254.0.0/16"), "link-local address"},
		{p("100.64.0.0/10"), "shared address space (CGNAT)"},
		{p("192.0.0.0/24"), "reserved address (IETF protocol assignments)"},
		{p("192.0.2.0/24"), "documentation address"},
		{p("198.51.100.0/24"), "documentation address"},
		{p("203.0.113.0/24"), "documentation address"},
		{p("198.18.0.0/15"), "benchmarking address"},
		{p("192.88.99.0/24"), "reserved address (6to4 relay anycast)"},
		{p("224.0.0.0/4"), "multicast address"},
		{p("240.0.0.0/4"), "reserved address"},

		{p("::/128"), "unspecified address"},
		{p("::1/128"), "loopback address"},
		{p("64:ff9b:1::/48"), "reserved address (local-use NAT64)"},
		{p("100::/64"), "reserved address (discard-only)"},
		{p("2001:db8::/32"), "documentation address"},
		{p("3fff::/20"), "documentation address"},
		{p("2001::/23"), "reserved address (IETF protocol assignments, Teredo, benchmarking)"},
		{p("fc00::/7"), "private address (unique local)"},
		{p("fe80::/10"), "link-local address"},
		{p("fec0::/10"), "reserved address (site-local)"},
		{p("ff00::/8"), "multicast address"},
	}
}

// classify returns why ip is not a public unicast address, or "".
func classify(ip netip.Addr) string {
	if ip.Is4In6() {
		if r := classify(ip.Unmap()); r != "" {
			return "IPv4-mapped " + r
		}
		return ""
	}
	if v4, ok := embeddedV4(ip); ok {
		if r := classify(v4); r != "" {
			return fmt.Sprintf("%s embedding %s, a %s", embedKind(ip), v4, r)
		}
		return ""
	}
	for _, s := range specialRanges() {
		if s.prefix.Contains(ip) {
			return s.reason
		}
	}
	if ip.Is6() && !netip.MustParsePrefix("2000::/3").Contains(ip) {
		return "reserved address (outside global unicast)"
	}
	return ""
}

// embeddedV4 returns the IPv4 address a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address stands for.
func embeddedV4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() || ip.Is4In6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case netip.MustParsePrefix("2002::/16").Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

func embedKind(ip netip.Addr) string {
	if netip.MustParsePrefix("2002::/16").Contains(ip) {
		return "6to4 address"
	}
	return "NAT64 address"
}
