package oidc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
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
	// Algorithm is from the token's header; KeyID is the key ID (kid) of
	// the provider's key that verified the signature, which the header
	// names or, when it names none, the JWKS entry that matched.
	Algorithm string
	KeyID     string
	// Claims holds every claim; numbers are json.Number.
	Claims map[string]any
}

// jwtHeader is the JOSE header of an ID token. Only what is checked is
// read; the rest (typ, x5c, jwk, ...) is ignored: the key always comes from
// the provider's JWKS.
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
// age, or the token names an unknown key (see
// [Config.JWKSMinRefetchInterval]).
func (c *Connection) VerifyIDToken(ctx context.Context, raw, nonce string) (*IDToken, error) {
	if _, err := c.provider(ctx); err != nil {
		return nil, err
	}
	return c.verifyIDToken(ctx, raw, nonce)
}

// verifyIDToken decodes each part of the compact JWS once: the header to
// pick the algorithm and key, the signature to verify the signing input
// with it, and, once the signature holds, the payload into the claim map
// from which the standard claims are read and checked.
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
	d1 := strings.IndexByte(raw, '.')
	d2 := strings.LastIndexByte(raw, '.')
	hb, err := base64.RawURLEncoding.DecodeString(raw[:d1])
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
	case len(h.Crit) > 0 && string(h.Crit) != "null":
		// A critical extension changes how the token must be read (RFC
		// 7515 section 4.1.11); an ID token needs none, so none is
		// understood.
		return fail(sso.ReasonMalformed, "the ID token header has crit "+string(h.Crit)+"; no critical header extension is supported", nil)
	}
	sig, err := base64.RawURLEncoding.DecodeString(raw[d2+1:])
	if err != nil {
		return fail(sso.ReasonMalformed, "the ID token signature is not base64url-encoded", err)
	}
	if len(sig) == 0 {
		return fail(sso.ReasonMalformed, "the ID token has an empty signature", nil)
	}
	keyID, err := c.verifySignature(ctx, signedInput{input: raw[:d2], sig: sig, alg: h.Alg}, h.Kid)
	if err != nil {
		return nil, err
	}

	// The payload is trusted from here on. It is decoded once, into the
	// map that keeps every claim for the Identity; the standard claims are
	// read from it with their types checked.
	payload, err := base64.RawURLEncoding.DecodeString(raw[d1+1 : d2])
	if err != nil {
		return fail(sso.ReasonMalformed, "the ID token payload is not base64url-encoded", err)
	}
	all, err := decodeClaims(payload)
	if err != nil {
		return fail(sso.ReasonMalformed, "the ID token claims are not a JSON object", err)
	}
	var claims idClaims
	if err := claims.read(all); err != nil {
		return fail(sso.ReasonMalformed, "the ID token claims are not valid: "+err.Error(), err)
	}
	if claims.iss != c.cfg.Issuer && !slices.Contains(c.cfg.IssuerAliases, claims.iss) {
		return mismatch(sso.ReasonIssuerMismatch, "the ID token was issued by someone else", c.cfg.Issuer, claims.iss)
	}
	if claims.sub == "" {
		return fail(sso.ReasonSubjectMissing, "the ID token has no sub claim", nil)
	}
	aud := claims.aud
	if !slices.Contains(aud, c.cfg.ClientID) {
		return mismatch(sso.ReasonAudienceMismatch, "the ID token is not meant for this client", c.cfg.ClientID, strings.Join(aud, " "))
	}
	for _, a := range aud {
		if a != c.cfg.ClientID && !slices.Contains(c.cfg.TrustedAudiences, a) {
			return mismatch(sso.ReasonAudienceMismatch, "the ID token also names an audience this connection does not trust (add it to TrustedAudiences if it is yours)", c.cfg.ClientID, a)
		}
	}
	switch {
	case len(aud) > 1 && claims.azp == "":
		return mismatch(sso.ReasonAudienceMismatch, "the ID token has several audiences but no azp claim", c.cfg.ClientID, "")
	case claims.azp != "" && claims.azp != c.cfg.ClientID:
		return mismatch(sso.ReasonAudienceMismatch, "the ID token was issued to another party (azp)", c.cfg.ClientID, claims.azp)
	}
	now := c.cfg.Now()
	skew := c.cfg.ClockSkew
	exp, iat, nbf := claims.exp, claims.iat, claims.nbf
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
	if subtle.ConstantTimeCompare([]byte(claims.nonce), []byte(nonce)) != 1 {
		return mismatch(sso.ReasonNonceMismatch, "the ID token's nonce differs from the one this login sent", nonce, claims.nonce)
	}
	return &IDToken{
		Issuer: claims.iss, Subject: claims.sub, Audience: aud, AuthorizedParty: claims.azp,
		Expiry: exp, IssuedAt: iat, AuthTime: claims.authTime, Nonce: claims.nonce,
		SessionID: claims.sid, AccessTokenHash: claims.atHash,
		Algorithm: h.Alg, KeyID: keyID, Claims: all,
	}, nil
}

