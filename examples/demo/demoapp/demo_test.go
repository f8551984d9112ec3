package demoapp

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// freeOptions runs the demo and its mock identity providers on free ports.
func freeOptions() Options {
	return Options{Addr: "localhost:0", SAMLAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", LDAPAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)}
}

// startDemo starts the demo in-process and stops it when the test ends.
func startDemo(t *testing.T, opts Options) *App {
	t.Helper()
	a, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// browser keeps cookies and does not follow redirects.
type browser struct {
	t    *testing.T
	a    *App
	c    *http.Client
	base string // where paths go: a.URL(), or a replica's own address
}

func newBrowser(t *testing.T, a *App) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, a: a, base: a.URL(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// at returns a browser with the same cookies that sends paths to the
// replica a directly, bypassing the load balancer.
func (b *browser) at(a *App) *browser {
	nb := *b
	nb.a, nb.base = a, a.ListenURL()
	return &nb
}

type page struct {
	status int
	header http.Header
	body   string
	loc    string
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.base + u
	}
	return u
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &page{status: resp.StatusCode, header: resp.Header, body: string(body), loc: resp.Header.Get("Location")}
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
	return b.do(req)
}

// post submits a form the way a browser does from a page of the target's
// origin (or, for the IdP's auto-POST, from the IdP's origin).
func (b *browser) post(u string, v url.Values) *page {
	b.t.Helper()
	target := b.abs(u)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// follow follows redirects within the application and stops at the first
// page or at a redirect elsewhere.
func (b *browser) follow(p *page) *page {
	b.t.Helper()
	for i := 0; i < 10 && p.status >= 300 && p.status < 400 && (strings.HasPrefix(b.abs(p.loc), b.a.URL()) || strings.HasPrefix(b.abs(p.loc), b.base)); i++ {
		p = b.get(p.loc)
	}
	return p
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// me returns the /me JSON, or nil when logged out.
func (b *browser) me() *meJSON {
	b.t.Helper()
	p := b.get("/me")
	if p.status == http.StatusUnauthorized {
		return nil
	}
	if p.status != http.StatusOK {
		b.t.Fatalf("/me: %d %s", p.status, p.body)
	}
	var m meJSON
	if err := json.Unmarshal([]byte(p.body), &m); err != nil {
		b.t.Fatal(err)
	}
	return &m
}

func (b *browser) mustMe(email string) *meJSON {
	b.t.Helper()
	m := b.me()
	if m == nil || m.User.Email != email {
		b.t.Fatalf("/me = %+v; want %s logged in", m, email)
	}
	return m
}

// oidcLogin logs in at the mock OpenID provider as who from the redirect p.
func (b *browser) oidcLogin(p *page, who string) *page {
	b.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, b.a.mocks.oidcURL) {
		b.t.Fatalf("want a redirect to the OpenID provider, got %d %q\n%s", p.status, p.loc, p.body)
	}
	cb, err := oidctest.LoginAs(http.DefaultClient, p.loc, who)
	if err != nil {
		b.t.Fatalf("LoginAs: %v", err)
	}
	return b.get(cb.String())
}

var (
	reHandle  = regexp.MustCompile(`name="login" value="([^"]+)"`)
	reAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reHidden  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	reConnBtn = regexp.MustCompile(`name="connection" value="([^"]+)"`)
)

// samlLogin logs in at the mock SAML IdP's page (p, or the page p
// redirects to) as email and posts its response to the application.
func (b *browser) samlLogin(p *page, email string) *page {
	b.t.Helper()
	return b.samlLoginAt(b.a.mocks.samlURL, p, email)
}

// samlLoginAt is samlLogin at the (plain http) SAML IdP at idpURL.
func (b *browser) samlLoginAt(idpURL string, p *page, email string) *page {
	b.t.Helper()
	if p.status == http.StatusSeeOther {
		if !strings.HasPrefix(p.loc, idpURL) {
			b.t.Fatalf("want a redirect to the SAML IdP %s, got %q\n%s", idpURL, p.loc, p.body)
		}
		p = b.get(p.loc)
	}
	m := reHandle.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no IdP login page (%d): %s", p.status, p.body)
	}
	resp := b.post(idpURL+"/login", form("login", html.UnescapeString(m[1]), "email", email, "password", samltest.DefaultPassword))
	am := reAction.FindStringSubmatch(resp.body)
	if am == nil {
		b.t.Fatalf("no auto-POST form from the IdP (%d): %s", resp.status, resp.body)
	}
	v := url.Values{}
	for _, f := range reHidden.FindAllStringSubmatch(resp.body, -1) {
		v.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	// The IdP's page posts cross-site to the ACS.
	req, _ := http.NewRequest(http.MethodPost, html.UnescapeString(am[1]), strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", idpURL)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	return b.do(req)
}

func wantStatus(t *testing.T, p *page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d; want %d (Location %q)\n%s", p.status, status, p.loc, p.body)
	}
}

func wantBody(t *testing.T, p *page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.body)
		}
	}
}

