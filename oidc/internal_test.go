package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc/oidctest"
)

func TestMergeClaimsKeepsEmailWithItsVerification(t *testing.T) {
	id := map[string]any{"sub": "s", "email_verified": true, "name": "From ID token"}
	ui := map[string]any{"sub": "s", "email": "a@example.com", "email_verified": false, "name": "From userinfo", "locale": "fr"}
	m := mergeClaims(id, ui, []string{"email"})
	if m["name"] != "From ID token" || m["locale"] != "fr" {
		t.Fatalf("merge %v", m)
	}
	tests := []struct {
		name        string
		primary     map[string]any
		secondary   map[string]any
		email       any
		verified    any // nil: absent
		noVerifiedK bool
	}{
		{"email from secondary keeps its false", map[string]any{"email_verified": true}, map[string]any{"email": "a@example.com", "email_verified": false}, "a@example.com", false, false},
		{"email from secondary without verification", map[string]any{"email_verified": true}, map[string]any{"email": "a@example.com"}, "a@example.com", nil, true},
		{"email from primary, verification only in secondary", map[string]any{"email": "a@example.com"}, map[string]any{"email_verified": true}, "a@example.com", nil, true},
		{"secondary vouches for another address", map[string]any{"email": "a@example.com"}, map[string]any{"email": "b@example.com", "email_verified": true}, "a@example.com", nil, true},
		{"secondary vouches for the same address", map[string]any{"email": "A@example.com"}, map[string]any{"email": "a@example.com", "email_verified": true}, "A@example.com", true, false},
		{"secondary vouches for a confusable address (Kelvin sign)", map[string]any{"email": "ali\u212Ae@example.com"}, map[string]any{"email": "ALIKE@example.com", "email_verified": true}, "ali\u212Ae@example.com", nil, true},
		{"secondary vouches for a confusable address (long s)", map[string]any{"email": "\u017Fam@example.com"}, map[string]any{"email": "sam@example.com", "email_verified": true}, "\u017Fam@example.com", nil, true},
		{"both verify: primary wins", map[string]any{"email": "b@example.com", "email_verified": true}, map[string]any{"email": "a@example.com", "email_verified": false}, "b@example.com", true, false},
		{"primary false wins over the same address", map[string]any{"email": "a@example.com", "email_verified": false}, map[string]any{"email": "a@example.com", "email_verified": true}, "a@example.com", false, false},
		{"no email anywhere", map[string]any{"email_verified": true}, map[string]any{}, nil, true, false},
	}
	for _, tc := range tests {
		m := mergeClaims(tc.primary, tc.secondary, []string{"email"})
		v, ok := m["email_verified"]
		if m["email"] != tc.email || v != tc.verified || ok == tc.noVerifiedK {
			t.Errorf("%s: email %v email_verified %v (present %v); want %v %v", tc.name, m["email"], v, ok, tc.email, tc.verified)
		}
	}
}