// idClaims are the standard claims of an ID token, read from its claim map.
type idClaims struct {
	iss, sub, azp, nonce, sid, atHash string
	aud                               []string
	exp, iat, nbf, authTime           time.Time
}

// read fills c from the claim map. A standard claim of the wrong type is
// an error; an absent or null one stays empty.
func (c *idClaims) read(m map[string]any) error {
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"iss", &c.iss}, {"sub", &c.sub}, {"azp", &c.azp}, {"nonce", &c.nonce}, {"sid", &c.sid}, {"at_hash", &c.atHash}} {
		switch v := m[f.name].(type) {
		case nil:
		case string:
			*f.dst = v
		default:
			return errors.New("the " + f.name + " claim is not a string")
		}
	}
	switch v := m["aud"].(type) {
	case nil:
	case string:
		c.aud = []string{v}
	case []any:
		c.aud = make([]string, len(v))
		for i, a := range v {
			s, ok := a.(string)
			if !ok {
				return errors.New("the aud claim is not a string or an array of strings")
			}
			c.aud[i] = s
		}
	default:
		return errors.New("the aud claim is not a string or an array of strings")
	}
	for _, f := range [...]struct {
		name string
		dst  *time.Time
	}{{"exp", &c.exp}, {"iat", &c.iat}, {"nbf", &c.nbf}, {"auth_time", &c.authTime}} {
		t, err := numericDate(m[f.name])
		if err != nil {
			return errors.New("the " + f.name + " claim is not a NumericDate")
		}
		*f.dst = t
	}
	return nil
}

// maxNumericDate bounds NumericDate claims (seconds since 1970) to what
// converts to a time exactly: about a million years either way.
const maxNumericDate = 1 << 45

// numericDate reads a NumericDate claim: a JSON number of seconds (a
// fraction is dropped), or, as some providers send it, an RFC 3339 string.
// Absent, null and 0 are the zero time.
func numericDate(v any) (time.Time, error) {
	var sec int64
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil || f != f || f > maxNumericDate || f < -maxNumericDate {
			return time.Time{}, errors.New("out of range")
		}
		sec = int64(f)
	case string:
		t, err := time.Parse(time.RFC3339, x)
		if err != nil {
			return time.Time{}, err
		}
		sec = t.Unix()
	default:
		return time.Time{}, errors.New("not a number")
	}
	if sec == 0 {
		return time.Time{}, nil
	}
	return time.Unix(sec, 0), nil
}

// signedInput is the signing input of a compact JWS, its decoded signature
// and the algorithm its header names.
type signedInput struct {
	input string
	sig   []byte
	alg   string
}