func wantNoBody(t *testing.T, p *page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(p.body, s) {
			t.Fatalf("page contains %q:\n%s", s, p.body)
		}
	}
}

func wantRedirect(t *testing.T, p *page, loc string) {
	t.Helper()
	if p.status != http.StatusSeeOther || p.loc != loc {
		t.Fatalf("got %d to %q; want 303 to %q\n%s", p.status, p.loc, loc, p.body)
	}
}

func TestStartPageMeHealthz(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	if !strings.HasPrefix(a.URL(), "http://localhost:") || !strings.HasPrefix(a.mocks.samlURL, "http://127.0.0.1:") {
		t.Fatalf("app %s, SAML IdP %s: want the app on localhost and the IdPs on 127.0.0.1", a.URL(), a.mocks.samlURL)
	}
	p := b.get("/healthz")
	wantStatus(t, p, http.StatusOK)
	p = b.get("/me")
	wantStatus(t, p, http.StatusUnauthorized)
	if ct := p.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("/me content type %q", ct)
	}
	p = b.get("/")
	wantStatus(t, p, http.StatusOK)
	for _, ac := range builtinConfig().Accounts {
		wantBody(t, p, html.EscapeString(ac.Name))
	}
	for _, u := range builtinConfig().Users {
		wantBody(t, p, u.Email, "<code>"+string(u.Password)+"</code>")
	}
	wantBody(t, p, "david@simplecity.example", a.mocks.samlURL+"/start?")
}

