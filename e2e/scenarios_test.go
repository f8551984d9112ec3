package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml/samltest"
)

// Selectors of the demo's and the mock identity providers' pages, by the
// stable ids of their elements.
const (
	loginForm       = `#login-form`
	loginSubmit     = `#login-submit`
	loggedIn        = `#session`    // the start page's "Logged in" section
	loggedOut       = `#login-link` // the start page's "Log in" link
	message         = `#message`    // the login pages' message
	idpLoginForm    = `form#login`  // both mock IdPs' login forms
	logoutButton    = `#logout`
	directoryForm   = `#directory-form`
	directorySubmit = `#directory-submit`
	choices         = `#choices` // the picker's buttons
)

// emailFirst opens the login page and types the email. Without a password
// it continues (to single sign-on, the picker or the password step); with
// one it asks for the password step, types the password and logs in.
func (tb *tab) emailFirst(email, password string) {
	tb.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(tb.demo.URL + "/login"),
		chromedp.WaitVisible(chromedp.CSS(loginForm + ` #email`)),
		chromedp.SendKeys(chromedp.CSS(loginForm+` #email`), email),
	}
	if password == "" {
		steps = append(steps, chromedp.Click(chromedp.CSS(loginSubmit)))
	} else {
		steps = append(steps,
			chromedp.Click(chromedp.CSS(`#use-password`)),
			chromedp.WaitVisible(chromedp.CSS(loginForm+` #password`)),
			chromedp.SendKeys(chromedp.CSS(loginForm+` #password`), password),
			chromedp.Click(chromedp.CSS(loginSubmit)),
		)
	}
	tb.do("submitting "+email+" on the login page", steps...)
}

// samlIdPLogin signs in on the mock SAML IdP's login page, which must be
// showing, and waits for the application's start page.
func (tb *tab) samlIdPLogin(email string) {
	tb.t.Helper()
	tb.do("waiting for the SAML IdP's login page", chromedp.WaitVisible(chromedp.CSS(idpLoginForm+` #password`)))
	tb.wantAt(tb.demo.SAMLURL + "/")
	tb.do("signing in at the SAML IdP as "+email,
		chromedp.SetValue(chromedp.CSS(idpLoginForm+` #email`), email),
		chromedp.SendKeys(chromedp.CSS(idpLoginForm+` #password`), samltest.DefaultPassword),
		chromedp.Click(chromedp.CSS(idpLoginForm+` #submit`)),
		chromedp.WaitVisible(chromedp.CSS(loggedIn)),
	)
	tb.wantAt(tb.demo.URL + "/")
}

// oidcLogin picks the person on the mock OpenID provider's page, which must
// be showing, and waits for the application's start page.
func (tb *tab) oidcLogin(email string) {
	tb.t.Helper()
	button := idpLoginForm + ` button[data-email="` + email + `"]`
	tb.do("waiting for the OpenID provider's login page", chromedp.WaitVisible(chromedp.CSS(button)))
	tb.wantAt(tb.demo.OIDCURL + "/")
	tb.do("signing in at the OpenID provider as "+email,
		chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS(loggedIn)),
	)
	tb.wantAt(tb.demo.URL + "/")
}

// pick clicks the picker's button of the connection.
func (tb *tab) pick(connection string) {
	tb.t.Helper()
	button := `#pick-` + connection
	tb.do("picking "+connection, chromedp.WaitVisible(chromedp.CSS(button)), chromedp.Click(chromedp.CSS(button)))
}

// wantSession checks /me: the user, how they logged in and the accounts
// the login granted.
func (tb *tab) wantSession(email, method string, accounts ...string) me {
	tb.t.Helper()
	tb.wantText(loggedIn, email)
	m := tb.wantMe()
	if m.User.Email != email || m.Method != method || !slices.Equal(m.Accounts, accounts) {
		tb.fail("/me: %s by %s with accounts %v; want %s by %s with %v", m.User.Email, m.Method, m.Accounts, email, method, accounts)
	}
	return m
}

// logout clicks the start page's Log out button, waits for the logged-out
// start page, checks that /me answers 401 and returns the URL logout led
// to.
func (tb *tab) logout() string {
	tb.t.Helper()
	tb.do("logging out",
		chromedp.Navigate(tb.demo.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(logoutButton)),
		chromedp.Click(chromedp.CSS(logoutButton)),
		chromedp.WaitVisible(chromedp.CSS(loggedOut)),
	)
	loc := tb.location()
	tb.wantLoggedOut()
	return loc
}

