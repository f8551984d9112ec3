package login_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml/samltest"
)

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestOIDCEmailFirst(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantStatus(t, b.get("/auth/login"), http.StatusOK)
	p := b.post("/auth/login", form("email", "Olly@ACME.example", "return_to", "/reports?q=1"))
	p = b.oidcLogin(p, "olly")
	wantRedirect(t, p, "/reports?q=1")
	res := b.mustSession("olly@acme.example")
	if res.Method != policy.SSO("acme-oidc", sso.ProtocolOIDC) || !slices.Equal(res.Accounts, []string{"acme"}) {
		t.Fatalf("method %v accounts %v", res.Method, res.Accounts)
	}
	if res.Identity == nil || res.Identity.Subject != "olly" || res.Provisioning == nil || res.Provisioning.Match != provisioning.MatchEmail {
		t.Fatalf("identity %+v provisioning %+v", res.Identity, res.Provisioning)
	}
	if got := w.op.LoginHints(); len(got) != 1 || got[0] != "Olly@acme.example" {
		t.Fatalf("login_hint = %v", got)
	}
}

func TestOIDCFailureMessageAndDebugDetail(t *testing.T) {
	for _, debug := range []bool{false, true} {
		w := newWorld(t, worldOptions{debug: map[string]bool{"acme-oidc": debug}})
		b := w.browser()
		p := b.oidcLogin(b.post("/auth/login", form("email", "newbie@acme.example")), "newbie")
		wantStatus(t, p, http.StatusForbidden)
		wantBody(t, p, template.HTMLEscapeString(sso.ReasonUserNotProvisioned.UserMessage()))
		if debug {
			wantBody(t, p, "reason: user_not_provisioned", "connection: acme-oidc")
		} else {
			wantNoBody(t, p, "user_not_provisioned", "For the administrator")
		}
		if b.session() != nil {
			t.Fatal("a session was started")
		}
		if len(w.events.find(sso.EventLoginFailed, sso.ReasonUserNotProvisioned)) != 1 {
			t.Fatalf("events: %+v", w.events.list)
		}
	}
}

func TestAdministratorSeesDetail(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	w.makeAdmin("ada@acme.example", "acme")
	// A callback with a state this browser never started.
	p := b.get("/auth/oidc/acme-oidc/callback?code=x&state=forged")
	wantStatus(t, p, http.StatusBadRequest)
	wantBody(t, p, "reason: state_missing")
}

const passwordFailed = "We could not log you in with this email address and password."

func TestPasswordRefusedWhenSSORequired(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	// The right password of a person who must use single sign-on gets the
	// same answer as a wrong one, and as an address nobody has: it depends
	// only on the email's domain (the single sign-on it offers) and tells
	// nobody whether the password is right.
	var bodies []string
	for _, c := range []struct{ email, pw string }{{"olly@acme.example", "olly-pw"}, {"olly@acme.example", "wrong"}, {"nobody@acme.example", "x"}} {
		p := b.post("/auth/login", form("email", c.email, "password", c.pw))
		wantStatus(t, p, http.StatusUnauthorized)
		wantBody(t, p, passwordFailed, `name="connection" value="acme-oidc"`, "Acme — Entra ID")
		bodies = append(bodies, strings.ReplaceAll(strings.ReplaceAll(p.body, c.email, "EMAIL"), url.QueryEscape(c.email), "EMAIL"))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("the answers differ:\n%s\n---\n%s\n---\n%s", bodies[0], bodies[1], bodies[2])
	}
	if b.session() != nil {
		t.Fatal("session started")
	}
	// The administrator's log tells the cases apart.
	if n := len(w.events.find(sso.EventPasswordRefused, sso.ReasonSSORequired)); n != 1 {
		t.Fatalf("%d password_refused events", n)
	}
	if n := len(w.events.find(sso.EventLoginFailed, sso.ReasonPasswordIncorrect)); n != 2 {
		t.Fatalf("%d password_incorrect events", n)
	}
	// The host's password check may know the user by another address: the
	// policy is asked for the user the password belongs to.
	w.host.mu.Lock()
	w.host.passwords["olly.alias@elsewhere.example"] = "olly-pw"
	w.users["olly.alias@elsewhere.example"] = w.users["olly@acme.example"]
	w.host.mu.Unlock()
	p := b.post("/auth/login", form("email", "olly.alias@elsewhere.example", "password", "olly-pw"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, passwordFailed)
	if b.session() != nil {
		t.Fatal("a password of another address started a session of a user who must use SSO")
	}
}

// TestPasswordAnswerRevealsNoMembership: a member of an account that
// requires single sign-on, at a domain that routes nowhere, gets the same
// answer as an unknown address, whatever the password (it used to get the
// account's SSO button without any password check).
func TestPasswordAnswerRevealsNoMembership(t *testing.T) {
	w := newWorld(t)
	w.addUser("member@nowhere.example", "member-pw", map[string][]string{"acme": nil})
	var bodies []string
	for _, c := range []struct{ email, pw string }{{"member@nowhere.example", "member-pw"}, {"member@nowhere.example", "wrong"}, {"stranger@nowhere.example", "x"}} {
		p := w.browser().post("/auth/login", form("email", c.email, "password", c.pw))
		wantStatus(t, p, http.StatusUnauthorized)
		wantNoBody(t, p, "acme-oidc", "Acme")
		bodies = append(bodies, strings.ReplaceAll(strings.ReplaceAll(p.body, c.email, "EMAIL"), url.QueryEscape(c.email), "EMAIL"))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatalf("the answers differ:\n%s\n---\n%s\n---\n%s", bodies[0], bodies[1], bodies[2])
	}
}

func TestAdminBreakGlass(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.post("/auth/login", form("email", "ada@acme.example", "password", "wrong"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, passwordFailed)
	wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	res := b.mustSession("ada@acme.example")
	if res.Method != policy.Password() || !slices.Equal(res.Accounts, []string{"acme"}) || res.Decisions[0].Rule != policy.RuleAdminBreakGlass {
		t.Fatalf("result %+v", res)
	}
	if len(w.events.find(sso.EventLoginFailed, login.ReasonPasswordIncorrect)) != 1 {
		t.Fatal("no event for the wrong password")
	}
}

func TestEmailDomainScope(t *testing.T) {
	w := newWorld(t)
	// The assessor's domain is outside the SSO scope: password works.
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "assessor@outside.example", "password", "assessor-pw")), "/")
	if res := b.mustSession("assessor@outside.example"); !slices.Equal(res.Accounts, []string{"grants"}) {
		t.Fatalf("accounts %v", res.Accounts)
	}
	// Staff at grants.example must use SSO.
	p := w.browser().post("/auth/login", form("email", "sam@grants.example", "password", "sam-pw"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, `value="grants-saml"`)
}

func TestSAMLSPInitiated(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.post("/auth/login", form("email", "sam@grants.example", "return_to", "/grants"))
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.idp.SSOURL()+"?") {
		t.Fatalf("want a redirect to the IdP: %d %q", p.status, p.loc)
	}
	cookie := p.header.Get("Set-Cookie")
	for _, attr := range []string{"__Host-ssokit_flow_", "Path=/;", "HttpOnly", "Secure", "SameSite=None"} {
		if !strings.Contains(cookie, attr) {
			t.Fatalf("pending login cookie %q lacks %s", cookie, attr)
		}
	}
	wantRedirect(t, b.samlLogin(p, "sam@grants.example"), "/grants")
	res := b.mustSession("sam@grants.example")
	if res.Identity.Connection != "grants-saml" || res.Identity.IdPInitiated || !slices.Equal(res.Accounts, []string{"grants"}) {
		t.Fatalf("result %+v", res)
	}
}

