package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

// FuzzVerifyIDToken feeds arbitrary strings to VerifyIDToken: it must
// never panic, and every failure is an *sso.Error.
func FuzzVerifyIDToken(f *testing.F) {
	e := newEnv(f, oidctest.Config{}, nil)
	good := e.op.Sign(e.op.Claims(clientID, "alice-0001", "n"))
	f.Add(good)
	for _, m := range []oidctest.Misbehavior{{AlgNone: true}, {HS256WithPublicKey: true}, {EncryptedIDToken: true}, {BadSignature: true}} {
		e.op.Misbehave(m)
		f.Add(e.op.Sign(e.op.Claims(clientID, "alice-0001", "n")))
	}
	e.op.Misbehave(oidctest.Misbehavior{})
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

// completeEnv is one provider and connection for FuzzComplete, started
// once per process: a TLS server, its keys and the discovery are what make
// a login expensive, not checking a callback.
type completeEnv struct {
	op      *oidctest.Server
	conn    *oidc.Connection
	binding string
}

var completeFuzzEnv = sync.OnceValues(func() (*completeEnv, error) {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		return nil, err
	}
	op.AddClient(oidctest.Client{ID: clientID, Secret: secret, RedirectURIs: []string{redirectURL}})
	conn, err := oidc.New(oidc.Config{
		ID: "acme", Issuer: op.Issuer(), ClientID: clientID, ClientSecret: secret, RedirectURL: redirectURL,
		CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true,
		StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{}),
	})
	if err != nil {
		return nil, err
	}
	if err := conn.Refresh(context.Background()); err != nil {
		return nil, err
	}
	return &completeEnv{op: op, conn: conn, binding: sso.NewBinding()}, nil
})

// Switches of FuzzComplete's first argument: which parts of the callback
// are genuine.
const (
	cbRealState   = 1 << iota // the state of the flow Begin stored
	cbRealCode                // a code the provider issued for that flow
	cbIss                     // an iss parameter...
	cbRealIss                 // ...naming the provider
	cbError                   // an error parameter
	cbOtherBinder             // Complete in another browser
	cbRepeat                  // the fuzzed state and code repeated
	cbOtherCode               // the code of another flow (code substitution)
)

// FuzzComplete feeds callbacks to Connection.Complete against an in-process
// provider. Each input starts a real login with Begin; the first argument
// says which of state, code and iss are the genuine ones (the code comes
// from the provider's authorization endpoint for that login, or for
// another one) and which are fuzzed, and whether an error parameter,
// another browser or repeated parameters take part.
//
// Properties: no panic; every error is an *sso.Error with a Detail and one
// of the Reasons a callback may give; and an identity comes back only for
// the flow's own state, in its own browser, with the code the provider
// issued for it, and it is the user who logged in at the provider.
func FuzzComplete(f *testing.F) {
	env, err := completeFuzzEnv()
	if err != nil {
		f.Fatal(err)
	}
	all := uint8(cbRealState | cbRealCode | cbIss | cbRealIss)
	f.Add(all, "", "", "", "")
	f.Add(uint8(cbRealState|cbRealCode), "", "", "", "")
	f.Add(all|cbError, "", "", "", "access_denied")
	f.Add(uint8(cbRealState|cbIss|cbRealIss|cbError), "", "", "", "login_required")
	f.Add(all|cbOtherBinder, "", "", "", "")
	f.Add(all|cbOtherCode, "", "", "", "")
	f.Add(all|cbRepeat, "x", "y", "", "")
	f.Add(uint8(cbRealState|cbRealCode|cbIss), "", "", "https://attacker.example", "")
	f.Add(uint8(cbRealState|cbIss), "", "forged-code", env.op.Issuer(), "")
	f.Add(uint8(cbIss|cbRealIss), "forged-state", "forged-code", "", "")
	f.Add(uint8(0), "", "", "", "")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sw uint8, state, code, iss, errCode string) {
		// Only a prefix is read: Go's fuzzer spends time quadratic in an
		// input's length minimising each new one.
		state, code, iss, errCode = prefix(state), prefix(code), prefix(iss), prefix(errCode)
		step, err := env.conn.Begin(ctx, sso.BeginRequest{Binding: env.binding})
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		q := url.Values{}
		if sw&(cbRealCode|cbOtherCode) != 0 {
			authURL := step.URL
			if sw&cbOtherCode != 0 {
				other, err := env.conn.Begin(ctx, sso.BeginRequest{Binding: env.binding})
				if err != nil {
					t.Fatalf("Begin: %v", err)
				}
				authURL = other.URL
			}
			back, err := env.op.Authorize(authURL, "alice@example.com")
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			code = back.Query().Get("code")
		}
		if sw&cbRealState != 0 {
			state = step.State
		}
		for k, v := range map[string]string{"state": state, "code": code} {
			if v != "" {
				q.Set(k, v)
				if sw&cbRepeat != 0 {
					q.Add(k, v+"x")
				}
			}
		}
		if sw&cbIss != 0 {
			if sw&cbRealIss != 0 {
				iss = env.op.Issuer()
			}
			q.Set("iss", iss)
		}
		if sw&cbError != 0 {
			q.Set("error", errCode)
			q.Set("error_description", errCode)
		}
		binding := env.binding
		if sw&cbOtherBinder != 0 {
			binding = "another-browser"
		}
		id, err := env.conn.Complete(ctx, sso.CompleteRequest{Binding: binding, Params: q})
		if err != nil {
			var e *sso.Error
			if !errors.As(err, &e) || !callbackReasons[e.Reason] || e.Detail == "" {
				t.Fatalf("callback %v: error %#v", q, err)
			}
			return
		}
		genuine := sw&(cbRealState|cbRealCode) == cbRealState|cbRealCode && sw&(cbOtherCode|cbOtherBinder|cbRepeat) == 0 &&
			(sw&cbIss == 0 || iss == env.op.Issuer()) && (sw&cbError == 0 || errCode == "")
		if !genuine {
			t.Fatalf("callback %v (switches %08b) accepted as %q", q, sw, id.Subject)
		}
		if id.Subject != "alice-0001" || id.Email != "alice@example.com" || id.Issuer != env.op.Issuer() {
			t.Fatalf("identity %+v; want alice-0001 of %s", id, env.op.Issuer())
		}
	})
}

