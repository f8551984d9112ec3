package saml_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func TestBeginRedirect(t *testing.T) {
	e := newEnv(t, samltest.Config{}, nil)
	relay, reqID, step := e.begin(sso.BeginRequest{ForceAuthn: true, LoginHint: "alice@example.com"})
	if step.Kind != sso.StepRedirect || !strings.HasPrefix(step.URL, e.idp.SSOURL()+"?") {
		t.Fatalf("step = %v %s", step.Kind, step.URL)
	}
	if relay == "" || relay != step.State || len(relay) > 80 {
		t.Fatalf("RelayState %q, state %q (SAML limits RelayState to 80 bytes)", relay, step.State)
	}
	if !strings.HasPrefix(reqID, "_") || !step.Expires.Equal(t0.Add(saml.DefaultFlowLifetime)) {
		t.Fatalf("request ID %q expires %v", reqID, step.Expires)
	}
	u, _ := url.Parse(step.URL)
	if u.Query().Get("Signature") != "" {
		t.Fatal("unsigned request carries a Signature")
	}
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(inflate(t, u.Query().Get("SAMLRequest")))
	r := doc.Root()
	for attr, want := range map[string]string{
		"AssertionConsumerServiceURL": acsURL, "Destination": e.idp.SSOURL(), "ForceAuthn": "true",
		"ProtocolBinding": saml.BindingHTTPPost, "IssueInstant": "2030-01-02T03:04:05Z",
	} {
		if got := r.SelectAttrValue(attr, ""); got != want {
			t.Errorf("AuthnRequest %s = %q; want %q", attr, got, want)
		}
	}
	if r.FindElement("./Issuer").Text() != spEntity || r.FindElement("./NameIDPolicy") == nil {
		t.Errorf("AuthnRequest lacks Issuer or NameIDPolicy")
	}
	if r.FindElement("./Subject") != nil {
		t.Errorf("login hint sent without SendLoginHint")
	}
}

func TestBeginPostSigned(t *testing.T) {
	spKey, spCert, _ := samltest.GenerateKeyPair("sp", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.RequestBinding = saml.BindingHTTPPost
		c.SignAuthnRequests = true
		c.SendLoginHint = true
		c.NameIDFormat = saml.NameIDFormatPersistent
		c.SPKeys = []saml.KeyPair{samltest.KeyPair(spKey, spCert)}
	})
	relay, reqID, step := e.begin(sso.BeginRequest{LoginHint: "alice@example.com"})
	if step.Kind != sso.StepPostForm || step.URL != e.idp.SSOURL() || step.Form.Get("RelayState") != relay {
		t.Fatalf("step = %+v", step)
	}
	xml, _ := base64.StdEncoding.DecodeString(step.Form.Get("SAMLRequest"))
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(xml)
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{spCert}})
	vctx.Clock = dsig.NewFakeClockAt(t0)
	if _, err := vctx.Validate(doc.Root()); err != nil {
		t.Fatalf("AuthnRequest signature: %v", err)
	}
	if doc.Root().SelectAttrValue("ID", "") != reqID {
		t.Fatal("request ID differs")
	}
	if n := doc.FindElement("./AuthnRequest/Subject/NameID"); n == nil || n.Text() != "alice@example.com" {
		t.Fatalf("login hint missing")
	}
	if p := doc.FindElement("./AuthnRequest/NameIDPolicy"); p.SelectAttrValue("Format", "") != saml.NameIDFormatPersistent {
		t.Fatalf("NameIDPolicy = %v", p.Attr)
	}
	// The round trip still works with the POST binding.
	if _, err := e.complete(e.response(samltest.ResponseOptions{InResponseTo: reqID}), relay, browser); err != nil {
		t.Fatal(err)
	}
}

func TestBeginRedirectSigned(t *testing.T) {
	spKey, spCert, _ := samltest.GenerateKeyPair("sp", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.SignAuthnRequests = true
		c.SPKeys = []saml.KeyPair{samltest.KeyPair(spKey, spCert)}
	})
	_, _, step := e.begin(sso.BeginRequest{})
	u, _ := url.Parse(step.URL)
	q := u.Query()
	if q.Get("SigAlg") != dsig.RSASHA256SignatureMethod {
		t.Fatalf("SigAlg = %q", q.Get("SigAlg"))
	}
	signed := "SAMLRequest=" + url.QueryEscape(q.Get("SAMLRequest")) + "&RelayState=" + url.QueryEscape(q.Get("RelayState")) + "&SigAlg=" + url.QueryEscape(q.Get("SigAlg"))
	sig, _ := base64.StdEncoding.DecodeString(q.Get("Signature"))
	if err := spCert.CheckSignature(x509.SHA256WithRSA, []byte(signed), sig); err != nil {
		t.Fatalf("redirect signature: %v", err)
	}
}