func TestClaimValues(t *testing.T) {
	for v, want := range map[any][2]bool{true: {true, true}, false: {false, true}, "true": {true, true}, " TRUE ": {true, true},
		"false": {false, true}, "yes": {false, false}, 1.0: {false, false}} {
		if got, present := claimBool(v); got != want[0] || present != want[1] {
			t.Errorf("claimBool(%#v) = %v, %v", v, got, present)
		}
	}
	if got := claimTime(json.Number("1700000000")); got.Unix() != 1700000000 {
		t.Errorf("claimTime(json.Number) = %v", got)
	}
	if got := claimTime(1700000000.0); got.Unix() != 1700000000 {
		t.Errorf("claimTime(float64) = %v", got)
	}
	for _, v := range []any{"1700000000", json.Number("-5"), nil} {
		if got := claimTime(v); !got.IsZero() {
			t.Errorf("claimTime(%#v) = %v", v, got)
		}
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: rk.Public(), KeyID: "sig", Use: "sig"},
		{Key: ek.Public(), KeyID: "nouse"},
		{Key: rk.Public(), KeyID: "enc", Use: "enc"},
		{Key: []byte("hmac-secret-0123456789"), KeyID: "oct"},
		{Key: rk, KeyID: "private"},
	}}
	b, _ := json.Marshal(set)
	var raw map[string][]map[string]any
	_ = json.Unmarshal(b, &raw)
	raw["keys"] = append(raw["keys"], map[string]any{"kty": "OKP-unknown", "kid": "weird"})
	b, _ = json.Marshal(raw)
	keys, skipped, err := parseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range keys {
		kids = append(kids, k.KeyID)
	}
	if len(kids) != 2 || kids[0] != "sig" || kids[1] != "nouse" || skipped != 4 {
		t.Fatalf("kept %v, skipped %d; want [sig nouse], 4", kids, skipped)
	}
	if _, _, err := parseJWKS([]byte(`{"nokeys":[]}`)); err == nil {
		t.Fatal("JWKS without keys accepted")
	}
	// Candidates match kid, alg and key type.
	candidates := func(keys []jose.JSONWebKey, kid, alg string) (out []jose.JSONWebKey) {
		for i := range keys {
			if candidate(&keys[i], kid, alg) {
				out = append(out, keys[i])
			}
		}
		return out
	}
	if c := candidates(keys, "sig", "ES256"); len(c) != 0 {
		t.Fatalf("RSA key offered for ES256: %v", c)
	}
	if c := candidates(keys, "", "ES256"); len(c) != 1 || c[0].KeyID != "nouse" {
		t.Fatalf("candidates without kid: %v", c)
	}
}

func TestMetadataUsable(t *testing.T) {
	base := func() *Metadata {
		return &Metadata{Issuer: "https://idp.example", AuthorizationEndpoint: "https://idp.example/a", TokenEndpoint: "https://idp.example/t",
			JWKSURI: "https://idp.example/k", ResponseTypesSupported: []string{"code"}, IDTokenSigningAlgValuesSupported: []string{"RS256"}}
	}
	if err := base().usable("https://idp.example", nil, false, defaultAlgs); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Metadata){
		"issuer":       func(m *Metadata) { m.Issuer = "https://other.example" },
		"no token":     func(m *Metadata) { m.TokenEndpoint = "" },
		"no jwks":      func(m *Metadata) { m.JWKSURI = "" },
		"no auth":      func(m *Metadata) { m.AuthorizationEndpoint = "" },
		"http token":   func(m *Metadata) { m.TokenEndpoint = "http://idp.example/t" },
		"implicit":     func(m *Metadata) { m.ResponseTypesSupported = []string{"id_token", "token id_token"} },
		"only HS256":   func(m *Metadata) { m.IDTokenSigningAlgValuesSupported = []string{"HS256"} },
		"ftp userinfo": func(m *Metadata) { m.UserinfoEndpoint = "ftp://idp.example/u" },
	} {
		m := base()
		mut(m)
		if err := m.usable("https://idp.example", nil, false, defaultAlgs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestUnknownKeyAfterAnotherLoginsRefetch: a login that looked at the
// cached keys before another login refetched them (after a rotation) uses
// the new keys instead of failing on the rate limit.
func TestUnknownKeyAfterAnotherLoginsRefetch(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	op := oidctest.Start(t, oidctest.Config{Now: clock})
	c, err := New(Config{ID: "acme", Issuer: op.Issuer(), ClientID: "app", ClientSecret: "s", RedirectURL: "https://app.example/cb",
		CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true, Now: clock, StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{Now: clock})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * DefaultJWKSMinRefetchInterval)
	p, err := c.provider(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old, err := p.keys.Get(ctx) // this login's snapshot
	if err != nil {
		t.Fatal(err)
	}
	op.RotateKey()
	if err := p.keys.RefreshLimited(ctx, c.cfg.JWKSMinRefetchInterval); err != nil { // another login's refetch
		t.Fatal(err)
	}
	tok := op.Sign(op.Claims("app", "alice-0001", "n"))
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	dot := strings.LastIndexByte(tok, '.')
	s := signedInput{input: tok[:dot], sig: jws.Signatures[0].Signature, alg: h.Algorithm}
	if _, err := c.verifyWith(ctx, s, h.KeyID, p.keys, old); err != nil {
		t.Fatalf("verify from the old snapshot: %v", err)
	}
	if n := c.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times; want 2", n)
	}
}

func TestParseClientKey(t *testing.T) {
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("PRIVATE KEY", der)
	}
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p224DER, _ := x509.MarshalECPrivateKey(p224)
	for name, tc := range map[string]struct {
		pem  []byte
		alg  jose.SignatureAlgorithm
		fail string
	}{
		"RSA PKCS#1":   {pem: pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048)), alg: jose.RS256},
		"P-384":        {pem: pkcs8(p384), alg: jose.ES384},
		"P-521":        {pem: pkcs8(p521), alg: jose.ES512},
		"Ed25519":      {pem: pkcs8(ed), alg: jose.EdDSA},
		"RSA 1024":     {pem: pkcs8(rsa1024), fail: "2048"},
		"P-224":        {pem: pemOf("EC PRIVATE KEY", p224DER), fail: "curve"},
		"certificate":  {pem: pemOf("CERTIFICATE", []byte{1}), fail: "not a private key"},
		"broken PKCS8": {pem: pemOf("PRIVATE KEY", []byte{1, 2, 3}), fail: "cannot parse"},
		"no PEM":       {pem: []byte("nothing"), fail: "no PEM"},
	} {
		k, err := parseClientKey(tc.pem, "")
		switch {
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("%s: %v; want an error mentioning %q", name, err, tc.fail)
		case tc.fail == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.fail == "" && (k.alg != tc.alg || len(k.kid) != 43):
			t.Errorf("%s: alg %s kid %q", name, k.alg, k.kid)
		}
	}
}

