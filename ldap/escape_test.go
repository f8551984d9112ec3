package ldap_test

import (
	"testing"
	"unicode/utf8"

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
// filter component.
func checkFilterRoundTrip(t *testing.T, v string) {
	t.Helper()
	f := "(mail=" + ldap.EscapeFilterValue(v) + ")"
	p, err := goldap.CompileFilter(f)
	if err != nil {
		t.Fatalf("CompileFilter(%q) for %q: %v", f, v, err)
	}
	if p.Tag != goldap.FilterEqualityMatch || len(p.Children) != 2 {
		t.Fatalf("filter for %q compiled to %s, not one equality match", v, goldap.FilterMap[uint64(p.Tag)])
	}
	if got := p.Children[1].Data.String(); got != v {
		t.Fatalf("filter value = %q; want %q", got, v)
	}
}

func TestEscapeFilterValueRoundTrip(t *testing.T) {
	for _, v := range []string{"*", ")(uid=*", "\x00", "a)(|(objectClass=*", `\2a`, "é*ü", "((((", "\xff\xfe"} {
		checkFilterRoundTrip(t, v)
	}
}

func FuzzEscapeFilterValue(f *testing.F) {
	for _, s := range []string{"*", ")(uid=*", "\x00", "a\\b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" {
			return
		}
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
// of one RDN.
func checkDNRoundTrip(t *testing.T, v string) {
	t.Helper()
	dn := "uid=" + ldap.EscapeDNValue(v) + ",ou=people,dc=example,dc=com"
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
}

func TestEscapeDNValueRoundTrip(t *testing.T) {
	for _, v := range []string{"#0405616c696365", "alice+cn=admin", "a,ou=admins", " lead", "trail ", `"q"`, "x\x00y", "o'brien", "<script>", "a;b", "jörg", "a  ", "  a", " ", "a \\"} {
		checkDNRoundTrip(t, v)
	}
}

func FuzzEscapeDNValue(f *testing.F) {
	for _, s := range []string{"#x", " a ", "a+b=c", "\x00", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		// go-ldap's parser does not keep invalid UTF-8 faithfully; its
		// escaping is covered by the table above.
		if v == "" || !utf8.ValidString(v) {
			return
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
	for _, bad := range []string{"", "   ", "not a dn", "uid=a,,dc=x", `uid="unterminated`} {
		if got, err := ldap.NormalizeDN(bad); err == nil {
			t.Errorf("NormalizeDN(%q) = %q; want an error", bad, got)
		}
	}
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
