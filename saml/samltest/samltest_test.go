package samltest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

var (
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// form returns the action and hidden fields of the first form in body.
func form(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	m := actionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in:\n%s", body)
	}
	v := url.Values{}
	end := strings.Index(body, "</form>")
	for _, f := range inputRE.FindAllStringSubmatch(body[:end], -1) {
		v.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), v
}

// noRedirect returns a client that trusts idp and does not follow
// redirects.
func noRedirect(idp *samltest.Server) *http.Client {
	c := idp.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func get(t *testing.T, idp *samltest.Server, u string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect(idp).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, idp *samltest.Server, u string, v url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect(idp).PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// loginAt fills the IdP login page at loginURL (GET) and returns the ACS
// form the IdP answers with.
func loginAt(t *testing.T, idp *samltest.Server, page, email, password string) (int, string, url.Values) {
	t.Helper()
	action, fields := form(t, page)
	fields.Set("email", email)
	fields.Set("password", password)
	resp, body := post(t, idp, action, fields)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, body, nil
	}
	acs, v := form(t, body)
	return resp.StatusCode, acs, v
}

const (
	spEntity = "https://app.example.test/saml/acme/metadata"
	acsURL   = "https://app.example.test/saml/acme/acs"
)

func newSP(t *testing.T, idp *samltest.Server, mod func(*saml.Config)) *saml.ServiceProvider {
	t.Helper()
	cfg := idp.ConnectionConfig("acme", spEntity, acsURL)
	if mod != nil {
		mod(&cfg)
	}
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestBrowserLogin(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{})
	sp := newSP(t, idp, nil)
	step, err := sp.Begin(context.Background(), sso.BeginRequest{Binding: "cookie", ReturnTo: "/home", LoginHint: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	resp, page := get(t, idp, step.URL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Sign in") {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
	}
	if code, _, _ := loginAt(t, idp, page, "bob@example.com", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d", code)
	}
	code, acs, fields := loginAt(t, idp, page, "bob@example.com", samltest.DefaultPassword)
	if code != http.StatusOK || acs != acsURL || fields.Get("RelayState") != step.State {
		t.Fatalf("ACS post: %d %s %v", code, acs, fields)
	}
	id, err := sp.Complete(context.Background(), sso.CompleteRequest{Binding: "cookie", Params: fields})
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "bob@example.com" || id.ReturnTo != "/home" || id.DisplayName != "Bob Builder" {
		t.Fatalf("identity = %+v", id)
	}
	// The login handle is single use.
	if code, _, _ := loginAt(t, idp, page, "bob@example.com", samltest.DefaultPassword); code != http.StatusBadRequest {
		t.Fatalf("reused login handle: status %d", code)
	}
}

func TestPostBindingAndMisbehavior(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{})
	sp := newSP(t, idp, func(c *saml.Config) { c.RequestBinding = saml.BindingHTTPPost })
	run := func() (*sso.Identity, error) {
		step, err := sp.Begin(context.Background(), sso.BeginRequest{Binding: "cookie"})
		if err != nil {
			t.Fatal(err)
		}
		_, page := post(t, idp, step.URL, step.Form)
		_, _, fields := loginAt(t, idp, page, "alice@example.com", samltest.DefaultPassword)
		return sp.Complete(context.Background(), sso.CompleteRequest{Binding: "cookie", Params: fields})
	}
	if _, err := run(); err != nil {
		t.Fatal(err)
	}
	idp.Misbehave(samltest.Misbehavior{WrongAudience: true})
	if _, err := run(); !errorIs(err, sso.ReasonAudienceMismatch) {
		t.Fatalf("wrong audience: %v", err)
	}
	// Replay: the IdP posts its previous response again.
	idp.Misbehave(samltest.Misbehavior{})
	if _, err := run(); err != nil {
		t.Fatal(err)
	}
	idp.Misbehave(samltest.Misbehavior{Replay: true})
	if _, err := run(); !errorIs(err, sso.ReasonInResponseToMismatch) && !errorIs(err, sso.ReasonReplayed) {
		t.Fatalf("replay: %v", err)
	}
}

func errorIs(err error, r sso.Reason) bool { return err != nil && sso.ReasonOf(err) == r }

func TestIdPInitiatedAndPath(t *testing.T) {
	// Endpoints below /idp, as a real IdP's often are.
	idp := samltest.Start(t, samltest.Config{Path: "/idp/", Users: []samltest.User{{Email: "dana@corp.example", Password: "s3cret", Attributes: map[string][]string{"UID": {"D-17"}}}}})
	root := strings.TrimSuffix(idp.URL(), "/idp")
	if root == idp.URL() {
		t.Fatalf("URL %s does not end with the path", idp.URL())
	}
	sp := newSP(t, idp, func(c *saml.Config) { c.AllowIdPInitiated = true; c.SubjectAttribute = "UID" })

	resp, md := get(t, idp, idp.MetadataURL())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metadata: %d", resp.StatusCode)
	}
	if r := saml.CheckMetadata([]byte(md), saml.CheckOptions{}); !r.OK() || r.EntityID != root+"/idp/metadata" {
		t.Fatalf("metadata check: %+v", r)
	}
	_, page := get(t, idp, idp.StartURL(spEntity, "/after"))
	code, acs, fields := loginAt(t, idp, page, "dana@corp.example", "s3cret")
	if code != http.StatusOK || acs != acsURL {
		t.Fatalf("IdP-initiated: %d %s", code, acs)
	}
	id, err := sp.Complete(context.Background(), sso.CompleteRequest{Params: fields})
	if err != nil {
		t.Fatal(err)
	}
	if !id.IdPInitiated || id.ReturnTo != "/after" || id.Subject != "D-17" {
		t.Fatalf("identity = %+v", id)
	}
	for _, u := range []string{root + "/idp/nope", root + "/metadata", root + "/idpx/metadata"} {
		if r, _ := get(t, idp, u); r.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d", u, r.StatusCode)
		}
	}
}

