package ldap

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// EscapeFilterValue escapes s for use as an assertion value in a search
// filter (RFC 4515 section 3): the characters ( ) * \ and NUL, and every
// byte outside printable ASCII (so non-ASCII UTF-8 is sent as \xx octets),
// become a backslash and two hex digits. The result can never close or open
// a filter component, nor act as a wildcard.
func EscapeFilterValue(s string) string {
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '(' || c == ')' || c == '*' || c == '\\' || c < 0x20 || c >= 0x7f {
			b.WriteByte('\\')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// EscapeDNValue escapes s for use as an attribute value in a distinguished
// name (RFC 4514 section 2.4): a leading '#' or space and a trailing space,
// and the characters , + " \ < > ; = are escaped with a backslash; NUL and
// other control characters become \xx. Non-ASCII UTF-8 is kept as is, as
// RFC 4514 allows. Invalid UTF-8 bytes are hex-escaped.
func EscapeDNValue(s string) string {
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 4)
	hexByte := func(c byte) {
		b.WriteByte('\\')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case i == 0 && (c == '#' || c == ' '):
			b.WriteByte('\\')
			b.WriteByte(c)
		case i == len(s)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		case strings.IndexByte(",+\"\\<>;=", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			hexByte(c)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				hexByte(c)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}

// NormalizeDN returns dn in a canonical string form, so that the same entry
// always yields the same [sso.Identity.Subject]: attribute types in lower
// case, no spaces around separators, the attribute value assertions of a
// multi-valued RDN sorted, and values escaped with [EscapeDNValue] (so
// "UID=alice, OU=People,dc=Example" becomes "uid=alice,ou=People,dc=Example").
// Values keep their case: whether they compare case-insensitively depends
// on the directory's schema, and the authenticator reads the DN back from
// the directory so its case is the directory's own.
func NormalizeDN(dn string) (string, error) {
	if strings.TrimSpace(dn) == "" {
		return "", errors.New("empty DN")
	}
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	if len(parsed.RDNs) == 0 {
		return "", errors.New("empty DN")
	}
	rdns := make([]string, len(parsed.RDNs))
	for i, rdn := range parsed.RDNs {
		avas := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			if a.Type == "" {
				return "", errors.New("an RDN has no attribute type")
			}
			// The parser unescapes types too; a type that is neither a
			// name nor an OID would not survive being written back.
			if !validDescr(a.Type) && !validOID(a.Type) {
				return "", errors.New("the attribute type " + strconv.Quote(a.Type) + " is neither a name nor a numeric OID")
			}
			avas[j] = strings.ToLower(a.Type) + "=" + EscapeDNValue(a.Value)
		}
		sort.Strings(avas)
		rdns[i] = strings.Join(avas, "+")
	}
	return strings.Join(rdns, ","), nil
}

// firstRDNValue returns the value of dn's first RDN ("admins" for
// "cn=admins,ou=groups,dc=example,dc=com"), or dn itself when it does not
// parse.
func firstRDNValue(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return dn
	}
	return parsed.RDNs[0].Attributes[0].Value
}

// validAttributeName reports whether s is an attribute description an LDAP
// server accepts: a descriptor (letter, then letters, digits, hyphens) or a
// numeric OID, optionally followed by ;options.
func validAttributeName(s string) bool {
	name, opts, _ := strings.Cut(s, ";")
	if !validDescr(name) && !validOID(name) {
		return false
	}
	if opts == "" {
		return !strings.Contains(s, ";")
	}
	for _, o := range strings.Split(opts, ";") {
		if o == "" {
			return false
		}
		for i := 0; i < len(o); i++ {
			if c := o[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func validDescr(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func validOID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }
