package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/examples/internal/browser"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// idps are the mock identity providers: Acme's SAML IdP and Globex's
// OpenID provider, with the URLs of their login pages.
type idps struct {
	env              map[string]string // the program's configuration, pointing at them
	samlURL, oidcURL string
	samLogout        string // where Sam logs out at Acme's IdP, which tells the application
}

// startIdPs starts the mock identity providers for the application at base.
// It is the only place the test sets the mock servers up.
func startIdPs(t *testing.T, base string) idps {
	t.Helper()
	idp := samltest.Start(t, samltest.Config{NoTLS: true, Users: []samltest.User{
		{Email: "sam@acme.example", GivenName: "Sam"},
		{Email: "eve@elsewhere.example", GivenName: "Eve"}, // at Acme's IdP, but not at Acme's domain
	}})
	at := login.EndpointsOf(base+"/auth", "acme-saml")
	if err := idp.AddServiceProvider(samltest.ServiceProvider{EntityID: at.EntityID, ACSURL: at.ACS, SLOURL: at.SLO}); err != nil {
		t.Fatal(err)
	}
	callback := login.EndpointsOf(base+"/auth", "globex-oidc").Callback
	op := oidctest.Start(t, oidctest.Config{NoTLS: true,
		Users:   []oidctest.User{{Subject: "olga-0001", Email: "olga@globex.example", GivenName: "Olga"}},
		Clients: []oidctest.Client{{ID: "minimal-app", Secret: "minimal-secret", RedirectURIs: []string{callback}}},
	})
	return idps{samlURL: idp.URL(), oidcURL: op.URL(), samLogout: idp.LogoutURL(at.EntityID, "sam@acme.example"), env: map[string]string{
		"SAML_METADATA_URL": idp.MetadataURL(), "SAML_DOMAIN": "acme.example",
		"OIDC_ISSUER": op.Issuer(), "OIDC_CLIENT_ID": "minimal-app", "OIDC_CLIENT_SECRET": "minimal-secret",
		"OIDC_DOMAIN":   "globex.example",
		"INSECURE_IDPS": "true", // the mock servers run on http://127.0.0.1
	}}
}

// startApp runs the program with the mock identity providers and returns
// its base URL.
func startApp(t *testing.T) (string, idps) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	base := "http://localhost:" + port
	m := startIdPs(t, base)
	h, err := run(t.Context(), base, func(k string) string { return m.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return base, m
}

// emailFirst types the email on the login page.
func emailFirst(b *browser.Browser, base, email string) *browser.Page {
	return b.Get(base+"/auth/login").Form("/auth/login").Set("email", email).Submit()
}

func TestSAMLLogin(t *testing.T) {
	base, m := startApp(t)
	b := browser.New(t)
	b.Get(base+"/").Want(http.StatusOK, "Not logged in")
	emailFirst(b, base, "sam@acme.example").WantAt(m.samlURL).
		Form("#login").Set("email", "sam@acme.example").Set("password", samltest.DefaultPassword).Submit().
		WantAt(base+"/").Want(http.StatusOK, "Logged in as sam@acme.example (acme)")
	// The session lasts: the start page knows him on the next visit...
	b.Get(base+"/").Want(http.StatusOK, "Logged in as sam@acme.example (acme)")
	// ...until he logs out at the IdP, wherever he does: the IdP's logout
	// request ends his session in every browser.
	browser.New(t).Get(m.samLogout).WantAt(m.samlURL)
	b.Get(base+"/").Want(http.StatusOK, "Not logged in")
}

func TestOIDCLogin(t *testing.T) {
	base, m := startApp(t)
	b := browser.New(t)
	emailFirst(b, base, "olga@globex.example").WantAt(m.oidcURL).Click("olga@globex.example").
		WantAt(base+"/").Want(http.StatusOK, "Logged in as olga@globex.example (globex)").
		Click("Log out").Want(http.StatusOK, "Not logged in")
	b.Get(base+"/").Want(http.StatusOK, "Not logged in")
}

func TestRefusals(t *testing.T) {
	base, m := startApp(t)
	// Someone Acme's IdP vouches for, with an email outside Acme's domain:
	// nobody is created, nobody is logged in.
	b := browser.New(t)
	emailFirst(b, base, "sam@acme.example").WantAt(m.samlURL).
		Form("#login").Set("email", "eve@elsewhere.example").Set("password", samltest.DefaultPassword).Submit().
		Want(http.StatusForbidden, sso.ReasonEmailDomainNotAllowed.UserMessage())
	b.Get(base+"/").Want(http.StatusOK, "Not logged in")
	// An email of no account: the program has no password login, so the
	// person is told that nothing serves the address.
	b = browser.New(t)
	emailFirst(b, base, "someone@nowhere.example").Want(http.StatusOK, "Single sign-on is not set up for this email address's organisation")
	b.Get(base+"/").Want(http.StatusOK, "Not logged in")
}
