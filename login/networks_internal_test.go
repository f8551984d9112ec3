package login

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddr: X-Forwarded-For counts only from a trusted proxy, and
// then its last address that is not a trusted proxy, so that a client
// cannot put an allowed address before the real one.
func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("fd00::/8")}
	for _, c := range []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no proxy", "198.51.100.7:5000", nil, nil, "198.51.100.7"},
		{"IPv6 peer", "[2001:db8::1]:5000", nil, nil, "2001:db8::1"},
		{"IPv4-mapped peer", "[::ffff:198.51.100.7]:5000", nil, nil, "198.51.100.7"},
		{"header from an untrusted peer", "198.51.100.7:5000", []string{"10.1.2.3"}, proxies, "198.51.100.7"},
		{"header without trusted proxies", "192.0.2.1:5000", []string{"10.1.2.3"}, nil, "192.0.2.1"},
		{"one trusted proxy", "192.0.2.1:5000", []string{"10.1.2.3"}, proxies, "10.1.2.3"},
		{"forged first hop", "192.0.2.1:5000", []string{"10.1.2.3, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"two trusted proxies", "192.0.2.1:5000", []string{"203.0.113.9", "192.0.2.2"}, proxies, "203.0.113.9"},
		{"IPv6 through a trusted proxy", "[fd00::1]:5000", []string{"2001:db8::5"}, proxies, "2001:db8::5"},
		{"malformed chain", "192.0.2.1:5000", []string{"not-an-address"}, proxies, "invalid IP"},
		{"only proxies", "192.0.2.1:5000", []string{"192.0.2.3"}, proxies, "192.0.2.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &Handler{cfg: Config{TrustedProxies: c.trusted}}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := h.clientAddr(r).String(); got != c.want {
				t.Fatalf("client address %s; want %s", got, c.want)
			}
		})
	}
	n := Networks{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}
	for addr, want := range map[string]bool{"10.9.8.7": true, "11.0.0.1": false, "2001:db8::9": true, "2001:db9::9": false, "::ffff:10.0.0.1": true} {
		if got := n.allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("allows(%s) = %v", addr, got)
		}
	}
	if n.allows(netip.Addr{}) || !(Networks{}).allows(netip.Addr{}) {
		t.Error("an unknown address is allowed only by an empty list")
	}
}
