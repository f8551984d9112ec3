package saml_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func TestParseCertificates(t *testing.T) {
	_, c1, _ := samltest.GenerateKeyPair("one", t0, t0.Add(time.Hour))
	_, c2, _ := samltest.GenerateKeyPair("two", t0, t0.Add(time.Hour))
	p1, p2 := string(samltest.CertificatePEM(c1)), string(samltest.CertificatePEM(c2))
	b1, b2 := base64.StdEncoding.EncodeToString(c1.Raw), base64.StdEncoding.EncodeToString(c2.Raw)
	oneLine := strings.ReplaceAll(strings.TrimSpace(p1), "\n", "")
	for name, c := range map[string]struct {
		in   string
		want int
	}{
		"pem":                       {p1, 1},
		"two pem":                   {p1 + "\n" + p2, 2},
		"pem crlf":                  {strings.ReplaceAll(p1, "\n", "\r\n"), 1},
		"pem on one line":           {oneLine, 1},
		"pem with spaces":           {strings.ReplaceAll(p1, "\n", "\n   "), 1},
		"base64 one line":           {b1, 1},
		"base64 many lines":         {wrap(b1, 64), 1},
		"base64 indented":           {"  " + strings.ReplaceAll(wrap(b1, 76), "\n", "\n    ") + "\n", 1},
		"two base64 blank-line sep": {wrap(b1, 64) + "\n\n" + wrap(b2, 64), 2},
		"der":                       {string(c1.Raw), 1},
		"der concatenated":          {string(c1.Raw) + string(c2.Raw), 2},
		"bom":                       {"\ufeff" + p1, 1},
	} {
		certs, err := saml.ParseCertificates([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(certs) != c.want || !certs[0].Equal(c1) {
			t.Errorf("%s: %d certificates", name, len(certs))
		}
	}
	for name, in := range map[string]string{
		"empty":          "  ",
		"garbage":        "not a certificate!",
		"no end line":    "-----BEGIN CERTIFICATE-----\n" + b1,
		"base64 not DER": base64.StdEncoding.EncodeToString([]byte("hello world")),
		"private key":    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
		"bad der":        "\x30\x03\x01\x02",
	} {
		_, err := saml.ParseCertificates([]byte(in))
		if !strings.Contains(sso.ReasonOf(err).Error(), "invalid_config") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestParseDEREndingInSpaceByte: DER is binary, so its last byte may be
// 0x20 or a line break; it must not be trimmed like text.
func TestParseDEREndingInSpaceByte(t *testing.T) {
	spaceByte := func(b []byte) bool { return bytes.ContainsAny(b[len(b)-1:], " \t\r\n\v\f") }
	key, _, _ := samltest.GenerateKeyPair("k", t0, t0.Add(time.Hour))
	var der []byte
	for serial := int64(1); der == nil || !spaceByte(der); serial++ {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: t0, NotAfter: t0.Add(time.Hour)}
		der, _ = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	}
	if certs, err := saml.ParseCertificates(der); err != nil || len(certs) != 1 {
		t.Fatalf("certificate DER ending in %#x: %v", der[len(der)-1], err)
	}
	var keyDER []byte
	for keyDER == nil || !spaceByte(keyDER) {
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		keyDER, _ = x509.MarshalECPrivateKey(ec)
	}
	if _, err := saml.ParsePrivateKey(keyDER); err != nil {
		t.Fatalf("key DER ending in %#x: %v", keyDER[len(keyDER)-1], err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	k, _, _ := samltest.GenerateKeyPair("k", t0, t0.Add(time.Hour))
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	for name, in := range map[string][]byte{
		"pkcs8": samltest.KeyPEM(k), "pkcs1": pkcs1,
		"ec":     pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
		"der":    x509.MarshalPKCS1PrivateKey(k),
		"base64": []byte(base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(k))),
	} {
		if _, err := saml.ParsePrivateKey(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, in := range map[string]string{
		"empty":     "",
		"encrypted": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
		"cert":      string(samltest.CertificatePEM(mustCert(t))),
		"garbage":   "xyz!",
	} {
		_, err := saml.ParsePrivateKey([]byte(in))
		if err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func mustCert(t *testing.T) *x509.Certificate {
	_, c, err := samltest.GenerateKeyPair("c", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSPMetadata(t *testing.T) {
	k1, c1, _ := samltest.GenerateKeyPair("sp new", t0, t0.Add(365*24*time.Hour))
	k2, c2, _ := samltest.GenerateKeyPair("sp old", t0, t0.Add(365*24*time.Hour))
	for _, c := range []struct {
		name               string
		mod                func(*saml.Config)
		signing, encryptOK bool
		slo                bool
	}{
		{"no key", nil, false, false, false},
		{"key", func(c *saml.Config) { c.SPKeys = []saml.KeyPair{samltest.KeyPair(k1, c1), samltest.KeyPair(k2, c2)} }, false, true, false},
		{"signed requests", func(c *saml.Config) {
			c.SPKeys = []saml.KeyPair{samltest.KeyPair(k1, c1)}
			c.SignAuthnRequests = true
		}, true, true, false},
		{"slo", func(c *saml.Config) {
			c.SPKeys = []saml.KeyPair{samltest.KeyPair(k1, c1)}
			c.SLOURL = "https://app.example.test/saml/c1/slo"
		}, true, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, samltest.Config{}, c.mod)
			b, err := e.sp.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(b); err != nil {
				t.Fatal(err)
			}
			ed := doc.Root()
			d := ed.FindElement("./SPSSODescriptor")
			if ed.SelectAttrValue("entityID", "") != spEntity || d.SelectAttrValue("WantAssertionsSigned", "") != "true" {
				t.Fatalf("metadata:\n%s", b)
			}
			acs := d.FindElement("./AssertionConsumerService")
			if acs.SelectAttrValue("Location", "") != acsURL || acs.SelectAttrValue("Binding", "") != saml.BindingHTTPPost {
				t.Fatalf("ACS = %v", acs.Attr)
			}
			if len(d.FindElements("./NameIDFormat")) == 0 {
				t.Fatal("no NameIDFormat")
			}
			var signing, enc []string
			for _, kd := range d.FindElements("./KeyDescriptor") {
				cert := kd.FindElement(".//X509Certificate").Text()
				if kd.SelectAttrValue("use", "") == "signing" {
					signing = append(signing, cert)
				} else {
					enc = append(enc, cert)
				}
			}
			want1 := base64.StdEncoding.EncodeToString(c1.Raw)
			if c.signing != (len(signing) == 1 && signing[0] == want1) {
				t.Errorf("signing KeyDescriptors = %d", len(signing))
			}
			if c.encryptOK != (len(enc) == 1 && enc[0] == want1) {
				t.Errorf("encryption KeyDescriptors = %d (only the current key is published)", len(enc))
			}
			if c.slo != (d.FindElement("./SingleLogoutService") != nil) {
				t.Errorf("SingleLogoutService present = %v", !c.slo)
			}
			if d.SelectAttrValue("AuthnRequestsSigned", "") != map[bool]string{true: "true", false: "false"}[e.cfg.SignAuthnRequests] {
				t.Errorf("AuthnRequestsSigned = %q", d.SelectAttrValue("AuthnRequestsSigned", ""))
			}
			// The SP metadata is not IdP metadata.
			if r := saml.CheckMetadata(b, saml.CheckOptions{}); r.OK() {
				t.Error("CheckMetadata accepts SP metadata as IdP metadata")
			}
		})
	}
}

func TestCheckMetadata(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	good := string(idp.Metadata())
	r := saml.CheckMetadata([]byte(good), saml.CheckOptions{})
	if !r.OK() || r.EntityID != idp.EntityID() || len(r.SigningCertificates) != 1 || len(r.SSO) != 2 || len(r.NameIDFormats) != 3 {
		t.Fatalf("good metadata: %+v", r)
	}
	noPost := strings.Replace(good, `Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="`+idp.SSOURL()+`"`, `Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://idp.example.test/soap"`, 1)
	onlySOAP := strings.Replace(noPost, `Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="`+idp.SSOURL()+`"`, `Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://idp.example.test/soap"`, 1)
	noCert := cut(good, "<md:KeyDescriptor", "</md:KeyDescriptor>")
	transientOnly := strings.NewReplacer(saml.NameIDFormatEmailAddress, saml.NameIDFormatTransient, saml.NameIDFormatPersistent, saml.NameIDFormatTransient, saml.NameIDFormatUnspecified, saml.NameIDFormatTransient).Replace(good)
	_, expired, _ := samltest.GenerateKeyPair("old", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	expiredMD := strings.Replace(good, base64.StdEncoding.EncodeToString(idp.Certificate().Raw), base64.StdEncoding.EncodeToString(expired.Raw), 1)
	wantSigned := strings.Replace(good, `WantAuthnRequestsSigned="false"`, `WantAuthnRequestsSigned="true"`, 1)
	withCert := func(c *x509.Certificate) string {
		return strings.Replace(good, base64.StdEncoding.EncodeToString(idp.Certificate().Raw), base64.StdEncoding.EncodeToString(c.Raw), 1)
	}
	_, soon, _ := samltest.GenerateKeyPair("soon", time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour))
	weakKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	weakDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &weakKey.PublicKey, weakKey)
	weak, _ := x509.ParseCertificate(weakDER)
	stale := strings.Replace(good, "<md:EntityDescriptor ", `<md:EntityDescriptor validUntil="2001-01-01T00:00:00Z" `, 1)
	noEntityID := strings.Replace(good, `entityID="`+idp.EntityID()+`"`, "", 1)
	saml11 := strings.Replace(good, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"`, 1)
	badLocation := strings.ReplaceAll(good, `Location="`+idp.SSOURL()+`"`, `Location="idp.example.test/sso"`)
	encryptionOnly := strings.Replace(good, `<md:KeyDescriptor use="signing">`, `<md:KeyDescriptor use="encryption">`, 1)
	two := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + strings.SplitN(good, "?>", 2)[1] +
		strings.Replace(strings.SplitN(good, "?>", 2)[1], idp.EntityID(), "https://idp2.example.test/", 1) + `</md:EntitiesDescriptor>`
	for _, c := range []struct {
		name, xml string
		ok        bool
		want      string
	}{
		{"not xml", "hello", false, "not well-formed"},
		{"doctype", `<!DOCTYPE x><x/>`, false, "DOCTYPE"},
		{"wrong root", `<foo/>`, false, "not a SAML metadata"},
		{"no HTTP-POST", noPost, true, "no SingleSignOnService with the HTTP-POST binding"},
		{"no usable binding", onlySOAP, false, "HTTP-POST or HTTP-Redirect"},
		{"no signing cert", noCert, false, "no signing certificate"},
		{"transient only", transientOnly, true, "NameID formats"},
		{"expired cert", expiredMD, true, "has expired"},
		{"wants signed requests", wantSigned, false, "wants signed AuthnRequests"},
		{"two IdPs", two, false, "describes 2 identity providers"},
		{"expiring cert", withCert(soon), true, "expires in 9 days"},
		{"weak key", withCert(weak), true, "weak RSA-1024 key"},
		{"stale document", stale, false, "(validUntil); get a fresh copy"},
		{"no entity ID", noEntityID, false, "has no entityID"},
		{"SAML 1.1 only", saml11, false, "does not list the SAML 2.0 protocol"},
		{"relative SSO location", badLocation, false, "is not an http(s) URL"},
		{"encryption key only", encryptionOnly, false, "no signing certificate"},
		{"no single logout", string(stripSLO([]byte(good))), true, "no SingleLogoutService"},
	} {
		r := saml.CheckMetadata([]byte(c.xml), saml.CheckOptions{})
		var all []string
		for _, p := range r.Problems {
			all = append(all, string(p.Severity)+": "+p.Detail)
		}
		if r.OK() != c.ok || !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s: OK %v; problems:\n%s\nwant OK %v and %q", c.name, r.OK(), strings.Join(all, "\n"), c.ok, c.want)
		}
	}
	// Signing requests makes the IdP's wish satisfiable; EntityID picks one.
	if r := saml.CheckMetadata([]byte(wantSigned), saml.CheckOptions{SignsRequests: true}); !r.OK() {
		t.Errorf("SignsRequests: %v", r.Err())
	}
	if r := saml.CheckMetadata([]byte(two), saml.CheckOptions{EntityID: "https://idp2.example.test/"}); !r.OK() || r.EntityID != "https://idp2.example.test/" {
		t.Errorf("EntityID pick: %+v", r)
	}
	// The format the SP will ask for is checked against what the IdP offers.
	r = saml.CheckMetadata([]byte(transientOnly), saml.CheckOptions{NameIDFormat: saml.NameIDFormatPersistent})
	if !r.OK() || !strings.Contains(fmt.Sprint(r.Problems), "does not list the NameID format "+saml.NameIDFormatPersistent) {
		t.Errorf("NameIDFormat option: %+v", r.Problems)
	}
	if _, err := saml.ParseMetadata([]byte(noCert), ""); !strings.Contains(err.Error(), "no signing certificate") {
		t.Errorf("ParseMetadata: %v", err)
	}
}

func cut(s, from, to string) string {
	i := strings.Index(s, from)
	j := strings.Index(s, to)
	return s[:i] + s[j+len(to):]
}

func mustKey(t *testing.T) *rsa.PrivateKey {
	k, _, err := samltest.GenerateKeyPair("k", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCheckMetadataYearOutOfRange: a validUntil whose UTC year is before 0
// is ignored with a warning, so that the report still encodes as JSON.
func TestCheckMetadataYearOutOfRange(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	md := bytes.Replace(idp.Metadata(), []byte("<md:EntityDescriptor "), []byte(`<md:EntityDescriptor validUntil="0000-01-01T00:00:00+01:00" `), 1)
	r := saml.CheckMetadata(md, saml.CheckOptions{Now: t0})
	if r.ValidUntil != nil {
		t.Fatalf("ValidUntil = %v", r.ValidUntil)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("report does not encode: %v", err)
	}
	found := false
	for _, p := range r.Problems {
		found = found || (p.Severity == saml.SeverityWarning && strings.Contains(p.Detail, "validUntil"))
	}
	if !found {
		t.Fatalf("no warning about validUntil: %+v", r.Problems)
	}
}

// TestWantAuthnRequestsSignedWarning: an IdP that wants signed requests
// from a connection that does not sign them is reported at New.
func TestWantAuthnRequestsSignedWarning(t *testing.T) {
	var logs strings.Builder
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) {
		c.IdPMetadataXML = []byte(strings.Replace(string(c.IdPMetadataXML), `WantAuthnRequestsSigned="false"`, `WantAuthnRequestsSigned="true"`, 1))
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	if ev := e.events.of(sso.EventWarning); len(ev) != 1 || ev[0].Reason != sso.ReasonSigningKeyMissing || !strings.Contains(ev[0].Detail, "SignAuthnRequests") {
		t.Fatalf("warning events = %+v", ev)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "signing_key_missing") {
		t.Fatalf("the warning is not in the log:\n%s", logs.String())
	}
}

func TestConfigValidate(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	base := func() saml.Config { return idp.ConnectionConfig("c1", spEntity, acsURL) }
	for name, mod := range map[string]func(*saml.Config){
		"no ID":           func(c *saml.Config) { c.ID = "" },
		"no entity ID":    func(c *saml.Config) { c.EntityID = "" },
		"relative ACS":    func(c *saml.Config) { c.ACSURL = "/acs" },
		"no IdP":          func(c *saml.Config) { c.IdPMetadataXML = nil },
		"two IdP sources": func(c *saml.Config) { c.IdPMetadataURL = "https://idp.example.test/metadata" },
		"http metadata": func(c *saml.Config) {
			c.IdPMetadataXML = nil
			c.IdPMetadataURL = "http://idp.example.test/metadata"
		},
		"by hand without entity ID": func(c *saml.Config) {
			c.IdPMetadataXML = nil
			c.IdPCertificates = [][]byte{idp.CertificatePEM()}
		},
		"bad binding":      func(c *saml.Config) { c.RequestBinding = "urn:soap" },
		"sign without key": func(c *saml.Config) { c.SignAuthnRequests = true },
		"skew too large":   func(c *saml.Config) { c.ClockSkew = 2 * time.Hour },
		"negative size":    func(c *saml.Config) { c.MaxResponseBytes = -1 },
		"bad cert":         func(c *saml.Config) { c.IdPCertificates = [][]byte{[]byte("nope")} },
		"bad key":          func(c *saml.Config) { c.SPKeys = []saml.KeyPair{{Key: "nope"}} },
		"key and foreign cert": func(c *saml.Config) {
			k, _, _ := samltest.GenerateKeyPair("a", t0, t0)
			c.SPKeys = []saml.KeyPair{samltest.KeyPair(k, idp.Certificate())}
		},
		"bad metadata": func(c *saml.Config) { c.IdPMetadataXML = []byte("<x/>") },
		"signing key without certificate": func(c *saml.Config) {
			c.SPKeys = []saml.KeyPair{{Key: sso.Secret(samltest.KeyPEM(mustKey(t)))}}
			c.SignAuthnRequests = true
		},
		"request binding the IdP does not offer": func(c *saml.Config) {
			c.IdPMetadataXML = regexp.MustCompile(`<md:SingleSignOnService Binding="`+saml.BindingHTTPPost+`"[^>]*/>`).ReplaceAll(c.IdPMetadataXML, nil)
			c.RequestBinding = saml.BindingHTTPPost
		},
	} {
		c := base()
		mod(&c)
		_, err := saml.New(context.Background(), c)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if r := sso.ReasonOf(err); r != sso.ReasonInvalidConfig && r != sso.ReasonMetadataInvalid && r != sso.ReasonAddressNotAllowed {
			t.Errorf("%s: reason %s: %v", name, r, err)
		}
		if !strings.Contains(err.Error(), `"c1"`) && name != "no ID" {
			t.Errorf("%s: error does not name the connection: %v", name, err)
		}
	}
}
