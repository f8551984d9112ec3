package ldap_test

import (
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso/ldap"
)

func TestEscapeFilterValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"*", `\2a`},
		{"*@example.com", `\2a@example.com`},
		{")(uid=*", `\29\28uid=\2a`},
		{"a\x00b", `a\00b`},
		{`back\slash`, `back\5cslash`},
		{"é", `\c3\a9`},
		{"tab\there", `tab\09here`},
		{"del\x7f", `del\7f`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ldap.EscapeFilterValue(tt.in); got != tt.want {
			t.Errorf("EscapeFilterValue(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// checkFilterRoundTrip asserts that an escaped value compiles into exactly
// one equality assertion carrying the original bytes: no wildcard, no extra
// filter component, alone or inside an AND filter as the authenticator
// builds them.
func checkFilterRoundTrip(t *testing.T, v string) {
	t.Helper()
	esc := ldap.EscapeFilterValue(v)
	f := "(mail=" + esc + ")"
	p, err := goldap.CompileFilter(f)
	if err != nil {
		t.Fatalf("CompileFilter(%q) for %q: %v", f, v, err)
	}
	checkEquality(t, p, "mail", v)
	f = "(&(objectClass=person)(mail=" + esc + "))"
	if p, err = goldap.CompileFilter(f); err != nil {
		t.Fatalf("CompileFilter(%q) for %q: %v", f, v, err)
	}
	if p.Tag != goldap.FilterAnd || len(p.Children) != 2 {
		t.Fatalf("filter %q for %q compiled to %s with %d parts, not an AND of two", f, v, goldap.FilterMap[uint64(p.Tag)], len(p.Children))
	}
	checkEquality(t, p.Children[0], "objectClass", "person")
	checkEquality(t, p.Children[1], "mail", v)
}

// checkEquality fails unless p is the equality assertion attr=value.
func checkEquality(t *testing.T, p *ber.Packet, attr, value string) {
	t.Helper()
	if p.Tag != goldap.FilterEqualityMatch || len(p.Children) != 2 {
		t.Fatalf("filter for %q compiled to %s, not one equality match", value, goldap.FilterMap[uint64(p.Tag)])
	}
	if got := p.Children[0].Data.String(); got != attr {
		t.Fatalf("filter attribute = %q; want %q", got, attr)
	}
	if got := p.Children[1].Data.String(); got != value {
		t.Fatalf("filter value = %q; want %q", got, value)
	}
}

func TestEscapeFilterValueRoundTrip(t *testing.T) {
	for _, v := range []string{"*", ")(uid=*", "\x00", "a)(|(objectClass=*", `\2a`, "é*ü", "((((", "\xff\xfe"} {
		checkFilterRoundTrip(t, v)
	}
}

// FuzzEscapeFilterValue: any value, escaped, is one equality assertion
// with exactly that value, alone and inside an AND filter.
func FuzzEscapeFilterValue(f *testing.F) {
	for _, s := range []string{"*", ")(uid=*", "\x00", "a\\b", "é", "", "\xff\xfe", "a)(|(objectClass=*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkFilterRoundTrip(t, v)
	})
}

func TestEscapeDNValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"#alice", `\#alice`},
		{"a#b", "a#b"},
		{" alice", `\ alice`},
		{"alice ", `alice\ `},
		{" ", `\ `},
		{"a b", "a b"},
		{`,+"\<>;=`, `\,\+\"\\\<\>\;\=`},
		{"alice+cn=admin", `alice\+cn\=admin`},
		{"a\x00b", `a\00b`},
		{"a\nb", `a\0ab`},
		{"jörg", "jörg"},
		{"bad\xffutf8", `bad\ffutf8`},
	}
	for _, tt := range tests {
		if got := ldap.EscapeDNValue(tt.in); got != tt.want {
			t.Errorf("EscapeDNValue(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// checkDNRoundTrip asserts that an escaped value stays one attribute value
// of one RDN, as the first RDN of a DN and in a multi-valued RDN.
func checkDNRoundTrip(t *testing.T, v string) {
	t.Helper()
	esc := ldap.EscapeDNValue(v)
	dn := "uid=" + esc + ",ou=people,dc=example,dc=com"
	p, err := goldap.ParseDN(dn)
	if err != nil {
		t.Fatalf("ParseDN(%q) for %q: %v", dn, v, err)
	}
	if len(p.RDNs) != 4 || len(p.RDNs[0].Attributes) != 1 {
		t.Fatalf("DN for %q has %d RDNs, first with %d values; want 4 and 1", v, len(p.RDNs), len(p.RDNs[0].Attributes))
	}
	if got := p.RDNs[0].Attributes[0].Value; got != v {
		t.Fatalf("DN value = %q; want %q", got, v)
	}
	dn = "cn=" + esc + "+uid=" + esc + ",dc=com"
	if p, err = goldap.ParseDN(dn); err != nil {
		t.Fatalf("ParseDN(%q) for %q: %v", dn, v, err)
	}
	if len(p.RDNs) != 2 || len(p.RDNs[0].Attributes) != 2 || p.RDNs[0].Attributes[0].Value != v || p.RDNs[0].Attributes[1].Value != v {
		t.Fatalf("multi-valued RDN %q for %q parses to %+v", dn, v, p.RDNs[0])
	}
}

func TestEscapeDNValueRoundTrip(t *testing.T) {
	for _, v := range []string{"#0405616c696365", "alice+cn=admin", "a,ou=admins", " lead", "trail ", `"q"`, "x\x00y", "o'brien", "<script>", "a;b", "jörg", "a  ", "  a", " ", "a \\"} {
		checkDNRoundTrip(t, v)
	}
}

// FuzzEscapeDNValue: any non-empty value, escaped, is one attribute value
// equal to the original, invalid UTF-8 included.
func FuzzEscapeDNValue(f *testing.F) {
	for _, s := range []string{"#x", " a ", "a+b=c", "\x00", "é", "bad\xffutf8", "\xc3", "a \\", "  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" {
			return // an empty value is refused before any DN is built
		}
		checkDNRoundTrip(t, v)
	})
}

func TestNormalizeDN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"uid=alice,ou=people,dc=example,dc=com", "uid=alice,ou=people,dc=example,dc=com"},
		{"UID=alice, OU=People , DC=Example,dc=com", "uid=alice,ou=People,dc=Example,dc=com"},
		{"cn=b+uid=a,dc=x", "cn=b+uid=a,dc=x"},
		{"uid=a+cn=b,dc=x", "cn=b+uid=a,dc=x"},
		{`uid=o\+brien,dc=x`, `uid=o\+brien,dc=x`},
		{`uid=o\2bbrien,dc=x`, `uid=o\+brien,dc=x`},
		{`cn=J\C3\B6rg,dc=x`, "cn=Jörg,dc=x"},
		{`uid=eve)(uid=*,dc=x`, `uid=eve)(uid\=*,dc=x`},
	}
	for _, tt := range tests {
		got, err := ldap.NormalizeDN(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDN(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "   ", "not a dn", "uid=a,,dc=x", `uid="unterminated`, `0000\000000=0`, `c\00n=x`, "1=x"} {
		if got, err := ldap.NormalizeDN(bad); err == nil {
			t.Errorf("NormalizeDN(%q) = %q; want an error", bad, got)
		}
	}
}

// FuzzNormalizeDN: NormalizeDN never panics, its result is a fixed point,
// and it keeps the DN's structure: as many RDNs, each with the same
// attribute values (types compared without regard to case).
func FuzzNormalizeDN(f *testing.F) {
	for _, s := range []string{"uid=alice,ou=people,dc=example,dc=com", "UID=alice, OU=People , DC=Example,dc=com", "uid=a+cn=b,dc=x",
		`uid=o\2bbrien,dc=x`, `cn=J\C3\B6rg,dc=x`, `uid=eve)(uid=*,dc=x`, `cn=#04024869,dc=x`, `cn="quoted, value",dc=x`,
		`cn=\ lead\ ,dc=x`, "uid=a,,dc=x", "1.2.3=x", "cn=a\ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		n, err := ldap.NormalizeDN(dn)
		if err != nil {
			return
		}
		again, err := ldap.NormalizeDN(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeDN(%q) = %q, but NormalizeDN(%q) = %q, %v", dn, n, n, again, err)
		}
		a, err1 := goldap.ParseDN(dn)
		b, err2 := goldap.ParseDN(n)
		if err1 != nil || err2 != nil || len(a.RDNs) != len(b.RDNs) {
			t.Fatalf("NormalizeDN(%q) = %q: %v, %v", dn, n, err1, err2)
		}
		for i := range a.RDNs {
			if !sameRDN(a.RDNs[i], b.RDNs[i]) {
				t.Fatalf("NormalizeDN(%q) = %q changed RDN %d: %+v -> %+v", dn, n, i, a.RDNs[i].Attributes, b.RDNs[i].Attributes)
			}
		}
	})
}

// sameRDN reports whether a and b hold the same attribute type and value
// pairs, types compared without regard to case, in any order.
func sameRDN(a, b *goldap.RelativeDN) bool {
	if len(a.Attributes) != len(b.Attributes) {
		return false
	}
	count := map[[2]string]int{}
	for _, x := range a.Attributes {
		count[[2]string{strings.ToLower(x.Type), x.Value}]++
	}
	for _, x := range b.Attributes {
		k := [2]string{strings.ToLower(x.Type), x.Value}
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}

func TestParseADBindError(t *testing.T) {
	tests := []struct {
		diag string
		code string
		ok   bool
	}{
		{"80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 52e, v3839\x00", "52e", true},
		{"80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1", "775", true},
		{"8009030C: LdapErr: DSID-0C0906B5, comment: AcceptSecurityContext error, data 52E, v4563", "52e", true},
		{"invalid credentials", "", false},
		{"", "", false},
		{"metadata 775", "", false},
	}
	for _, tt := range tests {
		code, ok := ldap.ParseADBindError(tt.diag)
		if code != tt.code || ok != tt.ok {
			t.Errorf("ParseADBindError(%q) = %q, %v; want %q, %v", tt.diag, code, ok, tt.code, tt.ok)
		}
	}
}
