package sso

// LowerASCII returns s with the ASCII letters A-Z mapped to a-z and every
// other byte unchanged. It is the case folding for identity-relevant
// strings (email addresses, test users, role names): unlike
// [strings.ToLower] it never turns a non-ASCII character into an ASCII one,
// as Unicode lower-casing turns the Kelvin sign U+212A into "k" and the
// capital I with dot U+0130 into "i", so an address spelt with such a
// character never stands for the plain ASCII address.
func LowerASCII(s string) string {
	i := 0
	for i < len(s) && !isUpperASCII(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if isUpperASCII(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// EqualFoldASCII reports whether a and b are equal when the ASCII letters
// A-Z are taken as a-z; every other character must match exactly. Unlike
// [strings.EqualFold] it does not equate a non-ASCII character with an
// ASCII one: the Kelvin sign U+212A is not "k", the long s U+017F is not
// "s". EqualFoldASCII(a, b) == (LowerASCII(a) == LowerASCII(b)).
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if isUpperASCII(x) {
			x += 'a' - 'A'
		}
		if isUpperASCII(y) {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isUpperASCII reports whether c is one of A-Z. UTF-8 encodes every
// non-ASCII character with bytes of 0x80 and above, so a byte test never
// touches part of one.
func isUpperASCII(c byte) bool { return 'A' <= c && c <= 'Z' }
