package sso

import (
	"log/slog"

	"github.com/ssokit/sso/internal/token"
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

// NewBinding returns a fresh browser binding value (see
// [BeginRequest.Binding]) for the host to keep in an HttpOnly cookie.
func NewBinding() string {
	t, err := token.Random(nil, 32)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return t
}