func TestSmartPrOIDC(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	// Optional: the email alone goes to the OpenID provider.
	wantRedirect(t, b.oidcLogin(b.post("/login", form("email", "pete@pressroom.example")), "pete"), "/")
	m := b.mustMe("pete@pressroom.example")
	if m.Method != "sso:oidc:pressroom-oidc" || !slices.Equal(m.Accounts, []string{"pressroom"}) || m.Identity.Subject != "pete" {
		t.Fatalf("/me %+v", m)
	}
	// ... and the password works too.
	b = newBrowser(t, a)
	wantRedirect(t, b.post("/login", form("email", "pete@pressroom.example", "password", "pete-pw")), "/")
	b.mustMe("pete@pressroom.example")
	// Required: Nina's password is refused, Ned's (an administrator) is not.
	b = newBrowser(t, a)
	p := b.post("/login", form("email", "nina@newsdesk.example", "password", "nina-pw"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, "We could not log you in with this email address and password", `value="newsdesk-oidc"`)
	wantRedirect(t, b.post("/login", form("email", "ned@newsdesk.example", "password", "ned-pw")), "/")
	b.mustMe("ned@newsdesk.example")
	// Nina's SSO login; the administrator's page names the key that signed it.
	nina := newBrowser(t, a)
	wantRedirect(t, nina.oidcLogin(nina.post("/login", form("email", "nina@newsdesk.example")), "nina"), "/")
	wantBody(t, b.get("/admin/newsdesk"), `id="key-of-last-login-newsdesk-oidc"`, "<code>"+a.mocks.oidc.KeyID()+"</code>")
	// Logout ends the session.
	wantRedirect(t, b.post("/logout", nil), "/")
	if b.me() != nil {
		t.Fatal("/me after logout")
	}
}

// TestOIDCLogoutAtProvider: an OpenID session's logout ends the session
// here, then at the provider's end_session_endpoint with the ID token, and
// the provider returns the browser to the registered post-logout URL.
func TestOIDCLogoutAtProvider(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	wantRedirect(t, b.oidcLogin(b.post("/login", form("email", "pete@pressroom.example")), "pete"), "/")
	b.mustMe("pete@pressroom.example")
	p := b.post("/logout", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, a.OIDCURL()+"/end_session?") {
		t.Fatalf("logout: %d to %q; want the provider's end_session_endpoint", p.status, p.loc)
	}
	if b.me() != nil {
		t.Fatal("the session survived logout")
	}
	u, _ := url.Parse(p.loc)
	if u.Query().Get("id_token_hint") == "" || u.Query().Get("post_logout_redirect_uri") != a.URL()+"/?logged_out=pressroom-oidc" {
		t.Fatalf("end session request %q", p.loc)
	}
	p = b.get(p.loc)
	wantRedirect(t, p, a.URL()+"/?logged_out=pressroom-oidc")
	if l := a.MockOIDC().Logouts(); len(l) != 1 || !l[0].IDTokenHintValid || l[0].Subject != "pete" {
		t.Fatalf("provider logouts %+v", l)
	}
	wantBody(t, b.get(p.loc), `id="logged-out"`, "You are logged out (pressroom-oidc)")
}

func TestPolicySwitchWithLockoutPrevention(t *testing.T) {
	a := startDemo(t, freeOptions())
	paula := newBrowser(t, a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	p := paula.get("/admin/pressroom")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "pressroom-oidc", "Run a test login", "Recent login events")
	required := form("mode", "sso_required", "scope_kind", "all_users", "stage.pressroom-oidc", "live")
	// Required without the break-glass, before any administrator logged in
	// through SSO: refused.
	p = paula.post("/admin/pressroom/policy", required)
	wantStatus(t, p, http.StatusConflict)
	// The refusal names Paula by email, in the labels on screen, keeps
	// what she chose and offers the fixes as buttons.
	wantBody(t, p, "You (paula@pressroom.example) would have to use single sign-on", `id="mode-sso_required" name="mode" value="sso_required" checked`,
		"Save with “Account administrators can log in with a password” on", `name="admins_may_use_password" value="1"`, "Save as a dry run first",
		"Sign in with Press Room Entra ID first", `class="notice notice-bad" id="admin-error"`)
	i := strings.Index(p.body, `id="admin-error"`)
	if i < 0 {
		t.Fatalf("no refusal notice:\n%s", p.body)
	}
	if notice := p.body[i : i+strings.Index(p.body[i:], "</div>")]; strings.Contains(notice, "admins_may_use_password (") || strings.Contains(notice, "would_lock_out") {
		t.Fatalf("the refusal speaks in field names:\n%s", notice)
	}
	// The refusal is in the account's audit trail.
	evs, err := a.store.Recent(context.Background(), "pressroom", 20)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(evs, func(e sso.Event) bool {
		return e.Type == sso.EventPolicyChanged && e.Reason == sso.ReasonWouldLockOut
	}) {
		t.Fatalf("no refused policy change among the events: %+v", evs)
	}
	// With the break-glass: saved, and Pete's password is refused now.
	required.Set("admins_may_use_password", "1")
	p = paula.post("/admin/pressroom/policy", required)
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Saved", "Login method: Single sign-on optional → Single sign-on required.", `class="notice notice-ok" id="admin-message"`)
	p = newBrowser(t, a).post("/login", form("email", "pete@pressroom.example", "password", "pete-pw"))
	wantStatus(t, p, http.StatusUnauthorized)
	// After Paula's SSO login, the break-glass may go.
	wantRedirect(t, paula.oidcLogin(paula.post("/login", form("email", "paula@pressroom.example")), "paula"), "/")
	required.Del("admins_may_use_password")
	wantStatus(t, paula.post("/admin/pressroom/policy", required), http.StatusOK)
	p = paula.get("/admin/pressroom")
	wantBody(t, p, "password_refused", "policy_changed", "Password refused", "pete@pressroom.example")
	// The events table filters by result and person.
	p = paula.get("/admin/pressroom?result=failed&user=pete")
	wantBody(t, p, `data-type="password_refused"`)
	wantNoBody(t, p, `data-type="policy_changed"`)
	// The admin form refuses cross-site posts.
	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/admin/pressroom/policy", strings.NewReader(required.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantStatus(t, paula.do(req), http.StatusForbidden)
}

func TestAdminPageAccess(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	wantRedirect(t, b.get("/admin/hireco"), "/login?return_to=%2Fadmin%2Fhireco")
	wantRedirect(t, b.post("/login", form("email", "ron@hireco.example", "password", "ron-pw")), "/")
	wantStatus(t, b.get("/admin/hireco"), http.StatusForbidden)
	wantStatus(t, b.get("/admin/nosuch"), http.StatusNotFound)
	// Paula administers pressroom, not hireco.
	b = newBrowser(t, a)
	wantRedirect(t, b.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	wantStatus(t, b.get("/admin/hireco"), http.StatusForbidden)
}

func TestSmartyGrantsSAML(t *testing.T) {
	a := startDemo(t, freeOptions())
	// The bookmarkable domain URL.
	b := newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.get("/login/sso/grantmakers"), "greg@grantmakers.example"), "/")
	m := b.mustMe("greg@grantmakers.example")
	if m.Identity.Connection != "grantmakers-saml" || m.Provisioning.Match != "email" {
		t.Fatalf("/me %+v", m)
	}
	// Logout ends the session here and, by single logout, at the IdP.
	p := b.post("/logout", nil)
	if !strings.HasPrefix(p.loc, a.mocks.samlURL+"/slo?") {
		t.Fatalf("logout went to %q", p.loc)
	}
	p = b.get(p.loc)
	if !strings.HasPrefix(p.loc, a.URL()+"/saml/grantmakers-saml/slo?") {
		t.Fatalf("the IdP answered %d %q", p.status, p.loc)
	}
	wantRedirect(t, b.get(p.loc), "/")
	if b.me() != nil || len(a.mocks.saml.LogoutRequests()) != 1 {
		t.Fatal("not logged out")
	}
	// The domain prompt.
	b = newBrowser(t, a)
	p = b.get("/login/sso?domain=grantmakers")
	wantRedirect(t, p, "/login/sso/grantmakers")
	// Gus is at the IdP but not in the account.
	p = b.samlLogin(b.get(p.loc), "gus@grantmakers.example")
	wantStatus(t, p, http.StatusForbidden)
	wantBody(t, p, "you do not have an account here yet")
	// The assessor keeps the password; Greg's is refused.
	b = newBrowser(t, a)
	wantRedirect(t, b.post("/login", form("email", "alex@assessors.example", "password", "alex-pw")), "/")
	b.mustMe("alex@assessors.example")
	wantStatus(t, newBrowser(t, a).post("/login", form("email", "greg@grantmakers.example", "password", "greg-pw")), http.StatusUnauthorized)
	// Gina, the staging connection's test user, is offered both.
	p = newBrowser(t, a).post("/login", form("email", "gina@grantmakers.example"))
	wantStatus(t, p, http.StatusOK)
	if got := reConnBtn.FindAllStringSubmatch(p.body, -1); len(got) != 2 {
		t.Fatalf("picker offers %v", got)
	}
	p = newBrowser(t, a).post("/login", form("email", "greg@grantmakers.example"))
	if p.status != http.StatusSeeOther {
		t.Fatalf("Greg should go straight to the live connection: %d", p.status)
	}
}

