package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

const sloURL = "https://app.example.test/saml/c1/slo"

// noFollow returns a client that trusts idp and does not follow
// redirects.
func noFollow(idp *samltest.Server) *http.Client {
	c := idp.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// sloEnv is a connection with single logout to a samltest IdP on HTTP.
func sloEnv(t *testing.T, postOnly bool, signed bool) (*samltest.Server, *saml.ServiceProvider, *sso.Identity) {
	t.Helper()
	return sloEnvWith(t, samltest.Config{}, postOnly, signed)
}

func sloEnvWith(t *testing.T, idpCfg samltest.Config, postOnly bool, signed bool) (*samltest.Server, *saml.ServiceProvider, *sso.Identity) {
	t.Helper()
	idp := samltest.Start(t, idpCfg)
	k, c, _ := samltest.GenerateKeyPair("sp", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	sp := samltest.ServiceProvider{EntityID: spEntity, ACSURL: acsURL, SLOURL: sloURL}
	if signed {
		sp.SigningCertificate = c
	}
	_ = idp.AddServiceProvider(sp)
	md := idp.Metadata()
	if postOnly {
		md = regexp.MustCompile(`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"[^>]*/>`).ReplaceAll(md, nil)
	}
	cfg := saml.Config{ID: "c1", EntityID: spEntity, ACSURL: acsURL, SLOURL: sloURL, IdPMetadataXML: md}
	if signed {
		cfg.SPKeys = []saml.KeyPair{samltest.KeyPair(k, c)}
	}
	conn, err := saml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	step, _ := conn.Begin(context.Background(), sso.BeginRequest{Binding: browser})
	_, form, err := idp.RespondTo(step, samltest.ResponseOptions{User: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := conn.Complete(context.Background(), sso.CompleteRequest{Binding: browser, Params: form})
	if err != nil {
		t.Fatal(err)
	}
	return idp, conn, id
}

// followLogout sends the Logout step to the IdP and returns the parameters
// the IdP sends back to SLOURL.
func followLogout(t *testing.T, idp *samltest.Server, step *sso.Step) url.Values {
	t.Helper()
	var resp *http.Response
	var err error
	if step.Kind == sso.StepRedirect {
		resp, err = noFollow(idp).Get(step.URL)
	} else {
		resp, err = noFollow(idp).PostForm(step.URL, step.Form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusSeeOther {
		u, _ := url.Parse(resp.Header.Get("Location"))
		if !strings.HasPrefix(u.String(), sloURL+"?") {
			t.Fatalf("IdP redirected to %s", u)
		}
		return u.Query()
	}
	v := url.Values{}
	for _, m := range regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(string(body), -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if v.Get("SAMLResponse") == "" {
		t.Fatalf("IdP answer %d: %s", resp.StatusCode, body)
	}
	return v
}

func TestLogout(t *testing.T) {
	for _, c := range []struct {
		name             string
		postOnly, signed bool
		kind             sso.StepKind
	}{
		{"redirect signed", false, true, sso.StepRedirect},
		{"redirect unsigned", false, false, sso.StepRedirect},
		{"post signed", true, true, sso.StepPostForm},
		{"post unsigned", true, false, sso.StepPostForm},
	} {
		t.Run(c.name, func(t *testing.T) {
			idp, sp, id := sloEnv(t, c.postOnly, c.signed)
			step, err := sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, "/bye"))
			if err != nil {
				t.Fatal(err)
			}
			if step.Kind != c.kind {
				t.Fatalf("step kind %v", step.Kind)
			}
			params := followLogout(t, idp, step)
			recs := idp.LogoutRequests()
			if len(recs) != 1 {
				t.Fatalf("IdP saw %d logout requests", len(recs))
			}
			r := recs[0]
			if r.NameID != "alice@example.com" || r.NameIDFormat != saml.NameIDFormatEmailAddress || r.SessionIndex != id.SessionIndex || r.Issuer != spEntity {
				t.Errorf("LogoutRequest = %+v", r)
			}
			if r.Signed != c.signed || r.Verified != c.signed {
				t.Errorf("LogoutRequest signed %v verified %v; want %v", r.Signed, r.Verified, c.signed)
			}
			res, err := sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: params})
			if err != nil {
				t.Fatal(err)
			}
			if res.ReturnTo != "/bye" || res.Partial {
				t.Errorf("result = %+v", res)
			}
			// The flow is used once.
			_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: params})
			wantReason(t, err, sso.ReasonStateMissing)
		})
	}
}

func TestCompleteLogoutChecks(t *testing.T) {
	for _, postOnly := range []bool{false, true} {
		idp, sp, id := sloEnv(t, postOnly, true)
		params := func() url.Values {
			step, err := sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, ""))
			if err != nil {
				t.Fatal(err)
			}
			return followLogout(t, idp, step)
		}
		p := params()
		_, err := sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: "other-browser", Params: p})
		wantReason(t, err, sso.ReasonStateMismatch)

		p = params()
		if postOnly {
			xml, _ := base64.StdEncoding.DecodeString(p.Get("SAMLResponse"))
			xml = []byte(strings.Replace(string(xml), "status:Success", "status:Requester", 1))
			p.Set("SAMLResponse", base64.StdEncoding.EncodeToString(xml))
		} else {
			p.Set("RelayState", p.Get("RelayState")+"x") // the query signature covers RelayState
		}
		_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p})
		wantReason(t, err, sso.ReasonSignatureInvalid)

		// SHA-1 is refused without AllowSHA1, in the query signature as in
		// the XML signature.
		p = params()
		if postOnly {
			xml, _ := base64.StdEncoding.DecodeString(p.Get("SAMLResponse"))
			xml = []byte(strings.Replace(string(xml), dsig.RSASHA256SignatureMethod, dsig.RSASHA1SignatureMethod, 1))
			p.Set("SAMLResponse", base64.StdEncoding.EncodeToString(xml))
		} else {
			p.Set("SigAlg", dsig.RSASHA1SignatureMethod)
		}
		_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p})
		wantReason(t, err, sso.ReasonAlgorithmNotAllowed)

		_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: url.Values{"SAMLResponse": {"PHg+"}}})
		if err == nil {
			t.Fatal("accepted garbage")
		}
		_ = idp
	}
	idp, sp, id := sloEnv(t, false, false)
	_, err := sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: url.Values{}})
	wantReason(t, err, sso.ReasonInvalidRequest)

	// Unsigned answers (Signature dropped) with another status.
	edited := func(from, to string) url.Values {
		step, err := sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, "/bye"))
		if err != nil {
			t.Fatal(err)
		}
		p := followLogout(t, idp, step)
		xml := string(inflate(t, p.Get("SAMLResponse")))
		if !strings.Contains(xml, from) {
			t.Fatalf("no %q in %s", from, xml)
		}
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, flate.BestCompression)
		fw.Write([]byte(strings.Replace(xml, from, to, 1)))
		fw.Close()
		return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(buf.Bytes())}, "RelayState": {p.Get("RelayState")}}
	}
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: edited(
		`<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>`,
		`<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/>`)})
	wantReason(t, err, sso.ReasonIdPError)
	res, err := sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: edited(
		`<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>`,
		`<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:PartialLogout"/></samlp:StatusCode>`)})
	if err != nil || !res.Partial || res.ReturnTo != "/bye" {
		t.Fatalf("partial logout: %+v %v", res, err)
	}
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: edited(`InResponseTo="`, `InResponseTo="x`)})
	wantReason(t, err, sso.ReasonInResponseToMismatch)
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: edited(`Destination="`, `Destination="https://elsewhere.example/`)})
	wantReason(t, err, sso.ReasonDestinationMismatch)
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: edited(`<saml:Issuer>`, `<saml:Issuer>https://other-idp.example/`)})
	wantReason(t, err, sso.ReasonIssuerMismatch)
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: edited(`Version="2.0"`, `Version="1.1"`)})
	wantReason(t, err, sso.ReasonMalformed)
}

