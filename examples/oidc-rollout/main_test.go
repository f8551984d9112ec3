package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/examples/internal/browser"
	"github.com/ssokit/sso/login"
)

func startApp(t *testing.T) *app { return browser.StartApp(t, start) }

// passwordLogin submits the login form with an email and a password.
func passwordLogin(b *browser.Browser, a *app, email, pw string) *browser.Page {
	return b.Get(a.URL+"/login").Form("/login").Set("email", email).Set("password", pw).Submit()
}

// ssoLogin submits the email alone and picks the person at the OpenID
// provider's login page.
func ssoLogin(t *testing.T, b *browser.Browser, a *app, email string) *browser.Page {
	t.Helper()
	p := b.Get(a.URL+"/login").Form("/login").Set("email", email).Submit()
	return p.WantAt(a.op.URL()).Click(email)
}

func TestRollout(t *testing.T) {
	a := startApp(t)

	// Step 1, single sign-on optional: the password works...
	b := browser.New(t)
	passwordLogin(b, a, "olly@newsroom.example", "olly-password").
		Want(http.StatusOK, "Logged in as olly@newsroom.example with password")
	if m := b.Me(a.URL); m.Method != "password" || !slices.Equal(m.Accounts, []string{account}) {
		t.Fatalf("/me after the password login = %+v", m)
	}
	// ...a wrong one does not...
	b2 := browser.New(t)
	passwordLogin(b2, a, "olly@newsroom.example", "wrong").Want(http.StatusUnauthorized, "Password")
	b2.WantLoggedOut(a.URL)
	if len(a.Audit.Find(sso.EventLoginFailed, login.ReasonPasswordIncorrect)) != 1 {
		t.Fatalf("want one login_failed event with password_incorrect: %+v", a.Audit.Events())
	}

	// ...and single sign-on can be tested: the email alone leads to the
	// OpenID provider and back.
	b = browser.New(t)
	ssoLogin(t, b, a, "olly@newsroom.example").
		Want(http.StatusOK, "Logged in as olly@newsroom.example with OIDC single sign-on through "+connection)
	m := b.Me(a.URL)
	if m.Method != "sso" || m.Connection != connection || m.Identity == nil || m.Identity.Subject != "olly-2b9e" ||
		m.Identity.Issuer != a.op.Issuer() || !m.Identity.EmailVerified {
		t.Fatalf("/me after single sign-on = %+v (identity %+v)", m, m.Identity)
	}

	// Step 2. Ada, an administrator who has only ever used her password,
	// may not require single sign-on yet: nobody could administer the
	// account if the connection did not work.
	admin := browser.New(t)
	passwordLogin(admin, a, "ada@newsroom.example", "ada-password").Want(http.StatusOK, "Logged in as ada@newsroom.example")
	admin.Get(a.URL+"/admin").Want(http.StatusOK, "Mode: sso_optional").
		Click("Require single sign-on").Want(http.StatusConflict, string(sso.ReasonWouldLockOut), "Mode: sso_optional")
	// Olly, who is no administrator, may not change anything.
	if p := b.Get(a.URL + "/admin"); p.Status != http.StatusForbidden {
		t.Fatalf("/admin for a non-administrator: status %d", p.Status)
	}

	// Once she has logged in with single sign-on herself, she may.
	ssoLogin(t, admin, a, "ada@newsroom.example").Want(http.StatusOK, "Logged in as ada@newsroom.example with OIDC")
	admin.Get(a.URL+"/admin").Click("Require single sign-on").Want(http.StatusOK, "Saved", "Mode: sso_required")
	if len(a.Audit.Find(sso.EventPolicyChanged, "")) != 1 {
		t.Fatalf("want one policy_changed event, got %+v", a.Audit.Events())
	}

	// Now passwords are refused with one answer that points to single
	// sign-on, whether right or wrong (so the form tells nobody whether a
	// password is right), for administrators too (this account has no
	// break-glass)...
	for _, c := range []struct{ email, pw string }{
		{"olly@newsroom.example", "olly-password"},
		{"olly@newsroom.example", "wrong"},
		{"ada@newsroom.example", "ada-password"},
	} {
		b := browser.New(t)
		passwordLogin(b, a, c.email, c.pw).Want(http.StatusUnauthorized, "We could not log you in with this email address and password", "Continue with Newsroom Ltd — Entra ID")
		b.WantLoggedOut(a.URL)
	}
	if got := len(a.Audit.Find(sso.EventPasswordRefused, sso.ReasonSSORequired)); got != 2 {
		t.Fatalf("%d password_refused events with sso_required, want 2 (the right passwords): %+v", got, a.Audit.Events())
	}

	// ...and the refusal offers the way in: the button starts single
	// sign-on.
	b = browser.New(t)
	passwordLogin(b, a, "olly@newsroom.example", "olly-password").Click("Continue with Newsroom Ltd — Entra ID").
		WantAt(a.op.URL()).Click("olly@newsroom.example").
		Want(http.StatusOK, "Logged in as olly@newsroom.example with OIDC single sign-on")

	// Logging out ends the session.
	b.Get(a.URL+"/").Click("Log out").Want(http.StatusOK, "Not logged in")
	b.WantLoggedOut(a.URL)
}