func TestSAMLResponseInAnotherBrowser(t *testing.T) {
	w := newWorld(t)
	a, other := w.browser(), w.browser()
	action, v := a.samlIdPLogin(a.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example")
	p := other.postACS(action, v)
	wantStatus(t, p, http.StatusBadRequest)
	wantBody(t, p, template.HTMLEscapeString(sso.ReasonStateMissing.UserMessage()))
	if len(w.events.find(sso.EventLoginFailed, sso.ReasonStateMissing)) != 1 {
		t.Fatal("no event")
	}
}

func TestDomainPrompt(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantBody(t, b.get("/auth/login/sso"), `name="domain"`)
	wantRedirect(t, b.get("/auth/login/sso?domain=grants&return_to=/x"), "/auth/login/sso/grants?return_to=%2Fx")
	p := b.get("/auth/login/sso/grants?return_to=/x")
	wantRedirect(t, b.samlLogin(p, "sam@grants.example"), "/x")
	b.mustSession("sam@grants.example")
	// An email domain works as an alias too.
	p = w.browser().get("/auth/login/sso/grants.example")
	if !strings.HasPrefix(p.loc, w.idp.SSOURL()) {
		t.Fatalf("domain start went to %q", p.loc)
	}
	p = b.get("/auth/login/sso/nosuch")
	wantStatus(t, p, http.StatusNotFound)
	wantBody(t, p, "Single sign-on is not set up for this organisation", `value="nosuch"`)
	// A draft connection is not started.
	wantStatus(t, b.get("/auth/login/sso/drafty"), http.StatusNotFound)
}

func TestIdPInitiatedWithSSOModule(t *testing.T) {
	w := newWorld(t)
	staffEntity := w.base + "/auth/saml/simple-staff/metadata"
	tests := []struct {
		email, relay, wantConn, wantReturn string
		wantRoles                          []string
	}{
		{"dave@simple.example", "/welcome", "simple-partners", "/welcome", []string{"Clerk", "Partner", "Reviewer"}},
		{"stan@simple.example", "//evil.example/x", "simple-staff", "/", []string{"Staff"}},
	}
	for _, tc := range tests {
		b := w.browser()
		p := b.get(w.idp.StartURL(staffEntity, tc.relay))
		action, v := b.samlIdPLogin(p, tc.email)
		if !strings.HasSuffix(action, "/auth/saml/simple-staff/acs") {
			t.Fatalf("IdP posts to %s", action)
		}
		wantRedirect(t, b.postACS(action, v), "/auth/login/continue")
		wantRedirect(t, b.get("/auth/login/continue"), tc.wantReturn)
		res := b.mustSessionOf(tc.email)
		if !res.Identity.IdPInitiated || res.Identity.Connection != tc.wantConn || !slices.Equal(res.Accounts, []string{"simple"}) {
			t.Fatalf("%s: identity %+v accounts %v", tc.email, res.Identity, res.Accounts)
		}
		if !res.Provisioning.Created || !slices.Equal(res.Provisioning.Roles(), tc.wantRoles) {
			t.Fatalf("%s: provisioning %+v roles %v", tc.email, res.Provisioning, res.Provisioning.Roles())
		}
	}
	// A module no connection has is refused.
	b := w.browser()
	action, v := b.samlIdPLogin(b.get(w.idp.StartURL(staffEntity, "")), "eve@simple.example")
	p := b.postACS(action, v)
	wantStatus(t, p, http.StatusNotFound)
	if len(w.events.find(sso.EventLoginFailed, sso.ReasonConnectionNotFound)) != 1 {
		t.Fatal("no event for the unknown module")
	}
}

// TestLoginWarningsReported: an accepted login's identity warnings become
// warning events with the account, connection and user, where the admin
// page lists events, and log records.
func TestLoginWarningsReported(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	action, v := b.samlIdPLogin(b.get(w.idp.StartURL(w.base+"/auth/saml/simple-staff/metadata", "/")), "tess@simple.example")
	wantRedirect(t, b.postACS(action, v), "/auth/login/continue")
	wantRedirect(t, b.get("/auth/login/continue"), "/")
	res := b.mustSessionOf("tess@simple.example")
	ev := w.events.find(sso.EventWarning, sso.ReasonEmailMismatch)
	if len(ev) != 1 || ev[0].Account != "simple" || ev[0].Connection != "simple-staff" || ev[0].User != res.User || !strings.Contains(ev[0].Detail, "tess.old@simple.example") {
		t.Fatalf("warning events %+v", ev)
	}
	if !strings.Contains(w.logs.String(), "accepted with a warning") {
		t.Fatalf("log:\n%s", w.logs.String())
	}
}

// TestSecondFactorNeedsMFAEvidence: with SSOSatisfiesSecondFactor, a
// single sign-on login skips the application's second factor only when the
// IdP showed multi-factor authentication, or when an administrator states
// that the connection's IdP always enforces it.
func TestSecondFactorNeedsMFAEvidence(t *testing.T) {
	w := newWorld(t)
	if err := w.setPolicy("grants", policy.Policy{Mode: policy.ModeSSOOptional, SecondFactorRequired: true, SSOSatisfiesSecondFactor: true,
		Connections: []policy.Connection{{ID: "grants-saml", Stage: policy.StageLive}}}); err != nil {
		t.Fatal(err)
	}
	signIn := func(email string) *login.Result {
		b := w.browser()
		wantRedirect(t, b.samlLogin(b.post("/auth/login", form("email", email)), email), "/")
		return b.mustSession(email)
	}
	if res := signIn("sam@grants.example"); !res.SecondFactorRequired || res.Identity.MFA {
		t.Fatalf("a password-only IdP login: second factor required %v, MFA %v", res.SecondFactorRequired, res.Identity.MFA)
	}
	if res := signIn("mia@grants.example"); res.SecondFactorRequired || !res.Identity.MFA || res.Identity.AuthnContext != "https://refeds.org/profile/mfa" {
		t.Fatalf("an MFA IdP login: second factor required %v, identity %+v", res.SecondFactorRequired, res.Identity)
	}
	c, _, _ := w.reg.Connection("grants-saml")
	c.IdPEnforcesMFA = true
	if err := w.setConnection(c); err != nil {
		t.Fatal(err)
	}
	if res := signIn("sam@grants.example"); res.SecondFactorRequired {
		t.Fatal("the administrator's statement that the IdP enforces MFA is ignored")
	}
}

// mustSessionOf is mustSession for users created by the login.
func (b *browser) mustSessionOf(email string) *login.Result {
	b.t.Helper()
	res := b.session()
	if res == nil || res.Email != email {
		b.t.Fatalf("session %+v; want one for %s", res, email)
	}
	return res
}

func TestIdPInitiatedRefusedWhereNotAllowed(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	action, v := b.samlIdPLogin(b.get(w.idp.StartURL(w.base+"/auth/saml/grants-saml/metadata", "")), "sam@grants.example")
	wantStatus(t, b.postACS(action, v), http.StatusForbidden)
	if len(w.events.find(sso.EventLoginFailed, sso.ReasonUnsolicited)) != 1 {
		t.Fatalf("events %+v", w.events.list)
	}
}

// confirmToken returns the one-time token of a confirmation page.
func confirmToken(t *testing.T, p *page) string {
	t.Helper()
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no confirmation form (%d):\n%s", p.status, p.body)
	}
	return m[1]
}

