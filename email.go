package sso

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits from RFC 5321.
const (
	maxEmailLength = 254
	maxLocalLength = 64
)

// NormalizeEmail trims s, checks that it is a plain addr-spec
// (local@domain, no display name, no quoted or comment syntax) and returns it
// with the domain lower-cased and in IDNA ASCII (punycode) form. The local
// part keeps its case: whether it is case-sensitive is the mail domain's
// business, and SSO identifiers may be case-sensitive.
//
// Errors match ReasonInvalidEmail and say what is wrong.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	fail := func(detail string) (string, error) {
		return "", &Error{Op: "sso.NormalizeEmail", Reason: ReasonInvalidEmail, Detail: detail}
	}
	if s == "" {
		return fail("the email address is empty")
	}
	if len(s) > 4*maxEmailLength || !utf8.ValidString(s) {
		return fail("the email address is too long or not valid UTF-8")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return fail("the email address has no @")
	}
	local, domain := s[:at], s[at+1:]
	if local == "" {
		return fail("the part before @ is empty")
	}
	if len(local) > maxLocalLength {
		return fail("the part before @ is longer than 64 characters")
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || unicode.IsSpace(r) || strings.ContainsRune(`@"(),:;<>[\]`, r) {
			return fail("the part before @ contains a space, control character or one of @\"(),:;<>[\\]")
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return fail("the part before @ starts or ends with a dot, or has two dots in a row")
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return fail(err.(*Error).Detail)
	}
	out := local + "@" + d
	if len(out) > maxEmailLength {
		return fail("the email address is longer than 254 characters")
	}
	return out, nil
}

var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// NormalizeDomain lower-cases a domain name and converts it to IDNA ASCII
// form; "Bücher.Example" becomes "xn--bcher-kva.example". A trailing dot is
// removed. Names without a dot, IP literals and invalid labels are refused
// with ReasonInvalidEmail.
func NormalizeDomain(s string) (string, error) {
	fail := func(detail string) (string, error) {
		return "", &Error{Op: "sso.NormalizeDomain", Reason: ReasonInvalidEmail, Detail: detail}
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return fail("the domain is empty")
	}
	if strings.HasPrefix(s, "[") {
		return fail("IP address literals are not accepted as email domains")
	}
	if !utf8.ValidString(s) {
		// IDNA would read the bad bytes as U+FFFD and encode that.
		return fail("the domain is not valid UTF-8")
	}
	a, err := domainProfile.ToASCII(s)
	if err != nil {
		return fail("the domain " + strconvQuote(s) + " is not a valid domain name")
	}
	// IDNA maps the other full stops ("。", "．") to "." and keeps the
	// root's empty label, so "example.com。" comes out as "example.com.":
	// drop that dot as for an ASCII one, and refuse any other empty label.
	a = strings.ToLower(strings.TrimSuffix(a, "."))
	if strings.HasSuffix(s, ".") || strings.HasPrefix(a, ".") || strings.HasSuffix(a, ".") || strings.Contains(a, "..") {
		return fail("the domain " + strconvQuote(s) + " has an empty label (two dots in a row, or a dot at either end)")
	}
	if !strings.Contains(a, ".") {
		return fail("the domain " + strconvQuote(s) + " has no dot; use a fully qualified domain")
	}
	return a, nil
}

func strconvQuote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + s + `"`
}

// EmailDomain returns the part after the last @ of an email already
// normalised with NormalizeEmail, or "" when there is none.
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return email[at+1:]
}

// maxReturnPath bounds a return path.
const maxReturnPath = 2048

// SafeReturnPath reports whether p is a same-site relative path that is safe
// to redirect to after a login, and returns it cleaned of surrounding
// whitespace. It accepts "/" and paths like "/app/x?y=1#z"; it refuses
// absolute URLs, scheme-relative "//host" and "/\host" forms, backslashes,
// control characters, and anything longer than 2048 bytes. An empty p is
// refused; callers substitute their default.
func SafeReturnPath(p string) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "" || len(p) > maxReturnPath || p[0] != '/' {
		return "", false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return "", false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return p, true
}