// TestLogoutRedirectSignatureEncodings: the HTTP-Redirect binding signs
// the URL-encoded query as the IdP wrote it. CompleteLogout gets the
// decoded parameters and rebuilds the signed octets with upper-case
// escapes (most IdPs) and lower-case escapes (ADFS).
func TestLogoutRedirectSignatureEncodings(t *testing.T) {
	key, cert, err := samltest.GenerateKeyPair("idp", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idp, sp, id := sloEnvWith(t, samltest.Config{Key: key, Certificate: cert}, false, false)
	lower := func(s string) string {
		return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower)
	}
	for name, esc := range map[string]func(string) string{"upper-case": url.QueryEscape, "lower-case": lower} {
		step, err := sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, "/bye"))
		if err != nil {
			t.Fatal(err)
		}
		p := followLogout(t, idp, step)
		signed := "SAMLResponse=" + esc(p.Get("SAMLResponse")) + "&RelayState=" + esc(p.Get("RelayState")) + "&SigAlg=" + esc(p.Get("SigAlg"))
		sum := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		p.Set("Signature", base64.StdEncoding.EncodeToString(sig))
		if res, err := sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p}); err != nil || res.ReturnTo != "/bye" {
			t.Errorf("%s escapes: %+v %v", name, res, err)
		}
	}
}

