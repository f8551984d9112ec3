package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/examples/internal/browser"
	"github.com/ssokit/sso/saml/samltest"
)

func startApp(t *testing.T) *app {
	dbPath := filepath.Join(t.TempDir(), "app.db")
	return browser.StartApp(t, func(addr string, logger *slog.Logger) (*app, error) { return start(addr, dbPath, logger) })
}

func emailFirst(b *browser.Browser, a *app, email string) *browser.Page {
	return b.Get(a.URL+"/login").Form("/login").Set("email", email).Submit()
}

func password(b *browser.Browser, a *app, email, pw string) *browser.Page {
	return b.Get(a.URL+"/login").Form("/login").Set("email", email).Set("password", pw).Submit()
}

func TestSAMLAccount(t *testing.T) {
	a := startApp(t)
	b := browser.New(t)
	emailFirst(b, a, "sam@acme.example").WantAt(a.idp.URL()).
		Form("#login").Set("email", "sam@acme.example").Set("password", samltest.DefaultPassword).Submit().
		Want(http.StatusOK, "Logged in as sam@acme.example with SAML single sign-on through acme-saml")
	if m := b.Me(a.URL); !slices.Equal(m.Accounts, []string{"acme"}) || m.Identity.SubjectFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Fatalf("/me = %+v, identity %+v", m, m.Identity)
	}
}

func TestAdminBreakGlass(t *testing.T) {
	a := startApp(t)
	// Acme requires single sign-on, but its administrator keeps the
	// password.
	b := browser.New(t)
	password(b, a, "root@acme.example", "root-password").Want(http.StatusOK, "Logged in as root@acme.example with password")
	if m := b.Me(a.URL); m.Method != "password" || !slices.Equal(m.Accounts, []string{"acme"}) {
		t.Fatalf("/me = %+v", m)
	}
	// Sam is no administrator: refused, and offered Acme's single sign-on.
	b = browser.New(t)
	password(b, a, "sam@acme.example", "sam-password").Want(http.StatusUnauthorized, "We could not log you in with this email address and password", "Continue with Acme — SAML")
	b.WantLoggedOut(a.URL)
	// The audit log in SQLite has both decisions.
	evs, err := a.db.Recent(context.Background(), "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused bool
	for _, e := range evs {
		ok = ok || e.Type == sso.EventLoginSucceeded && e.Attrs["rule"] == "admin_break_glass"
		refused = refused || e.Type == sso.EventPasswordRefused && e.Reason == sso.ReasonSSORequired
	}
	if !ok || !refused {
		t.Fatalf("the audit log lacks the break-glass login or the refusal: %+v", evs)
	}
}

func TestPickerOIDC(t *testing.T) {
	a := startApp(t)
	// alice@example.com: two accounts share the domain; she picks.
	b := browser.New(t)
	p := emailFirst(b, a, "alice@example.com").Want(http.StatusOK, "Choose how to log in", "Globex — OpenID", "Initech — directory")
	p.Click("Globex — OpenID").WantAt(a.op.URL()).Click("alice@example.com").
		Want(http.StatusOK, "Logged in as alice@example.com with OIDC single sign-on through globex-oidc", "Accounts: globex.")
	if m := b.Me(a.URL); !slices.Equal(m.Accounts, []string{"globex"}) || m.Identity.Subject != "alice-0001" {
		t.Fatalf("/me = %+v", m)
	}
}

func TestPickerLDAP(t *testing.T) {
	a := startApp(t)
	b := browser.New(t)
	p := emailFirst(b, a, "alice@example.com").Click("Initech — directory").
		Want(http.StatusOK, "Log in with Initech directory")
	// A wrong directory password is refused on the same form.
	p = p.Form("/ldap/initech-ldap/login").Set("password", "wrong").Submit().
		Want(http.StatusUnauthorized, sso.ReasonInvalidCredentials.UserMessage())
	p.Form("/ldap/initech-ldap/login").Set("email", "alice@example.com").Set("password", "alice-password").Submit().
		Want(http.StatusOK, "Logged in as alice@example.com with LDAP single sign-on through initech-ldap", "Accounts: initech.")
	if m := b.Me(a.URL); !slices.Equal(m.Accounts, []string{"initech"}) || m.Identity.Subject != "uid=alice,ou=people,dc=example,dc=com" {
		t.Fatalf("/me = %+v", m)
	}
}

func TestPasswordGrantsOptionalAccountsOnly(t *testing.T) {
	a := startApp(t)
	// Alice's application password: Globex allows it, Initech requires
	// single sign-on, so the session covers Globex only.
	b := browser.New(t)
	password(b, a, "alice@example.com", "alice-app-password").Want(http.StatusOK, "Logged in as alice@example.com with password", "Accounts: globex.")
	if m := b.Me(a.URL); !slices.Equal(m.Accounts, []string{"globex"}) || !slices.Equal(m.Refused, []string{"initech"}) {
		t.Fatalf("/me = %+v", m)
	}
}
