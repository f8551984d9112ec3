package saml_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func TestEncryptedAssertion(t *testing.T) {
	newKey, newCert, _ := samltest.GenerateKeyPair("sp new", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	oldKey, oldCert, _ := samltest.GenerateKeyPair("sp old", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	_, otherCert, _ := samltest.GenerateKeyPair("someone else", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	rotating := func(c *saml.Config) {
		c.SPKeys = []saml.KeyPair{samltest.KeyPair(newKey, newCert), samltest.KeyPair(oldKey, oldCert)}
	}
	for _, mode := range []samltest.SignMode{samltest.SignAssertion, samltest.SignResponse, samltest.SignBoth} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			e := newEnv(t, samltest.Config{Sign: mode}, rotating)
			for name, cert := range map[string]*x509.Certificate{"new": newCert, "old": oldCert} {
				id, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: cert})
				if err != nil {
					t.Fatalf("encrypted for the %s key: %v", name, err)
				}
				if id.Subject != "alice@example.com" || id.Email != "alice@example.com" {
					t.Fatalf("identity = %+v", id)
				}
			}
			_, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: otherCert})
			wantReason(t, err, sso.ReasonDecryptionFailed)
		})
	}
	// Anyone holding the SP's public certificate can encrypt an assertion:
	// encryption proves nothing, a signature is still required, and the
	// signature inside obeys the algorithm rules.
	t.Run("unsigned", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, rotating)
		_, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: newCert, Misbehavior: samltest.Misbehavior{Unsigned: true}})
		wantReason(t, err, sso.ReasonSignatureMissing)
	})
	t.Run("SHA-1 signature inside", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, rotating)
		_, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: newCert, Misbehavior: samltest.Misbehavior{SHA1: true}})
		wantReason(t, err, sso.ReasonAlgorithmNotAllowed)
	})
	t.Run("assertion nested inside", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, rotating)
		nest := func(a *etree.Element) {
			inner := a.Copy()
			inner.CreateAttr("ID", "_nested")
			a.CreateElement("saml:Advice").AddChild(inner)
		}
		_, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: newCert, EditAssertion: nest})
		wantReason(t, err, sso.ReasonAssertionCount)
	})
	t.Run("no SP key", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, nil)
		_, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: newCert})
		wantReason(t, err, sso.ReasonDecryptionFailed)
	})
	t.Run("key without certificate", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
			c.SPKeys = []saml.KeyPair{{Key: sso.Secret(samltest.KeyPEM(oldKey))}}
		})
		if _, err := e.login(samltest.ResponseOptions{Encrypt: true, EncryptionCertificate: oldCert}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("corrupt ciphertext", func(t *testing.T) {
		e := newEnv(t, samltest.Config{}, func(c *saml.Config) { rotating(c); c.AllowIdPInitiated = true })
		b, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com", Encrypt: true, EncryptionCertificate: newCert})
		cv := regexp.MustCompile(`<xenc:CipherValue>([^<]+)</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`).FindSubmatch(b)
		ct, _ := base64.StdEncoding.DecodeString(string(cv[1]))
		ct[len(ct)-1] ^= 1
		b = bytes.Replace(b, cv[1], []byte(base64.StdEncoding.EncodeToString(ct)), 1)
		_, err := e.complete(base64.StdEncoding.EncodeToString(b), "", "")
		wantReason(t, err, sso.ReasonDecryptionFailed)
		// A ciphertext shorter than the GCM nonce must not panic.
		b = bytes.Replace(b, []byte(base64.StdEncoding.EncodeToString(ct)), []byte("AAAA"), 1)
		_, err = e.complete(base64.StdEncoding.EncodeToString(b), "", "")
		wantReason(t, err, sso.ReasonDecryptionFailed)
	})
	t.Run("signed Response covers the ciphertext", func(t *testing.T) {
		e := newEnv(t, samltest.Config{Sign: samltest.SignResponse}, func(c *saml.Config) { rotating(c); c.AllowIdPInitiated = true })
		b, _ := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com", Encrypt: true, EncryptionCertificate: newCert})
		// Re-encrypting for the same key is something anyone with the SP's
		// public certificate can do; the Response signature must catch it.
		forged, _ := e.idp.Response(samltest.ResponseOptions{User: "bob@example.com", Encrypt: true, EncryptionCertificate: newCert, Sign: samltest.SignResponse})
		re := regexp.MustCompile(`(?s)<saml:EncryptedAssertion[^>]*>.*</saml:EncryptedAssertion>`)
		if re.Find(forged) == nil || !re.Match(b) {
			t.Fatal("no EncryptedAssertion found")
		}
		b = re.ReplaceAll(b, re.Find(forged))
		_, err := e.complete(base64.StdEncoding.EncodeToString(b), "", "")
		wantReason(t, err, sso.ReasonSignatureInvalid)
	})
}
