package oidc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/refresh"
)

// IDToken is a verified ID token.
type IDToken struct {
	Issuer          string
	Subject         string
	Audience        []string
	AuthorizedParty string
	Expiry          time.Time
	IssuedAt        time.Time
	AuthTime        time.Time // zero when the token has no auth_time
	Nonce           string
	SessionID       string // the sid claim
	AccessTokenHash string // the at_hash claim
	// Algorithm and KeyID are from the token's header.
	Algorithm string
	KeyID     string
	// Claims holds every claim; numbers are json.Number.
	Claims map[string]any
}

// jwtHeader is the part of a JOSE header checked before any key is used.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Enc  string          `json:"enc"`
	Crit json.RawMessage `json:"crit"`
}

// VerifyIDToken checks a raw ID token as Complete does: the signature
// against the provider's cached JWKS with the algorithm allow-list, iss,
// aud, azp, exp, iat, nbf and the nonce, which must equal nonce (an empty
// nonce matches a token without one). It fetches the discovery document or
// the JWKS only when they are not cached yet, are older than their maximum
// age, or the token names an unknown key (rate limited).
func (c *Connection) VerifyIDToken(ctx context.Context, raw, nonce string) (*IDToken, error) {
	if _, err := c.provider(ctx); err != nil {
		return nil, err
	}
	return c.verifyIDToken(ctx, raw, nonce)
}

func (c *Connection) verifyIDToken(ctx context.Context, raw, nonce string) (*IDToken, error) {
	const op = "oidc.VerifyIDToken"
	fail := func(reason sso.Reason, detail string, cause error) (*IDToken, error) {
		return nil, &sso.Error{Op: op, Reason: reason, Connection: c.cfg.ID, Detail: detail, Err: cause}
	}
	mismatch := func(reason sso.Reason, detail, expected, actual string) (*IDToken, error) {
		return nil, &sso.Error{Op: op, Reason: reason, Connection: c.cfg.ID, Detail: detail, Expected: expected, Actual: actual}
	}
	if len(raw) > int(c.maxBytes) {
		return fail(sso.ReasonRequestTooLarge, "the ID token is larger than the response size cap", nil)
	}
	switch n := strings.Count(raw, ".") + 1; n {
	case 3:
	case 5:
		return fail(sso.ReasonEncryptedNotSupported, "the ID token is encrypted (JWE); encrypted ID tokens are not supported: register the client at the provider without ID token encryption", nil)
	default:
		return fail(sso.ReasonMalformed, "the ID token is not a compact JWS (it has "+itoa(n)+" parts, not 3)", nil)
	}
	hb, err := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
	var h jwtHeader
	if err == nil {
		err = json.Unmarshal(hb, &h)
	}
	if err != nil {
		return fail(sso.ReasonMalformed, "the ID token header is not base64url-encoded JSON", err)
	}
	switch {
	case h.Enc != "":
		return fail(sso.ReasonEncryptedNotSupported, "the ID token header has enc "+quote(h.Enc)+"; encrypted ID tokens are not supported", nil)
	case h.Alg == "" || strings.EqualFold(h.Alg, "none"):
		return fail(sso.ReasonAlgorithmNotAllowed, "the ID token is unsigned (alg "+quote(h.Alg)+"); unsigned tokens are never accepted", nil)
	case strings.HasPrefix(strings.ToUpper(h.Alg), "HS"):
		return fail(sso.ReasonAlgorithmNotAllowed, "the ID token is signed with HMAC ("+h.Alg+"); only asymmetric signatures are accepted", nil)
	case !slices.Contains(c.algs, h.Alg):
		return fail(sso.ReasonAlgorithmNotAllowed, "the ID token algorithm "+h.Alg+" is not in the allow-list ("+strings.Join(c.algs, ", ")+")", nil)
	}
	jws, err := jose.ParseSigned(raw, c.joseAlgs)
	if err != nil {
		return fail(sso.ReasonMalformed, "the ID token is not a valid JWS: "+err.Error(), err)
	}
	if len(jws.Signatures) != 1 {
		return fail(sso.ReasonMalformed, "the ID token does not have exactly one signature", nil)
	}
	payload, err := c.verifySignature(ctx, jws, h.Kid, h.Alg)
	if err != nil {
		return nil, err
	}

	// The payload is trusted from here on. zitadel's claim type reads the
	// standard claims; the generic map keeps them all for the Identity.
	var claims zoidc.IDTokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fail(sso.ReasonMalformed, "the ID token claims are not valid: "+err.Error(), err)
	}
	all, err := decodeClaims(payload)
	if err != nil {
		return fail(sso.ReasonMalformed, "the ID token claims are not a JSON object", err)
	}
	if err := zoidc.CheckIssuerWithISSVerifier(&claims, c.cfg.Issuer, c.issVerifier); err != nil {
		return mismatch(sso.ReasonIssuerMismatch, "the ID token was issued by someone else", c.cfg.Issuer, claims.Issuer)
	}
	if err := zoidc.CheckSubject(&claims); err != nil {
		return fail(sso.ReasonSubjectMissing, "the ID token has no sub claim", nil)
	}
	aud := []string(claims.Audience)
	if err := zoidc.CheckAudience(&claims, c.cfg.ClientID); err != nil {
		return mismatch(sso.ReasonAudienceMismatch, "the ID token is not meant for this client", c.cfg.ClientID, strings.Join(aud, " "))
	}
	for _, a := range aud {
		if a != c.cfg.ClientID && !slices.Contains(c.cfg.TrustedAudiences, a) {
			return mismatch(sso.ReasonAudienceMismatch, "the ID token also names an audience this connection does not trust (add it to TrustedAudiences if it is yours)", c.cfg.ClientID, a)
		}
	}
	if err := zoidc.CheckAZPVerifier(&claims, zoidc.DefaultAZPVerifier(c.cfg.ClientID)); err != nil {
		if errors.Is(err, zoidc.ErrAzpMissing) {
			return mismatch(sso.ReasonAudienceMismatch, "the ID token has several audiences but no azp claim", c.cfg.ClientID, "")
		}
		return mismatch(sso.ReasonAudienceMismatch, "the ID token was issued to another party (azp)", c.cfg.ClientID, claims.AuthorizedParty)
	}
	now := c.cfg.Now()
	skew := c.cfg.ClockSkew
	exp, iat, nbf := claims.Expiration.AsTime(), claims.IssuedAt.AsTime(), claims.NotBefore.AsTime()
	switch {
	case exp.IsZero():
		return fail(sso.ReasonMalformed, "the ID token has no exp claim", nil)
	case !now.Before(exp.Add(skew)):
		return mismatch(sso.ReasonExpired, "the ID token expired (clock skew allowed: "+skew.String()+")", "before "+exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case iat.IsZero():
		return fail(sso.ReasonMalformed, "the ID token has no iat claim", nil)
	case iat.After(now.Add(skew)):
		return mismatch(sso.ReasonNotYetValid, "the ID token was issued in the future; check the clocks (skew allowed: "+skew.String()+")", "iat before "+now.Add(skew).UTC().Format(time.RFC3339), iat.UTC().Format(time.RFC3339))
	case !nbf.IsZero() && nbf.After(now.Add(skew)):
		return mismatch(sso.ReasonNotYetValid, "the ID token is not valid yet (nbf)", "nbf before "+now.Add(skew).UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339))
	}
	if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(nonce)) != 1 {
		return mismatch(sso.ReasonNonceMismatch, "the ID token's nonce differs from the one this login sent", nonce, claims.Nonce)
	}
	return &IDToken{
		Issuer: claims.Issuer, Subject: claims.Subject, Audience: aud, AuthorizedParty: claims.AuthorizedParty,
		Expiry: exp, IssuedAt: iat, AuthTime: claims.AuthTime.AsTime(), Nonce: claims.Nonce,
		SessionID: claims.SessionID, AccessTokenHash: claims.AccessTokenHash,
		Algorithm: h.Alg, KeyID: h.Kid, Claims: all,
	}, nil
}

