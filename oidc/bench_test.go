package oidc_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc/oidctest"
)

// zitadelRP is zitadel's own relying party for the same provider and
// client: discovery, remote key set and its ID token verifier.
func zitadelRP(b *testing.B, e *env, nonce *string) rp.RelyingParty {
	r, err := rp.NewRelyingPartyOIDC(context.Background(), e.op.Issuer(), clientID, secret, redirectURL, []string{"openid", "email", "profile"},
		rp.WithHTTPClient(e.op.Client()),
		rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return *nonce })))
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// benchRSAFloor measures the RSA-2048 PKCS #1 v1.5 verification of tok's
// signature alone (SHA-256 of the signing input and the RSA operation): the
// floor every RS256 verifier pays, against which the other figures of the
// same run are read as multiples.
func benchRSAFloor(b *testing.B, pub crypto.PublicKey, tok string) {
	floor := rsaFloorFunc(b, pub, tok)
	b.ReportAllocs()
	for b.Loop() {
		floor()
	}
}

// rsaFloorFunc returns the floor's work: one verification of tok's
// signature with pub.
func rsaFloorFunc(b *testing.B, pub crypto.PublicKey, tok string) func() {
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	input := []byte(tok[:dot])
	k := pub.(*rsa.PublicKey)
	if k.N.BitLen() != 2048 {
		b.Fatalf("the provider's key has %d bits", k.N.BitLen())
	}
	return func() {
		sum := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyIDToken verifies the same RS256 ID token with warm key
// caches: ssokit's VerifyIDToken against zitadel's rp.VerifyIDToken.
func BenchmarkVerifyIDToken(b *testing.B) {
	e := newEnv(b, oidctest.Config{}, nil)
	ctx := context.Background()
	claims := e.op.Claims(clientID, "alice-0001", "n-1")
	claims["email"], claims["email_verified"], claims["name"] = "alice@example.com", true, "Alice Liddell"
	tok := e.op.Sign(claims)

	b.Run("floor=rsa2048-verify", func(b *testing.B) { benchRSAFloor(b, e.op.PublicKey(), tok) })
	b.Run("ssokit", func(b *testing.B) {
		if _, err := e.conn.VerifyIDToken(ctx, tok, "n-1"); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.conn.VerifyIDToken(ctx, tok, "n-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The three in turn, each timed on its own, so that all see the same
	// machine load: x-rsa metrics are each verifier's time in RSA
	// verifications of the same run.
	b.Run("interleaved", func(b *testing.B) {
		nonce := "n-1"
		v := zitadelRP(b, e, &nonce).IDTokenVerifier()
		floor := rsaFloorFunc(b, e.op.PublicKey(), tok)
		var tFloor, tSSO, tZitadel time.Duration
		for b.Loop() {
			t0 := time.Now()
			floor()
			t1 := time.Now()
			if _, err := e.conn.VerifyIDToken(ctx, tok, "n-1"); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if _, err := rp.VerifyIDToken[*zoidc.IDTokenClaims](ctx, tok, v); err != nil {
				b.Fatal(err)
			}
			t3 := time.Now()
			tFloor, tSSO, tZitadel = tFloor+t1.Sub(t0), tSSO+t2.Sub(t1), tZitadel+t3.Sub(t2)
		}
		b.ReportMetric(float64(tSSO)/float64(tFloor), "ssokit-x-rsa")
		b.ReportMetric(float64(tZitadel)/float64(tFloor), "zitadel-x-rsa")
	})
	b.Run("zitadel", func(b *testing.B) {
		nonce := "n-1"
		v := zitadelRP(b, e, &nonce).IDTokenVerifier()
		if _, err := rp.VerifyIDToken[*zoidc.IDTokenClaims](ctx, tok, v); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rp.VerifyIDToken[*zoidc.IDTokenClaims](ctx, tok, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCallback measures the callback of a login: state lookup, code
// exchange with PKCE at the provider's token endpoint (in-process, TLS over
// loopback with keep-alive) and ID token verification. The authorization
// step before it runs with the timer stopped. ssokit runs Complete (flow,
// replay cache, exchange, verification, claims); zitadel runs a state map
// lookup and rp.CodeExchange with its verifier.
func BenchmarkCallback(b *testing.B) {
	ctx := context.Background()
	b.Run("ssokit", func(b *testing.B) {
		e := newEnv(b, oidctest.Config{}, nil)
		req := sso.CompleteRequest{Binding: e.binding}
		prepare := func() {
			step, err := e.conn.Begin(ctx, sso.BeginRequest{Binding: e.binding})
			if err != nil {
				b.Fatal(err)
			}
			u, err := e.op.Authorize(step.URL, "alice-0001")
			if err != nil {
				b.Fatal(err)
			}
			req.Params = u.Query()
		}
		prepare()
		if _, err := e.conn.Complete(ctx, req); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			prepare()
			b.StartTimer()
			if _, err := e.conn.Complete(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("zitadel", func(b *testing.B) {
		e := newEnv(b, oidctest.Config{}, nil)
		var nonce string
		r := zitadelRP(b, e, &nonce)
		type pending struct{ nonce, verifier string }
		states := map[string]pending{}
		var code, state string
		prepare := func() {
			state, nonce = sso.NewBinding(), sso.NewBinding()
			verifier := sso.NewBinding()
			states[state] = pending{nonce, verifier}
			u := rp.AuthURL(state, r, rp.WithCodeChallenge(zoidc.NewSHACodeChallenge(verifier)), rp.AuthURLOpt(rp.WithURLParam("nonce", nonce)))
			cb, err := e.op.Authorize(u, "alice-0001")
			if err != nil {
				b.Fatal(err)
			}
			code, state = cb.Query().Get("code"), cb.Query().Get("state")
		}
		callback := func() {
			p, ok := states[state]
			if !ok {
				b.Fatal("state")
			}
			delete(states, state)
			if _, err := rp.CodeExchange[*zoidc.IDTokenClaims](ctx, code, r, rp.WithCodeVerifier(p.verifier)); err != nil {
				b.Fatal(err)
			}
		}
		prepare()
		callback()
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			prepare()
			b.StartTimer()
			callback()
		}
	})
}
