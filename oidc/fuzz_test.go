package oidc_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

// FuzzVerifyIDToken feeds arbitrary strings to VerifyIDToken: it must
// never panic, and every failure is an *sso.Error.
func FuzzVerifyIDToken(f *testing.F) {
	e := newEnv(f, oidctest.Options{}, nil)
	good := e.op.Sign(e.op.Claims(clientID, "alice-0001", "n"))
	f.Add(good)
	for _, m := range []oidctest.Misbehaviour{{AlgNone: true}, {HS256WithPublicKey: true}, {EncryptedIDToken: true}, {BadSignature: true}} {
		e.op.Misbehave(m)
		f.Add(e.op.Sign(e.op.Claims(clientID, "alice-0001", "n")))
	}
	e.op.Misbehave(oidctest.Misbehaviour{})
	f.Add("")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzI1NiJ9.bnVsbA.AAAA")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := e.conn.VerifyIDToken(ctx, raw, "n")
		var se *sso.Error
		switch {
		case err == nil && (tok == nil || tok.Subject == ""):
			t.Fatalf("accepted %q without a subject", raw)
		case err == nil && raw != good:
			t.Fatalf("accepted %q", raw)
		case err != nil && !errors.As(err, &se):
			t.Fatalf("untyped error %T %v", err, err)
		}
	})
}

// FuzzParseMetadata: a discovery document never panics the parser or the
// compatibility report.
func FuzzParseMetadata(f *testing.F) {
	for _, name := range []string{"entra-tenant.json", "okta.json", "google.json", "keycloak.json", "auth0.json"} {
		b, err := os.ReadFile("testdata/discovery/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"issuer":"x","response_types_supported":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := oidc.ParseMetadata(b)
		if err != nil {
			var se *sso.Error
			if !errors.As(err, &se) || se.Reason != sso.ReasonMetadataInvalid {
				t.Fatalf("error %v", err)
			}
			return
		}
		r := m.Compatibility(m.Issuer)
		if r.Usable != (len(r.Missing) == 0) {
			t.Fatalf("report %+v", r)
		}
	})
}
