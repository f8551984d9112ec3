package demoapp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// wantProblems fails unless err is a *ConfigError with a problem at each
// field whose fix contains the given text.
func wantProblems(t *testing.T, err error, fieldFix ...string) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v; want a *ConfigError", err)
	}
	for i := 0; i+1 < len(fieldFix); i += 2 {
		found := false
		for _, p := range ce.Problems {
			if p.Field == fieldFix[i] && strings.Contains(p.Fix, fieldFix[i+1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem %s: ...%s...; got:\n%v", fieldFix[i], fieldFix[i+1], ce)
		}
	}
}

func TestBadConfigNamesFieldAndFix(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		fieldFix []string
	}{
		{"unknown field", `{"accounts": [{"id": "a", "polcy": {}}]}`, []string{"config", `unknown field "polcy" at line 1: remove it or fix its spelling`}},
		{"wrong type", `{"accounts": [{"id": 7}]}`, []string{"accounts.id", "expected string at line 1"}},
		{"not an object", `000`, []string{"config", "expected demoapp.Config at line 1, not a JSON number"}},
		{"syntax", "{\n\"accounts\": [\n}", []string{"config", "JSON syntax error at line 3"}},
		{"no accounts", `{}`, []string{"accounts", "no accounts"}},
		{"bad redirects", `{"accounts": [{"id": "a", "connections": [{"id": "c", "protocol": "oidc", "logout_redirect_url": "javascript:alert(1)",
			"oidc": {"issuer": "https://op.example", "client_id": "x", "client_secret": "y", "post_logout_redirect_url": "//evil.example/"}}]}]}`, []string{
			"accounts[0].connections[0].logout_redirect_url", "neither an absolute http(s) URL nor a path",
			"accounts[0].connections[0].oidc.post_logout_redirect_url", "neither an absolute http(s) URL nor a path"}},
		{"many problems", `{
  "accounts": [
    {"id": "acme", "policy": {"mode": "sso_mandatory"}, "connections": [
      {"id": "acme-sso", "protocol": "saml", "oidc": {"issuer": "https://op.example", "client_id": "x", "client_secret": "y"}},
      {"id": "acme-op", "protocol": "oidc", "oidc": {"issuer": "https://op.example"}},
      {"id": "acme-op", "protocol": "ldap", "ldap": {"urls": ["ldaps://dir.example"]}},
      {"id": "acme-idp", "protocol": "saml", "saml": {"idp_metadata_url": "{mock_saml}/metadata", "idp_metadata_xml": "<x/>"}}
    ]}
  ],
  "users": [{"email": "a@acme.example", "memberships": [{"account": "acme"}, {"account": "other"}]}, {"email": "not-an-email"}]
}`, []string{
			"accounts[0].policy.mode", `"sso_mandatory" is not a mode`,
			"accounts[0].connections[0]", `a saml connection needs exactly one settings object, "saml"`,
			"accounts[0].connections[1].oidc.client_id", "missing: the client ID",
			"accounts[0].connections[1].oidc.client_secret", "missing",
			"accounts[0].connections[2].id", `"acme-op" is also used at accounts[0].connections[1]`,
			"accounts[0].connections[2].ldap", "set exactly one of search, templates and upn",
			"accounts[0].connections[3].saml", "set exactly one of idp_metadata_url, idp_metadata_xml and idp_metadata_file",
			"accounts[0].connections[3].saml.idp_metadata_url", `no "mock_idps" section`,
			"users[0].memberships[1].account", `no account "other": use one of acme`,
			"users[1].email", "not an email address",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := freeOptions()
			opts.ConfigFile = writeConfig(t, tc.config)
			_, err := Start(context.Background(), opts)
			wantProblems(t, err, tc.fieldFix...)
		})
	}
}

