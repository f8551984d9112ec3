package saml_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func setAttr(path, key, value string) func(*etree.Element) {
	return func(el *etree.Element) {
		e := el
		if path != "." {
			e = el.FindElement(path)
		}
		if value == "" {
			e.RemoveAttr(key)
		} else {
			e.CreateAttr(key, value)
		}
	}
}

func removeElement(path string) func(*etree.Element) {
	return func(el *etree.Element) {
		for _, e := range el.FindElements(path) {
			e.Parent().RemoveChild(e)
		}
	}
}

// TestAssertionChecks covers checks whose failure no samltest switch
// produces on its own: the assertion is edited before it is signed.
func TestAssertionChecks(t *testing.T) {
	past := "2030-01-02T02:50:00Z" // 14 minutes before t0
	future := "2030-01-02T03:20:00Z"
	cases := []struct {
		name string
		edit func(*etree.Element)
		want sso.Reason
	}{
		{"assertion issuer", func(a *etree.Element) { a.FindElement("./Issuer").SetText("https://other-idp.example/") }, sso.ReasonIssuerMismatch},
		{"no assertion issuer", removeElement("./Issuer"), sso.ReasonIssuerMismatch},
		{"confirmation expired", setAttr("./Subject/SubjectConfirmation/SubjectConfirmationData", "NotOnOrAfter", past), sso.ReasonExpired},
		{"confirmation without NotOnOrAfter", setAttr("./Subject/SubjectConfirmation/SubjectConfirmationData", "NotOnOrAfter", ""), sso.ReasonMalformed},
		{"confirmation not yet valid", setAttr("./Subject/SubjectConfirmation/SubjectConfirmationData", "NotBefore", future), sso.ReasonNotYetValid},
		{"confirmation NotBefore not a date", setAttr("./Subject/SubjectConfirmation/SubjectConfirmationData", "NotBefore", "yesterday"), sso.ReasonMalformed},
		{"conditions expired", setAttr("./Conditions", "NotOnOrAfter", past), sso.ReasonExpired},
		{"issued in the future", setAttr(".", "IssueInstant", future), sso.ReasonNotYetValid},
		{"no conditions", removeElement("./Conditions"), sso.ReasonAudienceMismatch},
		{"no audience restriction", removeElement("./Conditions/AudienceRestriction"), sso.ReasonAudienceMismatch},
		{"second restriction without us", func(a *etree.Element) {
			a.FindElement("./Conditions").CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText("https://other-sp.example/")
		}, sso.ReasonAudienceMismatch},
		{"holder-of-key only", setAttr("./Subject/SubjectConfirmation", "Method", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"), sso.ReasonMalformed},
		// Signed without ID, the assertion's Reference URI is "", which
		// also names the Response: that signature does not verify for it.
		{"no assertion ID", setAttr(".", "ID", ""), sso.ReasonSignatureInvalid},
		{"SAML 1.1 version", setAttr(".", "Version", "1.1"), sso.ReasonMalformed},
		{"no subject", removeElement("./Subject"), sso.ReasonSubjectMissing},
	}
	for _, c := range cases {
		// Debug mode logs the failing check and never skips it.
		for _, debug := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/debug=%v", c.name, debug), func(t *testing.T) {
				e := newEnv(t, samltest.Config{}, func(cfg *saml.Config) {
					cfg.Debug = debug
					cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
				})
				_, err := e.login(samltest.ResponseOptions{EditAssertion: c.edit})
				wantReason(t, err, c.want)
			})
		}
	}
	// SkipIssuerCheck (ssocheck with bare certificates) accepts any
	// Issuer, but the assertion must still have one.
	t.Run("no assertion issuer with SkipIssuerCheck", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.SkipIssuerCheck = true })
		if _, err := e.login(samltest.ResponseOptions{EditAssertion: func(a *etree.Element) { a.FindElement("./Issuer").SetText("https://other-idp.example/") }}); err != nil {
			t.Fatalf("SkipIssuerCheck: %v", err)
		}
		_, err := e.login(samltest.ResponseOptions{EditAssertion: removeElement("./Issuer")})
		wantReason(t, err, sso.ReasonIssuerMismatch)
	})
	t.Run("SAML 1.1 Response", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		_, err := e.login(samltest.ResponseOptions{EditResponse: setAttr(".", "Version", "1.1")})
		wantReason(t, err, sso.ReasonMalformed)
	})
	t.Run("no assertion ID in signed Response", func(t *testing.T) {
		e := newEnv(t, samltest.Config{Sign: samltest.SignResponse}, nil)
		_, err := e.login(samltest.ResponseOptions{EditAssertion: setAttr(".", "ID", "")})
		wantReason(t, err, sso.ReasonMalformed)
	})
	// An extra AudienceRestriction that does name us is fine, and so is a
	// second, non-bearer confirmation.
	e := newEnv(t, samltest.Config{}, nil)
	if _, err := e.login(samltest.ResponseOptions{EditAssertion: func(a *etree.Element) {
		r := a.FindElement("./Conditions").CreateElement("saml:AudienceRestriction")
		r.CreateElement("saml:Audience").SetText("https://other-sp.example/")
		r.CreateElement("saml:Audience").SetText(spEntity)
	}}); err != nil {
		t.Fatal(err)
	}
}

