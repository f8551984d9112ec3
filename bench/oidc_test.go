package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

const (
	oidcClientID = "bench-client"
	oidcSecret   = "bench-secret"
	oidcRedirect = "https://app.example.test/oidc/c1/callback"
	oidcSubject  = "alice-0001"
	oidcNonce    = "n-0123456789abcdef"
)

// oidcFixture is one provider and, for the same client, ssokit's
// connection, go-oidc's verifier (discovery and remote key set, as its
// documentation sets it up) and zitadel's relying party verifier, all with
// warm key caches, and one RS256 ID token with the usual profile claims.
type oidcFixture struct {
	op      *oidctest.Server
	conn    *oidc.Connection
	gooidc  *gooidc.IDTokenVerifier
	zitadel *rp.IDTokenVerifier
	token   string
}

func newOIDCFixture(tb testing.TB) *oidcFixture {
	tb.Helper()
	ctx := context.Background()
	op := oidctest.Start(tb, oidctest.Config{})
	op.AddClient(oidctest.Client{ID: oidcClientID, Secret: oidcSecret, RedirectURIs: []string{oidcRedirect}})
	f := &oidcFixture{op: op}
	var err error
	f.conn, err = oidc.New(oidc.Config{ID: "c1", Issuer: op.Issuer(), ClientID: oidcClientID, ClientSecret: sso.Secret(oidcSecret),
		RedirectURL: oidcRedirect, CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true,
		StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})})
	if err != nil {
		tb.Fatal(err)
	}
	provider, err := gooidc.NewProvider(gooidc.ClientContext(ctx, op.Client()), op.Issuer())
	if err != nil {
		tb.Fatal(err)
	}
	f.gooidc = provider.Verifier(&gooidc.Config{ClientID: oidcClientID})
	nonce := oidcNonce
	r, err := rp.NewRelyingPartyOIDC(ctx, op.Issuer(), oidcClientID, oidcSecret, oidcRedirect, []string{"openid", "email", "profile"},
		rp.WithHTTPClient(op.Client()),
		rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return nonce })))
	if err != nil {
		tb.Fatal(err)
	}
	f.zitadel = r.IDTokenVerifier()
	claims := op.Claims(oidcClientID, oidcSubject, oidcNonce)
	claims["email"], claims["email_verified"], claims["name"] = "alice@example.com", true, "Alice Liddell"
	claims["given_name"], claims["family_name"], claims["locale"] = "Alice", "Liddell", "en-GB"
	f.token = op.Sign(claims)
	return f
}

// profile is what a caller of go-oidc or zitadel reads from the token.
type profile struct {
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

type oidcCheck struct {
	name  string
	check func(f *oidcFixture, tok string) error
}

var oidcChecks = []oidcCheck{
	// ssokit: VerifyIDToken (signature against the cached JWKS, algorithm
	// allow-list, iss, aud, azp, exp, iat, nbf, nonce; every claim in a map).
	{"ssokit", func(f *oidcFixture, tok string) error {
		id, err := f.conn.VerifyIDToken(context.Background(), tok, oidcNonce)
		if err != nil {
			return err
		}
		if id.Subject != oidcSubject {
			return fmt.Errorf("subject %q", id.Subject)
		}
		return nil
	}},
	// go-oidc: Verify (signature against the remote key set's cache, iss,
	// aud, exp), then the nonce and the profile claims, as its caller must.
	{"go-oidc", func(f *oidcFixture, tok string) error {
		idt, err := f.gooidc.Verify(context.Background(), tok)
		if err != nil {
			return err
		}
		if idt.Nonce != oidcNonce {
			return errors.New("go-oidc: nonce mismatch")
		}
		var p profile
		if err := idt.Claims(&p); err != nil {
			return err
		}
		if idt.Subject != oidcSubject || p.Email == "" {
			return fmt.Errorf("subject %q", idt.Subject)
		}
		return nil
	}},
	// zitadel: rp.VerifyIDToken (signature, iss, aud, azp, exp, iat,
	// nonce) into its IDTokenClaims.
	{"zitadel", func(f *oidcFixture, tok string) error {
		c, err := rp.VerifyIDToken[*zoidc.IDTokenClaims](context.Background(), tok, f.zitadel)
		if err != nil {
			return err
		}
		if c.Subject != oidcSubject || c.Email == "" {
			return fmt.Errorf("subject %q", c.Subject)
		}
		return nil
	}},
}

// tamperJWT changes the subject in the token's payload and keeps the
// signature.
func tamperJWT(tb testing.TB, tok string) string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		tb.Fatal(err)
	}
	claims["sub"] = "mallory-01"
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func (f *oidcFixture) acceptAndRefuse(tb testing.TB, c oidcCheck) {
	tb.Helper()
	if err := c.check(f, f.token); err != nil {
		tb.Fatalf("%s refuses the valid token: %v", c.name, err)
	}
	f.op.Misbehave(oidctest.Misbehavior{WrongAudience: true})
	other := f.op.Claims("another-client", oidcSubject, oidcNonce)
	other["email"] = "alice@example.com"
	wrongAud := f.op.Sign(other)
	f.op.Misbehave(oidctest.Misbehavior{})
	for _, bad := range []struct{ what, tok string }{
		{"a tampered token", tamperJWT(tb, f.token)},
		{"a token for another client", wrongAud},
	} {
		mustRefuse(tb, c.name, bad.what, c.check(f, bad.tok))
	}
}

func TestOIDCPeersAcceptAndRefuse(t *testing.T) {
	f := newOIDCFixture(t)
	for _, c := range oidcChecks {
		t.Run(c.name, func(t *testing.T) { f.acceptAndRefuse(t, c) })
	}
}

// BenchmarkOIDCIDToken times the verification of the same RS256 ID token
// with warm key caches.
func BenchmarkOIDCIDToken(b *testing.B) {
	f := newOIDCFixture(b)
	floorHere(b)
	for _, c := range oidcChecks {
		b.Run(c.name, func(b *testing.B) {
			f.acceptAndRefuse(b, c)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.check(f, f.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
