package main

import (
	"net/http"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/examples/internal/browser"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/saml/samltest"
)

func startApp(t *testing.T) *app { return browser.StartApp(t, start) }

// spInitiated types the email at the application and signs in at the IdP
// it leads to.
func spInitiated(b *browser.Browser, a *app, idp *samltest.Server, email string) *browser.Page {
	p := b.Get(a.URL+"/login").Form("/login").Set("email", email).Submit().WantAt(idp.URL())
	return p.Form("#login").Set("email", email).Set("password", samltest.DefaultPassword).Submit()
}

// idpInitiated starts at Recruit Co's ADFS.
func idpInitiated(b *browser.Browser, a *app, email string) *browser.Page {
	p := b.Get(a.adfs.StartURL(a.recruit.EntityID(), "")).Want(http.StatusOK, "(IdP-initiated)")
	return p.Form("#login").Set("email", email).Set("password", samltest.DefaultPassword).Submit()
}

func TestSSOIdentifiers(t *testing.T) {
	a := startApp(t)
	for _, c := range []struct{ email, subject string }{
		{"emp@recruit.example", "E12345"},              // the SSO identifier, set at creation
		{"sam@recruit.example", "sam@recruit.example"}, // none set: the email
	} {
		b := browser.New(t)
		spInitiated(b, a, a.adfs.Server, c.email).Want(http.StatusOK, "Logged in as "+c.email+" with SAML single sign-on through recruit-adfs")
		if m := b.Me(a.URL); m.Identity == nil || m.Identity.Subject != c.subject || m.Identity.IdPInitiated {
			t.Fatalf("%s: /me = %+v, identity %+v", c.email, m, m.Identity)
		}
	}
}

func TestLoginBindingSSOFirst(t *testing.T) {
	a := startApp(t)
	// Jane's identifier is "Jane.Doe@recruit.example"; her IdP sends
	// "jane.doe@recruit.example". Identifiers are case-sensitive, so the
	// application asks for a password to bind the identity.
	b := browser.New(t)
	p := spInitiated(b, a, a.adfs.Server, "jane.doe@recruit.example").
		Want(http.StatusOK, "Connect your account", "jane.doe@recruit.example")
	b.WantLoggedOut(a.URL)
	// A wrong password binds nothing and asks again.
	p = p.Form("/login/bind").Set("email", "jane.doe@recruit.example").Set("password", "wrong").Submit().
		Want(http.StatusUnauthorized, "Connect your account")
	if len(a.Audit.Find(sso.EventLoginFailed, login.ReasonPasswordIncorrect)) != 1 {
		t.Fatalf("want one login_failed event with password_incorrect: %+v", a.Audit.Events())
	}
	p = p.Form("/login/bind").Set("email", "jane.doe@recruit.example").Set("password", "jane-password").Submit().
		Want(http.StatusOK, "Link the single sign-on identity", "jane.doe@recruit.example", "Recruit Co ADFS")
	if len(a.Audit.Find(sso.EventUserLinked, "")) != 0 {
		t.Fatal("linked before the confirmation")
	}
	p.Form("/login/bind/confirm").Submit().
		Want(http.StatusOK, "Logged in as jane.doe@recruit.example with SAML single sign-on through recruit-adfs")
	if m := b.Me(a.URL); m.Method != "sso" || m.Identity.Subject != "jane.doe@recruit.example" {
		t.Fatalf("/me = %+v", m)
	}
	if len(a.Audit.Find(sso.EventUserLinked, "")) != 1 {
		t.Fatalf("want one user_linked event: %+v", a.Audit.Events())
	}
	// From now on the identity logs her in directly, from anywhere.
	spInitiated(browser.New(t), a, a.adfs.Server, "jane.doe@recruit.example").Want(http.StatusOK, "Logged in as jane.doe@recruit.example with SAML")
	idpInitiated(browser.New(t), a, "jane.doe@recruit.example").Want(http.StatusOK, "Logged in as jane.doe@recruit.example with SAML")
}

func TestLoginBindingPasswordFirst(t *testing.T) {
	a := startApp(t)
	// Ken's NameID K-998 matches no SSO identifier. He logs in with his
	// password, then uses single sign-on from the application in the same
	// browser: the application asks him to confirm the binding.
	b := browser.New(t)
	b.Get(a.URL+"/login").Form("/login").Set("email", "ken@recruit.example").Set("password", "ken-password").Submit().
		Want(http.StatusOK, "Logged in as ken@recruit.example with password")
	spInitiated(b, a, a.adfs.Server, "ken@recruit.example").
		Want(http.StatusOK, "Link the single sign-on identity", "K-998", "ken@recruit.example").
		Form("/login/bind/confirm").Submit().
		Want(http.StatusOK, "Logged in as ken@recruit.example with SAML single sign-on through recruit-adfs")
	if m := b.Me(a.URL); m.Identity == nil || m.Identity.Subject != "K-998" {
		t.Fatalf("/me = %+v", m)
	}
	// The next login through the ADFS, in another browser, is direct.
	idpInitiated(browser.New(t), a, "ken@recruit.example").Want(http.StatusOK, "Logged in as ken@recruit.example with SAML")
}

// TestLoginBindingIdPInitiated: a login started at the ADFS with an
// unknown NameID is bound only after a password and a confirmation, also in
// a browser where someone is already logged in with a password: another
// site may have posted the response.
func TestLoginBindingIdPInitiated(t *testing.T) {
	a := startApp(t)
	b := browser.New(t)
	b.Get(a.URL+"/login").Form("/login").Set("email", "ken@recruit.example").Set("password", "ken-password").Submit().
		Want(http.StatusOK, "Logged in as ken@recruit.example with password")
	p := idpInitiated(b, a, "ken@recruit.example").Want(http.StatusOK, "Connect your account", "K-998")
	if len(a.Audit.Find(sso.EventUserLinked, "")) != 0 {
		t.Fatal("an IdP-initiated login was bound without a password")
	}
	p.Form("/login/bind").Set("email", "ken@recruit.example").Set("password", "ken-password").Submit().
		Want(http.StatusOK, "Link the single sign-on identity", "K-998").
		Form("/login/bind/confirm").Submit().
		Want(http.StatusOK, "Logged in as ken@recruit.example with SAML single sign-on through recruit-adfs (started at the identity provider)")
}

func TestSHA1OnOneConnectionOnly(t *testing.T) {
	a := startApp(t)
	// The Talent Agency's Okta signs with RSA-SHA256: fine.
	spInitiated(browser.New(t), a, a.okta.Server, "alex@agency.example").Want(http.StatusOK, "Logged in as alex@agency.example with SAML")
	// Signing with RSA-SHA1, as Recruit Co's ADFS does, it is refused:
	// only Recruit Co's connection allows SHA-1.
	a.okta.Misbehave(samltest.Misbehavior{SHA1: true})
	b := browser.New(t)
	spInitiated(b, a, a.okta.Server, "alex@agency.example").Want(http.StatusForbidden, sso.ReasonAlgorithmNotAllowed.UserMessage())
	b.WantLoggedOut(a.URL)
	evs := a.Audit.Find(sso.EventLoginFailed, sso.ReasonAlgorithmNotAllowed)
	if len(evs) != 1 || evs[0].Connection != "agency-okta" {
		t.Fatalf("want one login_failed event with algorithm_not_allowed for agency-okta: %+v", a.Audit.Events())
	}
}