func TestSmartyGrantsTestLogin(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	p := b.post("/login/start", form("connection", "grantmakers-saml", "email", "gina@grantmakers.example"))
	wantRedirect(t, b.samlLogin(p, "gina@grantmakers.example"), "/")
	p = b.get("/admin/grantmakers")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "/login/test/grantmakers-staging", "/saml/grantmakers-staging/metadata?download")
	p = b.samlLogin(b.get("/login/test/grantmakers-staging?return_to=/admin/grantmakers"), "gina@grantmakers.example")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Test login", "grantmakers-staging", "this person may log in")
	// What provisioning would do, without doing it.
	wantBody(t, p, `id="test-provisioning"`, "the login would reach user <strong>gina@grantmakers.example</strong>", "matched by email", "linking this identity")
	// SP metadata download.
	p = b.get("/saml/grantmakers-staging/metadata?download")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, a.URL()+"/saml/grantmakers-staging/acs")
}

func TestSmartSimpleIdPInitiated(t *testing.T) {
	a := startDemo(t, freeOptions())
	staff := a.URL() + "/saml/simplecity-staff/metadata"
	tests := []struct {
		email, conn string
		roles       []string
		created     bool
	}{
		{"david@simplecity.example", "simplecity-staff", []string{"Clerk", "Staff"}, true},
		{"priya@simplecity.example", "simplecity-partners", []string{"Approver", "Partner", "Reviewer"}, true},
		{"sally@simplecity.example", "simplecity-staff", []string{"Administrator", "Clerk"}, false},
	}
	for _, tc := range tests {
		b := newBrowser(t, a)
		wantRedirect(t, b.samlLogin(b.get(a.mocks.saml.StartURL(staff, "/")), tc.email), "/login/continue")
		wantRedirect(t, b.get("/login/continue"), "/")
		m := b.mustMe(tc.email)
		if !m.Identity.IdPInitiated || m.Identity.Connection != tc.conn || m.Provisioning.Created != tc.created ||
			!slices.Equal(m.Roles["simplecity"], tc.roles) || !slices.Equal(m.Accounts, []string{"simplecity"}) {
			t.Errorf("%s: /me %+v identity %+v provisioning %+v", tc.email, m, m.Identity, m.Provisioning)
		}
		if tc.email == "david@simplecity.example" && m.Provisioning.Organisation != "Shipping" {
			t.Errorf("david's organisation %q", m.Provisioning.Organisation)
		}
	}
	// David logs out at the IdP: its single logout ends his sessions in
	// every browser, and the IdP hears that it worked.
	var davids []*browser
	for range 2 {
		b := newBrowser(t, a)
		wantRedirect(t, b.samlLogin(b.get(a.mocks.saml.StartURL(staff, "/")), "david@simplecity.example"), "/login/continue")
		wantRedirect(t, b.get("/login/continue"), "/")
		davids = append(davids, b)
	}
	home := davids[0].get("/")
	wantBody(t, home, `id="idp-logout"`)
	p := davids[0].get(a.mocks.saml.LogoutURL(staff, "david@simplecity.example"))
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, a.URL()+"/saml/simplecity-staff/slo?") {
		t.Fatalf("the IdP's logout went to %d %q", p.status, p.loc)
	}
	p = davids[0].get(p.loc)
	wantBody(t, davids[0].get(p.loc), "status:Success")
	for _, b := range davids {
		wantStatus(t, b.get("/me"), http.StatusUnauthorized)
	}

	// Sally is a Clerk now: her password login is a dry-run refusal.
	b := newBrowser(t, a)
	wantRedirect(t, b.post("/login", form("email", "sally@simplecity.example", "password", "sally-pw")), "/")
	p = b.get("/admin/simplecity")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "policy_dry_run_refusal", "user_created")
}