// TestSignedInputVerify checks ssokit's signature check for every
// algorithm the allow-list may name against signatures made by go-jose: it
// accepts them with the right key, and refuses a changed input, a changed
// signature, a key of another type and an ECDSA key on another curve.
func TestSignedInputVerify(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	type keyPair struct {
		priv any
		pub  any
	}
	keys := map[string]keyPair{
		"RS256": {rsaKey, &rsaKey.PublicKey}, "RS384": {rsaKey, &rsaKey.PublicKey}, "RS512": {rsaKey, &rsaKey.PublicKey},
		"PS256": {rsaKey, &rsaKey.PublicKey}, "PS384": {rsaKey, &rsaKey.PublicKey}, "PS512": {rsaKey, &rsaKey.PublicKey},
		"ES256": {p256, &p256.PublicKey}, "ES384": {p384, &p384.PublicKey}, "ES512": {p521, &p521.PublicKey},
		"EdDSA": {edPriv, edPub},
	}
	if len(keys) != len(defaultAlgs) {
		t.Fatalf("test covers %d algorithms, the allow-list has %d", len(keys), len(defaultAlgs))
	}
	others := []any{&rsaKey.PublicKey, &p256.PublicKey, &p384.PublicKey, &p521.PublicKey, edPub}
	for _, alg := range defaultAlgs {
		kp := keys[alg]
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: kp.priv}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign([]byte(`{"sub":"alice"}`))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := obj.CompactSerialize()
		dot := strings.LastIndexByte(tok, '.')
		s := signedInput{input: tok[:dot], sig: obj.Signatures[0].Signature, alg: alg}
		if !s.verify(kp.pub) {
			t.Errorf("%s: go-jose's signature refused", alg)
		}
		changed := s
		changed.input = tok[:dot-1] + "x"
		if changed.verify(kp.pub) {
			t.Errorf("%s: a changed signing input accepted", alg)
		}
		flipped := s
		flipped.sig = slices.Clone(s.sig)
		flipped.sig[len(flipped.sig)/2] ^= 1
		if flipped.verify(kp.pub) {
			t.Errorf("%s: a changed signature accepted", alg)
		}
		if short := (signedInput{input: s.input, sig: s.sig[:len(s.sig)-1], alg: alg}); short.verify(kp.pub) {
			t.Errorf("%s: a truncated signature accepted", alg)
		}
		for _, o := range others {
			if _, ed := o.(ed25519.PublicKey); ed && alg == "EdDSA" || !ed && o == kp.pub {
				continue
			}
			if s.verify(o) {
				t.Errorf("%s: verified with a %T", alg, o)
			}
		}
	}
	if (signedInput{input: "a.b", sig: []byte{1}, alg: "HS256"}).verify(&rsaKey.PublicKey) {
		t.Error("HS256 verified")
	}
}