func TestLoginBinding(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	// SSO first: the IdP's identifier is unknown, so the bind form shows.
	p := b.samlLogin(b.post("/auth/login", form("email", "r.roberts@recruit.example", "return_to", "/jobs")), "r.roberts@recruit.example")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Connect your account", "r.roberts@recruit.example", `action="/auth/login/bind"`)
	if b.session() != nil {
		t.Fatal("session before binding")
	}
	p = b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "wrong"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, "The email address or password is incorrect.")
	// Another browser cannot complete it.
	wantStatus(t, w.browser().post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw")), http.StatusBadRequest)
	// The right password asks for a confirmation that names both sides.
	p = b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="confirm-question"`, "r.roberts@recruit.example", "rita@recruit.example", `action="/auth/login/bind/confirm"`)
	if _, _, _, links := w.counts(); links != 0 || b.session() != nil {
		t.Fatal("linked before the confirmation")
	}
	// A confirmation without the page's token is refused and ends it.
	token := confirmToken(t, p)
	wantRedirect(t, b.post("/auth/login/bind/confirm", form("token", token)), "/jobs")
	res := b.mustSession("rita@recruit.example")
	if res.Provisioning.Match != provisioning.MatchBinding || res.Method.Kind != policy.MethodSSO || res.Identity.Subject != "SR-77" {
		t.Fatalf("result %+v", res)
	}
	// The next SSO login is recognised at once, in any browser.
	b2 := w.browser()
	wantRedirect(t, b2.samlLogin(b2.post("/auth/login", form("email", "r.roberts@recruit.example")), "r.roberts@recruit.example"), "/")
	if res := b2.mustSession("rita@recruit.example"); res.Provisioning.Match != provisioning.MatchLink {
		t.Fatalf("match %s", res.Provisioning.Match)
	}
}

func TestLoginBindingConfirmation(t *testing.T) {
	w := newWorld(t)
	start := func(b *browser) *page {
		b.samlLogin(b.post("/auth/login", form("email", "t.two@recruit.example")), "t.two@recruit.example")
		return b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw"))
	}
	// Cancel: nothing is linked, no session.
	b := w.browser()
	p := b.post("/auth/login/bind/confirm", form("token", confirmToken(t, start(b)), "cancel", "1"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "was not connected")
	// A forged token: refused, and the identity is dropped.
	b = w.browser()
	start(b)
	wantStatus(t, b.post("/auth/login/bind/confirm", form("token", "forged")), http.StatusBadRequest)
	wantStatus(t, b.post("/auth/login/bind/confirm", form("token", "forged")), http.StatusBadRequest)
	// A cross-site confirmation is refused by the origin check.
	b = w.browser()
	token := confirmToken(t, start(b))
	wantStatus(t, b.post("/auth/login/bind/confirm", form("token", token), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	if _, _, _, links := w.counts(); links != 0 || b.session() != nil {
		t.Fatal("a cancelled, forged or cross-site confirmation linked")
	}
}

// TestLoginBindingPasswordTries: the identity waiting for login binding
// takes MaxBindingTries wrong passwords, then it is dropped; every failure
// (wrong password, a member whose account requires SSO, a non-member)
// gets the same answer.
func TestLoginBindingPasswordTries(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.samlLogin(b.post("/auth/login", form("email", "r.roberts@recruit.example")), "r.roberts@recruit.example")
	var bodies []string
	for i, c := range []struct{ email, pw string }{
		{"rita@recruit.example", "wrong"},
		{"sam@grants.example", "sam-pw"},        // right password, no member of recruit
		{"nobody@recruit.example", "x"},         // no such user
		{"ada@acme.example", "wrong"},           // another account
		{"rita@recruit.example", "still-wrong"}, // the fifth failure drops it
		{"rita@recruit.example", "rita-pw"},     // too late
	} {
		p := b.post("/auth/login/bind", form("email", c.email, "password", c.pw))
		switch {
		case i < 4:
			wantStatus(t, p, http.StatusUnauthorized)
			bodies = append(bodies, p.body)
		case i == 4:
			wantStatus(t, p, http.StatusForbidden)
			wantBody(t, p, template.HTMLEscapeString(sso.ReasonTooManyAttempts.UserMessage()))
		default:
			wantStatus(t, p, http.StatusBadRequest)
		}
	}
	for _, body := range bodies[1:] {
		if body != bodies[0] {
			t.Fatalf("the answers differ:\n%s\n---\n%s", bodies[0], body)
		}
	}
	if len(w.events.find(sso.EventLoginFailed, sso.ReasonTooManyAttempts)) != 1 {
		t.Fatalf("events %+v", w.events.list)
	}
	// A member whose account requires single sign-on cannot bind with a
	// password either.
	if err := w.setPolicy("recruit", policy.Policy{Mode: policy.ModeSSORequired,
		Connections: []policy.Connection{{ID: "recruit-saml", Stage: policy.StageLive}}}); err != nil {
		t.Fatal(err)
	}
	b = w.browser()
	b.samlLogin(b.post("/auth/login", form("email", "r.roberts@recruit.example")), "r.roberts@recruit.example")
	wantStatus(t, b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw")), http.StatusUnauthorized)
	if len(w.events.find(sso.EventPasswordRefused, sso.ReasonSSORequired)) != 1 {
		t.Fatal("no password_refused event for the binding password of a user who must use SSO")
	}
}

func TestLoginBindingPasswordFirst(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "rita@recruit.example", "password", "rita-pw")), "/")
	// An SP-initiated login this browser starts afterwards asks at once
	// whether to link the identity to rita.
	p := b.samlLogin(b.post("/auth/login", form("email", "r.roberts@recruit.example")), "r.roberts@recruit.example")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="confirm-question"`, "r.roberts@recruit.example", "rita@recruit.example")
	wantRedirect(t, b.post("/auth/login/bind/confirm", form("token", confirmToken(t, p))), "/")
	if res := b.mustSession("rita@recruit.example"); res.Provisioning.Match != provisioning.MatchBinding {
		t.Fatalf("match %s", res.Provisioning.Match)
	}
}

// TestLoginBindingRefusesCrossSiteIdPInitiated: the account takeover of a
// victim who logged in with her password and then opened a page that
// auto-posts the attacker's own unsolicited response to the ACS. The
// connection allows IdP-initiated logins, but not their binding: the
// attacker's identity is never linked to her.
func TestLoginBindingRefusesCrossSiteIdPInitiated(t *testing.T) {
	w := newWorld(t)
	// The attacker's own unused response, from his own browser.
	attacker := w.browser()
	action, v := attacker.samlIdPLogin(attacker.get(w.idp.StartURL(w.base+"/auth/saml/recruit-saml/metadata", "")), "mallory@recruit.example")
	victim := w.browser()
	wantRedirect(t, victim.post("/auth/login", form("email", "rita@recruit.example", "password", "rita-pw")), "/")
	p := victim.postACS(action, v)
	if p.status == http.StatusSeeOther {
		p = victim.get(p.loc)
	}
	if p.status == http.StatusOK && strings.Contains(p.body, "confirm-form") {
		p = victim.post("/auth/login/continue", form("token", confirmToken(t, p)))
	}
	if res := victim.session(); res == nil || res.User != w.users["rita@recruit.example"] || res.Method.Kind != policy.MethodPassword {
		t.Fatalf("victim's session is now %+v", res)
	}
	if _, _, _, links := w.counts(); links != 0 {
		t.Fatal("the attacker's identity was linked")
	}
}

func TestPickerForSharedDomain(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.post("/auth/login", form("email", "alice@example.com", "return_to", "/keys"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Choose how to log in", `value="keyldap"`, `value="keyoidc"`, "Key LDAP — directory", "Key OIDC — OpenID")

	// LDAP: the directory's form, a wrong password, then the right one.
	p = b.post("/auth/login/start", form("connection", "keyldap", "email", "alice@example.com", "return_to", "/keys"))
	wantRedirect(t, p, "/auth/ldap/keyldap/login?email=alice%40example.com&return_to=%2Fkeys")
	p = b.get(p.loc)
	wantBody(t, p, `action="/auth/ldap/keyldap/login"`, `value="alice@example.com"`, `name="return_to" value="/keys"`)
	p = b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "nope", "return_to", "/keys"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, "The email address or password is incorrect.")
	if len(w.events.find(sso.EventLoginFailed, sso.ReasonInvalidCredentials)) != 1 {
		t.Fatal("no event for the wrong directory password")
	}
	wantRedirect(t, b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "alice-password", "return_to", "/keys")), "/keys")
	if res := b.mustSession("alice@example.com"); !slices.Equal(res.Accounts, []string{"keyldap"}) || res.Identity.Protocol != sso.ProtocolLDAP {
		t.Fatalf("result %+v", res)
	}

	// OIDC through the other account: only that account is granted.
	b = w.browser()
	p = b.post("/auth/login/start", form("connection", "keyoidc", "email", "alice@example.com"))
	wantRedirect(t, b.oidcLogin(p, "alice-0001"), "/")
	if res := b.mustSession("alice@example.com"); !slices.Equal(res.Accounts, []string{"keyoidc"}) {
		t.Fatalf("accounts %v", res.Accounts)
	}
}

func TestPasswordGrantsOnlyAllowedAccounts(t *testing.T) {
	w := newWorld(t)
	// alice administers keyldap (SSO required, break-glass) and is a member
	// of keyoidc (optional): her password grants both.
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "alice@example.com", "password", "alice-app-pw")), "/")
	if res := b.mustSession("alice@example.com"); !slices.Equal(res.Accounts, []string{"keyldap", "keyoidc"}) {
		t.Fatalf("accounts %v", res.Accounts)
	}
	// bob is no administrator: keyldap refuses his password.
	p := w.browser().post("/auth/login", form("email", "bob@example.com", "password", "bob-app-pw"))
	wantStatus(t, p, http.StatusUnauthorized)
	wantBody(t, p, passwordFailed, `value="keyldap"`)
}

func TestCrossOriginRefused(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	posts := []struct {
		path string
		v    url.Values
	}{
		{"/auth/login", form("email", "ada@acme.example", "password", "ada-pw")},
		{"/auth/login/start", form("connection", "acme-oidc")},
		{"/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw")},
		{"/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "alice-password")},
		{"/auth/logout", nil},
	}
	for _, tc := range posts {
		for _, hdr := range [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
			{"Origin", "http://evil.example", "Sec-Fetch-Site", ""},
		} {
			p := b.post(tc.path, tc.v, hdr...)
			wantStatus(t, p, http.StatusForbidden)
			wantBody(t, p, "came from another site")
		}
	}
	if b.session() != nil {
		t.Fatal("a cross-origin POST logged in")
	}
	if n := len(w.events.find(sso.EventLoginFailed, login.ReasonCrossOrigin)); n != len(posts)*3 {
		t.Fatalf("%d cross-origin events", n)
	}
}

func TestTrustedOrigin(t *testing.T) {
	w := newWorld(t, worldOptions{templates: func(c *login.Config) { c.TrustedOrigins = []string{"https://www.example.net"} }})
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw"), "Origin", "https://www.example.net", "Sec-Fetch-Site", "cross-site"), "/")
}

func TestOpenRedirectRefused(t *testing.T) {
	w := newWorld(t)
	for _, rt := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", " //evil.example", "/ok\r\nX: y"} {
		b := w.browser()
		wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw", "return_to", rt)), "/")
	}
	// Through an OIDC login too.
	b := w.browser()
	wantRedirect(t, b.oidcLogin(b.post("/auth/login", form("email", "olly@acme.example", "return_to", "//evil.example")), "olly"), "/")
	// And the login page does not echo it.
	wantNoBody(t, w.browser().get("/auth/login?return_to=//evil.example"), "evil.example")
}

