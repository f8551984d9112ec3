package saml_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// FuzzValidateResponse feeds changed responses to the whole check. It must
// never panic, every failure must be an *sso.Error with a Reason, and an
// accepted response can only carry the subject the IdP signed.
func FuzzValidateResponse(f *testing.F) {
	spKey, spCert, err := samltest.GenerateKeyPair("sp", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	idp, err := samltest.New(samltest.Config{BaseURL: "https://idp.example.test", Now: func() time.Time { return t0 },
		ServiceProviders: []samltest.ServiceProvider{{EntityID: spEntity, ACSURL: acsURL}}})
	if err != nil {
		f.Fatal(err)
	}
	cfg := idp.ConnectionConfig("c1", spEntity, acsURL)
	cfg.AllowIdPInitiated = true
	cfg.SPKeys = []saml.KeyPair{samltest.KeyPair(spKey, spCert)}
	// A replay cache that forgets, so that the same accepted input can be
	// checked again.
	cfg.ReplayCache = forgetful{}
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range []samltest.ResponseOptions{
		{Sign: samltest.SignAssertion}, {Sign: samltest.SignResponse}, {Sign: samltest.SignBoth},
		{Sign: samltest.SignBoth, Encrypt: true, EncryptionCertificate: spCert},
		{Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInsideForged}},
		{Misbehavior: samltest.Misbehavior{CommentInNameID: true}},
	} {
		o.User = "alice@example.com"
		b, err := idp.Response(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, err := sp.ValidateResponse(context.Background(), base64.StdEncoding.EncodeToString(raw), "")
		if err != nil {
			if r := sso.ReasonOf(err); r == "" || r == sso.ReasonInternal {
				t.Fatalf("untyped or internal error for bad input: %v", err)
			}
			return
		}
		if id.Subject != "alice@example.com" && id.Subject != "alice@example.com.attacker.test" {
			t.Fatalf("accepted a subject the IdP did not sign: %q", id.Subject)
		}
	})
}

type forgetful struct{}

func (forgetful) Seen(context.Context, string, time.Time) (bool, error) { return false, nil }

// FuzzCheckMetadata: pasted metadata never panics, and a report without
// error-severity problems always describes a usable IdP.
func FuzzCheckMetadata(f *testing.F) {
	idp, err := samltest.New(samltest.Config{BaseURL: "https://idp.example.test"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(idp.Metadata())
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2001-01-01T00:00:00Z" cacheDuration="P1Y2M3DT4H5M6.5S"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := saml.CheckMetadata(data, saml.CheckOptions{Now: t0})
		if r.OK() && (r.EntityID == "" || len(r.SigningCertificates) == 0 || len(r.SSO) == 0) {
			t.Fatalf("OK report without entity ID, certificate or SSO endpoint: %+v", r)
		}
	})
}

// FuzzParseCertificates: pasted certificate text never panics, and errors
// are typed.
func FuzzParseCertificates(f *testing.F) {
	idp, err := samltest.New(samltest.Config{BaseURL: "https://idp.example.test"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(idp.CertificatePEM())
	f.Add([]byte(base64.StdEncoding.EncodeToString(idp.Certificate().Raw)))
	f.Add(idp.Certificate().Raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := saml.ParseCertificates(data)
		if err != nil && sso.ReasonOf(err) != sso.ReasonInvalidConfig {
			t.Fatalf("error with reason %s: %v", sso.ReasonOf(err), err)
		}
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}