// verify checks the signature with key. The key's type must suit the
// algorithm (see keyFitsAlg); ECDSA curves must match the algorithm's.
func (s signedInput) verify(key crypto.PublicKey) bool {
	var hash crypto.Hash
	switch s.alg {
	case "RS256", "PS256", "ES256":
		hash = crypto.SHA256
	case "RS384", "PS384", "ES384":
		hash = crypto.SHA384
	case "RS512", "PS512", "ES512":
		hash = crypto.SHA512
	case "EdDSA":
		k, ok := key.(ed25519.PublicKey)
		return ok && len(k) == ed25519.PublicKeySize && ed25519.Verify(k, []byte(s.input), s.sig)
	default:
		return false
	}
	hh := hash.New()
	hh.Write([]byte(s.input))
	var buf [sha512.Size]byte
	sum := hh.Sum(buf[:0])
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch s.alg[0] {
		case 'R':
			return rsa.VerifyPKCS1v15(k, hash, sum, s.sig) == nil
		case 'P':
			return rsa.VerifyPSS(k, hash, sum, s.sig, nil) == nil
		}
	case *ecdsa.PublicKey:
		var curve elliptic.Curve
		size := 0
		switch s.alg {
		case "ES256":
			curve, size = elliptic.P256(), 32
		case "ES384":
			curve, size = elliptic.P384(), 48
		case "ES512":
			curve, size = elliptic.P521(), 66
		}
		if k.Curve != curve || len(s.sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(s.sig[:size])
		v := new(big.Int).SetBytes(s.sig[size:])
		return ecdsa.Verify(k, sum, r, v)
	}
	return false
}

// verifySignature verifies s with the key that signed it and returns that
// key's ID (the JWKS entry's kid, also when the token's header names none).
// An unknown key ID causes a JWKS refetch, unless one happened within
// JWKSMinRefetchInterval.
func (c *Connection) verifySignature(ctx context.Context, s signedInput, kid string) (string, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return "", err
	}
	set, err := p.keys.Get(ctx)
	if err != nil {
		return "", c.waitError(ctx, err, "the JWKS")
	}
	return c.verifyWith(ctx, s, kid, p.keys, set)
}

// verifyWith is verifySignature from set, a snapshot of the keys of src.
func (c *Connection) verifyWith(ctx context.Context, s signedInput, kid string, src *refresh.Source[*keySet], set *keySet) (string, error) {
	const op = "oidc.VerifyIDToken"
	alg := s.alg
	refetched := false
	for {
		cands := 0
		for i := range set.keys {
			k := &set.keys[i]
			if !candidate(k, kid, alg) {
				continue
			}
			cands++
			if s.verify(k.Key) {
				return k.KeyID, nil
			}
		}
		// A known kid whose signature fails is a bad signature, not a
		// rotation: do not refetch.
		if cands > 0 && (kid != "" || refetched) {
			return "", &sso.Error{Op: op, Reason: sso.ReasonSignatureInvalid, Connection: c.cfg.ID,
				Detail: "the ID token signature does not verify with the provider's key " + quote(kid) + " (" + alg + ")"}
		}
		if refetched {
			return "", &sso.Error{Op: op, Reason: sso.ReasonUntrustedKey, Connection: c.cfg.ID,
				Detail: "the ID token is signed with key " + quote(kid) + " (" + alg + "), which is not in the provider's JWKS even after a refetch"}
		}
		// Unless another login refetched since the snapshot, refetch.
		if src.Current() == set {
			err := src.RefreshLimited(ctx, c.cfg.JWKSMinRefetchInterval)
			switch {
			case errors.Is(err, refresh.ErrRateLimited) && src.Current() == set:
				return "", &sso.Error{Op: op, Reason: sso.ReasonUntrustedKey, Connection: c.cfg.ID,
					Detail: "the ID token is signed with key " + quote(kid) + " (" + alg + "), which is not in the cached JWKS; the JWKS was fetched moments ago, the next refetch is allowed at " +
						src.Status().Attempted.Add(c.cfg.JWKSMinRefetchInterval).UTC().Format(time.RFC3339)}
			case err != nil && !errors.Is(err, refresh.ErrRateLimited):
				return "", c.waitError(ctx, err, "the JWKS")
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
	if rest := b[d.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}
