package login_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// TestEmailFirst: the login page asks for the email alone; the password
// step shows the email with a way to change it; where single sign-on is
// required of the email's domain, its button is the main action.
func TestEmailFirst(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.get("/auth/login")
	wantBody(t, p, `id="email"`, `id="use-password"`, `id="login-submit"`)
	wantNoBody(t, p, `type="password"`, "Leave the password empty")

	// No single sign-on for the domain: the password step.
	p = b.post("/auth/login", form("email", "someone@unclaimed.example"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `type="password"`, `value="someone@unclaimed.example"`, "readonly", `id="change-email"`,
		`href="/auth/login?email=someone%40unclaimed.example"`, `name="step" value="password"`)
	wantNoBody(t, p, `id="choices"`, "Leave the password empty")

	// The same step on request, by GET (the picker's link) or by the
	// email step's second button; an empty password is asked again.
	wantBody(t, b.get("/auth/login?step=password&email=olly@acme.example"), `type="password"`, `value="olly@acme.example"`)
	p = b.post("/auth/login", form("email", "olly@acme.example", "step", "password"))
	wantStatus(t, p, http.StatusOK)
	// Acme requires single sign-on: "Continue with" is the main button,
	// the password form the secondary one.
	wantBody(t, p, `<button type="submit" id="pick-acme-oidc">Continue with Acme — Entra ID</button>`,
		`<button type="submit" id="login-submit" class="secondary">Log in</button>`, `aria-labelledby="password-heading"`)
	p = b.post("/auth/login", form("email", "olly@acme.example", "step", "password", "password", ""))
	wantStatus(t, p, http.StatusBadRequest)
	wantBody(t, p, "Enter your password.", `aria-invalid="true" aria-describedby="message"`)

	// Optional single sign-on (Key OIDC shares example.com with Key LDAP,
	// which requires it): the password stays the main action.
	p = b.post("/auth/login", form("email", "alice@example.com", "step", "password"))
	wantBody(t, p, `<button type="submit" id="login-submit">Log in</button>`, `class="secondary">Continue with Key OIDC — OpenID</button>`)

	// An invalid email is tied to its field.
	p = b.post("/auth/login", form("email", "not an email"))
	wantStatus(t, p, http.StatusBadRequest)
	wantBody(t, p, `aria-describedby="message email-hint" aria-invalid="true"`)
}

// TestPickerLabels: the picker names the organisation first, without
// nesting its name in brackets.
func TestPickerLabels(t *testing.T) {
	w := newWorld(t)
	p := w.browser().post("/auth/login", form("email", "alice@example.com"))
	wantBody(t, p, ">Key LDAP — directory</button>", ">Key OIDC — OpenID</button>", `id="use-password"`)
	wantNoBody(t, p, "(Key")
	for _, c := range []struct {
		choice discovery.Choice
		want   string
	}{
		{discovery.Choice{AccountName: "Key Team EU", DisplayName: "Key Team EU SAML"}, "Key Team EU — SAML"},
		{discovery.Choice{AccountName: "Grantmakers", DisplayName: "Entra ID"}, "Grantmakers — Entra ID"},
		{discovery.Choice{AccountName: "Acme", DisplayName: "Acme"}, "Acme"},
		{discovery.Choice{AccountName: "Acme", DisplayName: ""}, "Acme"},
		{discovery.Choice{AccountName: "", DisplayName: "Okta"}, "Okta"},
		{discovery.Choice{AccountName: "Acme", DisplayName: "Acmeco Okta"}, "Acme — Acmeco Okta"},
		{discovery.Choice{AccountName: "Newsroom Ltd", DisplayName: "Newsroom Entra ID"}, "Newsroom Ltd — Entra ID"},
		{discovery.Choice{AccountName: "The Fund", DisplayName: "The Fund's Okta"}, "The Fund — Okta"},
		{discovery.Choice{AccountName: "Key Team Lab", DisplayName: "Key Team"}, "Key Team Lab — Key Team"},
	} {
		if got := login.ChoiceLabel(c.choice); got != c.want {
			t.Errorf("ChoiceLabel(%q, %q) = %q, want %q", c.choice.AccountName, c.choice.DisplayName, got, c.want)
		}
	}
}

var referenceRE = regexp.MustCompile(`id="reference">([0-9A-Z]{4}-[0-9A-Z]{4})<`)

// reference returns the reference an error page shows.
func reference(t *testing.T, p *page) string {
	t.Helper()
	m := referenceRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no reference on the page:\n%s", p.body)
	}
	return m[1]
}

// eventsWithRef returns the events whose reference is ref.
func (e *events) withRef(ref string) []sso.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []sso.Event
	for _, ev := range e.list {
		if ev.Attrs[sso.AttrReference] == ref {
			out = append(out, ev)
		}
	}
	return out
}