// SP-initiated SAML: the email leads to the IdP on another site, whose
// cross-site POST back must carry the browser binding cookie.
func TestSAMLSPInitiated(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("greg@grantmakers.example", "")
	tb.samlIdPLogin("greg@grantmakers.example")
	m := tb.wantSession("greg@grantmakers.example", "sso:saml:grantmakers-saml", "grantmakers")
	if m.Identity == nil || m.Identity.IdPInitiated || m.Identity.Subject != "greg@grantmakers.example" || m.Identity.Issuer != tb.demo.SAMLURL+"/metadata" {
		tb.fail("/me identity %+v", m.Identity)
	}
}

// IdP-initiated SAML from the start page's link: the user is created at
// the first login, with roles from the assertion.
func TestSAMLIdPInitiated(t *testing.T) {
	tb := newTab(t)
	start := `#idp-start-simplecity-staff`
	tb.do("following the start page's IdP-initiated link of Simple City",
		chromedp.Navigate(tb.demo.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(start)),
		chromedp.Click(chromedp.CSS(start)),
		chromedp.WaitVisible(chromedp.CSS(idpLoginForm)),
	)
	tb.wantText("body", "(IdP-initiated)")
	tb.samlIdPLogin("david@simplecity.example")
	m := tb.wantSession("david@simplecity.example", "sso:saml:simplecity-staff", "simplecity")
	if m.Identity == nil || !m.Identity.IdPInitiated || m.Identity.Subject != "T5014CD" {
		tb.fail("/me identity %+v", m.Identity)
	}
	if roles := m.Roles["simplecity"]; !slices.Contains(roles, "Staff") || !slices.Contains(roles, "Clerk") {
		tb.fail("/me roles %v, want the default Staff and the assertion's Clerk", roles)
	}
	// Simple City's connection has a logout redirect URL.
	if loc := tb.logout(); !strings.Contains(loc, "logged_out=simplecity") {
		tb.fail("after logout at %s, want the connection's logout redirect", loc)
	}
}

// OpenID Connect: the email leads to the provider and back to the
// callback.
func TestOIDC(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("pete@pressroom.example", "")
	tb.oidcLogin("pete@pressroom.example")
	m := tb.wantSession("pete@pressroom.example", "sso:oidc:pressroom-oidc", "pressroom")
	if m.Identity == nil || m.Identity.Subject != "pete" || m.Identity.Issuer != tb.demo.OIDCURL || !m.Identity.EmailVerified {
		tb.fail("/me identity %+v", m.Identity)
	}
}

// LDAP: Ken's domain is shared by three accounts, so he picks the
// directory, whose form takes his directory password.
func TestLDAP(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("ken@keyteam.example", "")
	tb.pick("vault-lab-ldap")
	tb.do("waiting for the directory's form", chromedp.WaitVisible(chromedp.CSS(directoryForm+` #password`)))
	// A wrong password is refused on the same form.
	tb.do("typing a wrong directory password",
		chromedp.SendKeys(chromedp.CSS(directoryForm+` #password`), "wrong"),
		chromedp.Click(chromedp.CSS(directorySubmit)),
		chromedp.WaitVisible(chromedp.CSS(message)),
	)
	tb.wantText(message, sso.ReasonInvalidCredentials.UserMessage())
	tb.do("typing the directory password",
		chromedp.SendKeys(chromedp.CSS(directoryForm+` #password`), "ken-directory-pw"),
		chromedp.Click(chromedp.CSS(directorySubmit)),
		chromedp.WaitVisible(chromedp.CSS(loggedIn)),
	)
	m := tb.wantSession("ken@keyteam.example", "sso:ldap:vault-lab-ldap", "vault-lab")
	if m.Identity == nil || m.Identity.Subject != "uid=ken,ou=people,dc=keyteam,dc=example" {
		tb.fail("/me identity %+v", m.Identity)
	}
}

// The SSO domain prompt sends the browser to the bookmarkable
// /login/sso/{domain}, which starts single sign-on at once.
func TestSSODomain(t *testing.T) {
	tb := newTab(t)
	tb.do("typing the SSO domain",
		chromedp.Navigate(tb.demo.URL+"/login/sso"),
		chromedp.WaitVisible(chromedp.CSS(`#domain`)),
		chromedp.SendKeys(chromedp.CSS(`#domain`), "grantmakers"),
		chromedp.Click(chromedp.CSS(`#sso-domain-submit`)),
	)
	tb.samlIdPLogin("greg@grantmakers.example")
	tb.wantSession("greg@grantmakers.example", "sso:saml:grantmakers-saml", "grantmakers")

	// The bookmark itself, in another window.
	tb = newTab(t)
	tb.do("opening /login/sso/grantmakers", chromedp.Navigate(tb.demo.URL+"/login/sso/grantmakers"))
	tb.samlIdPLogin("gina@grantmakers.example")
	tb.wantSession("gina@grantmakers.example", "sso:saml:grantmakers-saml", "grantmakers")
}

