package webhook

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGuardCheckIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip     string
		reason string // "" = allowed
	}{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
		{"192.0.1.1", ""},        // next to 192.0.0.0/24 and 192.0.2.0/24
		{"100.128.0.1", ""},      // just past CGNAT
		{"172.32.0.1", ""},       // just past 172.16/12
		{"198.20.0.1", ""},       // just past 198.18/15
		{"2001:200::1", ""},      // just past 2001::/23
		{"0.0.0.0", "unspecified address"},
		{"0.1.2.3", "reserved address (this network)"},
		{"10.0.0.5", "private address"},
		{"172.16.0.1", "private address"},
		{"172.31.255.255", "private address"},
		{"192.168.1.1", "private address"},
		{"127.0.0.1", "loopback address"},
		{"127.255.255.254", "loopback address"},
		{"169.254.169.254", "link-local address"},
		{"100.64.0.1", "shared address space (CGNAT)"},
		{"100.127.255.255", "shared address space (CGNAT)"},
		{"192.0.0.8", "reserved address (IETF protocol assignments)"},
		{"192.0.2.10", "documentation address"},
		{"198.51.100.7", "documentation address"},
		{"203.0.113.9", "documentation address"},
		{"198.18.0.1", "benchmarking address"},
		{"198.19.255.255", "benchmarking address"},
		{"192.88.99.1", "reserved address (6to4 relay anycast)"},
		{"224.0.0.1", "multicast address"},
		{"239.255.255.250", "multicast address"},
		{"240.0.0.1", "reserved address"},
		{"255.255.255.255", "broadcast address"},
		{"::", "unspecified address"},
		{"::1", "loopback address"},
		{"fc00::1", "private address (unique local)"},
		{"fd12:3456::1", "private address (unique local)"},
		{"fe80::1", "link-local address"},
		{"fe80::1%eth0", "link-local address"},
		{"fec0::1", "reserved address (site-local)"},
		{"ff02::1", "multicast address"},
		{"2001:db8::1", "documentation address"},
		{"3fff::1", "documentation address"},
		{"2001::1", "reserved address (IETF protocol assignments, Teredo, benchmarking)"},
		{"2001:2::1", "reserved address (IETF protocol assignments, Teredo, benchmarking)"},
		{"100::1", "reserved address (discard-only)"},
		{"64:ff9b:1::1", "reserved address (local-use NAT64)"},
		{"::ffff:10.0.0.5", "IPv4-mapped private address"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback address"},
		{"::ffff:169.254.169.254", "IPv4-mapped link-local address"},
		{"64:ff9b::a00:5", "NAT64 address embedding 10.0.0.5, a private address"},
		{"64:ff9b::7f00:1", "NAT64 address embedding 127.0.0.1, a loopback address"},
		{"2002:a9fe:a9fe::", "6to4 address embedding 169.254.169.254, a link-local address"},
		{"::a00:5", "reserved address (outside global unicast)"}, // IPv4-compatible
		{"4000::1", "reserved address (outside global unicast)"},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		err := Guard{}.CheckIP(ip)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("CheckIP(%s) = %v, want allowed", tt.ip, err)
			}
			continue
		}
		var r *RefusedError
		if !errors.As(err, &r) {
			t.Errorf("CheckIP(%s) = %v, want a *RefusedError", tt.ip, err)
			continue
		}
		if r.Reason != tt.reason {
			t.Errorf("CheckIP(%s) reason = %q, want %q", tt.ip, r.Reason, tt.reason)
		}
	}
}

func TestGuardAllowCIDRs(t *testing.T) {
	t.Parallel()
	g := Guard{AllowCIDRs: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00:1::/32"),
	}}
	for _, ip := range []string{"10.0.0.5", "10.255.0.1", "::ffff:10.0.0.5", "64:ff9b::a00:5", "fd00:1::7"} {
		if err := g.CheckIP(netip.MustParseAddr(ip)); err != nil {
			t.Errorf("CheckIP(%s) with 10.0.0.0/8 allowed = %v, want nil", ip, err)
		}
	}
	for _, ip := range []string{"11.0.0.0", "192.168.0.1", "127.0.0.1", "fd00:2::7"} {
		if err := g.CheckIP(netip.MustParseAddr(ip)); ip != "11.0.0.0" && err == nil {
			t.Errorf("CheckIP(%s) = nil, want refused: only 10.0.0.0/8 is allowed", ip)
		}
	}
}