// TestBadConfigStartsNothing fails late, while building the connections
// after the listeners and mock identity providers started: everything is
// stopped again.
func TestBadConfigStartsNothing(t *testing.T) {
	opts := Options{Addr: freeAddr(t), SAMLAddr: freeAddr(t), OIDCAddr: freeAddr(t), LDAPAddr: freeAddr(t), Logger: freeOptions().Logger}
	opts.ConfigFile = writeConfig(t, `{
  "mock_idps": {},
  "accounts": [{"id": "acme", "domains": ["acme.example"], "policy": {"mode": "sso_required", "scope": {"kind": "email_domains"}},
    "connections": [
      {"id": "acme-saml", "protocol": "saml", "stage": "live", "saml": {"idp_metadata_xml": "<EntityDescriptor/>"}},
      {"id": "acme-op", "protocol": "oidc", "stage": "live", "oidc": {"issuer": "{mock_oidc}", "client_id": "c", "client_secret": "s", "insecure_allow_http": true, "insecure_allow_private_network": true}}
    ]}]
}`)
	_, err := Start(context.Background(), opts)
	wantProblems(t, err, "accounts[0].connections[0].saml", "", "accounts[0].policy", "")
	for _, addr := range []string{opts.Addr, opts.SAMLAddr, opts.OIDCAddr, opts.LDAPAddr} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s still in use after a failed start: %v", addr, err)
		}
		l.Close()
	}
}

// TestConfigForRealIdentityProviders starts from a configuration without
// mocks: SAML metadata as XML, an OpenID issuer and an LDAP directory that
// are contacted only at login.
func TestConfigForRealIdentityProviders(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.acme.example/metadata"})
	cfg := Config{
		Accounts: []AccountConfig{{ID: "acme", Name: "Acme", Aliases: []string{"acme"}, Domains: []discovery.Domain{{Name: "acme.example"}}, Policy: PolicyConfig{Mode: "sso_optional"},
			Connections: []ConnectionConfig{
				{ID: "acme-saml", Protocol: "saml", Stage: "live", SAML: &SAMLConfig{IdPMetadataXML: string(idp.Metadata())}},
				{ID: "acme-ad", Protocol: "ldap", Stage: "draft", LDAP: &LDAPConfig{URLs: []string{"ldaps://dc1.acme.invalid"},
					Templates: map[string]string{"acme.example": "uid={},ou=people,dc=acme,dc=example"}}},
			}}},
		Users: []UserConfig{{Email: "ann@acme.example", Password: "ann-pw", Memberships: []MembershipConfig{{Account: "acme", Roles: []string{"Administrator"}, SSOIdentifier: "ann@acme.example"}}}},
	}
	b, _ := json.Marshal(cfg)
	opts := freeOptions()
	opts.ConfigFile = writeConfig(t, string(b))
	a := startDemo(t, opts)
	if a.mocks != nil {
		t.Fatal("mocks started without mock_idps")
	}
	br := newBrowser(t, a)
	p := br.get("/login/sso/acme")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, idp.SSOURL()+"?") {
		t.Fatalf("domain login went to %d %q", p.status, p.loc)
	}
	wantRedirect(t, br.post("/login", form("email", "ann@acme.example", "password", "ann-pw")), "/")
	br.mustMe("ann@acme.example")
	// The start page of a real setup shows no passwords.
	p = br.get("/")
	if strings.Contains(p.body, "ann-pw") {
		t.Fatal("the start page shows a password of a real setup")
	}
}

// TestSampleConfigStarts runs the sample file on free ports.
func TestSampleConfigStarts(t *testing.T) {
	opts := freeOptions()
	opts.ConfigFile = sampleFile
	a := startDemo(t, opts)
	b := newBrowser(t, a)
	wantRedirect(t, b.oidcLogin(b.post("/login", form("email", "pete@pressroom.example")), "pete"), "/")
	b.mustMe("pete@pressroom.example")
}