func TestBeginErrors(t *testing.T) {
	e := newEnv(t, samltest.Config{}, nil)
	_, err := e.sp.Begin(context.Background(), sso.BeginRequest{})
	wantReason(t, err, sso.ReasonInvalidRequest)
	for _, rt := range []string{"https://evil.example/", "//evil.example", "javascript:alert(1)"} {
		_, err = e.sp.Begin(context.Background(), sso.BeginRequest{Binding: browser, ReturnTo: rt})
		wantReason(t, err, sso.ReasonInvalidRequest)
	}
	// A connection without SSO URL accepts only IdP-initiated logins.
	idpOnly, err := saml.New(context.Background(), saml.Config{ID: "x", EntityID: spEntity, ACSURL: acsURL,
		IdPEntityID: e.idp.EntityID(), IdPCertificates: [][]byte{e.idp.CertificatePEM()}, AllowIdPInitiated: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = idpOnly.Begin(context.Background(), sso.BeginRequest{Binding: browser})
	wantReason(t, err, sso.ReasonInvalidConfig)
}

// TestMFAEvidence: RequestedAuthnContext asks the IdP for multi-factor
// authentication; what the IdP states comes back on the Identity, and
// Identity.MFA is set only when it shows more than one factor (a class of
// MFAContexts, or Entra ID's multipleauthn method).
func TestMFAEvidence(t *testing.T) {
	const refedsMFA = "https://refeds.org/profile/mfa"
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.RequestedAuthnContext, c.RequestedAuthnComparison = []string{refedsMFA}, "minimum"
	})
	_, _, step := e.begin(sso.BeginRequest{})
	u, _ := url.Parse(step.URL)
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(inflate(t, u.Query().Get("SAMLRequest")))
	rac := doc.Root().FindElement("./RequestedAuthnContext")
	if rac == nil || rac.SelectAttrValue("Comparison", "") != "minimum" || rac.FindElement("./AuthnContextClassRef").Text() != refedsMFA {
		t.Fatalf("AuthnRequest has no RequestedAuthnContext for %s", refedsMFA)
	}
	plain := newEnv(t, samltest.Config{}, nil)
	_, _, step = plain.begin(sso.BeginRequest{})
	u, _ = url.Parse(step.URL)
	doc = etree.NewDocument()
	_ = doc.ReadFromBytes(inflate(t, u.Query().Get("SAMLRequest")))
	if doc.Root().FindElement("./RequestedAuthnContext") != nil {
		t.Fatal("RequestedAuthnContext sent without the setting")
	}

	for _, c := range []struct {
		name    string
		context string
		methods []string
		mfa     bool
	}{
		{"password", samltest.AuthnContextPassword, nil, false},
		{"REFEDS MFA", refedsMFA, nil, true},
		{"smartcard with PIN", "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", nil, true},
		{"Entra ID multipleauthn", samltest.AuthnContextPassword, []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password", "http://schemas.microsoft.com/claims/multipleauthn"}, true},
		{"Entra ID password only", samltest.AuthnContextPassword, []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := samltest.ResponseOptions{User: "alice@example.com", AuthnContext: c.context}
			if c.methods != nil {
				opts.Attributes = map[string][]string{saml.AttributeAuthnMethods: c.methods}
			}
			id, err := plain.login(opts)
			if err != nil {
				t.Fatal(err)
			}
			if id.AuthnContext != c.context || id.MFA != c.mfa || len(id.AuthnMethods) != len(c.methods) {
				t.Fatalf("AuthnContext %q AuthnMethods %v MFA %v", id.AuthnContext, id.AuthnMethods, id.MFA)
			}
		})
	}
	// A connection may name its IdP's own classes.
	own := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.MFAContexts = []string{"urn:example:acme:otp"} })
	if id, err := own.login(samltest.ResponseOptions{User: "alice@example.com", AuthnContext: "urn:example:acme:otp"}); err != nil || !id.MFA {
		t.Fatalf("own MFA class: %v %+v", err, id)
	}
	if id, err := own.login(samltest.ResponseOptions{User: "alice@example.com", AuthnContext: refedsMFA}); err != nil || id.MFA {
		t.Fatalf("a class outside MFAContexts: %v MFA %v", err, id.MFA)
	}
	if _, err := saml.New(context.Background(), saml.Config{ID: "x", EntityID: spEntity, ACSURL: acsURL, IdPMetadataXML: plain.idp.Metadata(),
		RequestedAuthnComparison: "minimum"}); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("a comparison without contexts: %v", err)
	}
}