func TestSmartRecruitersBinding(t *testing.T) {
	a := startDemo(t, freeOptions())
	// Rachel's identifier was set beforehand.
	b := newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.post("/login", form("email", "rachel@hireco.example")), "rachel@hireco.example"), "/")
	if m := b.mustMe("rachel@hireco.example"); m.Provisioning.Match != "identifier" {
		t.Fatalf("match %s", m.Provisioning.Match)
	}
	// Ronald's is unknown: the password form, then a confirmation, binds
	// it to Ron (the login started at the IdP, which this connection
	// allows to be bound).
	b = newBrowser(t, a)
	p := b.samlLogin(b.get(a.mocks.saml.StartURL(a.URL()+"/saml/hireco-saml/metadata", "")), "ronald@hireco.example")
	wantRedirect(t, p, "/login/continue")
	p = b.get("/login/continue")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Connect your account", "ronald@hireco.example")
	p = b.post("/login/bind", form("email", "ron@hireco.example", "password", "ron-pw"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Link the single sign-on identity", "ronald@hireco.example", "HC-1002", "ron@hireco.example")
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no confirmation form: %s", p.body)
	}
	wantRedirect(t, b.post("/login/bind/confirm", form("token", m[1])), "/")
	if m := b.mustMe("ron@hireco.example"); m.Provisioning.Match != "binding" || m.Identity.Subject != "HC-1002" {
		t.Fatalf("/me %+v", m)
	}
	b = newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.post("/login", form("email", "ronald@hireco.example")), "ronald@hireco.example"), "/")
	if m := b.mustMe("ron@hireco.example"); m.Provisioning.Match != "link" {
		t.Fatalf("match %s", m.Provisioning.Match)
	}
}