func TestAdminMetadata(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.post("/login", form("email", "rachel@hireco.example")), "rachel@hireco.example"), "/")
	p := b.post("/admin/hireco/metadata", form("action", "check", "connection", "hireco-saml", "metadata", string(a.mocks.saml.Metadata())))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Compatible: the metadata can be used.", a.mocks.saml.EntityID(), `id="report-hireco-saml"`)
	p = b.post("/admin/hireco/metadata", form("action", "check", "connection", "hireco-saml", "metadata", "<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>"))
	wantBody(t, p, "Not compatible")
	wantStatus(t, b.post("/admin/hireco/metadata", form("action", "candidate", "connection", "hireco-saml", "metadata", "<nope/>")), http.StatusUnprocessableEntity)
	// A pasted URL is fetched (the mock IdP is on 127.0.0.1 over http,
	// which this connection allows).
	p = b.post("/admin/hireco/metadata", form("action", "check", "connection", "hireco-saml", "metadata", a.mocks.saml.MetadataURL()))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Fetched from "+a.mocks.saml.MetadataURL(), "Compatible: the metadata can be used.")
	wantNoBody(t, p, "not well-formed")

	// New IdP metadata goes to the connection's candidate: logins keep
	// the live IdP until a test login through the candidate passed.
	key, cert, err := samltest.GenerateKeyPair("new idp", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	next := samltest.Start(t, samltest.Config{NoTLS: true, EntityID: "https://new-idp.hireco.example/metadata", Key: key, Certificate: cert,
		Users: []samltest.User{{Email: "rachel@hireco.example", GivenName: "Rachel", NameID: "HC-1001", NameIDFormat: saml.NameIDFormatPersistent}}})
	p = b.post("/admin/hireco/metadata", form("action", "candidate", "connection", "hireco-saml", "metadata", string(next.Metadata())))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Saved as a testing copy", `id="candidate-hireco-saml"`, "https://new-idp.hireco.example/metadata", `class="changed"`, "Not tested yet")
	entry, _, _ := a.reg.Connection("hireco-saml")
	if got := entry.Authenticator.(*saml.ServiceProvider).IdP().EntityID; got != a.mocks.saml.EntityID() {
		t.Fatalf("the live connection's IdP is %q", got)
	}
	wantStatus(t, b.post("/admin/hireco/metadata", form("action", "promote", "connection", "hireco-saml")), http.StatusConflict)
	// The test login through the candidate.
	p = b.samlLoginAt(next.URL(), b.get("/login/test/hireco-saml?candidate=1&return_to=/admin/hireco"), "rachel@hireco.example")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `class="verdict pass"`, "candidate (testing copy)")
	wantBody(t, b.get("/admin/hireco"), "A test login with the new metadata passed")
	p = b.post("/admin/hireco/metadata", form("action", "promote", "connection", "hireco-saml"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "The new metadata is live")
	entry, _, _ = a.reg.Connection("hireco-saml")
	if got := entry.Authenticator.(*saml.ServiceProvider).IdP().EntityID; got != next.EntityID() || entry.Candidate != nil {
		t.Fatalf("connection's IdP is %q, candidate %v", got, entry.Candidate)
	}
	if cs, err := a.reg.Discovery().LookupIssuer(next.EntityID()); err != nil || cs[0].Connection != "hireco-saml" {
		t.Fatalf("discovery by the new issuer: %v %v", cs, err)
	}
	wantBody(t, b.get("/admin/hireco"), "connection_changed")
	// A discarded candidate leaves the live connection alone.
	wantStatus(t, b.post("/admin/hireco/metadata", form("action", "candidate", "connection", "hireco-saml", "metadata", string(a.mocks.saml.Metadata()))), http.StatusOK)
	wantStatus(t, b.post("/admin/hireco/metadata", form("action", "discard", "connection", "hireco-saml")), http.StatusOK)
	if entry, _, _ = a.reg.Connection("hireco-saml"); entry.Candidate != nil || entry.Authenticator.(*saml.ServiceProvider).IdP().EntityID != next.EntityID() {
		t.Fatal("discarding changed the connection")
	}
	// Cross-site posts are refused; bodies are capped.
	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/admin/hireco/metadata", strings.NewReader(form("action", "check", "metadata", "<x/>").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, b.do(req), http.StatusForbidden)
	wantStatus(t, b.post("/admin/hireco/metadata", form("action", "check", "metadata", strings.Repeat("x", maxMetadataUpload+128<<10))), http.StatusRequestEntityTooLarge)
	// Another account's connection cannot be changed from here.
	wantStatus(t, b.post("/admin/hireco/metadata", form("action", "candidate", "connection", "grantmakers-saml", "metadata", string(next.Metadata()))), http.StatusBadRequest)
}

func TestAdminMetadataUpload(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.post("/login", form("email", "rachel@hireco.example")), "rachel@hireco.example"), "/")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("action", "check")
	_ = mw.WriteField("connection", "hireco-saml")
	fw, _ := mw.CreateFormFile("file", "idp.xml")
	_, _ = fw.Write(a.mocks.saml.Metadata())
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/admin/hireco/metadata", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	p := b.do(req)
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Compatible: the metadata can be used.", a.mocks.saml.EntityID())
}

