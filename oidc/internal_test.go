package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestMergeClaimsKeepsEmailWithItsVerification(t *testing.T) {
	id := map[string]any{"sub": "s", "email_verified": true, "name": "From ID token"}
	ui := map[string]any{"sub": "s", "email": "a@example.com", "email_verified": false, "name": "From userinfo", "locale": "fr"}
	m := mergeClaims(id, ui, "email")
	if m["email"] != "a@example.com" || m["email_verified"] != false {
		t.Fatalf("email %v verified %v: the ID token vouched for userinfo's address", m["email"], m["email_verified"])
	}
	if m["name"] != "From ID token" || m["locale"] != "fr" {
		t.Fatalf("merge %v", m)
	}
	delete(ui, "email_verified")
	if m := mergeClaims(id, ui, "email"); m["email_verified"] != nil {
		t.Fatalf("email_verified %v kept from the ID token for userinfo's address", m["email_verified"])
	}
	// Both have an email: the primary's pair stays.
	id["email"] = "b@example.com"
	if m := mergeClaims(id, ui, "email"); m["email"] != "b@example.com" || m["email_verified"] != true {
		t.Fatalf("merge %v", m)
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