func TestBodyCapped(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	big := strings.Repeat("a", login.DefaultMaxBodyBytes+1)
	p := b.post("/auth/login", form("email", "ada@acme.example", "password", big))
	wantStatus(t, p, http.StatusRequestEntityTooLarge)
	p = b.postACS(w.base+"/auth/saml/grants-saml/acs", form("SAMLResponse", strings.Repeat("A", login.DefaultMaxACSBodyBytes+1)))
	wantStatus(t, p, http.StatusRequestEntityTooLarge)
	if len(w.events.find(sso.EventLoginFailed, sso.ReasonRequestTooLarge)) != 2 {
		t.Fatal("no events")
	}
}

func TestDraftConnectionAndTestLogin(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	// The draft connection is not offered: the password field is.
	p := b.post("/auth/login", form("email", "dana@drafty.example"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="password"`)
	wantNoBody(t, p, "drafty-oidc")
	// Starting it by hand is refused.
	p = b.post("/auth/login/start", form("connection", "drafty-oidc"))
	wantStatus(t, p, http.StatusForbidden)
	wantBody(t, p, template.HTMLEscapeString(sso.ReasonConnectionNotLive.UserMessage()))
	// A test login needs an administrator of the account.
	wantStatus(t, b.get("/auth/login/test/drafty-oidc"), http.StatusForbidden)
	wantRedirect(t, b.post("/auth/login", form("email", "dana@drafty.example", "password", "dana-pw")), "/")
	before := b.session()
	w.makeAdmin("dana@drafty.example", "drafty")
	p = b.get("/auth/login/test/drafty-oidc?return_to=/admin")
	p = b.oidcLogin(p, "drafty")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Test login", "drafty", "connection_not_live", "dana@drafty.example", `href="/admin"`)
	if got := w.op.Prompts(); got[len(got)-1] != "login" {
		t.Fatalf("test login prompts %v; want prompt=login", got)
	}
	if b.session() != before {
		t.Fatal("the test login changed the session")
	}
	// The provisioning preview: Dana would be linked by her email; nothing
	// is written, so a second test login says the same.
	for range 2 {
		wantBody(t, p, `id="test-provisioning"`, "the login would reach user <strong>dana@drafty.example</strong>", "matched by email", "linking this identity")
		p = b.oidcLogin(b.get("/auth/login/test/drafty-oidc"), "drafty")
	}
	// A person provisioning would refuse: the reason and the detail.
	a := w.browser()
	wantRedirect(t, a.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	w.makeAdmin("ada@acme.example", "acme")
	p = a.oidcLogin(a.get("/auth/login/test/acme-oidc"), "newbie")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "the login would be refused: user_not_provisioned")
	if n := len(w.events.find(sso.EventLoginFailed, sso.ReasonUserNotProvisioned)); n != 0 {
		t.Fatalf("the preview reported %d events", n)
	}
}

func TestLogout(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantRedirect(t, b.oidcLogin(b.post("/auth/login", form("email", "olly@acme.example")), "olly"), "/")
	b.mustSession("olly@acme.example")
	// The connection has a logout redirect URL.
	wantRedirect(t, b.post("/auth/logout", nil), "/goodbye")
	if b.session() != nil {
		t.Fatal("session survived logout")
	}
	// A password session goes to the logout return path.
	wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	wantRedirect(t, b.post("/auth/logout", nil), "/")
	wantStatus(t, b.get("/auth/logout"), http.StatusMethodNotAllowed)
}

func TestOIDCLogoutAtProvider(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantRedirect(t, b.oidcLogin(b.post("/auth/login/start", form("connection", "keyoidc", "email", "alice@example.com")), "alice-0001"), "/")
	res := b.mustSession("alice@example.com")
	if res.Identity.IDToken == "" {
		t.Fatal("the identity keeps no ID token for logout")
	}
	js, _ := json.Marshal(res.Identity)
	if strings.Contains(fmt.Sprintf("%+v", *res.Identity), res.Identity.IDToken.Reveal()) || strings.Contains(string(js), res.Identity.IDToken.Reveal()) {
		t.Fatal("the ID token is printed or marshalled with the identity")
	}
	// keyoidc has a PostLogoutRedirectURL: the session ends here, then the
	// browser goes to the provider's end_session_endpoint with the ID token.
	p := b.post("/auth/logout", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.op.URL()) {
		t.Fatalf("logout: %d to %q; want a redirect to the provider", p.status, p.loc)
	}
	if b.session() != nil {
		t.Fatal("session survived logout")
	}
	u, _ := url.Parse(p.loc)
	if u.Query().Get("id_token_hint") != res.Identity.IDToken.Reveal() || u.Query().Get("post_logout_redirect_uri") != w.base+"/signed-out" {
		t.Fatalf("end session request %q", p.loc)
	}
	resp, err := noRedirects(w.op.Client()).Get(p.loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, w.base+"/signed-out") {
		t.Fatalf("provider answered %d to %q", resp.StatusCode, loc)
	}
	if l := w.op.Logouts(); len(l) != 1 || !l[0].IDTokenHintValid || l[0].Subject != "alice-0001" {
		t.Fatalf("provider logouts %+v", l)
	}
}

func noRedirects(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

func TestSAMLMetadata(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.get("/auth/saml/grants-saml/metadata")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "EntityDescriptor", w.base+"/auth/saml/grants-saml/acs")
	if ct := p.header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Fatalf("content type %q", ct)
	}
	p = b.get("/auth/saml/grants-saml/metadata?download")
	if !strings.Contains(p.header.Get("Content-Disposition"), "grants-saml-sp-metadata.xml") {
		t.Fatalf("disposition %q", p.header.Get("Content-Disposition"))
	}
	wantStatus(t, b.get("/auth/saml/nosuch/metadata"), http.StatusNotFound)
	wantStatus(t, b.get("/auth/saml/acme-oidc/metadata"), http.StatusNotFound)
	wantStatus(t, b.get("/auth/oidc/grants-saml/callback"), http.StatusNotFound)
	wantStatus(t, b.get("/auth/ldap/acme-oidc/login"), http.StatusNotFound)
	wantStatus(t, b.get("/auth/saml/grants-saml/acs"), http.StatusMethodNotAllowed)
}

func TestEmailFirstWithoutSSO(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.post("/auth/login", form("email", "someone@unclaimed.example"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="password"`, `value="someone@unclaimed.example"`)
	p = b.post("/auth/login", form("email", "not an email"))
	wantStatus(t, p, http.StatusBadRequest)
	wantBody(t, p, "Please enter a valid email address.")
}

func TestConfigValidate(t *testing.T) {
	w := newWorld(t)
	good := func() login.Config {
		return login.Config{Registry: w.reg, Provisioner: nil, Users: login.StoreUsers{Store: w.store}, Sessions: w.host}
	}
	prov, _ := provisioning.New(provisioning.Config{Store: w.store})
	tests := []struct {
		name string
		mod  func(*login.Config)
		want string
	}{
		{"no provisioner", func(c *login.Config) {}, "Provisioner is nil"},
		{"no sessions", func(c *login.Config) { c.Provisioner, c.Sessions = prov, nil }, "Sessions is nil"},
		{"bad base path", func(c *login.Config) { c.Provisioner, c.BasePath = prov, "/auth/" }, "BasePath"},
		{"unsafe return path", func(c *login.Config) { c.Provisioner, c.DefaultReturnPath = prov, "//evil" }, "DefaultReturnPath"},
		{"templates missing", func(c *login.Config) {
			c.Provisioner = prov
			c.Templates = template.Must(template.New("login").Parse("x"))
		}, `no template "sso_domain"`},
		{"bad trusted origin", func(c *login.Config) { c.Provisioner, c.TrustedOrigins = prov, []string{"not a url"} }, "TrustedOrigins"},
	}
	for _, tc := range tests {
		c := good()
		tc.mod(&c)
		_, err := login.New(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) || sso.ReasonOf(err) != sso.ReasonInvalidConfig {
			t.Errorf("%s: err = %v; want %q", tc.name, err, tc.want)
		}
	}
}

func TestReplacedTemplate(t *testing.T) {
	w := newWorld(t, worldOptions{templates: func(c *login.Config) {
		tm := login.DefaultTemplates()
		template.Must(tm.New(login.TemplateLogin).Parse(`<p>Custom {{.BasePath}} {{.PasswordEnabled}}</p>`))
		c.Templates = tm
	}})
	wantBody(t, w.browser().get("/auth/login"), "<p>Custom /auth true</p>")
}

// TestStableIDs: the default pages give the elements that tests and
// scripts use stable ids.
func TestStableIDs(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantBody(t, b.get("/auth/login"), `<form method="post" action="/auth/login" id="login-form">`, `id="login-submit"`, `id="sso-domain-link"`)
	wantBody(t, b.get("/auth/login/sso"), `id="sso-domain-form"`, `id="sso-domain-submit"`)
	p := b.post("/auth/login", form("email", "alice@example.com"))
	wantBody(t, p, `id="choices"`, `id="pick-form-keyldap"`, `<button type="submit" id="pick-keyldap"`, `<button type="submit" id="pick-keyoidc"`)
	wantBody(t, b.get("/auth/ldap/keyldap/login"), `id="directory-form"`, `id="directory-submit"`)
	p = b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "nope"))
	wantBody(t, p, `<p class="message" id="message" role="alert">`)
	wantBody(t, b.get("/auth/login/sso/nosuch"), `id="message"`)
	wantBody(t, b.get("/auth/oidc/nosuch/callback"), `id="retry"`)
}

