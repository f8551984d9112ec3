package login_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// benchApp is a host application with the login handler under /auth,
// called in process (no listener), with one SAML account and one OIDC
// account whose users are provisioned just in time on their first login.
type benchApp struct {
	h    http.Handler
	base string
	idp  *samltest.Server
	op   *oidctest.Server
}

func newBenchApp(b *testing.B) *benchApp {
	ctx := context.Background()
	const base = "https://app.example"
	a := &benchApp{base: base}
	a.idp = samltest.Start(b, samltest.Config{Users: []samltest.User{{Email: "sam@grants.example", GivenName: "Sam", FamilyName: "Grant"}}})
	cfg := a.idp.ConnectionConfig("grants-saml", base+"/auth/saml/grants-saml/metadata", base+"/auth/saml/grants-saml/acs")
	cfg.TrustEmail = true
	if err := a.idp.AddServiceProvider(samltest.ServiceProvider{EntityID: cfg.EntityID, ACSURL: cfg.ACSURL}); err != nil {
		b.Fatal(err)
	}
	sp, err := saml.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	a.op = oidctest.Start(b, oidctest.Config{Users: []oidctest.User{{Subject: "olly", Email: "olly@acme.example", GivenName: "Olly", FamilyName: "Otter"}}})
	redirect := login.EndpointsOf(base+"/auth", "acme-oidc").Callback
	a.op.AddClient(oidctest.Client{ID: "acme-client", Secret: "acme-secret", RedirectURIs: []string{redirect}})
	conn, err := oidc.New(oidc.Config{ID: "acme-oidc", Issuer: a.op.Issuer(), ClientID: "acme-client", ClientSecret: "acme-secret",
		RedirectURL: redirect, CACertPEM: a.op.CACertPEM(), InsecureAllowPrivateNetwork: true})
	if err != nil {
		b.Fatal(err)
	}
	jit := provisioning.Connection{JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"member"}}, Updates: provisioning.Updates{Names: true}}
	live := policy.Connection{Stage: policy.StageLive}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: base + "/auth", Accounts: []login.Account{
		{ID: "grants", Name: "Grants", Domains: []discovery.Domain{{Name: "grants.example"}}, Policy: policy.Policy{Mode: policy.ModeSSORequired},
			Connections: []login.Connection{{Authenticator: sp, Policy: live, Provisioning: jit}}},
		{ID: "acme", Name: "Acme", Domains: []discovery.Domain{{Name: "acme.example"}}, Policy: policy.Policy{Mode: policy.ModeSSORequired},
			Connections: []login.Connection{{Authenticator: conn, Policy: live, Provisioning: jit}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	prov, err := provisioning.New(provisioning.Config{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	a.h, err = login.New(login.Config{Registry: reg, Provisioner: prov, Users: login.StoreUsers{Store: store}, Sessions: appSessions{}})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// benchBrowser keeps a browser's cookies between requests to the app.
type benchBrowser struct {
	a       *benchApp
	cookies map[string]*http.Cookie
}

func (a *benchApp) browser() *benchBrowser {
	return &benchBrowser{a: a, cookies: map[string]*http.Cookie{}}
}

// do sends req to the handler with the browser's cookies and keeps the
// cookies the answer sets.
func (br *benchBrowser) do(req *http.Request) *http.Response {
	for _, c := range br.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	br.a.h.ServeHTTP(rec, req)
	resp := rec.Result()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(br.cookies, c.Name)
		} else {
			br.cookies[c.Name] = c
		}
	}
	return resp
}

// start posts the login form's email as a same-origin page does and
// returns the redirect to the identity provider.
func (br *benchBrowser) start(tb testing.TB, email string) string {
	req := httptest.NewRequest(http.MethodPost, br.a.base+"/auth/login", strings.NewReader(url.Values{"email": {email}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", br.a.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp := br.do(req)
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("start: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// samlIdP answers the AuthnRequest of the redirect to the IdP as the IdP
// does after the user logged in: the ACS URL and the auto-POST form.
func (a *benchApp) samlIdP(tb testing.TB, loc string) (string, url.Values) {
	action, form, err := a.idp.RespondTo(&sso.Step{Kind: sso.StepRedirect, URL: loc}, samltest.ResponseOptions{User: "sam@grants.example"})
	if err != nil {
		tb.Fatal(err)
	}
	return action, form
}

// acs posts the IdP's form to the ACS as the browser does (cross-site)
// and checks that the login ended in a session.
func (br *benchBrowser) acs(tb testing.TB, action string, form url.Values) {
	req := httptest.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", br.a.idp.URL())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	br.finish(tb, br.do(req))
}

// callback follows the provider's redirect back to the app.
func (br *benchBrowser) callback(tb testing.TB, cb *url.URL) {
	br.finish(tb, br.do(httptest.NewRequest(http.MethodGet, cb.String(), nil)))
}

func (br *benchBrowser) finish(tb testing.TB, resp *http.Response) {
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || br.cookies["session"] == nil {
		tb.Fatalf("login did not end in a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	delete(br.cookies, "session")
}

// rsaMeter times RSA-2048 PKCS #1 v1.5 verifications (SHA-256 of 1 KB)
// between the iterations of a benchmark, with its timer stopped, so that
// the unit and the work it measures see the same machine load (other
// processes on a shared machine come and go within one run).
type rsaMeter struct {
	pub   *rsa.PublicKey
	msg   []byte
	sig   []byte
	total time.Duration
	n     int
}

func newRSAMeter(tb testing.TB) *rsaMeter {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	m := &rsaMeter{pub: &k.PublicKey, msg: make([]byte, 1024)}
	sum := sha256.Sum256(m.msg)
	if m.sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:]); err != nil {
		tb.Fatal(err)
	}
	return m
}

// run times k verifications.
func (m *rsaMeter) run(tb testing.TB, k int) {
	start := time.Now()
	for range k {
		sum := sha256.Sum256(m.msg)
		if err := rsa.VerifyPKCS1v15(m.pub, crypto.SHA256, sum[:], m.sig); err != nil {
			tb.Fatal(err)
		}
	}
	m.total += time.Since(start)
	m.n += k
}

// report adds the metric x-rsa: perOp in RSA verifications.
func (m *rsaMeter) report(b *testing.B, perOp float64) {
	if m.n > 0 {
		b.ReportMetric(perOp/(float64(m.total.Nanoseconds())/float64(m.n)), "x-rsa")
		b.ReportMetric(float64(m.total.Nanoseconds())/float64(m.n), "rsa-ns")
	}
}

// benchRSAFloor is one RSA-2048 PKCS #1 v1.5 verification with SHA-256 of
// a 1 KB message: the unit the login figures are read in.
func benchRSAFloor(b *testing.B) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 1024)
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogin measures full logins through the handler, app side only,
// next to an RSA-2048 verification in the same run; x-rsa is the login's
// (app side) time in verifications timed between its iterations:
//
//   - saml: the email form posted to /auth/login (discovery, AuthnRequest,
//     pending login sealed into a cookie, redirect) and the IdP's response
//     posted to the ACS (the response checked, the pending login opened,
//     the user provisioned, the session started). The IdP's part (signing
//     the response) runs with the timer stopped.
//   - oidc: the same start, and the callback (pending login, code exchange
//     at the provider's token endpoint over loopback TLS, ID token
//     verification, provisioning, session). The authorization step runs
//     with the timer stopped; the provider's time answering the token
//     request (it signs the ID token) is reported as idp-ns/op and
//     subtracted in app-ns/op.
//
// The user exists after the first login, so each timed login is a
// returning user's: provisioning finds and updates the link.
func BenchmarkLogin(b *testing.B) {
	a := newBenchApp(b)
	b.Run("floor=rsa2048-verify", benchRSAFloor)
	b.Run("saml", func(b *testing.B) {
		br := a.browser()
		action, form := a.samlIdP(b, br.start(b, "sam@grants.example"))
		br.acs(b, action, form)
		m := newRSAMeter(b)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			loc := br.start(b, "sam@grants.example")
			b.StopTimer()
			action, form := a.samlIdP(b, loc)
			m.run(b, 4)
			b.StartTimer()
			br.acs(b, action, form)
			n++
		}
		m.report(b, float64(b.Elapsed().Nanoseconds())/float64(n))
	})
	b.Run("oidc", func(b *testing.B) {
		br := a.browser()
		m := newRSAMeter(b)
		login := func(timed bool) {
			loc := br.start(b, "olly@acme.example")
			if timed {
				b.StopTimer()
			}
			cb, err := a.op.Authorize(loc, "olly")
			if err != nil {
				b.Fatal(err)
			}
			if timed {
				m.run(b, 4)
				b.StartTimer()
			}
			br.callback(b, cb)
		}
		login(false)
		busy := a.op.Stats().Busy
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			login(true)
			n++
		}
		idp := a.op.Stats().Busy - busy
		b.ReportMetric(float64(idp.Nanoseconds())/float64(n), "idp-ns/op")
		app := (float64(b.Elapsed().Nanoseconds()) - float64(idp.Nanoseconds())) / float64(n)
		b.ReportMetric(app, "app-ns/op")
		m.report(b, app)
	})
}