// The picker: Kim is in three accounts with three identity providers; her
// OpenID Connect login grants only the account of that provider.
func TestPicker(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("kim@keyteam.example", "")
	tb.do("waiting for the picker", chromedp.WaitVisible(chromedp.CSS(choices)))
	n := run(tb, "counting the picker's choices", chromedp.Evaluate[int](`document.querySelectorAll('#choices button[id^="pick-"]').length`))
	if n != 3 {
		tb.fail("the picker offers %d choices, want 3 (SAML, OpenID Connect, LDAP)", n)
	}
	tb.pick("vault-us-oidc")
	tb.oidcLogin("kim@keyteam.example")
	tb.wantSession("kim@keyteam.example", "sso:oidc:vault-us-oidc", "vault-us")
}

// SSO required: Nina's password is refused with the answer a wrong
// password gets, which points to single sign-on and offers Newsdesk's, and
// no session starts.
func TestSSORequiredRefusesPassword(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("nina@newsdesk.example", "nina-pw")
	tb.do("waiting for the refusal", chromedp.WaitVisible(chromedp.CSS(message)), chromedp.WaitVisible(chromedp.CSS(`#pick-newsdesk-oidc`)))
	tb.wantText(message, "We could not log you in with this email address and password", "single sign-on")
	tb.wantLoggedOut()
}