// verifySignature finds the key that signed jws and returns the verified
// payload. An unknown key ID causes one JWKS refetch, unless one happened
// within the rate limit.
func (c *Connection) verifySignature(ctx context.Context, jws *jose.JSONWebSignature, kid, alg string) ([]byte, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	set, err := p.keys.Get(ctx)
	if err != nil {
		return nil, c.waitError(ctx, err, "the JWKS")
	}
	return c.verifyWith(ctx, jws, kid, alg, p.keys, set)
}

// verifyWith is verifySignature from set, a snapshot of the keys of src.
func (c *Connection) verifyWith(ctx context.Context, jws *jose.JSONWebSignature, kid, alg string, src *refresh.Source[*keySet], set *keySet) ([]byte, error) {
	const op = "oidc.VerifyIDToken"
	refetched := false
	for {
		cands := candidates(set.keys, kid, alg)
		for i := range cands {
			if payload, err := jws.Verify(&cands[i]); err == nil {
				return payload, nil
			}
		}
		// A known kid whose signature fails is a bad signature, not a
		// rotation: do not refetch.
		if len(cands) > 0 && (kid != "" || refetched) {
			return nil, &sso.Error{Op: op, Reason: sso.ReasonSignatureInvalid, Connection: c.cfg.ID,
				Detail: "the ID token signature does not verify with the provider's key " + quote(kid) + " (" + alg + ")"}
		}
		if refetched {
			return nil, &sso.Error{Op: op, Reason: sso.ReasonUntrustedKey, Connection: c.cfg.ID,
				Detail: "the ID token is signed with key " + quote(kid) + " (" + alg + "), which is not in the provider's JWKS even after a refetch"}
		}
		// Unless another login refetched since the snapshot, refetch.
		if src.Current() == set {
			err := src.RefreshLimited(ctx, c.cfg.JWKSMinRefetchInterval)
			switch {
			case errors.Is(err, refresh.ErrRateLimited) && src.Current() == set:
				return nil, &sso.Error{Op: op, Reason: sso.ReasonUntrustedKey, Connection: c.cfg.ID,
					Detail: "the ID token is signed with key " + quote(kid) + " (" + alg + "), which is not in the cached JWKS; the JWKS was fetched moments ago, the next refetch is allowed at " +
						src.Status().Attempted.Add(c.cfg.JWKSMinRefetchInterval).UTC().Format(time.RFC3339)}
			case err != nil && !errors.Is(err, refresh.ErrRateLimited):
				return nil, c.waitError(ctx, err, "the JWKS")
			}
		}
		set = src.Current()
		refetched = true
	}
}

// issVerifier accepts the configured issuer and its aliases.
func (c *Connection) issVerifier(iss string) error {
	if iss == c.cfg.Issuer || slices.Contains(c.cfg.IssuerAliases, iss) {
		return nil
	}
	return zoidc.ErrIssuerInvalid
}

// checkAccessTokenHash checks at_hash with zitadel's implementation.
func checkAccessTokenHash(accessToken string, t *IDToken) error {
	if t.AccessTokenHash == "" {
		return nil
	}
	return rp.VerifyAccessToken(accessToken, t.AccessTokenHash, jose.SignatureAlgorithm(t.Algorithm))
}

// decodeClaims decodes a JSON object keeping numbers exact.
func decodeClaims(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null")
	}
	return m, nil
}