// TestTokenRoundTrip reads token endpoint answers as golang.org/x/oauth2
// read them: JSON or form-encoded bodies, expires_in as a number or a
// string, error codes with any status, and no access token refused.
func TestTokenRoundTrip(t *testing.T) {
	var ctype, body string
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	c := &Connection{client: srv.Client()}
	for name, tc := range map[string]struct {
		ctype, body string
		status      int
		access, id  string
		expires     time.Duration
		code        string // the RetrieveError's code; "-" for another error
	}{
		"JSON":                  {"application/json", `{"access_token":"at","token_type":"bearer","id_token":"x.y.z","expires_in":3600}`, 200, "at", "x.y.z", time.Hour, ""},
		"expires_in string":     {"application/json; charset=utf-8", `{"access_token":"at","expires_in":"60"}`, 200, "at", "", time.Minute, ""},
		"form encoded":          {"application/x-www-form-urlencoded", `access_token=at&id_token=a.b.c&expires_in=5`, 200, "at", "a.b.c", 5 * time.Second, ""},
		"text/plain":            {"text/plain", `access_token=at`, 200, "at", "", 0, ""},
		"error with 400":        {"application/json", `{"error":"invalid_grant","error_description":"used"}`, 400, "", "", 0, "invalid_grant"},
		"error with 200":        {"application/json", `{"error":"invalid_client"}`, 200, "", "", 0, "invalid_client"},
		"form error":            {"application/x-www-form-urlencoded", `error=access_denied`, 400, "", "", 0, "access_denied"},
		"500 without JSON":      {"text/html", `<h1>down</h1>`, 500, "", "", 0, ""},
		"no access token":       {"application/json", `{"id_token":"x.y.z"}`, 200, "", "", 0, "-"},
		"not JSON":              {"application/json", `{"access_token":`, 200, "", "", 0, "-"},
		"expires_in not number": {"application/json", `{"access_token":"at","expires_in":"soon"}`, 200, "", "", 0, "-"},
	} {
		ctype, body, status = tc.ctype, tc.body, tc.status
		req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
		tok, err := c.tokenRoundTrip(req)
		var re *oauth2.RetrieveError
		switch {
		case tc.access != "":
			if err != nil || tok.AccessToken != tc.access || tok.IDToken != tc.id || tok.expiresIn() != tc.expires {
				t.Errorf("%s: %+v, %v", name, tok, err)
			}
		case tc.code == "-":
			if err == nil || errors.As(err, &re) {
				t.Errorf("%s: %+v, %v; want an error that is no RetrieveError", name, tok, err)
			}
		default:
			if !errors.As(err, &re) || re.ErrorCode != tc.code || re.Response.StatusCode != tc.status {
				t.Errorf("%s: %+v, %v; want a RetrieveError with code %q", name, tok, err, tc.code)
			}
		}
	}
	if got := (&tokenResponse{AccessToken: "x", TokenType: "bearer"}).tokenType(); got != "Bearer" {
		t.Errorf("token type %q", got)
	}
}

// TestAttributesAreIndependent: single-valued attributes share storage,
// but a host appending to one never changes another.
func TestAttributesAreIndependent(t *testing.T) {
	a := attributes(map[string]any{"a": "1", "b": "2", "c": json.Number("3"), "g": []any{"x", "y"}, "n": nil})
	a["a"] = append(a["a"], "more")
	if len(a) != 4 || a["b"][0] != "2" || a["c"][0] != "3" || len(a["b"]) != 1 || strings.Join(a["g"], ",") != "x,y" {
		t.Fatalf("attributes %v", a)
	}
}