func TestRefusedErrorMessage(t *testing.T) {
	t.Parallel()
	err := Guard{}.CheckIP(netip.MustParseAddr("10.0.0.5"))
	want := "webhook: target 10.0.0.5 refused: private address (allow it with POLLHOOK_WEBHOOK_ALLOW_CIDRS)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestGuardCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url       string
		allowHTTP bool
		refused   bool   // want a *RefusedError
		want      string // error substring; "" = ok
	}{
		{"https://hooks.example.com/pollhook?token=x", false, false, ""},
		{"https://hooks.example.com:8443/", false, false, ""},
		{"http://hooks.example.com/", false, true, "scheme http is not https (allow it with POLLHOOK_WEBHOOK_ALLOW_HTTP)"},
		{"http://hooks.example.com/", true, false, ""},
		{"ftp://hooks.example.com/", true, false, `scheme "ftp" is not http or https`},
		{"https://user:pw@hooks.example.com/", false, true, "URL carries credentials"},
		{"https://10.0.0.5/hook", false, true, "private address"},
		{"https://[::1]:8443/hook", false, true, "loopback address"},
		{"https://[fe80::1%25eth0]/hook", false, true, "link-local address"},
		{"https://169.254.169.254/latest/meta-data", false, true, "link-local address"},
		{"https:///nohost", false, false, "no host"},
		{"/relative", false, false, "is not http or https"},
		{"https://hooks.example.com/#frag", false, false, "fragment"},
		{"https://hooks.example.com/\x7f", false, false, "cannot be parsed"},
	}
	for _, tt := range tests {
		_, err := Guard{AllowHTTP: tt.allowHTTP}.CheckURL(tt.url)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckURL(%q) = %v, want ok", tt.url, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckURL(%q) = %v, want error containing %q", tt.url, err, tt.want)
			continue
		}
		var r *RefusedError
		if errors.As(err, &r) != tt.refused {
			t.Errorf("CheckURL(%q) = %T, want *RefusedError: %v", tt.url, err, tt.refused)
		}
		if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "meta-data") {
			t.Errorf("CheckURL(%q) error %q echoes the URL's credentials or path", tt.url, err)
		}
	}
}

// fakeResolver answers from a map and counts lookups.
type fakeResolver struct {
	hosts map[string][]string
	calls atomic.Int32
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.calls.Add(1)
	addrs, ok := f.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestGuardResolve(t *testing.T) {
	t.Parallel()
	res := &fakeResolver{hosts: map[string][]string{
		"public.test":  {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
		"mixed.test":   {"93.184.216.34", "10.1.2.3"},
		"mapped.test":  {"::ffff:93.184.216.34"},
		"private.test": {"192.168.0.10"},
	}}
	g := Guard{Resolver: res}
	ctx := context.Background()

	ips, err := g.Resolve(ctx, "public.test")
	if err != nil || len(ips) != 2 {
		t.Errorf("Resolve(public.test) = %v, %v; want both addresses", ips, err)
	}
	ips, err = g.Resolve(ctx, "mapped.test")
	if err != nil || len(ips) != 1 || !ips[0].Is4() {
		t.Errorf("Resolve(mapped.test) = %v, %v; want the unmapped IPv4 address", ips, err)
	}
	for host, want := range map[string]string{
		"mixed.test":   "webhook: target mixed.test (10.1.2.3) refused: private address",
		"private.test": "webhook: target private.test (192.168.0.10) refused: private address",
	} {
		_, err := g.Resolve(ctx, host)
		var r *RefusedError
		if !errors.As(err, &r) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Resolve(%s) = %v, want %q", host, err, want)
		}
	}
	if _, err := g.Resolve(ctx, "missing.test"); err == nil || errors.As(err, new(*RefusedError)) {
		t.Errorf("Resolve(missing.test) = %v, want a lookup error", err)
	}
}

// TestGuardLocalhost resolves through the system resolver.
func TestGuardLocalhost(t *testing.T) {
	t.Parallel()
	_, err := Guard{}.Resolve(context.Background(), "localhost")
	var r *RefusedError
	if !errors.As(err, &r) || r.Reason != "loopback address" || r.Target != "localhost" {
		t.Fatalf("Resolve(localhost) = %v, want a loopback refusal", err)
	}
}

func TestGuardDialContext(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	res := &fakeResolver{hosts: map[string][]string{"hooks.test": {"127.0.0.1"}}}
	base := &net.Dialer{Timeout: 2 * time.Second}
	ctx := context.Background()

	// Refused: nothing reaches the listener, by name or by address.
	strict := Guard{Resolver: res}.DialContext(base)
	for _, addr := range []string{"hooks.test:" + port, "127.0.0.1:" + port} {
		conn, err := strict(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		if !errors.As(err, new(*RefusedError)) {
			t.Errorf("dial %s = %v, want refused", addr, err)
		}
	}

	// Allowed: the dial goes to the address the check resolved.
	allowed := Guard{Resolver: res, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}.DialContext(base)
	conn, err := allowed(ctx, "tcp", "hooks.test:"+port)
	if err != nil {
		t.Fatalf("dial allowed target: %v", err)
	}
	if got := conn.RemoteAddr().String(); got != "127.0.0.1:"+port {
		t.Errorf("connected to %s, want 127.0.0.1:%s", got, port)
	}
	_ = conn.Close()
	if n := res.calls.Load(); n != 2 {
		t.Errorf("resolver called %d times, want once per named dial (2)", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for accepted.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("listener accepted %d connections, want only the allowed one", n)
	}
	if base.ControlContext != nil || base.Control != nil {
		t.Error("DialContext modified the base dialer")
	}
}