func prefix(s string) string { return s[:min(len(s), 64)] }

// callbackReasons are the Reasons Complete may give for a callback.
var callbackReasons = map[sso.Reason]bool{
	sso.ReasonInvalidRequest: true, sso.ReasonStateMissing: true, sso.ReasonStateMismatch: true,
	sso.ReasonIssuerMismatch: true, sso.ReasonIdPError: true, sso.ReasonAuthenticationRequired: true,
	sso.ReasonUnavailable: true, sso.ReasonTokenExchangeFailed: true, sso.ReasonReplayed: true,
}

// FuzzConfigKeys: the PEM inputs of a connection (the private_key_jwt key
// and the CA certificates for the provider's TLS) never panic Validate, a
// refusal is an *sso.Error with ReasonInvalidConfig and a Detail, and what
// Validate accepts New accepts too. An input is a PEM block type and DER
// bytes for each (an empty type passes the bytes as the text itself), and
// the seeds are small keys (Ed25519, P-256) and a P-256 CA, so that inputs
// stay short: Go's fuzzer spends time quadratic in an input's length
// minimising each new one.
func FuzzConfigKeys(f *testing.F) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true}
	ca, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	if err != nil {
		f.Fatal(err)
	}
	p8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			f.Fatal(err)
		}
		return der
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	f.Add("PRIVATE KEY", p8(ec), "CERTIFICATE", ca)
	f.Add("PRIVATE KEY", p8(ed), "", []byte(nil))
	f.Add("EC PRIVATE KEY", sec1, "CERTIFICATE", ca)
	f.Add("PRIVATE KEY", p8(ed), "CERTIFICATE", ca[:len(ca)/2])
	f.Add("EC PRIVATE KEY", p8(ec), "TRUSTED CERTIFICATE", ca)
	f.Add("RSA PRIVATE KEY", sec1, "", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"))
	f.Add("", []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"), "CERTIFICATE", []byte{})
	f.Fuzz(func(t *testing.T, keyType string, keyDER []byte, caType string, caDER []byte) {
		keyDER, caDER = keyDER[:min(len(keyDER), 512)], caDER[:min(len(caDER), 512)]
		cfg := oidc.Config{ID: "acme", Issuer: "https://login.example.com", ClientID: clientID, RedirectURL: redirectURL,
			AuthMethod: oidc.AuthPrivateKeyJWT, PrivateKeyPEM: sso.Secret(pemOrText(keyType, keyDER)), CACertPEM: []byte(pemOrText(caType, caDER))}
		if err := cfg.Validate(); err != nil {
			var e *sso.Error
			if !errors.As(err, &e) || e.Reason != sso.ReasonInvalidConfig || e.Detail == "" {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if _, err := oidc.New(cfg); err != nil {
			t.Fatalf("Validate accepts the configuration but New refuses it: %v", err)
		}
	})
}

// pemOrText returns b as a PEM block of type typ, or as it is when typ is
// empty.
func pemOrText(typ string, b []byte) string {
	if typ == "" {
		return string(b)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}))
}
