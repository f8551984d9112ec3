package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml/samltest"
)

// samlIdPSubmit signs in on the mock SAML IdP's login page, which must be
// showing, and returns at once: the page that follows is the caller's to
// wait for.
func (tb *tab) samlIdPSubmit(email string) {
	tb.t.Helper()
	tb.do("signing in at the SAML IdP as "+email,
		chromedp.WaitVisible(chromedp.CSS(idpLoginForm+` #password`)),
		chromedp.SetValue(chromedp.CSS(idpLoginForm+` #email`), email),
		chromedp.SendKeys(chromedp.CSS(idpLoginForm+` #password`), samltest.DefaultPassword),
		chromedp.Click(chromedp.CSS(idpLoginForm+` #submit`)),
	)
}

// open navigates to the application's path and waits for sel.
func (tb *tab) open(path, sel string) {
	tb.t.Helper()
	tb.do("opening "+path, chromedp.Navigate(tb.demo.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// TestAccessibility audits every page of the login flow, the error and
// test pages, the start page and the admin page (see audit): axe-core,
// no sideways scrolling at 390 px, control sizes, the focus ring, and a
// screenshot of each at 1280 and 390 px.
func TestAccessibility(t *testing.T) {
	tb := newTab(t)
	axeSource(t) // skip early when axe-core is missing
	tb.open("/", loggedOut)
	tb.audit("start")
	tb.open("/login", loginForm)
	tb.audit("login-email")
	tb.open("/login?step=password&email=someone@unclaimed.example", loginForm+` #password`)
	tb.audit("login-password")
	tb.open("/login/sso", `#sso-domain-form`)
	tb.audit("sso-domain")
	tb.emailFirst("nina@newsdesk.example", "nina-pw")
	tb.do("waiting for the refusal", chromedp.WaitVisible(chromedp.CSS(message)), chromedp.WaitVisible(chromedp.CSS(`#pick-newsdesk-oidc`)))
	tb.audit("login-password-sso-required")
	tb.emailFirst("kim@keyteam.example", "")
	tb.do("waiting for the picker", chromedp.WaitVisible(chromedp.CSS(choices)))
	tb.audit("picker")
	tb.pick("vault-lab-ldap")
	tb.do("waiting for the directory's form", chromedp.WaitVisible(chromedp.CSS(directoryForm+` #password`)))
	tb.audit("directory")

	// Gus is at the IdP but not in Grantmakers: the error page.
	gus := newTab(t)
	gus.emailFirst("gus@grantmakers.example", "")
	gus.samlIdPSubmit("gus@grantmakers.example")
	gus.do("waiting for the error page", chromedp.WaitVisible(chromedp.CSS(`#error-reference`)))
	gus.audit("error")

	// Login binding: the password page, then the confirmation.
	ron := newTab(t)
	ron.open("/", `#idp-start-hireco-saml`)
	ron.do("starting at the IdP", chromedp.Click(chromedp.CSS(`#idp-start-hireco-saml`)))
	ron.samlIdPSubmit("ronald@hireco.example")
	ron.do("waiting for the binding form", chromedp.WaitVisible(chromedp.CSS(`#bind-form`)))
	ron.audit("bind")
	ron.do("typing Ron's password",
		chromedp.SendKeys(chromedp.CSS(`#bind-form #email`), "ron@hireco.example"),
		chromedp.SendKeys(chromedp.CSS(`#bind-form #password`), "ron-pw"),
		chromedp.Click(chromedp.CSS(`#bind-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-question`)),
	)
	ron.audit("confirm")

	// Gina administers Grantmakers: the start page logged in, the admin
	// page of a SAML account, a test login's result, another account's
	// admin page (403).
	gina := newTab(t)
	gina.emailFirst("gina@grantmakers.example", "")
	gina.pick("grantmakers-saml")
	gina.samlIdPLogin("gina@grantmakers.example")
	gina.audit("start-logged-in")
	gina.open("/admin/grantmakers", `#conn-grantmakers-saml`)
	gina.audit("admin-saml")
	gina.do("starting a test login of the staging connection", chromedp.Click(chromedp.CSS(`#test-login-grantmakers-staging`)))
	gina.samlIdPSubmit("gina@grantmakers.example")
	gina.do("waiting for the test result", chromedp.WaitVisible(chromedp.CSS(`#test-verdict`)))
	gina.audit("test-result")
	gina.open("/admin/hireco", `#forbidden-home`)
	gina.audit("forbidden")

	// Paula administers Press Room (OpenID Connect only); a refused policy
	// change.
	paula := newTab(t)
	paula.emailFirst("paula@pressroom.example", "paula-pw")
	paula.do("waiting for the start page", chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	paula.open("/admin/pressroom", `#policy-form`)
	if n := run(paula, "counting metadata forms", chromedp.Evaluate[int](`document.querySelectorAll("form[id^=metadata-form]").length`)); n != 0 {
		paula.fail("the admin page of an OpenID-only account shows %d metadata forms", n)
	}
	paula.audit("admin-oidc")
	paula.do("requiring single sign-on without the break-glass",
		chromedp.Click(chromedp.CSS(`#mode-sso_required`)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("admins_may_use_password").checked = false; undefined`),
		chromedp.Click(chromedp.CSS(`#policy-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#admin-error`)),
	)
	paula.audit("admin-refusal")
	// A connection the checks refuse: each field says what to fix.
	paula.do("adding a connection without a name and with bad metadata",
		chromedp.SendKeys(chromedp.CSS(`#new-metadata`), "<not-metadata/>"),
		chromedp.Click(chromedp.CSS(`#add-connection-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#add-error`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-display_name-error`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-metadata-error`)),
	)
	paula.audit("admin-add-refused")
	// A connection added on the page has a "Remove this connection" form.
	idp := samltest.Start(t, samltest.Config{NoTLS: true, EntityID: "https://idp.pressroom.example/metadata"})
	paula.do("adding a SAML connection",
		chromedp.Click(chromedp.CSS(`#new-protocol-saml`)),
		chromedp.SetValue(chromedp.CSS(`#new-display_name`), "Press Room SAML"),
		chromedp.SetValue(chromedp.CSS(`#new-metadata`), string(idp.Metadata())),
		chromedp.Click(chromedp.CSS(`#add-connection-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`button[id^="remove-pressroom-saml-"]`)),
	)
	paula.audit("admin-added")
	paula.do("removing it",
		chromedp.Click(chromedp.CSS(`button[id^="remove-pressroom-saml-"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#admin-message`)),
	)
	paula.audit("admin-removed")
}

// A test login through each protocol works for the administrator in a
// real browser and opens with the verdict; an OpenID Connect test login
// as Paula, an administrator, says she would sign in as Administrator.
func TestOIDCTestLogin(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("paula@pressroom.example", "paula-pw")
	tb.do("waiting for the start page", chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	tb.open("/admin/pressroom", `#test-login-pressroom-oidc`)
	tb.do("starting the test login", chromedp.Click(chromedp.CSS(`#test-login-pressroom-oidc`)))
	button := idpLoginForm + ` button[data-email="paula@pressroom.example"]`
	tb.do("picking Paula at the OpenID provider", chromedp.WaitVisible(chromedp.CSS(button)), chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS(`#test-verdict`)))
	tb.wantText(`#test-verdict`, "Passed:", "Paula would sign in as Administrator.")
	tb.wantText(`#test-mapping`, "paula@pressroom.example", "claim email")
	tb.do("going back to the settings", chromedp.Click(chromedp.CSS(`#back`)), chromedp.WaitVisible(chromedp.CSS(`#checklist-pressroom-oidc`)))
	tb.wantText(`#checklist-pressroom-oidc`, "A test login passed", "paula@pressroom.example")
	tb.open("/", loggedIn)
	tb.wantSession("paula@pressroom.example", "password", "pressroom")
}

// An LDAP test login: Kim administers Key Team Lab; the directory's form
// is posted from the application's own page.
func TestLDAPTestLogin(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("kim@keyteam.example", "kim-pw")
	tb.do("waiting for the start page", chromedp.WaitVisible(chromedp.CSS(loggedIn)))
	tb.open("/admin/vault-lab", `#test-login-vault-lab-ldap`)
	tb.do("starting the test login", chromedp.Click(chromedp.CSS(`#test-login-vault-lab-ldap`)),
		chromedp.WaitVisible(chromedp.CSS(directoryForm+` #password`)),
		chromedp.SendKeys(chromedp.CSS(directoryForm+` #email`), "kim@keyteam.example"),
		chromedp.SendKeys(chromedp.CSS(directoryForm+` #password`), "kim-directory-pw"),
		chromedp.Click(chromedp.CSS(directorySubmit)),
		chromedp.WaitVisible(chromedp.CSS(`#test-verdict`)),
	)
	tb.wantText(`#test-verdict`, "Passed:", "Kim would sign in as Administrator.")
	tb.wantText(`#test-mapping`, "uid=kim,ou=people,dc=keyteam,dc=example", "entry DN")
	tb.open("/", loggedIn)
	tb.wantSession("kim@keyteam.example", "password", "vault-lab")
}

// A failing SAML test login shows the administrator the detail, on a
// connection without debug mode, although the IdP's cross-site POST does
// not carry her session cookie; the reference finds the event.
func TestSAMLTestLoginFailureShowsDetail(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("gina@grantmakers.example", "")
	tb.pick("grantmakers-saml")
	tb.samlIdPLogin("gina@grantmakers.example")
	idp := tb.demo.app.MockSAML()
	idp.Misbehave(samltest.Misbehavior{WrongKey: true})
	defer idp.Misbehave(samltest.Misbehavior{})
	tb.do("starting a test login of the live connection",
		chromedp.Navigate(tb.demo.URL+"/login/test/grantmakers-saml?return_to=/admin/grantmakers"))
	tb.samlIdPSubmit("gina@grantmakers.example")
	tb.do("waiting for the error page", chromedp.WaitVisible(chromedp.CSS(`#detail`)))
	idp.Misbehave(samltest.Misbehavior{})
	tb.wantText("h1", "Test login failed")
	tb.wantText(`#detail`, "reason: untrusted_key", "connection: grantmakers-saml")
	tb.wantText(message, sso.ReasonUntrustedKey.UserMessage())
	if got := tb.text(message); strings.Contains(strings.ToLower(got), "try again") {
		tb.fail("a configuration fault asks to try again: %q", got)
	}
	ref := tb.text(`#reference`)
	tb.do("going back to the settings", chromedp.Click(chromedp.CSS(`#back`)), chromedp.WaitVisible(chromedp.CSS(`#events-filter`)))
	tb.do("searching the events for "+ref,
		chromedp.SendKeys(chromedp.CSS(`#f-ref`), strings.ToLower(ref)),
		chromedp.Click(chromedp.CSS(`#events-filter-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`#events-filter-clear`)),
	)
	tb.wantText(`#events-table tbody`, ref, "Test login: login failed", "Signed, but by a key the connection does not trust")
	if n := run(tb, "counting rows", chromedp.Evaluate[int](`document.querySelectorAll("#events-table tbody tr").length`)); n != 1 {
		tb.fail("the reference finds %d events, want 1", n)
	}
}

// A person's failed login shows a reference; the administrator finds the
// event by it, with the person's email first.
func TestErrorReferenceInEvents(t *testing.T) {
	gus := newTab(t)
	gus.emailFirst("gus@grantmakers.example", "")
	gus.samlIdPSubmit("gus@grantmakers.example")
	gus.do("waiting for the error page", chromedp.WaitVisible(chromedp.CSS(`#error-reference`)))
	gus.wantText(`#error-reference`, "Grantmakers", "UTC")
	ref := gus.text(`#reference`)
	if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(ref) {
		gus.fail("reference %q", ref)
	}
	gus.wantText(`#retry`, "Try again")
	gus.do("trying again", chromedp.Click(chromedp.CSS(`#retry`)), chromedp.WaitVisible(chromedp.CSS(idpLoginForm+` #password`)))
	gus.wantAt(gus.demo.SAMLURL + "/")

	gina := newTab(t)
	gina.emailFirst("gina@grantmakers.example", "")
	gina.pick("grantmakers-saml")
	gina.samlIdPLogin("gina@grantmakers.example")
	gina.open("/admin/grantmakers?ref="+ref, `#events-table`)
	gina.wantText(`#events-table tbody`, "gus@grantmakers.example", "Login failed", "No user here yet", ref)
}

// New IdP metadata in the browser: a pasted metadata URL is fetched and
// saved as a testing copy, compared with the live one, tested, and made
// live.
func TestMetadataCandidate(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("rachel@hireco.example", "")
	tb.samlIdPLogin("rachel@hireco.example")
	tb.open("/admin/hireco", `#metadata-form-hireco-saml`)
	tb.do("pasting the IdP's metadata URL",
		chromedp.SendKeys(chromedp.CSS(`#metadata-hireco-saml`), tb.demo.SAMLURL+"/metadata"),
		chromedp.Click(chromedp.CSS(`#metadata-candidate-hireco-saml`)),
		chromedp.WaitVisible(chromedp.CSS(`#candidate-hireco-saml`)),
	)
	tb.wantText(`#admin-message`, "Saved as a testing copy")
	tb.wantText(`#candidate-hireco-saml`, "Not tested yet", "IdP entity ID")
	tb.do("testing the new metadata", chromedp.Click(chromedp.CSS(`#test-candidate-hireco-saml`)))
	tb.samlIdPSubmit("rachel@hireco.example")
	tb.do("waiting for the test result", chromedp.WaitVisible(chromedp.CSS(`#test-verdict`)))
	tb.wantText(`#test-verdict`, "Passed:")
	tb.do("going back and making it live",
		chromedp.Click(chromedp.CSS(`#back`)),
		chromedp.WaitVisible(chromedp.CSS(`#promote-hireco-saml`)),
	)
	tb.wantText(`#candidate-hireco-saml`, "A test login with the new metadata passed")
	tb.do("making it live", chromedp.Click(chromedp.CSS(`#promote-hireco-saml`)), chromedp.WaitVisible(chromedp.CSS(`#admin-message`)))
	tb.wantText(`#admin-message`, "The new metadata is live")
}

// The values to paste at the identity provider are selectable text, with
// Copy buttons where scripts run.
func TestSetupValuesCopy(t *testing.T) {
	tb := newTab(t)
	tb.emailFirst("gina@grantmakers.example", "")
	tb.pick("grantmakers-saml")
	tb.samlIdPLogin("gina@grantmakers.example")
	tb.open("/admin/grantmakers", `#setup-grantmakers-staging`)
	acs := `#setup-grantmakers-staging-acs-url`
	tb.wantText(acs, tb.demo.URL+"/saml/grantmakers-staging/acs")
	tb.do("waiting for the Copy button", chromedp.WaitVisible(chromedp.CSS(`button[data-copy="setup-grantmakers-staging-acs-url"]`)))
}