// TestDestination: a signed Response must carry Destination; an unsigned
// one (assertion signed) may omit it, since the signed Recipient binds the
// assertion to this ACS.
func TestDestination(t *testing.T) {
	noDest := setAttr(".", "Destination", "")
	e := newEnv(t, samltest.Config{Sign: samltest.SignResponse}, nil)
	_, err := e.login(samltest.ResponseOptions{EditResponse: noDest})
	wantReason(t, err, sso.ReasonDestinationMismatch)
	e = newEnv(t, samltest.Config{Sign: samltest.SignAssertion}, nil)
	if _, err := e.login(samltest.ResponseOptions{EditResponse: noDest}); err != nil {
		t.Fatalf("unsigned Response without Destination: %v", err)
	}
}

// TestResponseIssuer: the Response's Issuer is optional (SAML core); when
// present it must be the IdP.
func TestResponseIssuer(t *testing.T) {
	e := newEnv(t, samltest.Config{Sign: samltest.SignBoth}, nil)
	if _, err := e.login(samltest.ResponseOptions{EditResponse: removeElement("./Issuer")}); err != nil {
		t.Fatalf("no Response Issuer: %v", err)
	}
	_, err := e.login(samltest.ResponseOptions{EditResponse: func(r *etree.Element) { r.FindElement("./Issuer").SetText("https://other-idp.example/") }})
	wantReason(t, err, sso.ReasonIssuerMismatch)
}

// TestAlgorithms edits the signature algorithms after signing: unknown
// URIs and SHA-1 are refused before any signature work.
func TestAlgorithms(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	good, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com"})
	for name, edit := range map[string][2]string{
		"unknown signature method": {dsig.RSASHA256SignatureMethod, "http://example.com/xmldsig#rsa-md5"},
		"sha1 signature method":    {dsig.RSASHA256SignatureMethod, dsig.RSASHA1SignatureMethod},
		"unknown digest":           {"http://www.w3.org/2001/04/xmlenc#sha256", "http://example.com/xmldsig#md5"},
		"sha1 digest":              {"http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1"},
	} {
		b := bytes.Replace(good, []byte(edit[0]), []byte(edit[1]), 1)
		if bytes.Equal(b, good) {
			t.Fatalf("%s: nothing replaced", name)
		}
		_, err := e.complete(base64.StdEncoding.EncodeToString(b), "", "")
		t.Run(name, func(t *testing.T) { wantReason(t, err, sso.ReasonAlgorithmNotAllowed) })
	}
}

func TestTamperedContent(t *testing.T) {
	for _, mode := range []samltest.SignMode{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		e := newEnv(t, samltest.Config{Sign: mode}, func(c *saml.Config) { c.AllowIdPInitiated = true })
		b, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com"})
		b = bytes.Replace(b, []byte(">alice@example.com</saml:NameID>"), []byte(">admin@example.com</saml:NameID>"), 1)
		_, err := e.complete(base64.StdEncoding.EncodeToString(b), "", "")
		wantReason(t, err, sso.ReasonSignatureInvalid)
	}
}

func TestSizeCapBeforeParsing(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.MaxResponseBytes = 20000 })
	// 20200 bytes: within the encoded-length allowance, over the cap once
	// decoded.
	body := "<x>" + strings.Repeat("a", 20200-7) + "</x>"
	_, err := e.complete(base64.StdEncoding.EncodeToString([]byte(body)), "", "")
	wantReason(t, err, sso.ReasonRequestTooLarge)
}

func TestSignatureValueWithLineBreaks(t *testing.T) {
	// base64Binary allows white space; some IdPs wrap SignatureValue.
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	b, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com"})
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	sv := doc.FindElement("//SignatureValue")
	sv.SetText("\n    " + wrap(sv.Text(), 60) + "\n  ")
	out, _ := doc.WriteToBytes()
	if _, err := e.complete(base64.StdEncoding.EncodeToString(out), "", ""); err != nil {
		t.Fatal(err)
	}
}

// TestKeyValueKeyInfo: some IdPs (SecureWorks) put only the RSA key, no
// certificate, in KeyInfo; the key must be one the connection trusts.
func TestKeyValueKeyInfo(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.AllowIdPInitiated = true })
	withKey := func(pub *rsa.PublicKey) string {
		b, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com"})
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		ki := doc.FindElement("//Signature/KeyInfo")
		for _, c := range ki.ChildElements() {
			ki.RemoveChild(c)
		}
		kv := ki.CreateElement("ds:KeyValue").CreateElement("ds:RSAKeyValue")
		kv.CreateElement("ds:Modulus").SetText(base64.StdEncoding.EncodeToString(pub.N.Bytes()))
		kv.CreateElement("ds:Exponent").SetText("AQAB")
		out, _ := doc.WriteToBytes()
		return base64.StdEncoding.EncodeToString(out)
	}
	if _, err := e.complete(withKey(e.idp.Certificate().PublicKey.(*rsa.PublicKey)), "", ""); err != nil {
		t.Fatalf("trusted key value: %v", err)
	}
	other, _, _ := samltest.GenerateKeyPair("other", t0, t0.Add(time.Hour))
	_, err := e.complete(withKey(&other.PublicKey), "", "")
	wantReason(t, err, sso.ReasonUntrustedKey)
}
