package login_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/store/sqlstore"
)

const adminRole = "Administrator"

// world is a host application with the login handler mounted at /auth,
// a mock OpenID provider, a SAML IdP and an LDAP directory, and one account
// per product scenario:
//
//	acme     OIDC, SSO required for all, admins may use their password
//	grants   SAML, SSO required for grants.example only (assessors keep passwords)
//	simple   two SAML connections sharing one IdP, IdP-initiated, SSOModule, JIT
//	recruit  SAML with login binding on the subject
//	keyldap  LDAP, SSO required, break-glass; shares example.com with keyoidc
//	keyoidc  OIDC, optional; alice@example.com is in both key accounts
//	drafty   a draft OIDC connection
type world struct {
	t     *testing.T
	app   *httptest.Server
	base  string // http://localhost:port
	h     *login.Handler
	op    *oidctest.Server
	idp   *samltest.Server
	dir   *ldaptest.Server
	store provisioning.Store
	// db is the SQL database behind store, nil for the memory store.
	db     *sql.DB
	reg    *login.Registry
	idp2   *samltest.Server // the IdP of simple-other
	host   *host
	users  map[string]string // email -> user ID
	events *events
	// states and replay are the connections' state store (for logins
	// begun without Flows) and replay cache; waiting is the handler's
	// Config.StateStore.
	states, waiting *sso.MemoryStateStore
	replay          *sso.MemoryReplayCache
	admin           map[string]bool // user IDs for which CanAdminister is true
	logs            *logBuffer      // the handler's log
	adminMu         sync.Mutex

	// transport is the browsers': it trusts the identity providers' CAs.
	transport *http.Transport
}

// host is the application's part: passwords and sessions.
type host struct {
	mu        sync.Mutex
	passwords map[string]string // email -> password
	users     map[string]string // email -> user ID
	sessions  map[string]*login.Result
	ended     []*sso.Identity
	endFails  bool // EndSessions fails
}

func (h *host) CheckPassword(_ context.Context, email string, pw sso.Secret) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if want, ok := h.passwords[email]; ok && want == pw.Reveal() {
		return h.users[email], nil
	}
	return "", errors.New("wrong password")
}

func (h *host) StartSession(w http.ResponseWriter, _ *http.Request, res *login.Result) error {
	sid := sso.NewBinding()
	h.mu.Lock()
	h.sessions[sid] = res
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (h *host) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	c, err := r.Cookie("sid")
	if err != nil {
		return nil, nil
	}
	h.mu.Lock()
	res := h.sessions[c.Value]
	delete(h.sessions, c.Value)
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
	if res == nil {
		return nil, nil
	}
	h.mu.Lock()
	h.ended = append(h.ended, res.Identity)
	h.mu.Unlock()
	return res.Identity, nil
}

// EndSessions implements login.SessionEnder.
func (h *host) EndSessions(_ context.Context, connection string, matches func(*sso.Identity) bool) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.endFails {
		return false, errors.New("the session store is down")
	}
	for sid, res := range h.sessions {
		if res.Identity != nil && res.Identity.Connection == connection && matches(res.Identity) {
			delete(h.sessions, sid)
			h.ended = append(h.ended, res.Identity)
		}
	}
	return false, nil
}

func (h *host) CurrentUser(r *http.Request) string {
	c, err := r.Cookie("sid")
	if err != nil {
		return ""
	}
	if res := h.session(c.Value); res != nil {
		return res.User
	}
	return ""
}

func (h *host) session(sid string) *login.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[sid]
}

type events struct {
	mu   sync.Mutex
	list []sso.Event
	// count only counts events, for tests that send a flood of them.
	count bool
	n     int
}

func (e *events) add(_ context.Context, ev sso.Event) {
	e.mu.Lock()
	e.n++
	if !e.count {
		e.list = append(e.list, ev)
	}
	e.mu.Unlock()
}