// TestLogoutRedirectSignatureRawQuery: an IdP whose own encoding neither
// rebuild reproduces (here "/" and "+" left as they are, spaces as %20) is
// verified over the raw query the host passes; a raw query whose values
// differ from the parameters used is not trusted.
func TestLogoutRedirectSignatureRawQuery(t *testing.T) {
	key, cert, err := samltest.GenerateKeyPair("idp", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idp, sp, id := sloEnvWith(t, samltest.Config{Key: key, Certificate: cert}, false, false)
	odd := func(s string) string {
		e := url.PathEscape(s) // spaces as %20
		return strings.NewReplacer("%2F", "/", "=", "%3D", "+", "%2B").Replace(e)
	}
	step, err := sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, "/bye now"))
	if err != nil {
		t.Fatal(err)
	}
	p := followLogout(t, idp, step)
	signed := "SAMLResponse=" + odd(p.Get("SAMLResponse")) + "&RelayState=" + odd(p.Get("RelayState")) + "&SigAlg=" + odd(p.Get("SigAlg"))
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	p.Set("Signature", base64.StdEncoding.EncodeToString(sig))
	raw := signed + "&Signature=" + url.QueryEscape(p.Get("Signature"))
	if dec, err := url.ParseQuery(raw); err != nil || dec.Get("SAMLResponse") != p.Get("SAMLResponse") {
		t.Fatalf("test encoding does not round-trip: %v", err)
	}

	// Without the raw query, the rebuilt octets differ from what was signed.
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p})
	wantReason(t, err, sso.ReasonSignatureInvalid)

	// A genuinely signed raw query does not vouch for other parameters:
	// another LogoutResponse with the first one's raw query is refused.
	step, _ = sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, "/elsewhere"))
	p2 := followLogout(t, idp, step)
	p2.Set("SigAlg", p.Get("SigAlg"))
	p2.Set("Signature", p.Get("Signature"))
	_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p2, RawQuery: raw})
	wantReason(t, err, sso.ReasonSignatureInvalid)

	// With it, the signature verifies. (The first logout's state is still pending.)
	res, err := sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p, RawQuery: raw})
	if err != nil || res.ReturnTo != "/bye now" {
		t.Fatalf("raw query: %+v %v", res, err)
	}
}

func TestLogoutWithoutSLO(t *testing.T) {
	e := newEnv(t, samltest.Config{}, func(c *saml.Config) { c.IdPMetadataXML = stripSLO(c.IdPMetadataXML) })
	_, err := e.sp.Logout(context.Background(), saml.LogoutRequest{Binding: browser, NameID: "x"})
	wantReason(t, err, sso.ReasonLogoutNotSupported)

	// An IdP with SLO, but no SLOURL to come back to.
	e = newEnv(t, samltest.Config{}, nil)
	_, err = e.sp.Logout(context.Background(), saml.LogoutRequest{Binding: browser, NameID: "x"})
	wantReason(t, err, sso.ReasonLogoutNotSupported)
	e = newEnv(t, samltest.Config{}, func(c *saml.Config) { c.SLOURL = sloURL })
	_, err = e.sp.Logout(context.Background(), saml.LogoutRequest{Binding: browser, NameID: "x", ReturnTo: "https://evil.example/"})
	wantReason(t, err, sso.ReasonInvalidRequest)
	_, err = e.sp.Logout(context.Background(), saml.LogoutRequest{Binding: browser})
	wantReason(t, err, sso.ReasonSubjectMissing)
}

func stripSLO(md []byte) []byte {
	return regexp.MustCompile(`<md:SingleLogoutService[^>]*/>`).ReplaceAll(md, nil)
}

func TestLogoutRequestFor(t *testing.T) {
	id := &sso.Identity{Subject: "T5014CD", SubjectFormat: "UID", SessionIndex: "s1",
		Attributes: map[string][]string{saml.AttributeNameID: {"david@example.com"}, saml.AttributeNameIDFormat: {saml.NameIDFormatEmailAddress}}}
	r := saml.LogoutRequestFor(id, "b", "/x")
	if r.NameID != "david@example.com" || r.NameIDFormat != saml.NameIDFormatEmailAddress || r.SessionIndex != "s1" || r.Binding != "b" || r.ReturnTo != "/x" {
		t.Fatalf("%+v", r)
	}
}
