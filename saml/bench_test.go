package saml_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/url"
	"testing"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// benchSetup returns a connection, its IdP, and a gosaml2 service provider
// configured for the same IdP, SP and clock.
func benchSetup(tb testing.TB) (*saml.ServiceProvider, *samltest.Server, *saml2.SAMLServiceProvider, sso.StateStore) {
	idp := samltest.Start(tb, samltest.Config{EntityID: "https://idp.example.test/metadata", Now: func() time.Time { return t0 }})
	store := sso.NewMemoryStateStore(sso.MemoryOptions{Now: func() time.Time { return t0 }})
	cfg := idp.ConnectionConfig("c1", spEntity, acsURL)
	cfg.StateStore = store
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	raw := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      idp.SSOURL(),
		IdentityProviderIssuer:      idp.EntityID(),
		AssertionConsumerServiceURL: acsURL,
		ServiceProviderIssuer:       spEntity,
		AudienceURI:                 spEntity,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idp.Certificate()}},
		Clock:                       dsig.NewFakeClockAt(t0),
	}
	return sp, idp, raw, store
}

// pendingLogins stores n flows as Begin would and returns, for each, the
// Complete parameters of a distinct valid response answering it.
func pendingLogins(tb testing.TB, idp *samltest.Server, store sso.StateStore, n int) []url.Values {
	out := make([]url.Values, n)
	for i := range out {
		flowID, reqID := fmt.Sprintf("flow-%d", i), fmt.Sprintf("_req-%d", i)
		f := &sso.Flow{ID: flowID, Connection: "c1", RequestID: reqID, Created: t0, Expires: t0.Add(saml.DefaultFlowLifetime)}
		if err := sso.StoreFlows(store, browser).Save(context.Background(), f); err != nil {
			tb.Fatal(err)
		}
		enc, err := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com", InResponseTo: reqID})
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = url.Values{"SAMLResponse": {enc}, "RelayState": {flowID}}
	}
	return out
}

// TestBenchmarkPeersAgree makes sure both sides of BenchmarkACS accept the
// response they are timed on.
func TestBenchmarkPeersAgree(t *testing.T) {
	sp, idp, raw, store := benchSetup(t)
	p := pendingLogins(t, idp, store, 1)[0]
	info, err := raw.RetrieveAssertionInfo(p.Get("SAMLResponse"))
	if err != nil || info.NameID != "alice@example.com" || info.WarningInfo.InvalidTime || info.WarningInfo.NotInAudience {
		t.Fatalf("gosaml2: %v %+v", err, info)
	}
	id, err := sp.Complete(context.Background(), sso.CompleteRequest{Binding: browser, Params: p})
	if err != nil || id.Subject != "alice@example.com" {
		t.Fatalf("ssokit: %v", err)
	}
}

// BenchmarkACS compares the complete check of a valid signed response
// (ssokit: Complete with its flow and replay cache) with gosaml2's
// RetrieveAssertionInfo on a response of the same shape.
//
// Sub-benchmarks: ssokit on its default path; ssokit on the one-pass and
// the reference XML paths; gosaml2; and one RSA-2048 PKCS #1 v1.5 SHA-256
// verification, the unit the others are reported in.
func BenchmarkACS(b *testing.B) {
	b.Run("ssokit", func(b *testing.B) { benchComplete(b) })
	b.Run("ssokit-onepass", func(b *testing.B) {
		defer saml.SetOnePass(true)()
		benchComplete(b)
	})
	b.Run("ssokit-reference", func(b *testing.B) {
		defer saml.SetOnePass(false)()
		benchComplete(b)
	})
	b.Run("rsa2048-verify", func(b *testing.B) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256([]byte("SignedInfo"))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gosaml2", func(b *testing.B) {
		_, idp, raw, store := benchSetup(b)
		enc := pendingLogins(b, idp, store, 1)[0].Get("SAMLResponse")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := raw.RetrieveAssertionInfo(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchComplete(b *testing.B) {
	sp, idp, _, store := benchSetup(b)
	logins := pendingLogins(b, idp, store, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sp.Complete(ctx, sso.CompleteRequest{Binding: browser, Params: logins[i]}); err != nil {
			b.Fatal(err)
		}
	}
}