func TestRegistrySwap(t *testing.T) {
	w := newWorld(t)
	old, acct, ok := w.reg.Connection("acme-oidc")
	if !ok {
		t.Fatal("no acme-oidc")
	}
	a, _ := w.reg.Account(acct)
	without := a
	without.Connections = nil
	// Its only live connection gone, the account may not require SSO.
	if _, _, err := w.reg.Set(without); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("removing the only live connection of an SSO-required account: %v", err)
	}
	without.Policy.Mode = policy.ModeSSOOptional
	for _, c := range a.Connections {
		if c.ID() != "acme-oidc" {
			without.Connections = append(without.Connections, c)
		}
	}
	if _, _, err := w.reg.Set(without); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	// The account has no connection left: the login page offers nothing
	// and asks for the password.
	p := b.post("/auth/login", form("email", "olly@acme.example"))
	wantNoBody(t, p, "acme-oidc")
	if prev, found, err := w.reg.Set(a); err != nil || !found || len(prev.Connections) != len(without.Connections) {
		t.Fatalf("Set back: %v %v %+v", found, err, prev)
	}
	wantRedirect(t, b.oidcLogin(b.post("/auth/login", form("email", "olly@acme.example")), "olly"), "/")

	// A change that does not check out changes nothing.
	broken := a
	broken.Connections = append(slices.Clone(a.Connections), login.Connection{})
	if _, _, err := w.reg.Set(broken); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("Set of an empty connection: %v", err)
	}
	if _, _, ok := w.reg.Connection("acme-oidc"); !ok {
		t.Fatal("a refused Set removed a connection")
	}
	twice := a
	twice.ID = "acme-twin"
	twice.Aliases, twice.Domains = nil, nil
	if _, _, err := w.reg.Set(twice); sso.ReasonOf(err) != sso.ReasonInvalidConfig || !strings.Contains(err.Error(), "used twice") {
		t.Fatalf("Set of a second account with the same connections: %v", err)
	}
	if _, ok := w.reg.Account("acme-twin"); ok {
		t.Fatal("a refused Set added an account")
	}
	// The registry keeps its own copy of what it was given.
	mine := a
	mine.Connections = slices.Clone(a.Connections)
	if _, _, err := w.reg.Set(mine); err != nil {
		t.Fatal(err)
	}
	mine.Connections[0].DisplayName = "changed behind the registry's back"
	if got, _ := w.reg.Account(a.ID); got.Connections[0].DisplayName == mine.Connections[0].DisplayName {
		t.Fatal("the registry shares the caller's slice")
	}

	// SetPolicy takes what Policy and policy.Update return, for the
	// account's own connections only.
	pol, _ := w.reg.Policy("acme")
	pol.Connections = append(pol.Connections, policy.Connection{ID: "simple-staff", Stage: policy.StageLive})
	if err := w.reg.SetPolicy("acme", pol); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("SetPolicy naming another account's connection: %v", err)
	}
	if err := w.reg.SetPolicy("nosuch", pol); sso.ReasonOf(err) != sso.ReasonAccountNotFound {
		t.Fatalf("SetPolicy of an unknown account: %v", err)
	}
	if _, _, err := w.reg.SetConnection("nosuch", old); sso.ReasonOf(err) != sso.ReasonAccountNotFound {
		t.Fatalf("SetConnection to an unknown account: %v", err)
	}
	if prev, found, err := w.reg.SetConnection(acct, old); err != nil || !found || prev.ID() != "acme-oidc" {
		t.Fatalf("SetConnection: %v %v", found, err)
	}

	if _, found, err := w.reg.Delete("nosuch"); found || err != nil {
		t.Fatalf("Delete of an unknown ID: %v %v", found, err)
	}
	if d, found, err := w.reg.Delete("drafty"); !found || err != nil || d.ID != "drafty" {
		t.Fatalf("Delete: %+v %v %v", d, found, err)
	}
	if _, ok := w.reg.Account("drafty"); ok {
		t.Fatal("deleted account still there")
	}
	if _, ok := w.reg.Policy("acme"); !ok {
		t.Fatal("another account after a Delete")
	}
	// A logout redirect must be a same-site path or an http(s) URL.
	for u, ok := range map[string]bool{
		"/signed-out": true, "https://idp.example/logout": true, "http://localhost:8080/": true,
		"javascript:alert(1)": false, "//evil.example/": false, "evil.example/logout": false, "https://user@evil.example/": false, "https:///nohost": false,
	} {
		c := old
		c.LogoutRedirectURL = u
		err := w.setConnection(c)
		if ok != (err == nil) || (err != nil && sso.ReasonOf(err) != sso.ReasonInvalidConfig) {
			t.Errorf("LogoutRedirectURL %q: %v", u, err)
		}
	}
}

func TestSSOModuleMustShareTheIssuer(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	// mallory's assertion names module OTHER, whose connection trusts
	// another IdP: the IdP of simple-staff may not log in through it.
	action, v := b.samlIdPLogin(b.get(w.idp.StartURL(w.base+"/auth/saml/simple-staff/metadata", "")), "mallory@simple.example")
	wantStatus(t, b.postACS(action, v), http.StatusForbidden)
	if b.session() != nil || len(w.events.find(sso.EventLoginFailed, sso.ReasonIssuerMismatch)) != 1 {
		t.Fatalf("session %+v events %+v", b.session(), w.events.list)
	}
}

func TestPolicyCheckedAtCompletion(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.post("/auth/login", form("email", "olly@acme.example"))
	// The connection goes back to draft while the person is at the IdP.
	if err := w.setPolicy("acme", policy.Policy{Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "acme-oidc", Stage: policy.StageDraft}}}); err != nil {
		t.Fatal(err)
	}
	p = b.oidcLogin(p, "olly")
	wantStatus(t, p, http.StatusForbidden)
	if b.session() != nil || len(w.events.find(sso.EventLoginFailed, sso.ReasonConnectionNotLive)) != 1 {
		t.Fatal("a draft connection logged in")
	}
}

func TestTestingConnectionByUserID(t *testing.T) {
	w := newWorld(t)
	if err := w.setPolicy("keyoidc", policy.Policy{Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "keyoidc", Stage: policy.StageTesting, TestUserIDs: []string{w.users["alice@example.com"]}}}}); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	wantRedirect(t, b.oidcLogin(b.post("/auth/login/start", form("connection", "keyoidc")), "alice-0001"), "/")
	b.mustSession("alice@example.com")
	// bob is a member but no test user: refused once provisioning knows
	// who he is.
	ctx := context.Background()
	if err := w.store.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.PutMembership(ctx, &provisioning.Membership{User: w.users["bob@example.com"], Account: "keyoidc", Status: provisioning.StatusActive})
	}); err != nil {
		t.Fatal(err)
	}
	b = w.browser()
	p := b.oidcLogin(b.post("/auth/login/start", form("connection", "keyoidc")), "bob-0002")
	wantStatus(t, p, http.StatusForbidden)
	wantBody(t, p, template.HTMLEscapeString(sso.ReasonConnectionNotLive.UserMessage()))
	if b.session() != nil {
		t.Fatal("bob logged in through a testing connection")
	}
}

func TestCookieAttributes(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		host   string
		tls    bool
		secure bool
	}{
		{"app.example", false, false},
		{"app.example", true, true},
		{"localhost:8080", false, true},
		{"127.0.0.1:8080", false, true},
		{"[::1]:8080", false, true},
		{"demo.localhost", false, true},
	}
	for _, tc := range tests {
		req := httptestRequest(http.MethodPost, "/auth/login/start", form("connection", "acme-oidc"))
		req.Host = tc.host
		if tc.tls {
			req.TLS = tlsState()
		}
		rec := recorder()
		w.h.ServeHTTP(rec, req)
		c := rec.Result().Cookies()
		if rec.Code != http.StatusSeeOther || len(c) != 1 {
			t.Fatalf("%s: %d %v", tc.host, rec.Code, rec.Body)
		}
		want, prefix := http.SameSiteLaxMode, "ssokit_flow_"
		if tc.secure {
			want, prefix = http.SameSiteNoneMode, "__Host-ssokit_flow_"
		}
		if c[0].Secure != tc.secure || c[0].SameSite != want || !c[0].HttpOnly || c[0].Path != "/" || c[0].Domain != "" || !strings.HasPrefix(c[0].Name, prefix) {
			t.Errorf("%s tls=%v: cookie %+v", tc.host, tc.tls, c[0])
		}
	}
}

