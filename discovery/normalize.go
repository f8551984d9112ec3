package discovery

import (
	"strings"

	"github.com/ssokit/sso"
	"golang.org/x/net/idna"
)

// normalDomain reports whether s is already in the form sso.NormalizeDomain
// returns, by a fast scan that accepts only lower-case letter-digit-hyphen
// labels (no IDNA "xx--" labels, which need the full check). When it returns
// true, sso.NormalizeDomain(s) returns s unchanged.
func normalDomain(s string) bool {
	return ldh(s, true)
}

// ldh reports whether s is a lower-case letter-digit-hyphen name of labels of
// 1 to 63 bytes, at most 253 bytes in all, no label starting or ending with a
// hyphen or with hyphens in its third and fourth places, and with at least
// one dot when needDot.
func ldh(s string, needDot bool) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	dot := false
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			l := s[start:i]
			if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
				(len(l) >= 4 && l[2] == '-' && l[3] == '-') {
				return false
			}
			if i < len(s) {
				dot = true
			}
			start = i + 1
			continue
		}
		if !ldhByte[s[i]] {
			return false
		}
	}
	return dot || !needDot
}

// normalizeDomain is sso.NormalizeDomain with a fast path for names that are
// normalised already.
func normalizeDomain(s string) (string, error) {
	if normalDomain(s) {
		return s, nil
	}
	return sso.NormalizeDomain(s)
}

// normalLocal reports whether local is an ASCII local part that
// sso.NormalizeEmail accepts and returns unchanged.
func normalLocal(local string) bool {
	if len(local) == 0 || len(local) > 64 || local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	for i := 0; i < len(local); i++ {
		switch c := local[i]; {
		case localByte[c]:
		case c == '.':
			if local[i+1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ldhByte marks the bytes of a normalised domain label: a-z, 0-9 and '-'.
// localByte marks the bytes a normalised ASCII local part may hold other
// than '.': printable ASCII except space and @"(),:;<>[\].
var ldhByte, localByte = func() (ldh, local [256]bool) {
	for c := 0; c < 256; c++ {
		ldh[c] = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
		local[c] = c > ' ' && c < 0x7f && !strings.ContainsRune(`@"(),:;<>[\].`, rune(c))
	}
	return
}()

// normalEmailDomain returns email's domain when email is as
// sso.NormalizeEmail returns it (an ASCII local part it keeps unchanged and
// a normalised domain), in one pass over the address. ok is false when the
// full check is needed.
func normalEmailDomain(email string) (domain string, ok bool) {
	if len(email) > 254 || len(email) == 0 || email[0] == '.' {
		return "", false
	}
	i := 0
	for ; i < len(email); i++ {
		switch c := email[i]; {
		case localByte[c]:
		case c == '.':
			if i+1 < len(email) && email[i+1] == '.' {
				return "", false
			}
		case c == '@':
			if i == 0 || i > 64 || email[i-1] == '.' {
				return "", false
			}
			if d := email[i+1:]; ldh(d, true) {
				return d, true
			}
			return "", false
		default:
			return "", false
		}
	}
	return "", false
}

var aliasProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// normalizeAlias normalises an SSO domain alias like a domain name (trimmed,
// lower-case, IDNA ASCII form, no trailing dot) except that it need not
// contain a dot: "Acme", "acme.example" and "Bücher" are aliases. The result
// is safe in a URL path segment.
func normalizeAlias(s string) (string, bool) {
	if ldh(s, false) {
		return s, true
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" || strings.HasPrefix(s, "[") {
		return "", false
	}
	a, err := aliasProfile.ToASCII(s)
	if err != nil {
		return "", false
	}
	a = strings.ToLower(a)
	if !ldhOrPunycode(a) {
		return "", false
	}
	return a, true
}

// ldhOrPunycode reports whether s, the output of IDNA ToASCII, has only
// lower-case letters, digits, hyphens and dots between non-empty labels.
func ldhOrPunycode(s string) bool {
	if len(s) == 0 || len(s) > 253 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
