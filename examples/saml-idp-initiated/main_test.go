package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/examples/internal/browser"
	"github.com/ssokit/sso/examples/internal/host"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml/samltest"
)

func startApp(t *testing.T) *app { return browser.StartApp(t, start) }

// fromPortal logs in at the IdP's portal link to the application's staff
// connection, as the employee's browser does.
func fromPortal(b *browser.Browser, a *app, email string) *browser.Page {
	p := b.Get(a.idp.StartURL(a.staff.EntityID(), "")).Want(http.StatusOK, "(IdP-initiated)")
	return p.Form("#login").Set("email", email).Set("password", samltest.DefaultPassword).Submit()
}

func membership(t *testing.T, m host.Me) host.MeMembership {
	t.Helper()
	if len(m.Memberships) != 1 || m.Memberships[0].Account != account {
		t.Fatalf("memberships %+v, want one of account %s", m.Memberships, account)
	}
	return m.Memberships[0]
}

func TestJITCreation(t *testing.T) {
	a := startApp(t)
	b := browser.New(t)
	fromPortal(b, a, "dave@simple.example").
		Want(http.StatusOK, "Logged in as dave@simple.example with SAML single sign-on through simple-saml2 (started at the identity provider)")
	m := b.Me(a.URL)
	if m.Identity == nil || !m.Identity.IdPInitiated || m.Identity.Subject != "T5014CD" || m.Identity.Module != "SAML2" ||
		m.GivenName != "David" || m.FamilyName != "Smith" {
		t.Fatalf("/me = %+v, identity %+v", m, m.Identity)
	}
	// The connection's default role, the role from the Roles attribute,
	// and the organisation named by Department, created.
	if mb := membership(t, m); !slices.Equal(mb.Roles, []string{"Clerk", "Employee"}) || mb.Organisation != "Shipping" || mb.Status != "active" {
		t.Fatalf("membership %+v", mb)
	}
	if len(a.Audit.Find(sso.EventUserCreated, "")) != 1 || len(a.Audit.Find(sso.EventOrganisationCreated, "")) != 1 {
		t.Fatalf("want one user_created and one organisation_created event: %+v", a.Audit.Events())
	}
	// The next login finds the user by the link; nobody new is created.
	fromPortal(browser.New(t), a, "dave@simple.example").Want(http.StatusOK, "Logged in as dave@simple.example")
	if users, _, _, _ := a.Store.(*provisioning.MemoryStore).Len(); users != 3 {
		t.Fatalf("%d users, want 3 (sue, pat, dave)", users)
	}
}

func TestModuleRouting(t *testing.T) {
	a := startApp(t)
	// Pia's assertion arrives at the staff connection's ACS like everyone's,
	// but its SSOModule PARTNERS picks the partners connection, whose
	// defaults apply.
	b := browser.New(t)
	fromPortal(b, a, "pia@simple.example").Want(http.StatusOK, "Logged in as pia@simple.example with SAML single sign-on through simple-partners")
	m := b.Me(a.URL)
	if mb := membership(t, m); m.Connection != "simple-partners" || !slices.Equal(mb.Roles, []string{"Partner"}) || mb.Organisation != "Partners" {
		t.Fatalf("/me = %+v, membership %+v", m, mb)
	}
	// A module no connection has is refused.
	b = browser.New(t)
	fromPortal(b, a, "eve@simple.example").Want(http.StatusNotFound)
	b.WantLoggedOut(a.URL)
	if len(a.Audit.Find(sso.EventLoginFailed, sso.ReasonConnectionNotFound)) != 1 {
		t.Fatalf("want one login_failed event with connection_not_found: %+v", a.Audit.Events())
	}
}

func TestUpdatesFromAttributes(t *testing.T) {
	a := startApp(t)
	// Sue was added by an administrator as an Employee of Head Office with
	// UID S1001. Her IdP says Manager and Reviewer, in Finance.
	b := browser.New(t)
	fromPortal(b, a, "sue@simple.example").Want(http.StatusOK, "Logged in as sue@simple.example")
	m := b.Me(a.URL)
	mb := membership(t, m)
	if !slices.Equal(mb.Roles, []string{"Employee", "Manager", "Reviewer"}) || mb.Organisation != "Finance" || mb.SSOIdentifier != "S1001" ||
		m.GivenName != "Susan" {
		t.Fatalf("/me = %+v, membership %+v", m, mb)
	}
	if evs := a.Audit.Find(sso.EventUserUpdated, ""); len(evs) != 1 || evs[0].Attrs["updated"] != "given_name,family_name,roles,organisation" {
		t.Fatalf("want one user_updated event for names, roles and organisation: %+v", evs)
	}
}

func TestSSOEnforcedForRoles(t *testing.T) {
	a := startApp(t)
	password := func(email, pw string) (*browser.Browser, *browser.Page) {
		b := browser.New(t)
		return b, b.Get(a.URL+"/login").Form("/login").Set("email", email).Set("password", pw).Submit()
	}
	// Sue is an Employee: single sign-on is enforced for her.
	b, p := password("sue@simple.example", "sue-password")
	p.Want(http.StatusUnauthorized, "We could not log you in with this email address and password")
	b.WantLoggedOut(a.URL)
	// Pat is a Consultant: the password works.
	b, p = password("pat@simple.example", "pat-password")
	p.Want(http.StatusOK, "Logged in as pat@simple.example with password")
	if m := b.Me(a.URL); !slices.Equal(m.Accounts, []string{account}) {
		t.Fatalf("/me = %+v", m)
	}
}

func TestLogoutRedirect(t *testing.T) {
	a := startApp(t)
	b := browser.New(t)
	// A single sign-on user who logs out lands on the IdP's portal.
	fromPortal(b, a, "dave@simple.example").Click("Log out").WantAt(a.idp.URL()+"/").Want(http.StatusOK, "samltest identity provider")
	b.WantLoggedOut(a.URL)
	// A password user lands on the application's start page.
	b.Get(a.URL+"/login").Form("/login").Set("email", "pat@simple.example").Set("password", "pat-password").Submit().
		Click("Log out").WantAt(a.URL+"/").Want(http.StatusOK, "Not logged in")
}