// TestErrorPageReference: an error page shows a reference that finds the
// failure's event, the time and the account, and Try again starts the
// connection's single sign-on again.
func TestErrorPageReference(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	p := b.oidcLogin(b.post("/auth/login", form("email", "olly@acme.example", "return_to", "/reports")), "olly")
	wantRedirect(t, p, "/reports")
	p = b.get("/auth/oidc/acme-oidc/callback?code=x&state=forged")
	wantStatus(t, p, http.StatusBadRequest)
	ref := reference(t, p)
	if evs := w.events.withRef(ref); len(evs) != 1 || evs[0].Reason != sso.ReasonStateMissing || evs[0].Connection != "acme-oidc" || evs[0].Account != "acme" {
		t.Fatalf("events with reference %s: %+v", ref, evs)
	}
	wantBody(t, p, "UTC · Acme", `id="retry-form"`, `name="connection" value="acme-oidc"`, `<button type="submit" id="retry">Try again</button>`, `id="login-again"`)
	// Try again starts the single sign-on at once.
	p = b.post("/auth/login/start", form("connection", "acme-oidc"))
	if p.status != http.StatusFound && p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, w.op.URL()) {
		t.Fatalf("Try again: status %d to %q; want a redirect to the provider", p.status, p.loc)
	}

	// A refusal that provisioning reports carries the page's reference in
	// provisioning's own event.
	p = b.oidcLogin(b.post("/auth/login", form("email", "newbie@acme.example")), "newbie")
	wantStatus(t, p, http.StatusForbidden)
	ref = reference(t, p)
	if evs := w.events.withRef(ref); len(evs) != 1 || evs[0].Reason != sso.ReasonUserNotProvisioned || evs[0].Type != sso.EventLoginFailed {
		t.Fatalf("events with reference %s: %+v", ref, evs)
	}
	wantBody(t, p, `name="email" value="newbie@acme.example"`)
}

// TestConfigurationFaultPage: a connection whose setup is wrong does not
// ask the person to try again; the reference finds its event.
func TestConfigurationFaultPage(t *testing.T) {
	w := newWorld(t)
	w.idp.Misbehave(samltest.Misbehavior{WrongKey: true})
	defer w.idp.Misbehave(samltest.Misbehavior{})
	b := w.browser()
	action, v := b.samlIdPLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example")
	p := b.postACS(action, v)
	wantStatus(t, p, http.StatusForbidden)
	msg := sso.ReasonUntrustedKey.UserMessage()
	if strings.Contains(strings.ToLower(msg), "try again") {
		t.Fatalf("the message of a configuration fault asks to try again: %q", msg)
	}
	wantBody(t, p, "Your administrator can fix this.", `<button type="submit" id="retry" class="secondary">Try again</button>`)
	wantNoBody(t, p, "For the administrator")
	ref := reference(t, p)
	if evs := w.events.withRef(ref); len(evs) != 1 || evs[0].Reason != sso.ReasonUntrustedKey {
		t.Fatalf("events with reference %s: %+v", ref, evs)
	}
}

// TestTestLoginVerdict: a test login's page opens with the verdict, then
// the checklist and the mapping of the identity provider's attributes to
// the application's fields; everything sent is folded away. An event
// records the outcome.
func TestTestLoginVerdict(t *testing.T) {
	w := newWorld(t)
	a := w.browser()
	wantRedirect(t, a.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	w.makeAdmin("ada@acme.example", "acme")
	p := a.oidcLogin(a.get("/auth/login/test/acme-oidc?return_to=/admin/acme"), "olly")
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `<div class="verdict pass" id="test-verdict" role="status"><strong>Passed:</strong> Olly would sign in`,
		`id="test-checks"`, "The email address olly@acme.example was sent", "The domain acme.example is one of the account&#39;s domains",
		`id="test-mapping"`, "<th scope=\"row\">Email</th><td>olly@acme.example</td><td>claim email</td>",
		"<td>olly</td><td>claim sub</td>", `<details id="test-raw">`, `href="/admin/acme" id="back"`,
		`href="/auth/login/test/acme-oidc?return_to=%2Fadmin%2Facme" id="test-again"`)
	evs := w.events.find(sso.EventTestLogin, "")
	if len(evs) != 1 || evs[0].Connection != "acme-oidc" || evs[0].Attrs[sso.AttrTest] != "true" || evs[0].Attrs[sso.AttrReference] == "" || evs[0].User != w.users["olly@acme.example"] {
		t.Fatalf("test_login events %+v", evs)
	}
	// Unix times among the claims read as dates too.
	if !regexp.MustCompile(`<td>exp</td><td>\d+ \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)</td>`).MatchString(p.body) {
		t.Errorf("exp is not shown as a date:\n%s", p.body)
	}

	// Someone provisioning would refuse: the verdict says so, in words.
	p = a.oidcLogin(a.get("/auth/login/test/acme-oidc"), "newbie")
	wantBody(t, p, `<div class="verdict fail" id="test-verdict" role="status"><strong>Would be refused:</strong>`,
		"would be refused: no user here yet, and users are not created at login.", `<li class="bad">`)
	evs = w.events.find(sso.EventTestLogin, sso.ReasonUserNotProvisioned)
	if len(evs) != 1 {
		t.Fatalf("test_login events refusing newbie: %+v", evs)
	}
}

