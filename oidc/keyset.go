package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/refresh"
)

// keySet is one fetch of a provider's JWKS. Every fetch yields a new
// keySet, so a login can tell whether the keys changed since it looked.
type keySet struct {
	keys []jose.JSONWebKey
}

// newKeySource returns the JWKS at url, cached: fetched on first use and
// again on the first use after JWKSMaxAge, and early, rate limited, when a
// token names an unknown key (see verifyWith).
func (c *Connection) newKeySource(url string) (*refresh.Source[*keySet], error) {
	return cached(c, c.cfg.JWKSMaxAge, "JWKS refresh failed; keeping the cached keys: ", func(ctx context.Context) (*keySet, time.Time, error) {
		c.jwksFetches.Add(1)
		keys, err := fetchJWKS(ctx, c.client, url, c.maxBytes)
		if err != nil {
			err.Connection = c.cfg.ID
			return nil, time.Time{}, err
		}
		c.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventMetadataRefreshed, Time: c.cfg.Now(), Connection: c.cfg.ID, Detail: "JWKS fetched", Attrs: map[string]string{"url": url, "keys": itoa(len(keys))}})
		return &keySet{keys: keys}, time.Time{}, nil
	})
}

// fetchJWKS fetches the JWKS at url and returns its public signing keys.
func fetchJWKS(ctx context.Context, client *http.Client, url string, maxBytes int64) ([]jose.JSONWebKey, *sso.Error) {
	const op = "oidc.keySet"
	b, err := get(ctx, client, url, maxBytes)
	if err != nil {
		return nil, fetchFailed(op, "", "JWKS "+url, err)
	}
	keys, skipped, err := parseJWKS(b)
	if err != nil {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Detail: "the JWKS at " + url + " is invalid: " + err.Error(), Err: err}
	}
	if len(keys) == 0 {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Detail: "the JWKS at " + url + " holds no usable signing key" + skippedNote(skipped)}
	}
	return keys, nil
}

func skippedNote(n int) string {
	if n == 0 {
		return ""
	}
	return " (" + itoa(n) + " keys skipped: encryption, symmetric or unknown key types)"
}

// parseJWKS returns the public signing keys of a JWKS. Keys of unknown
// type, encryption keys, symmetric keys and private keys are skipped.
func parseJWKS(b []byte) (keys []jose.JSONWebKey, skipped int, err error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, 0, err
	}
	if raw.Keys == nil {
		return nil, 0, errors.New(`no "keys" array`)
	}
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			skipped++ // unknown kty or curve, or a malformed key: others may serve
			continue
		}
		// IsPublic is false for private and symmetric (oct) keys.
		if (k.Use != "" && k.Use != "sig") || !k.Valid() || !k.IsPublic() {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped, nil
}

// candidate reports whether k may have signed a token with kid and alg:
// it has that key ID (any key, for a token without kid), no other
// algorithm, and a type that suits alg.
func candidate(k *jose.JSONWebKey, kid, alg string) bool {
	return (kid == "" || k.KeyID == kid) && (k.Algorithm == "" || k.Algorithm == alg) && keyFitsAlg(*k, alg)
}

func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	switch alg[:2] {
	case "RS", "PS":
		_, ok := k.Key.(*rsa.PublicKey)
		return ok
	case "ES":
		_, ok := k.Key.(*ecdsa.PublicKey)
		return ok
	case "Ed":
		_, ok := k.Key.(ed25519.PublicKey)
		return ok
	}
	return false
}
