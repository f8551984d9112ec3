package safehttp

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		ip   string
		want string // "" = public; otherwise a substring of the class
	}{
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"93.184.216.34", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},  // 6to4 of 8.8.8.8
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"11.0.0.1", ""},

		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"::ffff:7f00:1", "IPv4-mapped loopback"},
		{"::127.0.0.1", "IPv4-compatible loopback"},
		{"64:ff9b::7f00:1", "NAT64 of loopback"},
		{"64:ff9b::a9fe:a9fe", "NAT64 of link-local"},
		{"2002:7f00:1::1", "6to4 of loopback"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "IPv4-mapped unspecified"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "IPv4-mapped private"},
		{"::ffff:10.1.2.3", "IPv4-mapped private"},
		{"fc00::1", "unique local"},
		{"fd12:3456::1", "unique local"},
		{"fec0::1", "site-local"},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "IPv4-mapped link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.2.1", "documentation"},
		{"2001:db8::1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"192.0.0.8", "reserved"},
		{"2001::1", "Teredo"},
		{"100::1", "discard"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got := classify(netip.MustParseAddr(tt.ip))
			if tt.want == "" {
				if got != "" {
					t.Fatalf("classify(%s) = %q, want public", tt.ip, got)
				}
				return
			}
			if got == "" || !strings.Contains(got, tt.want) {
				t.Fatalf("classify(%s) = %q, want it refused as %q", tt.ip, got, tt.want)
			}
		})
	}
	if got := classify(netip.Addr{}); got == "" {
		t.Fatal("classify(zero Addr) accepted")
	}
}