// TestCandidateOnlyInTestLogins: a connection's Candidate (the same
// service provider trusting a new identity provider) is used by an
// administrator's test login of it and by nothing else: an ordinary login
// still goes to the live identity provider, and the candidate's signed
// answer to an ordinary login is refused.
func TestCandidateOnlyInTestLogins(t *testing.T) {
	w := newWorld(t)
	key, cert, err := samltest.GenerateKeyPair("next IdP", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	next := samltest.Start(t, samltest.Config{Users: samlUsers, Key: key, Certificate: cert})
	live, _, _ := w.reg.Connection("grants-saml")
	cfg := next.ConnectionConfig("grants-saml", w.base+"/auth/saml/grants-saml/metadata", w.base+"/auth/saml/grants-saml/acs")
	cfg.StateStore, cfg.ReplayCache, cfg.TrustEmail = w.states, w.replay, true
	cfg.SLOURL = w.base + "/auth/saml/grants-saml/slo"
	cand, err := saml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := live
	c.Candidate = cand
	if err := w.setConnection(c); err != nil {
		t.Fatal(err)
	}
	// Another connection's authenticator is no candidate.
	bad := live
	bad.Candidate, _, _ = func() (sso.Authenticator, string, bool) {
		e, a, ok := w.reg.Connection("acme-oidc")
		return e.Authenticator, a, ok
	}()
	if err := w.setConnection(bad); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("a candidate of another ID: %v", err)
	}

	// The IdP's pages, with a client that trusts its CA.
	idpLogin := func(loc string) (string, url.Values) {
		t.Helper()
		get := func(resp *http.Response, err error) *page {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return &page{status: resp.StatusCode, body: string(body)}
		}
		p := get(next.Client().Get(loc))
		m := reLoginHandle.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no login page of the IdP (%d): %s", p.status, p.body)
		}
		return autoPost(t, get(next.Client().PostForm(next.URL()+"/login", url.Values{"login": {html.UnescapeString(m[1])}, "email": {"sam@grants.example"}, "password": {samltest.DefaultPassword}})))
	}

	// An ordinary login goes to the live IdP.
	o := w.browser()
	p := o.post("/auth/login", form("email", "sam@grants.example"))
	if !strings.HasPrefix(p.loc, w.idp.URL()) {
		t.Fatalf("an ordinary login went to %q, not the live IdP", p.loc)
	}
	// The candidate's IdP answering that ordinary login is refused.
	action, v := idpLogin(strings.Replace(p.loc, w.idp.URL(), next.URL(), 1))
	p = o.postACS(action, v)
	wantStatus(t, p, http.StatusForbidden)
	if o.session() != nil {
		t.Fatal("the candidate's answer to an ordinary login started a session")
	}

	// Only an administrator may test it.
	a := w.browser()
	wantRedirect(t, a.post("/auth/login", form("email", "ada@acme.example", "password", "ada-pw")), "/")
	wantStatus(t, a.get("/auth/login/test/grants-saml?candidate=1"), http.StatusForbidden)
	w.makeAdmin("ada@acme.example", "grants")
	p = a.get("/auth/login/test/grants-saml?candidate=1&return_to=/admin")
	if !strings.HasPrefix(p.loc, next.URL()) {
		t.Fatalf("the candidate's test login went to %q, not the candidate's IdP", p.loc)
	}
	action, v = idpLogin(p.loc)
	p = a.postACS(action, v)
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, `id="test-verdict"`, "Through the candidate (testing copy) of Grants Okta", `candidate=1`)
	if res := a.session(); res == nil || res.User != w.users["ada@acme.example"] {
		t.Fatalf("the candidate's test login changed the session: %+v", res)
	}
	evs := w.events.find(sso.EventTestLogin, "")
	if len(evs) != 1 || evs[0].Attrs[login.AttrCandidate] != "true" || evs[0].Reason != "" {
		t.Fatalf("test_login events %+v", evs)
	}
	// The ordinary test login still tests the live IdP.
	if p = a.get("/auth/login/test/grants-saml"); !strings.HasPrefix(p.loc, w.idp.URL()) {
		t.Fatalf("the test login went to %q", p.loc)
	}
}