func TestEncryptedBrowserLogin(t *testing.T) {
	key, cert, err := samltest.GenerateKeyPair("sp enc", time.Now().Add(-time.Hour), time.Now().Add(time.Hour*24))
	if err != nil {
		t.Fatal(err)
	}
	idp := samltest.Start(t, samltest.Config{})
	sp := newSP(t, idp, func(c *saml.Config) { c.SPKeys = []saml.KeyPair{samltest.KeyPair(key, cert)} })
	_ = idp.AddServiceProvider(samltest.ServiceProvider{EntityID: spEntity, ACSURL: acsURL, EncryptionCertificate: cert})
	step, _ := sp.Begin(context.Background(), sso.BeginRequest{Binding: "c"})
	_, page := get(t, idp, step.URL)
	_, _, fields := loginAt(t, idp, page, "carol@example.com", samltest.DefaultPassword)
	if !strings.Contains(decode(t, fields.Get("SAMLResponse")), "EncryptedAssertion") {
		t.Fatal("the response is not encrypted")
	}
	id, err := sp.Complete(context.Background(), sso.CompleteRequest{Binding: "c", Params: fields})
	if err != nil || id.Subject != "carol@example.com" {
		t.Fatalf("encrypted login: %v %+v", err, id)
	}
}

func decode(t *testing.T, s string) string {
	b, err := base64Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewErrors(t *testing.T) {
	if _, err := samltest.NewServer(samltest.Config{Path: "idp"}); err == nil {
		t.Error("relative Path accepted")
	}
	k, _, _ := samltest.GenerateKeyPair("k", time.Now(), time.Now().Add(time.Hour))
	if _, err := samltest.NewServer(samltest.Config{Key: k}); err == nil {
		t.Error("Key without Certificate accepted")
	}
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	if idp.EntityID() != "https://idp.example.test/metadata" {
		t.Errorf("EntityID = %s", idp.EntityID())
	}
	if _, err := idp.Response(samltest.ResponseOptions{User: "nobody@example.com", Audience: spEntity, ACSURL: acsURL}); err == nil {
		t.Error("unknown user accepted")
	}
	if _, err := idp.Response(samltest.ResponseOptions{User: "alice@example.com"}); err == nil {
		t.Error("response without audience accepted")
	}
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// TestTLSAndNoTLS: the server is https with its own CA by default, which
// Client and CACertPEM trust and the system roots do not; NoTLS is plain
// http.
func TestTLSAndNoTLS(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{})
	if !strings.HasPrefix(idp.URL(), "https://127.0.0.1:") || idp.CACertPEM() == nil {
		t.Fatalf("URL %s, CA %q", idp.URL(), idp.CACertPEM())
	}
	if resp, _ := get(t, idp, idp.MetadataURL()); resp.StatusCode != http.StatusOK {
		t.Fatalf("metadata with Client: %d", resp.StatusCode)
	}
	if _, err := http.Get(idp.MetadataURL()); err == nil {
		t.Fatal("the system roots trust the server's CA")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(idp.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	own := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := own.Get(idp.MetadataURL())
	if err != nil {
		t.Fatalf("metadata trusting CACertPEM: %v", err)
	}
	resp.Body.Close()
	own.CloseIdleConnections()

	plain := samltest.Start(t, samltest.Config{NoTLS: true})
	if !strings.HasPrefix(plain.URL(), "http://127.0.0.1:") || plain.CACertPEM() != nil {
		t.Fatalf("NoTLS: URL %s, CA %q", plain.URL(), plain.CACertPEM())
	}
	if resp, _ := get(t, plain, plain.MetadataURL()); resp.StatusCode != http.StatusOK {
		t.Fatalf("metadata over http: %d", resp.StatusCode)
	}
	plain.Close()
	if _, err := plain.Client().Get(plain.MetadataURL()); err == nil {
		t.Fatal("the server answers after Close")
	}
	plain.Close() // a second Close, as t.Cleanup's, is harmless
}

// TestLoginAs: LoginAs returns the form the IdP posts, which the service
// provider accepts once; a wrong password, or a handle used already, is an
// error.
func TestLoginAs(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{})
	sp := newSP(t, idp, nil)
	step, err := sp.Begin(context.Background(), sso.BeginRequest{Binding: "cookie", ReturnTo: "/home"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := samltest.LoginAs(idp.Client(), step.URL, "bob@example.com", "wrong"); err == nil {
		t.Fatal("LoginAs with a wrong password succeeded")
	}
	step, _ = sp.Begin(context.Background(), sso.BeginRequest{Binding: "cookie", ReturnTo: "/home"})
	acs, form, err := samltest.LoginAs(idp.Client(), step.URL, "bob@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if acs != acsURL || form.Get("RelayState") != step.State || form.Get("SAMLResponse") == "" {
		t.Fatalf("LoginAs = %s %v", acs, form)
	}
	id, err := sp.Complete(context.Background(), sso.CompleteRequest{Binding: "cookie", Params: form})
	if err != nil || id.Subject != "bob@example.com" {
		t.Fatalf("Complete = %+v, %v", id, err)
	}
	if _, _, err := samltest.LoginAs(idp.Client(), idp.URL()+"/nosuch", "bob@example.com", ""); err == nil {
		t.Fatal("LoginAs without a login page succeeded")
	}
}
