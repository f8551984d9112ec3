// Package token makes the random values ssokit's packages use for state
// handles, nonces, IDs and browser bindings, and the digests under which
// bindings are stored.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
)

// Random returns n random bytes from r (crypto/rand when r is nil),
// encoded as unpadded base64url; n of 32 gives 256 bits.
func Random(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("the random source failed: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the digest under which a binding (or another secret
// value) is stored, so that a stolen store does not reveal cookie values.
func Hash(binding string) string {
	sum := sha256.Sum256([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Matches reports in constant time whether binding hashes to hashed. An
// empty binding or digest never matches.
func Matches(hashed, binding string) bool {
	if binding == "" || hashed == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(Hash(binding)), []byte(hashed)) == 1
}
