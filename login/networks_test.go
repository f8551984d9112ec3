package login_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
)

// TestNetworks: an account's or connection's allowed networks refuse
// logins from other client addresses (the test's browser is on
// 127.0.0.1), SSO and password alike, before the identity provider is
// visited and before anything is provisioned; a dry run only reports.
func TestNetworks(t *testing.T) {
	elsewhere := login.Networks{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}
	loopback := login.Networks{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	setAcme := func(w *world, n login.Networks) {
		a, _ := w.reg.Account("acme")
		a.Networks = n
		if _, _, err := w.reg.Set(a); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("SSO refused at the start", func(t *testing.T) {
		w := newWorld(t)
		setAcme(w, elsewhere)
		p := w.browser().post("/auth/login", form("email", "olly@acme.example"))
		wantStatus(t, p, http.StatusForbidden)
		wantBody(t, p, "allows this login only from its own networks")
		if ev := w.events.find(sso.EventLoginFailed, sso.ReasonNetworkNotAllowed); len(ev) != 1 || ev[0].Account != "acme" {
			t.Fatalf("events %+v", ev)
		}
		if p.loc != "" {
			t.Fatalf("the browser was sent to %s", p.loc)
		}
	})
	t.Run("SSO allowed from an allowed network", func(t *testing.T) {
		w := newWorld(t)
		setAcme(w, loopback)
		b := w.browser()
		wantRedirect(t, b.oidcLogin(b.post("/auth/login", form("email", "olly@acme.example")), "olly"), "/")
	})
	t.Run("SSO refused at the return", func(t *testing.T) {
		w := newWorld(t)
		b := w.browser()
		start := b.post("/auth/login", form("email", "olly@acme.example"))
		setAcme(w, elsewhere) // changed while the person was at the provider
		users, _, _, _ := w.counts()
		wantStatus(t, b.oidcLogin(start, "olly"), http.StatusForbidden)
		if b.session() != nil {
			t.Fatal("a session started")
		}
		if u, _, _, _ := w.counts(); u != users {
			t.Fatal("the refused login wrote users")
		}
	})
	t.Run("dry run", func(t *testing.T) {
		w := newWorld(t)
		dry := elsewhere
		dry.DryRun = true
		setAcme(w, dry)
		b := w.browser()
		wantRedirect(t, b.oidcLogin(b.post("/auth/login", form("email", "olly@acme.example")), "olly"), "/")
		if ev := w.events.find(sso.EventNetworkDryRunRefusal, sso.ReasonNetworkNotAllowed); len(ev) != 2 || ev[0].Attrs["client_address"] != "127.0.0.1" {
			t.Fatalf("dry-run events %+v; want one at the start and one at the return", ev)
		}
	})
	t.Run("password", func(t *testing.T) {
		w := newWorld(t)
		setAcme(w, elsewhere)
		p := w.browser().post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw"))
		wantStatus(t, p, http.StatusUnauthorized)
		if ev := w.events.find(sso.EventPasswordRefused, sso.ReasonNetworkNotAllowed); len(ev) != 1 || ev[0].Account != "acme" {
			t.Fatalf("events %+v", ev)
		}
		setAcme(w, loopback)
		wantRedirect(t, w.browser().post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	})
	t.Run("connection", func(t *testing.T) {
		w := newWorld(t)
		c, _, _ := w.reg.Connection("simple-staff")
		c.Networks = elsewhere
		if err := w.setConnection(c); err != nil {
			t.Fatal(err)
		}
		b := w.browser()
		action, v := b.samlIdPLogin(b.get(w.idp.StartURL(w.base+"/auth/saml/simple-staff/metadata", "/")), "stan@simple.example")
		wantStatus(t, b.postACS(action, v), http.StatusForbidden)
		if ev := w.events.find(sso.EventLoginFailed, sso.ReasonNetworkNotAllowed); len(ev) != 1 || ev[0].Connection != "simple-staff" {
			t.Fatalf("events %+v", ev)
		}
	})
	t.Run("bad lists", func(t *testing.T) {
		w := newWorld(t)
		a, _ := w.reg.Account("acme")
		a.Networks = login.Networks{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}}
		if _, _, err := w.reg.Set(a); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
			t.Fatalf("a prefix with host bits: %v", err)
		}
		a.Networks = login.Networks{Allow: []netip.Prefix{{}}}
		if _, _, err := w.reg.Set(a); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
			t.Fatalf("an invalid prefix: %v", err)
		}
	})
}

// TestLandingPage: a login through a connection with a landing page and
// no return path of its own lands there; a return path wins.
func TestLandingPage(t *testing.T) {
	w := newWorld(t)
	c, _, _ := w.reg.Connection("simple-staff")
	c.LandingPage = "/simple/home"
	c.ReplaceSessionWithoutAsking = true
	if err := w.setConnection(c); err != nil {
		t.Fatal(err)
	}
	staff := w.base + "/auth/saml/simple-staff/metadata"
	b := w.browser()
	action, v := b.samlIdPLogin(b.get(w.idp.StartURL(staff, "")), "stan@simple.example")
	wantRedirect(t, b.postACS(action, v), "/simple/home")
	b = w.browser()
	action, v = b.samlIdPLogin(b.get(w.idp.StartURL(staff, "/reports")), "stan@simple.example")
	wantRedirect(t, b.postACS(action, v), "/reports")
	c.LandingPage = "https://evil.example/"
	if err := w.setConnection(c); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("an off-site landing page: %v", err)
	}
}