func TestSmartKeyMultiAccount(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	p := b.post("/login", form("email", "kim@keyteam.example"))
	wantStatus(t, p, http.StatusOK)
	var conns []string
	for _, m := range reConnBtn.FindAllStringSubmatch(p.body, -1) {
		conns = append(conns, m[1])
	}
	if !slices.Equal(conns, []string{"vault-eu-saml", "vault-us-oidc", "vault-lab-ldap"}) {
		t.Fatalf("picker offers %v", conns)
	}
	// The directory.
	p = b.follow(b.post("/login/start", form("connection", "vault-lab-ldap", "email", "kim@keyteam.example")))
	wantBody(t, p, `action="/ldap/vault-lab-ldap/login"`)
	wantRedirect(t, b.post("/ldap/vault-lab-ldap/login", form("email", "kim@keyteam.example", "password", "kim-directory-pw")), "/")
	m := b.mustMe("kim@keyteam.example")
	if !slices.Equal(m.Accounts, []string{"vault-lab"}) || m.Identity.Protocol != "ldap" {
		t.Fatalf("/me %+v", m)
	}
	wantBody(t, b.get("/"), "switching needs another login", "Administer vault-lab")
	// SAML and OpenID grant only their own accounts.
	b = newBrowser(t, a)
	wantRedirect(t, b.samlLogin(b.post("/login/start", form("connection", "vault-eu-saml")), "kim@keyteam.example"), "/")
	if m := b.mustMe("kim@keyteam.example"); !slices.Equal(m.Accounts, []string{"vault-eu"}) {
		t.Fatalf("accounts %v", m.Accounts)
	}
	b = newBrowser(t, a)
	wantRedirect(t, b.oidcLogin(b.post("/login/start", form("connection", "vault-us-oidc")), "kim"), "/")
	if m := b.mustMe("kim@keyteam.example"); !slices.Equal(m.Accounts, []string{"vault-us"}) {
		t.Fatalf("accounts %v", m.Accounts)
	}
	// Kim's password: the break-glass of the account she administers only.
	b = newBrowser(t, a)
	wantRedirect(t, b.post("/login", form("email", "kim@keyteam.example", "password", "kim-pw")), "/")
	m = b.mustMe("kim@keyteam.example")
	if !slices.Equal(m.Accounts, []string{"vault-lab"}) || len(m.Refused) != 2 {
		t.Fatalf("/me %+v", m)
	}
	// Ken is no administrator.
	wantStatus(t, newBrowser(t, a).post("/login", form("email", "ken@keyteam.example", "password", "ken-pw")), http.StatusUnauthorized)
}

// TestMetrics scrapes /metrics after logins: each success and refusal is
// counted once, with its account, connection, protocol and Reason; the
// handler's latency and the SAML certificates' expiry are there.
func TestMetrics(t *testing.T) {
	a := startDemo(t, freeOptions())
	b := newBrowser(t, a)
	wantRedirect(t, b.oidcLogin(b.post("/login", form("email", "pete@pressroom.example")), "pete"), "/")
	wantRedirect(t, newBrowser(t, a).post("/login", form("email", "pete@pressroom.example", "password", "pete-pw")), "/")
	wantStatus(t, newBrowser(t, a).post("/login", form("email", "nina@newsdesk.example", "password", "nina-pw")), http.StatusUnauthorized)
	g := newBrowser(t, a)
	wantRedirect(t, g.samlLogin(g.get("/login/sso/grantmakers"), "greg@grantmakers.example"), "/")
	p := newBrowser(t, a).get("/metrics")
	wantStatus(t, p, http.StatusOK)
	for _, line := range []string{
		`ssokit_logins_total{account="pressroom",connection="pressroom-oidc",protocol="oidc",reason="",result="success"} 1`,
		`ssokit_logins_total{account="grantmakers",connection="grantmakers-saml",protocol="saml",reason="",result="success"} 1`,
		`ssokit_logins_total{account="pressroom",connection="",protocol="password",reason="",result="success"} 1`,
		`ssokit_login_request_duration_seconds_count{protocol="saml",step="complete"} 1`,
		`ssokit_login_request_duration_seconds_count{protocol="oidc",step="complete"} 1`,
	} {
		if !strings.Contains(p.body, line+"\n") {
			t.Errorf("no line %s", line)
		}
	}
	for _, prefix := range []string{
		`ssokit_logins_total{account="newsdesk",connection="",protocol="password",reason="sso_required",result="failure"} 1`,
		`ssokit_certificate_expiry_days{connection="grantmakers-saml",role="idp_signing"} `,
		`go_goroutines `,
	} {
		if !strings.Contains(p.body, prefix) {
			t.Errorf("no series %s", prefix)
		}
	}
	if t.Failed() {
		t.Log(p.body)
	}
}