func TestDraftConnectionProvisionsNobody(t *testing.T) {
	w := newWorld(t)
	if err := w.setPolicy("simple", policy.Policy{Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "simple-staff", Stage: policy.StageDraft}}}); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	action, v := b.samlIdPLogin(b.get(w.idp.StartURL(w.base+"/auth/saml/simple-staff/metadata", "")), "stan@simple.example")
	wantStatus(t, b.postACS(action, v), http.StatusForbidden)
	if users, _, _, _ := w.counts(); users != len(w.users) {
		t.Fatalf("%d users after a login through a draft connection; want %d", users, len(w.users))
	}
}

func TestDirectoryTestLoginNeedsAdministrator(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "alice-password", "test", "1"))
	wantStatus(t, p, http.StatusForbidden)
	wantNoBody(t, p, `id="test-decision"`, `id="test-verdict"`)
	// An administrator gets the test page, and no new session.
	wantRedirect(t, b.post("/auth/login", form("email", "alice@example.com", "password", "alice-app-pw")), "/")
	w.makeAdmin("alice@example.com", "keyldap")
	before := b.session()
	p = b.get("/auth/login/test/keyldap")
	wantRedirect(t, p, "/auth/ldap/keyldap/login?test=1")
	wantBody(t, b.get(p.loc), `name="test" value="1"`)
	p = b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "alice-password", "test", "1"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Test login", "uid=alice,ou=people,dc=example,dc=com", "this person may log in")
	if b.session() != before {
		t.Fatal("test login replaced the session")
	}
}