// find returns the events of the given type and reason ("" for any).
func (e *events) find(typ sso.EventType, reason sso.Reason) []sso.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sso.Event
	for _, ev := range e.list {
		if ev.Type == typ && (reason == "" || ev.Reason == reason) {
			out = append(out, ev)
		}
	}
	return out
}

// Users of the mock identity providers.
var (
	oidcUsers = []oidctest.User{
		{Subject: "olly", Email: "olly@acme.example", GivenName: "Olly", FamilyName: "Otter"},
		{Subject: "ada", Email: "ada@acme.example", GivenName: "Ada", FamilyName: "Admin"},
		{Subject: "newbie", Email: "newbie@acme.example"},
		{Subject: "alice-0001", Email: "alice@example.com", GivenName: "Alice", FamilyName: "Liddell"},
		{Subject: "bob-0002", Email: "bob@example.com"},
		{Subject: "drafty", Email: "dana@drafty.example"},
	}
	samlUsers = []samltest.User{
		{Email: "sam@grants.example", GivenName: "Sam", FamilyName: "Grant"},
		// mia signs in at the IdP with a second factor, and the IdP says so.
		{Email: "mia@grants.example", GivenName: "Mia", AuthnContext: "https://refeds.org/profile/mfa"},
		{Email: "dave@simple.example", GivenName: "David", FamilyName: "Smith", Department: "Shipping",
			Attributes: map[string][]string{"SSOModule": {"PARTNERS"}, "UID": {"T5014CD"}, "Roles": {"Clerk,Reviewer"}}},
		{Email: "stan@simple.example", GivenName: "Stan", Attributes: map[string][]string{"SSOModule": {"SAML2"}, "UID": {"S1"}}},
		// tess's IdP sends an emailAddress NameID that differs from her
		// email attribute: an accepted login with a warning.
		{Email: "tess@simple.example", NameID: "tess.old@simple.example", NameIDFormat: saml.NameIDFormatEmailAddress,
			Attributes: map[string][]string{"SSOModule": {"SAML2"}, "UID": {"T1"}}},
		{Email: "eve@simple.example", Attributes: map[string][]string{"SSOModule": {"NOSUCH"}, "UID": {"E1"}}},
		{Email: "mallory@simple.example", Attributes: map[string][]string{"SSOModule": {"OTHER"}, "UID": {"M1"}}},
		{Email: "r.roberts@recruit.example", NameID: "SR-77", NameIDFormat: saml.NameIDFormatPersistent},
		{Email: "t.two@recruit.example", NameID: "SR-78", NameIDFormat: saml.NameIDFormatPersistent},
		{Email: "mallory@recruit.example", NameID: "SR-666", NameIDFormat: saml.NameIDFormatPersistent},
	}
)

type worldOptions struct {
	debug       map[string]bool // connection -> debug mode
	templates   func(*login.Config)
	countEvents bool   // count events instead of keeping them
	store       string // "memory" (the default), "sqlite" or "postgres"
}

