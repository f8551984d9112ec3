package safehttp

import (
	"net/netip"
)

// special lists the address ranges that are refused unless
// Options.InsecureAllowPrivateNetwork is set, with the word used in error details.
// IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6 addresses are classified
// by the IPv4 address they embed (see classify).
var special = []struct {
	prefix netip.Prefix
	class  string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved (IETF protocol assignments)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "reserved (6to4 relay)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved (benchmarking)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "reserved (documentation)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (includes broadcast)"},

	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "private (local-use NAT64)"},
	{netip.MustParsePrefix("100::/64"), "reserved (discard)"},
	{netip.MustParsePrefix("2001::/32"), "reserved (Teredo tunnel)"},
	{netip.MustParsePrefix("2001:db8::/32"), "reserved (documentation)"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local, RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "private (site-local)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// classify returns "" when ip is a public unicast address, and otherwise a
// short description of why it is refused ("loopback", "private (RFC 1918)").
func classify(ip netip.Addr) string {
	if !ip.IsValid() {
		return "invalid"
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if c := classify(ip.Unmap()); c != "" {
			return "IPv4-mapped " + c
		}
		return ""
	}
	for _, s := range special {
		if s.prefix.Contains(ip) {
			return s.class
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var embedded netip.Addr
		var kind string
		switch {
		case ipv4Compatible.Contains(ip):
			// ::a.b.c.d, deprecated; some stacks still route it as IPv4.
			embedded, kind = netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible "
		case nat64.Contains(ip):
			embedded, kind = netip.AddrFrom4([4]byte(b[12:16])), "NAT64 of "
		case sixToFour.Contains(ip):
			embedded, kind = netip.AddrFrom4([4]byte(b[2:6])), "6to4 of "
		}
		if embedded.IsValid() {
			if c := classify(embedded); c != "" {
				return kind + c
			}
		}
	}
	return ""
}