func TestTestingConnectionOffer(t *testing.T) {
	w := newWorld(t)
	if err := w.setPolicy("grants", policy.Policy{Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "grants-saml", Stage: policy.StageTesting, TestUserEmails: []string{"sam@grants.example"}}}}); err != nil {
		t.Fatal(err)
	}
	// The test user's email starts it; another email gets the password field.
	if p := w.browser().post("/auth/login", form("email", "sam@grants.example")); p.status != http.StatusSeeOther {
		t.Fatalf("test user: %d", p.status)
	}
	p := w.browser().post("/auth/login", form("email", "other@grants.example"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="password"`)
	// The SSO domain prompt knows nobody: with nothing else to offer, the
	// testing connection starts, and completion decides.
	b := w.browser()
	wantRedirect(t, b.samlLogin(b.get("/auth/login/sso/grants"), "sam@grants.example"), "/")
	b.mustSession("sam@grants.example")
}

func TestSAMLSingleLogout(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantRedirect(t, b.samlLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example"), "/")
	id := b.mustSession("sam@grants.example").Identity
	p := b.post("/auth/logout", nil)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.idp.SLOURL()+"?") {
		t.Fatalf("logout went to %d %q", p.status, p.loc)
	}
	if b.session() != nil {
		t.Fatal("the application's session survived")
	}
	// The IdP ends its session and answers at the connection's SLO URL.
	p = b.get(p.loc)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.base+"/auth/saml/grants-saml/slo?") {
		t.Fatalf("IdP answered %d %q: %s", p.status, p.loc, p.body)
	}
	reqs := w.idp.LogoutRequests()
	if len(reqs) != 1 || reqs[0].NameID != "sam@grants.example" || reqs[0].SessionIndex != id.SessionIndex || id.SessionIndex == "" {
		t.Fatalf("logout requests %+v; session index %q", reqs, id.SessionIndex)
	}
	// This browser lands on the return path; the answer works once.
	wantRedirect(t, b.get(p.loc), "/")
	wantStatus(t, b.get(p.loc), http.StatusBadRequest)
	if len(w.events.find(sso.EventWarning, sso.ReasonStateMissing)) != 1 {
		t.Fatalf("events %+v", w.events.list)
	}
	// An answer from another browser is refused.
	wantRedirect(t, b.samlLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example"), "/")
	p = b.get(b.post("/auth/logout", nil).loc)
	wantStatus(t, w.browser().get(p.loc), http.StatusBadRequest)
	if len(w.events.find(sso.EventWarning, sso.ReasonStateMissing)) != 2 {
		t.Fatalf("events %+v", w.events.list)
	}
}

// TestSAMLIdPInitiatedLogout: the IdP's own LogoutRequest at the SLO URL
// ends the sessions it names, in any browser, through
// login.SessionEnder, and the IdP gets its answer.
func TestSAMLIdPInitiatedLogout(t *testing.T) {
	sp := func(w *world) string { return w.base + "/auth/saml/grants-saml/metadata" }
	// send has the IdP send its LogoutRequest through browser b and
	// returns what the IdP received back.
	send := func(t *testing.T, w *world, b *browser, opts samltest.LogoutRequestOptions) (*page, samltest.LogoutResponseRecord) {
		t.Helper()
		opts.SP = sp(w)
		step, _, err := w.idp.LogoutRequest(opts)
		if err != nil {
			t.Fatal(err)
		}
		var p *page
		if step.Kind == sso.StepRedirect {
			p = b.get(step.URL)
		} else {
			p = b.post(step.URL, step.Form)
		}
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.idp.SLOURL()+"?") {
			return p, samltest.LogoutResponseRecord{}
		}
		rec, err := w.idp.ReceiveLogoutResponse(&sso.Step{Kind: sso.StepRedirect, URL: p.loc})
		if err != nil {
			t.Fatal(err)
		}
		return p, rec
	}
	loginSam := func(w *world) (*browser, *sso.Identity) {
		b := w.browser()
		wantRedirect(t, b.samlLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example"), "/")
		return b, b.mustSession("sam@grants.example").Identity
	}

	t.Run("every session of the NameID, from another browser, by POST", func(t *testing.T) {
		w := newWorld(t)
		a, _ := loginSam(w)
		b, _ := loginSam(w)
		other := w.browser()
		wantRedirect(t, other.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
		_, rec := send(t, w, w.browser(), samltest.LogoutRequestOptions{User: "sam@grants.example", Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", RelayState: "rs"})
		if !rec.Success() || rec.Partial() || rec.RelayState != "rs" || !rec.KnownRequest {
			t.Fatalf("the IdP got %+v", rec)
		}
		if a.session() != nil || b.session() != nil {
			t.Fatal("a session named by the LogoutRequest survived")
		}
		other.mustSession("ada@acme.example")
		if ev := w.events.find(sso.EventLogout, ""); len(ev) != 1 || ev[0].Connection != "grants-saml" || ev[0].Account != "grants" {
			t.Fatalf("logout events %+v", ev)
		}
	})
	t.Run("the IdP's logout link", func(t *testing.T) {
		w := newWorld(t)
		a, _ := loginSam(w)
		p := a.get(w.idp.LogoutURL(sp(w), "sam@grants.example"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.base+"/auth/saml/grants-saml/slo?") {
			t.Fatalf("the IdP sent the browser to %d %q", p.status, p.loc)
		}
		p = a.get(p.loc)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.idp.SLOURL()+"?") {
			t.Fatalf("the SLO URL answered %d %q", p.status, p.loc)
		}
		wantBody(t, a.get(p.loc), "status:Success")
		if a.session() != nil {
			t.Fatal("the session survived")
		}
	})
	t.Run("only the session index named", func(t *testing.T) {
		w := newWorld(t)
		a, idA := loginSam(w)
		b, _ := loginSam(w)
		_, rec := send(t, w, b, samltest.LogoutRequestOptions{User: "sam@grants.example", SessionIndexes: []string{idA.SessionIndex}})
		if !rec.Success() {
			t.Fatalf("the IdP got %+v", rec)
		}
		if a.session() != nil {
			t.Fatal("the named session survived")
		}
		b.mustSession("sam@grants.example")
	})
	t.Run("another NameID ends nothing", func(t *testing.T) {
		w := newWorld(t)
		a, _ := loginSam(w)
		_, rec := send(t, w, a, samltest.LogoutRequestOptions{NameID: "someone-else@grants.example"})
		if !rec.Success() {
			t.Fatalf("the IdP got %+v", rec)
		}
		a.mustSession("sam@grants.example")
	})
	t.Run("refused requests end nothing and get no answer", func(t *testing.T) {
		w := newWorld(t)
		a, _ := loginSam(w)
		for _, m := range []samltest.Misbehavior{{Unsigned: true}, {WrongKey: true}, {WrongIssuer: true}, {Expired: true}} {
			p, _ := send(t, w, a, samltest.LogoutRequestOptions{User: "sam@grants.example", Misbehavior: m})
			if p.status < 400 {
				t.Errorf("%+v: status %d %q", m, p.status, p.loc)
			}
		}
		a.mustSession("sam@grants.example")
		// A genuine request works once.
		_, rec := send(t, w, w.browser(), samltest.LogoutRequestOptions{User: "sam@grants.example", RelayState: "once"})
		if !rec.Success() || a.session() != nil {
			t.Fatalf("the IdP got %+v", rec)
		}
		a, _ = loginSam(w)
		if p, _ := send(t, w, w.browser(), samltest.LogoutRequestOptions{User: "sam@grants.example", Misbehavior: samltest.Misbehavior{Replay: true}}); p.status < 400 {
			t.Errorf("replayed request: status %d", p.status)
		}
		a.mustSession("sam@grants.example")
	})
	t.Run("the host cannot end sessions", func(t *testing.T) {
		w := newWorld(t)
		a, _ := loginSam(w)
		w.host.mu.Lock()
		w.host.endFails = true
		w.host.mu.Unlock()
		_, rec := send(t, w, a, samltest.LogoutRequestOptions{User: "sam@grants.example"})
		if rec.Success() || rec.Status != "urn:oasis:names:tc:SAML:2.0:status:Responder" {
			t.Fatalf("the IdP got %+v", rec)
		}
		if len(w.events.find(sso.EventWarning, sso.ReasonInternal)) == 0 {
			t.Fatalf("events %+v", w.events.list)
		}
	})
	t.Run("Sessions without SessionEnder", func(t *testing.T) {
		w := newWorld(t, worldOptions{templates: func(c *login.Config) { c.Sessions = sessionsOnly{c.Sessions} }})
		a, _ := loginSam(w)
		_, rec := send(t, w, a, samltest.LogoutRequestOptions{User: "sam@grants.example"})
		if rec.Success() {
			t.Fatalf("the IdP got %+v", rec)
		}
		a.mustSession("sam@grants.example")
		if len(w.events.find(sso.EventWarning, sso.ReasonLogoutNotSupported)) != 1 {
			t.Fatalf("events %+v", w.events.list)
		}
	})
}

// sessionsOnly hides every method of its Sessions but those of the
// interface.
type sessionsOnly struct{ login.Sessions }

func TestDryRunRefusalIsReported(t *testing.T) {
	w := newWorld(t)
	if err := w.setPolicy("acme", policy.Policy{Mode: policy.ModeSSORequired, DryRun: true,
		Connections: []policy.Connection{{ID: "acme-oidc", Stage: policy.StageLive}}}); err != nil {
		t.Fatal(err)
	}
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "olly@acme.example", "password", "olly-pw")), "/")
	b.mustSession("olly@acme.example")
	ev := w.events.find(sso.EventPolicyDryRunRefusal, sso.ReasonSSORequired)
	if len(ev) != 1 || ev[0].Account != "acme" || ev[0].User != w.users["olly@acme.example"] {
		t.Fatalf("dry-run events %+v", ev)
	}
}

func TestOfferMemberAccounts(t *testing.T) {
	for _, on := range []bool{false, true} {
		w := newWorld(t, worldOptions{templates: func(c *login.Config) { c.OfferMemberAccounts = on }})
		// bob@example.com also belongs to acme, whose domain is another.
		ctx := context.Background()
		if err := w.store.Tx(ctx, func(tx provisioning.Tx) error {
			return tx.PutMembership(ctx, &provisioning.Membership{User: w.users["bob@example.com"], Account: "acme", Status: provisioning.StatusActive})
		}); err != nil {
			t.Fatal(err)
		}
		p := w.browser().post("/auth/login", form("email", "bob@example.com"))
		wantStatus(t, p, http.StatusOK)
		wantBody(t, p, `value="keyldap"`, `value="keyoidc"`)
		if got := strings.Contains(p.body, `value="acme-oidc"`); got != on {
			t.Fatalf("OfferMemberAccounts=%v: acme-oidc offered: %v", on, got)
		}
		// An unknown address at the domain gets the domain's choices only.
		wantNoBody(t, w.browser().post("/auth/login", form("email", "nobody@example.com")), `value="acme-oidc"`)
	}
}

// TestEveryFailureIsAnEvent: each way a login can fail, including those
// that only show a message on the form, is one audit event with its
// Reason.
func TestEveryFailureIsAnEvent(t *testing.T) {
	type step func(b *browser) *page
	tests := []struct {
		name   string
		noPW   bool // the host has no password login
		do     step
		status int
		typ    sso.EventType
		reason sso.Reason
	}{
		{"invalid email", false, func(b *browser) *page { return b.post("/auth/login", form("email", "not an email")) }, 400, sso.EventLoginFailed, sso.ReasonInvalidEmail},
		{"wrong password", false, func(b *browser) *page {
			return b.post("/auth/login", form("email", "ada@acme.example", "password", "wrong"))
		}, 401, sso.EventLoginFailed, login.ReasonPasswordIncorrect},
		{"password refused", false, func(b *browser) *page {
			return b.post("/auth/login", form("email", "olly@acme.example", "password", "olly-pw"))
		}, 401, sso.EventPasswordRefused, sso.ReasonSSORequired},
		{"unknown SSO domain", false, func(b *browser) *page { return b.get("/auth/login/sso/nosuch") }, 404, sso.EventLoginFailed, sso.ReasonAccountNotFound},
		{"SSO domain with a draft connection only", false, func(b *browser) *page { return b.get("/auth/login/sso/drafty") }, 404, sso.EventLoginFailed, sso.ReasonNoSSO},
		{"unknown connection picked", false, func(b *browser) *page { return b.post("/auth/login/start", form("connection", "nosuch")) }, 404, sso.EventLoginFailed, sso.ReasonConnectionNotFound},
		{"test login by a non-administrator", false, func(b *browser) *page { return b.get("/auth/login/test/acme-oidc") }, 403, sso.EventLoginFailed, login.ReasonNotAdministrator},
		{"OpenID callback without a login", false, func(b *browser) *page { return b.get("/auth/oidc/acme-oidc/callback?state=x&code=y") }, 400, sso.EventLoginFailed, sso.ReasonStateMissing},
		{"forged SAML response", false, func(b *browser) *page {
			return b.postACS(b.w.base+"/auth/saml/grants-saml/acs", form("SAMLResponse", "PHNhbWxwOlJlc3BvbnNlLz4="))
		}, 403, sso.EventLoginFailed, sso.ReasonMalformed},
		{"wrong directory password", false, func(b *browser) *page {
			return b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "wrong"))
		}, 401, sso.EventLoginFailed, sso.ReasonInvalidCredentials},
		{"binding without a waiting identity", false, func(b *browser) *page {
			return b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw"))
		}, 400, sso.EventLoginFailed, sso.ReasonStateMissing},
		{"cross-origin form", false, func(b *browser) *page {
			return b.post("/auth/login", form("email", "ada@acme.example"), "Sec-Fetch-Site", "cross-site")
		}, 403, sso.EventLoginFailed, login.ReasonCrossOrigin},
		{"single logout answer without a logout", false, func(b *browser) *page {
			return b.postACS(b.w.base+"/auth/saml/grants-saml/slo", form("SAMLResponse", "PHNhbWxwOkxvZ291dFJlc3BvbnNlLz4="))
		}, 0, sso.EventWarning, ""},
		{"password without password login", true, func(b *browser) *page {
			return b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw"))
		}, 403, sso.EventLoginFailed, login.ReasonPasswordDisabled},
		{"no SSO and no password login", true, func(b *browser) *page { return b.post("/auth/login", form("email", "someone@nosso.example")) }, 200, sso.EventLoginFailed, sso.ReasonNoSSO},
	}
	w := newWorld(t)
	noPW := newWorld(t, worldOptions{templates: func(c *login.Config) { c.Passwords = nil }})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ww := w
			if tc.noPW {
				ww = noPW
			}
			ww.events.mu.Lock()
			before := len(ww.events.list)
			ww.events.mu.Unlock()
			p := tc.do(ww.browser())
			if tc.status != 0 {
				wantStatus(t, p, tc.status)
			}
			ww.events.mu.Lock()
			got := slices.Clone(ww.events.list[before:])
			ww.events.mu.Unlock()
			if len(got) != 1 || got[0].Type != tc.typ || (tc.reason != "" && got[0].Reason != tc.reason) || got[0].Reason == "" {
				t.Fatalf("events %+v; want one %s event with reason %q", got, tc.typ, tc.reason)
			}
		})
	}
}

// TestLogsHoldNoSecrets: the handler's log records name the failures
// without passwords, tokens or protocol messages; an identity's attributes
// appear only in the connection's debug mode.
func TestLogsHoldNoSecrets(t *testing.T) {
	for _, debug := range []bool{false, true} {
		var buf syncBuffer
		w := newWorld(t, worldOptions{debug: map[string]bool{"grants-saml": debug}, templates: func(c *login.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}})
		b := w.browser()
		wantStatus(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "wrong-pw-123")), http.StatusUnauthorized)
		wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
		wantStatus(t, b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "wrong-dir-pw")), http.StatusUnauthorized)
		wantRedirect(t, b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "alice-password")), "/")
		b = w.browser()
		wantRedirect(t, b.oidcLogin(b.post("/auth/login/start", form("connection", "keyoidc", "email", "alice@example.com")), "alice-0001"), "/")
		idToken := b.mustSession("alice@example.com").Identity.IDToken.Reveal()
		b = w.browser()
		action, v := b.samlIdPLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example")
		wantRedirect(t, b.postACS(action, v), "/")
		wantStatus(t, b.postACS(action, v), http.StatusBadRequest) // used
		logs := buf.String()
		for _, secret := range []string{"wrong-pw-123", "ada-pw", "wrong-dir-pw", "alice-password", "secret-keyoidc", idToken, v.Get("SAMLResponse")[:40]} {
			if secret != "" && strings.Contains(logs, secret) {
				t.Fatalf("debug %v: the log holds %q:\n%s", debug, secret, logs)
			}
		}
		if !strings.Contains(logs, "reason=password_incorrect") || !strings.Contains(logs, "reason=ldap_invalid_credentials") || strings.Count(logs, `msg="login failed"`) != 3 {
			t.Fatalf("the failures are not logged:\n%s", logs)
		}
		if got := strings.Contains(logs, "identity (debug mode)") && strings.Contains(logs, `attributes="map[`); got != debug {
			t.Fatalf("debug %v: attributes logged %v:\n%s", debug, got, logs)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	reInput = regexp.MustCompile(`<input ([^>]*)>`)
	reID    = regexp.MustCompile(`\bid="([^"]+)"`)
)

// TestDefaultPagesAccessible: every default page is plain HTML with a
// language, one h1, a label for each visible field, no script and no
// external asset, served with a Content-Security-Policy that forbids them.
func TestDefaultPagesAccessible(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	bind := w.browser()
	bindPage := bind.samlLogin(bind.post("/auth/login", form("email", "r.roberts@recruit.example")), "r.roberts@recruit.example")
	pages := map[string]*page{
		"login":     b.get("/auth/login"),
		"domain":    b.get("/auth/login/sso"),
		"picker":    b.post("/auth/login", form("email", "alice@example.com")),
		"directory": b.get("/auth/ldap/keyldap/login"),
		"error":     b.get("/auth/oidc/acme-oidc/callback?state=x"),
		"bind":      bindPage,
		"confirm":   bind.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw")),
	}
	for name, p := range pages {
		if !strings.HasPrefix(p.body, "<!DOCTYPE html>") || !strings.Contains(p.body, `<html lang="en">`) || strings.Count(p.body, "<h1>") != 1 {
			t.Errorf("%s: not a page with a language and one h1:\n%s", name, p.body)
		}
		for _, bad := range []string{"<script", "<link", "<img", "<iframe", `src="`, "http://", "https://"} {
			if strings.Contains(p.body, bad) {
				t.Errorf("%s: the page has %q", name, bad)
			}
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: Content-Security-Policy %q", name, csp)
		}
		for _, in := range reInput.FindAllStringSubmatch(p.body, -1) {
			if strings.Contains(in[1], `type="hidden"`) {
				continue
			}
			id := reID.FindStringSubmatch(in[1])
			if id == nil || !strings.Contains(p.body, `<label for="`+id[1]+`">`) {
				t.Errorf("%s: field without a label: <input %s>", name, in[1])
			}
		}
	}
}

// TestMounting: the handler answers under its BasePath whether the router
// passes the full path (http.ServeMux, any router) or strips the prefix
// (http.StripPrefix), and its pages link with the prefix either way.
func TestMounting(t *testing.T) {
	w := newWorld(t)
	for name, h := range map[string]http.Handler{
		"full path":    w.h,
		"StripPrefix":  http.StripPrefix("/auth", w.h),
		"custom route": http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.h.ServeHTTP(rw, r) }),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/auth/login/sso", nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `action="/auth/login/sso"`) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body.String())
		}
	}
	if got := w.h.Routes(); !slices.Contains(got, "/auth/saml/") || !slices.Contains(got, "/auth/logout") {
		t.Fatalf("Routes %v", got)
	}
}