// TestDailyCertificateCheck: a SAML connection nobody logs in through still
// reports its IdP certificate's coming expiry in the audit log.
func TestDailyCertificateCheck(t *testing.T) {
	key, cert, err := samltest.GenerateKeyPair("expiring idp", time.Now().Add(-time.Hour), time.Now().Add(10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.acme.example/metadata", Key: key, Certificate: cert})
	cfg := Config{Accounts: []AccountConfig{{ID: "acme", Name: "Acme", Policy: PolicyConfig{Mode: "sso_optional"},
		Connections: []ConnectionConfig{{ID: "acme-saml", Protocol: "saml", Stage: "live", SAML: &SAMLConfig{IdPMetadataXML: string(idp.Metadata())}}}}}}
	b, _ := json.Marshal(cfg)
	opts := freeOptions()
	opts.ConfigFile = writeConfig(t, string(b))
	a := startDemo(t, opts)
	count := func() int {
		evs, err := a.store.Recent(context.Background(), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Type == sso.EventCertificateExpiring && e.Connection == "acme-saml" {
				n++
			}
		}
		return n
	}
	before := count()
	a.checkCertificates()
	if after := count(); after != before+1 {
		t.Fatalf("certificate_expiring events: %d before the daily check, %d after; want one more", before, after)
	}
}

// TestCheckRunsStartChecks: -check refuses what a start would refuse
// without contacting an identity provider: a domain claimed by two
// accounts, IdP metadata that does not parse, a policy nobody could log in
// under, a provisioning setting that contradicts itself.
func TestCheckRunsStartChecks(t *testing.T) {
	op := func(id string) string {
		return `{"id": "` + id + `", "protocol": "oidc", "stage": "live", "oidc": {"issuer": "https://op.example", "client_id": "c", "client_secret": "s"}}`
	}
	tests := []struct {
		name     string
		config   string
		fieldFix []string
	}{
		{"domain claimed twice", `{"accounts": [
  {"id": "a", "domains": ["dup.example"], "connections": [` + op("a-op") + `]},
  {"id": "b", "domains": ["dup.example"], "connections": [` + op("b-op") + `]}]}`, []string{"accounts", "dup.example"}},
		{"alias used twice", `{"accounts": [
  {"id": "a", "aliases": ["same"], "connections": [` + op("a-op") + `]},
  {"id": "b", "aliases": ["same"], "connections": [` + op("b-op") + `]}]}`, []string{"accounts", "same"}},
		{"metadata that does not parse", `{"accounts": [{"id": "a", "connections": [
  {"id": "a-saml", "protocol": "saml", "saml": {"idp_metadata_xml": "<EntityDescriptor/>"}}]}]}`, []string{"accounts[0].connections[0].saml", ""}},
		{"nobody could log in", `{"accounts": [{"id": "a", "policy": {"mode": "sso_required"}, "connections": [
  {"id": "a-op", "protocol": "oidc", "stage": "testing", "oidc": {"issuer": "https://op.example", "client_id": "c", "client_secret": "s"}}]}]}`,
			[]string{"accounts[0].policy", "live"}},
		{"identifier attribute unnamed", `{"accounts": [{"id": "a", "connections": [
  {"id": "a-op", "protocol": "oidc", "stage": "live", "provisioning": {"identifier": "attribute"},
   "oidc": {"issuer": "https://op.example", "client_id": "c", "client_secret": "s"}}]}]}`, []string{"accounts[0].connections[0].provisioning", "IdentifierAttribute"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.config)
			wantProblems(t, Check(Options{ConfigFile: file}), tc.fieldFix...)
			opts := freeOptions()
			opts.ConfigFile = file
			_, err := Start(context.Background(), opts)
			wantProblems(t, err, tc.fieldFix...)
		})
	}
	// The built-in configuration and the sample file pass.
	if err := Check(Options{}); err != nil {
		t.Fatalf("the built-in configuration: %v", err)
	}
}

// TestSPKeys: keys from files relative to the configuration sign the
// AuthnRequests and appear in the SP metadata, the current one for
// signing and encryption.
func TestSPKeys(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.acme.example/metadata"})
	dir := t.TempDir()
	k, c, err := samltest.GenerateKeyPair("acme sp", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "sp-key.pem"), samltest.KeyPEM(k), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "sp-cert.pem"), samltest.CertificatePEM(c), 0o600)
	cfg := Config{Accounts: []AccountConfig{{ID: "acme", Name: "Acme", Aliases: []string{"acme"}, Domains: []discovery.Domain{{Name: "acme.example"}}, Policy: PolicyConfig{Mode: "sso_optional"},
		Connections: []ConnectionConfig{{ID: "acme-saml", Protocol: "saml", Stage: "live", SAML: &SAMLConfig{IdPMetadataXML: string(idp.Metadata()),
			SignAuthnRequests: true, SPKeys: []SPKeyConfig{{KeyFile: "sp-key.pem", CertFile: "sp-cert.pem"}}}}}}}}
	b, _ := json.Marshal(cfg)
	file := filepath.Join(dir, "config.json")
	_ = os.WriteFile(file, b, 0o600)
	opts := freeOptions()
	opts.ConfigFile = file
	a := startDemo(t, opts)
	br := newBrowser(t, a)
	md := br.get("/saml/acme-saml/metadata")
	wantStatus(t, md, http.StatusOK)
	cert := base64.StdEncoding.EncodeToString(c.Raw)
	if !strings.Contains(md.body, `AuthnRequestsSigned="true"`) || strings.Count(md.body, cert) != 2 ||
		!strings.Contains(md.body, `use="signing"`) || !strings.Contains(md.body, `use="encryption"`) {
		t.Fatalf("SP metadata:\n%s", md.body)
	}
	p := br.get("/login/sso/acme")
	if p.status != http.StatusSeeOther || !strings.Contains(p.loc, "&Signature=") || !strings.Contains(p.loc, "SigAlg=") {
		t.Fatalf("the AuthnRequest is not signed: %d %s", p.status, p.loc)
	}
	// A key file that is missing is a problem named with its field.
	cfg.Accounts[0].Connections[0].SAML.SPKeys[0].KeyFile = "nosuch.pem"
	b, _ = json.Marshal(cfg)
	_ = os.WriteFile(file, b, 0o600)
	wantProblems(t, Check(Options{ConfigFile: file}), "accounts[0].connections[0].saml", "sp_keys[0].key_file")
}