// An IdP-initiated login arrives by the IdP's cross-site POST, which does
// not carry the demo's SameSite=Lax session cookie. The handler finishes it
// on its own page, where Chromium does send that cookie, and asks before
// the login replaces Ned's session (login CSRF).
func TestIdPInitiatedAsksBeforeReplacingSession(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("ned@newsdesk.example", "ned-pw")
	tb.do("waiting for the start page", chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	start := `#idp-start-simplecity-staff`
	idpLogin := func() {
		tb.do("signing in at the IdP from Simple City's start link",
			chromedp.Navigate(tb.demo.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(start)),
			chromedp.Click(chromedp.CSS(start)),
			chromedp.WaitVisible(chromedp.CSS(idpLoginForm+` #password`)),
			chromedp.SetValue(chromedp.CSS(idpLoginForm+` #email`), "david@simplecity.example"),
			chromedp.SendKeys(chromedp.CSS(idpLoginForm+` #password`), samltest.DefaultPassword),
			chromedp.Click(chromedp.CSS(idpLoginForm+` #submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#confirm-question`)),
		)
		tb.wantText(`#confirm-question`, "ned@newsdesk.example", "david@simplecity.example")
	}
	idpLogin()
	tb.do("staying logged in as Ned", chromedp.Click(chromedp.CSS(`#confirm-cancel`)), chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	tb.wantSession("ned@newsdesk.example", "password", "newsdesk")
	idpLogin()
	tb.do("continuing as David", chromedp.Click(chromedp.CSS(`#confirm-submit`)), chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	tb.wantSession("david@simplecity.example", "sso:saml:simplecity-staff", "simplecity")
}

// An administrator's test login through a SAML connection works in a real
// browser: the IdP's cross-site POST does not carry her session cookie, but
// the pending login, sealed into the browser, says an administrator began
// it.
func TestSAMLTestLogin(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("gina@grantmakers.example", "")
	tb.pick("grantmakers-saml")
	tb.samlIdPLogin("gina@grantmakers.example")
	tb.do("starting a test login of the staging connection",
		chromedp.Navigate(tb.demo.URL+"/login/test/grantmakers-staging?return_to=/admin/grantmakers"),
		chromedp.WaitVisible(chromedp.CSS(idpLoginForm+` #password`)),
		chromedp.SetValue(chromedp.CSS(idpLoginForm+` #email`), "gina@grantmakers.example"),
		chromedp.SendKeys(chromedp.CSS(idpLoginForm+` #password`), samltest.DefaultPassword),
		chromedp.Click(chromedp.CSS(idpLoginForm+` #submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#test-decision`)),
	)
	tb.wantText("h1", "Test login")
	tb.wantText(`#test-decision`, "may log in")
	tb.wantText(`#test-provisioning`, "gina@grantmakers.example")
}

// Login binding in a real browser: Ronald's NameID is unknown to HireCo;
// after Ron's password the page asks to confirm the link, naming both.
func TestLoginBindingConfirmation(t *testing.T) {
	tb := newTab(t)
	start := `#idp-start-hireco-saml`
	tb.do("signing in at the IdP from HireCo's start link as Ronald",
		chromedp.Navigate(tb.demo.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(start)),
		chromedp.Click(chromedp.CSS(start)),
		chromedp.WaitVisible(chromedp.CSS(idpLoginForm+` #password`)),
		chromedp.SetValue(chromedp.CSS(idpLoginForm+` #email`), "ronald@hireco.example"),
		chromedp.SendKeys(chromedp.CSS(idpLoginForm+` #password`), samltest.DefaultPassword),
		chromedp.Click(chromedp.CSS(idpLoginForm+` #submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#bind-form`)),
		chromedp.SendKeys(chromedp.CSS(`#bind-form #email`), "ron@hireco.example"),
		chromedp.SendKeys(chromedp.CSS(`#bind-form #password`), "ron-pw"),
		chromedp.Click(chromedp.CSS(`#bind-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-question`)),
	)
	tb.wantText(`#confirm-question`, "ronald@hireco.example", "HC-1002", "ron@hireco.example")
	tb.do("confirming the link", chromedp.Click(chromedp.CSS(`#confirm-submit`)), chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	tb.wantSession("ron@hireco.example", "sso:saml:hireco-saml", "hireco")
}

// Admin break-glass: Ned administers Newsdesk, which requires single
// sign-on; his password still works.
func TestAdminBreakGlass(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("ned@newsdesk.example", "ned-pw")
	tb.do("waiting for the start page", chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	tb.wantSession("ned@newsdesk.example", "password", "newsdesk")
}

// Logout ends the session: the start page offers the login again and /me
// answers 401. A password session ends here only; an OpenID Connect
// session also at the provider (RP-initiated logout), which returns the
// browser to the connection's post-logout URL; a SAML session by single
// logout at the IdP.
func TestLogout(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("ned@newsdesk.example", "ned-pw")
	tb.do("waiting for the start page", chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	if loc := tb.logout(); loc != tb.demo.URL+"/" {
		tb.fail("logout of a password session led to %s, want the start page", loc)
	}

	op := tb.demo.app.MockOIDC()
	before := len(op.Logouts())
	tb.emailFirst("pete@pressroom.example", "")
	tb.oidcLogin("pete@pressroom.example")
	tb.wantMe()
	if loc := tb.logout(); loc != tb.demo.URL+"/?logged_out=pressroom-oidc" {
		tb.fail("logout of an OpenID session led to %s, want the post-logout redirect URL", loc)
	}
	tb.do("reopening the page logout led to", chromedp.Navigate(tb.demo.URL+"/?logged_out=pressroom-oidc"), chromedp.WaitVisible(chromedp.CSS(`#logged-out`)))
	if l := op.Logouts(); len(l) != before+1 || !l[len(l)-1].IDTokenHintValid || l[len(l)-1].Subject != "pete" {
		tb.fail("the OpenID provider's end_session_endpoint got %+v; want one logout of pete with his ID token", l[before:])
	}

	idp := tb.demo.app.MockSAML()
	before = len(idp.LogoutRequests())
	tb.emailFirst("greg@grantmakers.example", "")
	tb.samlIdPLogin("greg@grantmakers.example")
	tb.wantMe()
	if loc := tb.logout(); loc != tb.demo.URL+"/" {
		tb.fail("single logout led to %s, want the start page", loc)
	}
	if n := len(idp.LogoutRequests()); n != before+1 {
		tb.fail("the SAML IdP got %d LogoutRequests, want 1", n-before)
	}
}

// Single logout the IdP starts: Greg is logged in through SAML in two
// windows; he logs out at the IdP from one of them, whose LogoutRequest
// ends both sessions, and the IdP hears that it worked. The other window
// never visits the IdP: its session ends on the server.
func TestIdPInitiatedLogout(t *testing.T) {
	first, second := newTab(t), newTab(t)
	for _, tb := range []*tab{first, second} {
		tb.emailFirst("greg@grantmakers.example", "")
		tb.samlIdPLogin("greg@grantmakers.example")
		tb.wantMe()
	}
	idp := first.demo.app.MockSAML()
	before := len(idp.LogoutResponses())
	first.do("logging out at the IdP from the start page's link",
		chromedp.Navigate(first.demo.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#idp-logout`)),
		chromedp.Click(chromedp.CSS(`#idp-logout`)),
	)
	first.waitFor("the IdP's page after the application answered",
		`location.href.startsWith(`+strconv.Quote(first.demo.SAMLURL+"/slo")+`) && document.body.innerText.includes("logout answered by")`)
	first.wantText("body", "status:Success")
	if r := idp.LogoutResponses(); len(r) != before+1 || !r[len(r)-1].Success() || !r[len(r)-1].KnownRequest {
		first.fail("the IdP recorded %+v, want one successful answer to its request", r[before:])
	}
	first.do("back at the application", chromedp.Navigate(first.demo.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#login-link`)))
	first.wantLoggedOut()
	second.wantLoggedOut()
}