// TestSPKeyRollover: a key with a future UseFrom is published in the SP
// metadata beside the current one and decrypts at once, and signs only
// from its date; no restart is needed for the switch.
func TestSPKeyRollover(t *testing.T) {
	oldKey, oldCert, _ := samltest.GenerateKeyPair("sp 2029", t0.Add(-time.Hour), t0.Add(60*24*time.Hour))
	newKey, newCert, _ := samltest.GenerateKeyPair("sp 2030", t0.Add(-time.Hour), t0.Add(800*24*time.Hour))
	switchAt := t0.Add(24 * time.Hour)
	next := samltest.KeyPair(newKey, newCert)
	next.UseFrom = switchAt
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.SignAuthnRequests = true
		c.SPKeys = []saml.KeyPair{samltest.KeyPair(oldKey, oldCert), next}
	})
	b64 := func(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }
	signedBy := func() *x509.Certificate {
		_, _, step := e.begin(sso.BeginRequest{})
		u, _ := url.Parse(step.URL)
		q := u.Query()
		signed := "SAMLRequest=" + url.QueryEscape(q.Get("SAMLRequest")) + "&RelayState=" + url.QueryEscape(q.Get("RelayState")) + "&SigAlg=" + url.QueryEscape(q.Get("SigAlg"))
		sig, _ := base64.StdEncoding.DecodeString(q.Get("Signature"))
		for _, c := range []*x509.Certificate{oldCert, newCert} {
			if c.CheckSignature(x509.SHA256WithRSA, []byte(signed), sig) == nil {
				return c
			}
		}
		t.Fatal("the AuthnRequest is signed by neither key")
		return nil
	}
	md := func() string {
		b, err := e.sp.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// Before the switch: the old key signs and comes first; the new one is
	// published and already decrypts.
	if signedBy() != oldCert {
		t.Fatal("the new key signs before its UseFrom")
	}
	m := md()
	if strings.Count(m, b64(oldCert)) != 2 || strings.Count(m, b64(newCert)) != 2 || strings.Index(m, b64(oldCert)) > strings.Index(m, b64(newCert)) {
		t.Fatalf("SP metadata before the switch:\n%s", m)
	}
	if id, err := e.login(samltest.ResponseOptions{User: "alice@example.com", Encrypt: true, EncryptionCertificate: newCert}); err != nil || id.Subject != "alice@example.com" {
		t.Fatalf("an assertion encrypted to the next key: %v", err)
	}
	if ks := e.sp.SPKeys(); len(ks) != 2 || !ks[0].Current || !ks[0].Published || ks[1].Current || !ks[1].Published || !ks[1].UseFrom.Equal(switchAt) {
		t.Fatalf("SPKeys before the switch: %+v", ks)
	}

	// After it: the new key signs and comes first; the old one still
	// decrypts but is no longer published.
	e.clock.Advance(25 * time.Hour)
	if signedBy() != newCert {
		t.Fatal("the old key still signs after the new key's UseFrom")
	}
	m = md()
	if strings.Contains(m, b64(oldCert)) || strings.Count(m, b64(newCert)) != 2 {
		t.Fatalf("SP metadata after the switch:\n%s", m)
	}
	if ks := e.sp.SPKeys(); ks[0].Current || ks[0].Published || !ks[1].Current || ks[0].Certificate.Subject != "CN=sp 2029" {
		t.Fatalf("SPKeys after the switch: %+v", ks)
	}
	if _, err := e.login(samltest.ResponseOptions{User: "alice@example.com", Encrypt: true, EncryptionCertificate: oldCert}); err != nil {
		t.Fatalf("an assertion still encrypted to the old key: %v", err)
	}
	// Only future keys: nothing may sign yet.
	_, err := saml.New(context.Background(), saml.Config{ID: "x", EntityID: spEntity, ACSURL: acsURL, IdPMetadataXML: e.idp.Metadata(),
		SignAuthnRequests: true, SPKeys: []saml.KeyPair{next}, Now: func() time.Time { return t0 }})
	wantReason(t, err, sso.ReasonInvalidConfig)
}

// TestAuthnRequestMatchesGosaml2: the AuthnRequest Begin writes straight
// to bytes is, element for element and attribute for attribute, the one
// gosaml2 builds, for every option that changes it and for values that
// need escaping.
func TestAuthnRequestMatchesGosaml2(t *testing.T) {
	for name, tc := range map[string]struct {
		mod   func(*saml.Config)
		force bool
		hint  string
	}{
		"plain":         {},
		"ForceAuthn":    {force: true},
		"login hint":    {mod: func(c *saml.Config) { c.SendLoginHint = true }, hint: `o'brien&<sons>@example.com`},
		"NameID format": {mod: func(c *saml.Config) { c.NameIDFormat = saml.NameIDFormatPersistent }},
		"authn context": {mod: func(c *saml.Config) {
			c.RequestedAuthnContext = []string{"urn:a", "urn:b&c"}
			c.RequestedAuthnComparison = "minimum"
		}},
		"escaped ACS URL": {mod: func(c *saml.Config) { c.ACSURL = "https://app.example.test/saml/c1/acs?x=1&y=\"2\"<>" }},
		"everything": {mod: func(c *saml.Config) {
			c.NameIDFormat, c.RequestedAuthnContext = saml.NameIDFormatEmailAddress, []string{"urn:x"}
		}, force: true, hint: "a@example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, samltest.Config{}, tc.mod)
			want, got, err := saml.AuthnRequests(e.sp, t0, tc.force, tc.hint)
			if err != nil {
				t.Fatal(err)
			}
			ws, _ := want.WriteToString()
			gs, _ := got.WriteToString()
			if ws != gs {
				t.Fatalf("written:\n%s\ngosaml2:\n%s", gs, ws)
			}
		})
	}
}