// TestAdminOperations: the connection card shows the last day's logins,
// the application's keys, and IdP metadata held back because it replaces
// every certificate, which an administrator accepts.
func TestAdminOperations(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.acme.example/metadata", NoTLS: true})
	rk, rc, _ := samltest.GenerateKeyPair("acme idp 2031", time.Now().Add(-time.Hour), time.Now().AddDate(2, 0, 0))
	rotated := samltest.Start(t, samltest.Config{EntityID: "https://idp.acme.example/metadata", NoTLS: true, Key: rk, Certificate: rc})
	var mu sync.Mutex
	served := idp.Metadata()
	mdSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(served)
	}))
	t.Cleanup(mdSrv.Close)
	k, c, _ := samltest.GenerateKeyPair("acme sp", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	cfg := Config{
		Accounts: []AccountConfig{{ID: "acme", Name: "Acme", Aliases: []string{"acme"}, Domains: []discovery.Domain{{Name: "acme.example"}}, Policy: PolicyConfig{Mode: "sso_optional"},
			Networks: &NetworksConfig{Allow: []string{"127.0.0.0/8", "::1"}},
			Connections: []ConnectionConfig{{ID: "acme-saml", Protocol: "saml", Stage: "live", LandingPage: "/?landing=acme",
				SAML: &SAMLConfig{IdPMetadataURL: mdSrv.URL + "/metadata", InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true, AllowIdPInitiated: true, TrustEmail: true,
					SPKeys: []SPKeyConfig{{KeyPEM: Secret(samltest.KeyPEM(k)), CertPEM: string(samltest.CertificatePEM(c))}}}}}}},
		Users: []UserConfig{{Email: "ann@acme.example", Password: "ann-pw", Memberships: []MembershipConfig{{Account: "acme", Roles: []string{"Administrator"}, SSOIdentifier: "ann@acme.example"}}}},
	}
	b, _ := json.Marshal(cfg)
	opts := freeOptions()
	opts.ConfigFile = writeConfig(t, string(b))
	a := startDemo(t, opts)
	ann := newBrowser(t, a)
	wantRedirect(t, ann.post("/login", form("email", "ann@acme.example", "password", "ann-pw")), "/")
	// A failed SSO login (an unknown user's response) for the chart.
	_ = idp.AddServiceProvider(samltest.ServiceProvider{EntityID: a.URL() + "/saml/acme-saml/metadata", ACSURL: a.URL() + "/saml/acme-saml/acs"})
	enc, _ := rotated.EncodedResponse(samltest.ResponseOptions{User: "x@acme.example", NameID: "x@acme.example", Audience: a.URL() + "/saml/acme-saml/metadata",
		ACSURL: a.URL() + "/saml/acme-saml/acs"})
	_ = newBrowser(t, a).post("/saml/acme-saml/acs", form("SAMLResponse", enc))

	p := ann.get("/admin/acme")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="health-summary-acme-saml"`, "failed.", `<svg class="health"`, `id="sp-keys-acme-saml"`, "current: signs",
		"Account's allowed networks", "127.0.0.0/8, ::1/128", "/?landing=acme")

	// The IdP replaces its certificate at once: held back, shown, accepted.
	mu.Lock()
	served = rotated.Metadata()
	mu.Unlock()
	a.mu.Lock()
	sp := a.connOf["acme-saml"].auth.(*saml.ServiceProvider)
	a.mu.Unlock()
	if err := sp.RefreshMetadata(context.Background()); sso.ReasonOf(err) != sso.ReasonMetadataInvalid {
		t.Fatalf("a refresh replacing every certificate: %v", err)
	}
	p = ann.get("/admin/acme")
	wantBody(t, p, `id="held-back-acme-saml"`, "New IdP certificates held back", `id="accept-held-back-acme-saml"`)
	p = ann.post("/admin/acme/heldback", form("connection", "acme-saml"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Applied: the connection now trusts the IdP")
	wantNoBody(t, p, `id="held-back-acme-saml"`)
	if got := sp.IdP().Certificates[0].SHA1; got != saml.DescribeCertificate(rotated.Certificate()).SHA1 {
		t.Fatalf("after accepting, the connection trusts %s", got)
	}
	// A login signed by the new certificate: the page says which
	// certificate signed the latest login.
	wantNoBody(t, ann.get("/admin/acme"), "signed the last login")
	enc, _ = rotated.EncodedResponse(samltest.ResponseOptions{User: "ann@acme.example", NameID: "ann@acme.example", Audience: a.URL() + "/saml/acme-saml/metadata",
		ACSURL: a.URL() + "/saml/acme-saml/acs"})
	ann2 := newBrowser(t, a)
	wantRedirect(t, ann2.post("/saml/acme-saml/acs", form("SAMLResponse", enc)), "/login/continue")
	wantRedirect(t, ann2.get("/login/continue"), "/?landing=acme")
	wantBody(t, ann.get("/admin/acme"), "acme idp 2031", "signed the last login")
	// Only administrators may accept.
	wantStatus(t, newBrowser(t, a).post("/admin/acme/heldback", form("connection", "acme-saml")), http.StatusSeeOther)
}

// TestGoLiveChecklist: "Go live" is refused while the go-live checklist has
// items to do (here: no test login passed), keeping the stage, unless the
// administrator ticks that they go live anyway.
func TestGoLiveChecklist(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.beta.example/metadata", NoTLS: true})
	cfg := Config{
		Accounts: []AccountConfig{{ID: "beta", Name: "Beta", Policy: PolicyConfig{Mode: "sso_optional"},
			Connections: []ConnectionConfig{{ID: "beta-saml", Protocol: "saml", Stage: "testing", TestUsers: []string{"bo@beta.example"},
				SAML: &SAMLConfig{IdPMetadataXML: string(idp.Metadata())}}}}},
		Users: []UserConfig{{Email: "bo@beta.example", Password: "bo-pw", Memberships: []MembershipConfig{{Account: "beta", Roles: []string{"Administrator"}}}}},
	}
	b, _ := json.Marshal(cfg)
	opts := freeOptions()
	opts.ConfigFile = writeConfig(t, string(b))
	a := startDemo(t, opts)
	bo := newBrowser(t, a)
	wantRedirect(t, bo.post("/login", form("email", "bo@beta.example", "password", "bo-pw")), "/")
	wantBody(t, bo.get("/admin/beta"), `id="go-live-anyway-beta-saml"`)
	stage := func() policy.Stage {
		pol, _ := a.reg.Policy("beta")
		c, _ := pol.Connection("beta-saml")
		return c.Stage
	}
	p := bo.post("/admin/beta/connection", form("connection", "beta-saml", "stage", "live"))
	wantStatus(t, p, http.StatusConflict)
	wantBody(t, p, "Not live yet", "A test login passed: Run a test login.")
	if s := stage(); s != policy.StageTesting {
		t.Fatalf("after a refused go-live the stage is %q", s)
	}
	p = bo.post("/admin/beta/connection", form("connection", "beta-saml", "stage", "live", "go_live_anyway", "on"))
	wantStatus(t, p, http.StatusOK)
	if s := stage(); s != policy.StageLive {
		t.Fatalf("going live anyway: stage %q", s)
	}
}