func newWorld(t *testing.T, opts ...worldOptions) *world {
	t.Helper()
	var o worldOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	w := &world{t: t, users: map[string]string{}, events: &events{}, admin: map[string]bool{}, logs: &logBuffer{}}
	w.app = httptest.NewUnstartedServer(nil)
	w.base = "http://localhost:" + strconv.Itoa(w.app.Listener.Addr().(*net.TCPAddr).Port)
	w.op = oidctest.Start(t, oidctest.Config{Users: oidcUsers})
	w.idp = samltest.Start(t, samltest.Config{Users: samlUsers})
	w.dir = ldaptest.Start(t, ldaptest.SampleConfig())
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	w.states, w.replay, w.waiting = states, replay, sso.NewMemoryStateStore(sso.MemoryOptions{})
	w.events.count = o.countEvents

	newOIDC := func(id string, postLogout ...string) sso.Authenticator {
		redirect := w.base + "/auth/oidc/" + id + "/callback"
		w.op.AddClient(oidctest.Client{ID: id + "-client", Secret: "secret-" + id, RedirectURIs: []string{redirect}, PostLogoutRedirectURIs: postLogout})
		c, err := oidc.New(oidc.Config{ID: id, Issuer: w.op.Issuer(), ClientID: id + "-client", ClientSecret: sso.Secret("secret-" + id),
			RedirectURL: redirect, CACertPEM: w.op.CACertPEM(), InsecureAllowPrivateNetwork: true, StateStore: states, ReplayCache: replay,
			PostLogoutRedirectURL: strings.Join(postLogout, ""), Debug: o.debug[id]})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	newSAML := func(id string, mod func(*saml.Config)) sso.Authenticator {
		cfg := w.idp.ConnectionConfig(id, w.base+"/auth/saml/"+id+"/metadata", w.base+"/auth/saml/"+id+"/acs")
		cfg.StateStore, cfg.ReplayCache, cfg.TrustEmail = states, replay, true
		cfg.SLOURL = w.base + "/auth/saml/" + id + "/slo"
		if err := w.idp.AddServiceProvider(samltest.ServiceProvider{EntityID: cfg.EntityID, ACSURL: cfg.ACSURL, SLOURL: cfg.SLOURL}); err != nil {
			t.Fatal(err)
		}
		cfg.Debug = o.debug[id]
		if mod != nil {
			mod(&cfg)
		}
		sp, err := saml.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	dirAuth, err := ldap.New(ldap.Config{ID: "keyldap", URLs: []string{w.dir.URL()}, CACertPEM: w.dir.CACertPEM(), TrustEmail: true,
		Search: &ldap.Search{BaseDN: ldaptest.SampleBaseDN, ObjectClass: "inetOrgPerson", BindDN: ldaptest.SampleServiceDN, BindPassword: ldaptest.SampleServicePassword}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dirAuth.Close() })
	jitSimple := func(role string) provisioning.Connection {
		return provisioning.Connection{Identifier: provisioning.IdentifierAttribute, IdentifierAttribute: "UID",
			JIT:     provisioning.JIT{Enabled: true, DefaultRoles: []string{role}},
			Updates: provisioning.Updates{Roles: true, Names: true},
			Roles:   provisioning.RoleMapping{Attribute: "Roles", SplitCommas: true, PassThrough: true}}
	}
	allowIdP := func(c *saml.Config) { c.AllowIdPInitiated = true }
	// simple-other trusts another IdP than the other SAML connections.
	w.idp2 = samltest.Start(t, samltest.Config{Users: samlUsers})
	roots := x509.NewCertPool()
	for _, ca := range [][]byte{w.op.CACertPEM(), w.idp.CACertPEM(), w.idp2.CACertPEM()} {
		roots.AppendCertsFromPEM(ca)
	}
	w.transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(w.transport.CloseIdleConnections)
	otherIdP := func(c *saml.Config) {
		c.AllowIdPInitiated = true
		c.IdPMetadataXML, c.IdPMetadataURL = w.idp2.Metadata(), ""
	}
	d := func(names ...string) []discovery.Domain {
		var out []discovery.Domain
		for _, n := range names {
			out = append(out, discovery.Domain{Name: n})
		}
		return out
	}
	shared := []discovery.Domain{{Name: "example.com", Shared: true}}
	live := policy.Connection{Stage: policy.StageLive}
	w.reg, err = login.NewRegistry(login.RegistryConfig{BaseURL: w.base + "/auth", Accounts: []login.Account{
		{ID: "acme", Name: "Acme", Aliases: []string{"acme"}, Domains: d("acme.example"),
			Policy:      policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
			Connections: []login.Connection{{Authenticator: newOIDC("acme-oidc"), DisplayName: "Acme Entra ID", Policy: live, LogoutRedirectURL: "/goodbye"}}},
		{ID: "grants", Name: "Grants Org", Aliases: []string{"grants"}, Domains: d("grants.example"),
			Policy:      policy.Policy{Mode: policy.ModeSSORequired, Scope: policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"grants.example"}}},
			Connections: []login.Connection{{Authenticator: newSAML("grants-saml", nil), DisplayName: "Grants Okta", Policy: live}}},
		{ID: "simple", Name: "Simple", Domains: d("simple.example"), Policy: policy.Policy{Mode: policy.ModeSSOOptional},
			Connections: []login.Connection{
				{Authenticator: newSAML("simple-staff", allowIdP), Module: "SAML2", Policy: live, Provisioning: jitSimple("Staff")},
				{Authenticator: newSAML("simple-partners", allowIdP), Module: "PARTNERS", Policy: live, Provisioning: jitSimple("Partner")},
				{Authenticator: newSAML("simple-other", otherIdP), Module: "OTHER", Policy: live, Provisioning: jitSimple("Other")},
			}},
		{ID: "recruit", Name: "Recruit", Domains: d("recruit.example"), Policy: policy.Policy{Mode: policy.ModeSSOOptional},
			Connections: []login.Connection{{Authenticator: newSAML("recruit-saml", allowIdP), Policy: live,
				Provisioning: provisioning.Connection{Identifier: provisioning.IdentifierSubject, LoginBinding: provisioning.LoginBinding{Enabled: true}}}}},
		{ID: "keyldap", Name: "Key LDAP", Domains: shared, Policy: policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
			Connections: []login.Connection{{Authenticator: dirAuth, DisplayName: "Key directory", Policy: live}}},
		{ID: "keyoidc", Name: "Key OIDC", Domains: shared, Policy: policy.Policy{Mode: policy.ModeSSOOptional},
			Connections: []login.Connection{{Authenticator: newOIDC("keyoidc", w.base+"/signed-out"), DisplayName: "Key OpenID", Policy: live}}},
		{ID: "drafty", Name: "Drafty", Aliases: []string{"drafty"}, Domains: d("drafty.example"), Policy: policy.Policy{Mode: policy.ModeSSOOptional},
			Connections: []login.Connection{{Authenticator: newOIDC("drafty-oidc"), Policy: policy.Connection{Stage: policy.StageDraft}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.store, w.db = newUserStore(t, o.store)
	prov, err := provisioning.New(provisioning.Config{Store: w.store, Events: w.events.add})
	if err != nil {
		t.Fatal(err)
	}
	w.host = &host{passwords: map[string]string{}, users: w.users, sessions: map[string]*login.Result{}}
	w.addUser("ada@acme.example", "ada-pw", map[string][]string{"acme": {adminRole}})
	w.addUser("olly@acme.example", "olly-pw", map[string][]string{"acme": nil})
	w.addUser("sam@grants.example", "sam-pw", map[string][]string{"grants": nil})
	w.addUser("mia@grants.example", "mia-pw", map[string][]string{"grants": nil})
	w.addUser("assessor@outside.example", "assessor-pw", map[string][]string{"grants": {"Assessor"}})
	w.addUser("rita@recruit.example", "rita-pw", map[string][]string{"recruit": nil})
	w.addUser("alice@example.com", "alice-app-pw", map[string][]string{"keyldap": {adminRole}, "keyoidc": nil})
	w.addUser("bob@example.com", "bob-app-pw", map[string][]string{"keyldap": nil})
	w.addUser("dana@drafty.example", "dana-pw", map[string][]string{"drafty": {adminRole}})

	cfg := login.Config{
		Registry:    w.reg,
		Provisioner: prov,
		Users:       login.StoreUsers{Store: w.store, AdminRoles: []string{adminRole}},
		Sessions:    w.host,
		Passwords:   w.host,
		StateStore:  w.waiting,
		Events:      w.events.add,
		Logger:      w.logger(o.countEvents),
		CanAdminister: func(r *http.Request, account string) bool {
			c, err := r.Cookie("sid")
			if err != nil {
				return false
			}
			res := w.host.session(c.Value)
			if res == nil {
				return false
			}
			w.adminMu.Lock()
			defer w.adminMu.Unlock()
			return w.admin[res.User+"/"+account]
		},
	}
	if o.templates != nil {
		o.templates(&cfg)
	}
	w.h, err = login.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", w.h)
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "home") })
	w.app.Config.Handler = mux
	w.app.Start()
	t.Cleanup(w.app.Close)
	return w
}

// addUser creates a user with memberships (account -> admin-granted roles)
// and a host password.
func (w *world) addUser(email, pw string, accounts map[string][]string) string {
	w.t.Helper()
	ctx := context.Background()
	u := &provisioning.User{Email: email}
	err := w.store.Tx(ctx, func(tx provisioning.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for acct, roles := range accounts {
			m := &provisioning.Membership{User: u.ID, Account: acct, Status: provisioning.StatusActive}
			for _, r := range roles {
				m.Roles = append(m.Roles, provisioning.RoleGrant{Role: r, Source: provisioning.RoleSourceAdmin})
			}
			if err := tx.PutMembership(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.host.mu.Lock()
	w.host.passwords[email] = pw
	w.users[email] = u.ID
	w.host.mu.Unlock()
	return u.ID
}

func (w *world) makeAdmin(email, account string) {
	w.adminMu.Lock()
	w.admin[w.users[email]+"/"+account] = true
	w.adminMu.Unlock()
}

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	t *testing.T
	w *world
	c *http.Client
}

func (w *world) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: w.t, w: w, c: &http.Client{Transport: w.transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response with its body read.
type page struct {
	status int
	header http.Header
	body   string
	loc    string
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

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.w.base + u
	}
	return u
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.abs(u), nil)
	return b.do(req)
}

// post submits a form as a same-origin browser page would.
func (b *browser) post(u string, v url.Values, headers ...string) *page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if strings.HasPrefix(b.abs(u), b.w.base) {
		req.Header.Set("Origin", b.w.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// sid returns the host session of the browser, or nil.
func (b *browser) session() *login.Result {
	u, _ := url.Parse(b.w.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "sid" {
			return b.w.host.session(c.Value)
		}
	}
	return nil
}

func (b *browser) mustSession(who string) *login.Result {
	b.t.Helper()
	res := b.session()
	if res == nil {
		b.t.Fatalf("no session after %s's login", who)
	}
	if res.User != b.w.users[who] {
		b.t.Fatalf("session of user %q; want %s (%q)", res.User, who, b.w.users[who])
	}
	return res
}

// oidcLogin completes an OIDC login at the provider as who, from the
// redirect p to the provider, and returns the app's answer to the callback.
func (b *browser) oidcLogin(p *page, who string) *page {
	b.t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, b.w.op.URL()) {
		b.t.Fatalf("want a redirect to the OpenID provider, got %d %q: %s", p.status, p.loc, p.body)
	}
	cb, err := oidctest.LoginAs(b.w.op.Client(), p.loc, who)
	if err != nil {
		b.t.Fatalf("LoginAs: %v", err)
	}
	return b.get(cb.String())
}

var (
	reLoginHandle = regexp.MustCompile(`name="login" value="([^"]+)"`)
	reFormAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reHidden      = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// samlLogin logs in at the SAML IdP's login page p as email and returns
// the IdP's auto-POST form: the ACS URL and its fields.
func (b *browser) samlIdPLogin(p *page, email string) (string, url.Values) {
	b.t.Helper()
	if p.status == http.StatusSeeOther {
		p = b.get(p.loc)
	}
	m := reLoginHandle.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no IdP login page (%d): %s", p.status, p.body)
	}
	pw := samltest.DefaultPassword
	resp := b.post(b.w.idp.URL()+"/login", url.Values{"login": {html.UnescapeString(m[1])}, "email": {email}, "password": {pw}})
	return autoPost(b.t, resp)
}

// autoPost parses an auto-submitting form page.
func autoPost(t *testing.T, p *page) (string, url.Values) {
	t.Helper()
	m := reFormAction.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no auto-POST form (%d): %s", p.status, p.body)
	}
	v := url.Values{}
	for _, f := range reHidden.FindAllStringSubmatch(p.body, -1) {
		v.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), v
}

// postACS posts the IdP's form to the app as the browser does: a
// cross-site POST.
func (b *browser) postACS(action string, v url.Values) *page {
	b.t.Helper()
	return b.post(action, v, "Origin", b.w.idp.URL(), "Sec-Fetch-Site", "cross-site")
}

// samlLogin runs the IdP part and the ACS POST.
func (b *browser) samlLogin(p *page, email string) *page {
	b.t.Helper()
	action, v := b.samlIdPLogin(p, email)
	return b.postACS(action, v)
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

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// logger returns the handler's logger: into w.logs, or discarding
// everything when quiet (a flood would fill the buffer).
func (w *world) logger(quiet bool) *slog.Logger {
	if quiet {
		return discardLogger()
	}
	return slog.New(slog.NewTextHandler(w.logs, nil))
}

// logBuffer collects log output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newUserStore returns the world's user store of the given kind.
func newUserStore(t *testing.T, kind string) (provisioning.Store, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	switch kind {
	case "", "memory":
		return provisioning.NewMemoryStore(provisioning.MemoryOptions{}), nil
	case "sqlite":
		s, err := sqlstore.OpenSQLite(ctx, ":memory:", sqlstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, s.DB()
	case "postgres":
		db, err := sql.Open("pgx", servertest.PostgresSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		s, err := sqlstore.New(ctx, sqlstore.Config{DB: db, Dialect: sqlstore.Postgres})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(); _ = db.Close() })
		return s, db
	}
	t.Fatalf("no store %q", kind)
	return nil, nil
}

// counts returns how many users, memberships, organisations and links the
// user store holds.
func (w *world) counts() (users, memberships, organisations, links int) {
	w.t.Helper()
	if m, ok := w.store.(*provisioning.MemoryStore); ok {
		return m.Len()
	}
	n := make([]int, 4)
	for i, table := range []string{"sso_users", "sso_memberships", "sso_organisations", "sso_links"} {
		if err := w.db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n[i]); err != nil {
			w.t.Fatal(err)
		}
	}
	return n[0], n[1], n[2], n[3]
}

// dump returns everything the user store holds, in a stable order, to
// compare before and after a step.
func (w *world) dump() string {
	w.t.Helper()
	var b strings.Builder
	if w.db == nil {
		u, m, o, l := w.counts()
		fmt.Fprintf(&b, "users %d memberships %d organisations %d links %d\n", u, m, o, l)
		ctx := context.Background()
		emails := make([]string, 0, len(w.users))
		for e := range w.users {
			emails = append(emails, e)
		}
		sort.Strings(emails)
		_ = w.store.Tx(ctx, func(tx provisioning.Tx) error {
			for _, e := range emails {
				u, err := tx.FindUserByEmail(ctx, e)
				if err != nil {
					continue
				}
				ms, _ := tx.ListMemberships(ctx, u.ID)
				fmt.Fprintf(&b, "%+v %+v\n", *u, ms)
			}
			return nil
		})
		return b.String()
	}
	for _, table := range []string{"sso_users", "sso_memberships", "sso_member_roles", "sso_organisations", "sso_links"} {
		rows, err := w.db.Query(`SELECT * FROM ` + table)
		if err != nil {
			w.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				w.t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(vals...))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "%s:\n%s\n", table, strings.Join(lines, "\n"))
	}
	return b.String()
}

// setPolicy sets the account's policy as the host's admin page does: the
// mode and scope of pol, and the stage and test users of each connection
// pol lists.
func (w *world) setPolicy(id string, pol policy.Policy) error {
	return w.reg.SetPolicy(id, pol)
}

// setConnection replaces the connection with c's ID in its account.
func (w *world) setConnection(c login.Connection) error {
	_, acct, ok := w.reg.Connection(c.ID())
	if !ok {
		w.t.Fatalf("no connection %s", c.ID())
	}
	_, _, err := w.reg.SetConnection(acct, c)
	return err
}