// postACSWithoutSession posts the IdP's form as a browser does with a
// SameSite=Lax session cookie: the cross-site POST carries the handler's
// SameSite=None cookies but not the host's session cookie.
func (b *browser) postACSWithoutSession(action string, v url.Values) *page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.w.idp.URL())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	u, _ := url.Parse(action)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name != "sid" {
			req.AddCookie(c)
		}
	}
	jar := b.c.Jar
	b.c.Jar = nil
	defer func() { b.c.Jar = jar }()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	jar.SetCookies(u, resp.Cookies())
	body, _ := io.ReadAll(resp.Body)
	return &page{status: resp.StatusCode, header: resp.Header, body: string(body), loc: resp.Header.Get("Location")}
}

// TestSAMLTestLoginWithoutSessionCookie: an administrator's SAML test login
// works although the IdP's cross-site POST does not carry the host's
// session cookie: that the login is a test begun by an administrator is
// sealed into the pending login. A failing test login shows the
// administrator why, without debug mode.
func TestSAMLTestLoginWithoutSessionCookie(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	w.makeAdmin("ada@acme.example", "grants")
	action, v := b.samlIdPLogin(b.get("/auth/login/test/grants-saml"), "sam@grants.example")
	p := b.postACSWithoutSession(action, v)
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Test login", `id="test-decision"`, "sam@grants.example")
	if res := b.session(); res == nil || res.User != w.users["ada@acme.example"] {
		t.Fatalf("the test login changed the session: %+v", res)
	}
	// A failing test login: the administrator's detail.
	w.idp.Misbehave(samltest.Misbehavior{WrongKey: true})
	defer w.idp.Misbehave(samltest.Misbehavior{})
	action, v = b.samlIdPLogin(b.get("/auth/login/test/grants-saml"), "sam@grants.example")
	p = b.postACSWithoutSession(action, v)
	wantStatus(t, p, http.StatusForbidden)
	wantBody(t, p, "For the administrator", "reason: untrusted_key")
	// The same failure of an ordinary login shows no detail.
	o := w.browser()
	action, v = o.samlIdPLogin(o.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example")
	p = o.postACSWithoutSession(action, v)
	wantStatus(t, p, http.StatusForbidden)
	wantNoBody(t, p, "For the administrator", "untrusted_key")
}

// TestIdPInitiatedAsksBeforeReplacingSession: login CSRF. An IdP-initiated
// login in a browser where another user is logged in is finished on the
// handler's own page, which asks before it replaces that session.
func TestIdPInitiatedAsksBeforeReplacingSession(t *testing.T) {
	w := newWorld(t)
	staff := w.base + "/auth/saml/simple-staff/metadata"
	b := w.browser()
	wantRedirect(t, b.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	idpLogin := func(b *browser) *page {
		action, v := b.samlIdPLogin(b.get(w.idp.StartURL(staff, "/welcome")), "stan@simple.example")
		p := b.postACSWithoutSession(action, v)
		wantRedirect(t, p, "/auth/login/continue")
		return b.get(p.loc)
	}
	// Ada is asked; she stays.
	p := idpLogin(b)
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="confirm-question"`, "ada@acme.example", "stan@simple.example", `action="/auth/login/continue"`)
	wantRedirect(t, b.post("/auth/login/continue", form("token", confirmToken(t, p), "cancel", "1")), "/")
	b.mustSession("ada@acme.example")
	if users, _, _, _ := w.counts(); users != len(w.users) {
		t.Fatal("the declined login provisioned its user")
	}
	// Asked again, she continues as stan.
	p = idpLogin(b)
	wantRedirect(t, b.post("/auth/login/continue", form("token", confirmToken(t, p))), "/welcome")
	if res := b.mustSessionOf("stan@simple.example"); !res.Identity.IdPInitiated {
		t.Fatalf("identity %+v", res.Identity)
	}
	// The same user again: nothing to ask.
	wantRedirect(t, idpLogin(b), "/welcome")
	// Nobody logged in: nothing to ask.
	wantRedirect(t, idpLogin(w.browser()), "/welcome")
	// The connection may opt out.
	c, _, _ := w.reg.Connection("simple-staff")
	c.ReplaceSessionWithoutAsking = true
	if err := w.setConnection(c); err != nil {
		t.Fatal(err)
	}
	a := w.browser()
	wantRedirect(t, a.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	action, v := a.samlIdPLogin(a.get(w.idp.StartURL(staff, "/welcome")), "stan@simple.example")
	wantRedirect(t, a.postACSWithoutSession(action, v), "/welcome")
	a.mustSessionOf("stan@simple.example")
}

// downPasswords is a PasswordChecker whose user store is down.
type downPasswords struct{}

func (downPasswords) CheckPassword(context.Context, string, sso.Secret) (string, error) {
	return "", &sso.Error{Op: "test.Passwords", Reason: sso.ReasonUnavailable, Detail: "the user database cannot be reached"}
}

// TestPasswordStoreDown: a password that cannot be checked because the
// host's store is down is refused as unavailable (try again later), not as
// a wrong password, and nobody is logged in.
func TestPasswordStoreDown(t *testing.T) {
	w := newWorld(t, worldOptions{templates: func(c *login.Config) { c.Passwords = downPasswords{} }})
	b := w.browser()
	p := b.post("/auth/login", form("email", "pat@partner.example", "password", "pat-pw"))
	wantStatus(t, p, http.StatusBadGateway)
	wantBody(t, p, "try again later")
	wantNoBody(t, p, "We could not log you in with this email address and password")
}
