package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/examples/internal/browser"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func startApp(t *testing.T) *app { return browser.StartApp(t, start) }

// idpLogin fills the identity provider's login form.
func idpLogin(p *browser.Page, idp *samltest.Server, email string) *browser.Page {
	return p.WantAt(idp.URL()).Form("#login").Set("email", email).Set("password", samltest.DefaultPassword).Submit()
}

func TestDomainPrompt(t *testing.T) {
	a := startApp(t)
	b := browser.New(t)
	// /login/sso asks for the SSO domain and sends the browser to the
	// bookmarkable URL of the domain, which starts single sign-on at The
	// Fund's IdP; the email comes from the NameID.
	p := b.Get(a.URL+"/login/sso").Want(http.StatusOK, "Your organisation's SSO domain").
		Form("/login/sso").Set("domain", "TheFund").Submit()
	if !slices.Contains(b.Visited, a.URL+"/login/sso/TheFund") {
		t.Fatalf("the prompt did not go through /login/sso/TheFund: %v", b.Visited)
	}
	idpLogin(p, a.fundIdP.Server, "olly@fund.example").Want(http.StatusOK, "Logged in as olly@fund.example with SAML single sign-on through fund-okta")
	m := b.Me(a.URL)
	if m.Connection != "fund-okta" || !slices.Equal(m.Accounts, []string{"fund"}) || m.Identity.Subject != "olly@fund.example" ||
		m.Identity.SubjectFormat != saml.NameIDFormatEmailAddress {
		t.Fatalf("/me = %+v, identity %+v", m, m.Identity)
	}
}

func TestBookmarkAndEmailAttribute(t *testing.T) {
	a := startApp(t)
	// The bookmark starts at the Council's IdP. Its NameID is opaque; the
	// email is read from the configured attribute and matches the user
	// the administrator added.
	b := browser.New(t)
	idpLogin(b.Get(a.URL+"/login/sso/council"), a.councilIdP.Server, "cara@council.example").
		Want(http.StatusOK, "Logged in as cara@council.example with SAML single sign-on through council-entra")
	m := b.Me(a.URL)
	if m.Email != "cara@council.example" || m.Identity.Subject != "c-7d2e41" || m.Identity.SubjectFormat != saml.NameIDFormatPersistent ||
		!slices.Equal(m.Accounts, []string{"council"}) {
		t.Fatalf("/me = %+v, identity %+v", m, m.Identity)
	}
	// An unknown SSO domain says so.
	browser.New(t).Get(a.URL+"/login/sso/nosuch").Want(http.StatusNotFound, sso.ReasonAccountNotFound.UserMessage())
}

func TestEmailDomainScope(t *testing.T) {
	a := startApp(t)
	// The assessor's email is outside fund.example: no single sign-on for
	// it (the email alone asks for the password) and the password works.
	b := browser.New(t)
	p := b.Get(a.URL+"/login").Form("/login").Set("email", "assessor@consultancy.example").Submit().Want(http.StatusOK, "Password")
	p.Form("/login").Set("password", "assessor-password").Submit().Want(http.StatusOK, "Logged in as assessor@consultancy.example with password")
	if m := b.Me(a.URL); m.Method != "password" || !slices.Equal(m.Accounts, []string{"fund"}) {
		t.Fatalf("/me = %+v", m)
	}
	// Olly's is inside: his password is refused and single sign-on
	// offered.
	b = browser.New(t)
	b.Get(a.URL+"/login").Form("/login").Set("email", "olly@fund.example").Set("password", "olly-password").Submit().
		Want(http.StatusUnauthorized, "We could not log you in with this email address and password", "Continue with The Fund — Okta")
	b.WantLoggedOut(a.URL)
	if len(a.Audit.Find(sso.EventPasswordRefused, sso.ReasonSSORequired)) != 1 {
		t.Fatalf("want one password_refused event: %+v", a.Audit.Events())
	}
	// The email alone goes to The Fund's IdP.
	idpLogin(b.Get(a.URL+"/login").Form("/login").Set("email", "olly@fund.example").Submit(), a.fundIdP.Server, "olly@fund.example").
		Want(http.StatusOK, "Logged in as olly@fund.example with SAML")
}

func TestPreProvisionedOnly(t *testing.T) {
	a := startApp(t)
	// Newbie is known to The Fund's IdP but was never added here.
	b := browser.New(t)
	idpLogin(b.Get(a.URL+"/login/sso/thefund"), a.fundIdP.Server, "newbie@fund.example").
		Want(http.StatusForbidden, sso.ReasonUserNotProvisioned.UserMessage())
	b.WantLoggedOut(a.URL)
	evs := a.Audit.Find(sso.EventLoginFailed, sso.ReasonUserNotProvisioned)
	if len(evs) != 1 || evs[0].Connection != "fund-okta" || evs[0].Account != "fund" {
		t.Fatalf("want one login_failed event with user_not_provisioned for fund-okta: %+v", a.Audit.Events())
	}
	users, _, _, _ := a.Store.(*provisioning.MemoryStore).Len()
	if users != 3 {
		t.Fatalf("%d users in the store, want the 3 added: nobody is created", users)
	}
}
