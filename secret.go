package sso

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"log/slog"
)

// Secret is a string that redacts itself when printed, formatted, logged or
// marshalled to JSON, so passwords and client secrets do not leak into logs
// or error messages by accident. Use Reveal to get the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the same as String, for %#v.
func (s Secret) GoString() string { return `sso.Secret("` + s.String() + `")` }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes "[redacted]" (or "" for an empty secret).
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// RandomToken returns n random bytes from r (crypto/rand when r is nil),
// encoded as unpadded base64url. It is meant for state handles, nonces, IDs
// and bindings; n of 32 gives 256 bits.
func RandomToken(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", &Error{Op: "sso.RandomToken", Reason: ReasonInternal, Detail: "random source failed", Err: err}
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewBinding returns a fresh browser binding value (see
// [BeginRequest.Binding]) for the host to keep in an HttpOnly cookie.
func NewBinding() string {
	t, err := RandomToken(nil, 32)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return t
}

// HashBinding returns the digest under which a binding is stored, so a stolen
// state store does not reveal cookie values.
func HashBinding(binding string) string {
	sum := sha256.Sum256([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// BindingMatches reports in constant time whether binding hashes to hashed.
// An empty binding never matches.
func BindingMatches(hashed, binding string) bool {
	if binding == "" || hashed == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashBinding(binding)), []byte(hashed)) == 1
}
