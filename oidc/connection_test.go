package oidc_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

func errorsIs(err error, target error) bool { return errors.Is(err, target) }

func TestLoginHappyPath(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	step := e.begin(sso.BeginRequest{ReturnTo: "/projects/7?tab=a", LoginHint: "alice@example.com", ForceAuthn: true,
		FlowData: map[string]string{"account": "acme"}})
	if step.Kind != sso.StepRedirect || step.State == "" || step.Expires.IsZero() {
		t.Fatalf("step = %+v", step)
	}
	au, _ := url.Parse(step.URL)
	q := au.Query()
	for k, want := range map[string]string{"response_type": "code", "client_id": clientID, "redirect_uri": redirectURL,
		"state": step.State, "code_challenge_method": "S256", "login_hint": "alice@example.com", "prompt": "login"} {
		if got := q.Get(k); got != want {
			t.Errorf("auth URL %s = %q; want %q", k, got, want)
		}
	}
	if q.Get("nonce") == "" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("nonce %q, code_challenge %q", q.Get("nonce"), q.Get("code_challenge"))
	}
	if got := q.Get("scope"); got != "openid email profile" {
		t.Errorf("scope = %q", got)
	}

	params := e.callback(step, "alice-0001")
	if params.Get("iss") != e.op.Issuer() || params.Get("state") != step.State {
		t.Fatalf("callback params %v", params)
	}
	id, err := e.complete(params)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if id.Connection != "acme" || id.Protocol != sso.ProtocolOIDC || id.Issuer != e.op.Issuer() || id.Subject != "alice-0001" {
		t.Errorf("identity header %+v", id)
	}
	if id.Email != "alice@example.com" || !id.EmailVerified || id.GivenName != "Alice" || id.FamilyName != "Liddell" ||
		id.DisplayName != "Alice Liddell" || id.FirstAttribute("locale") != "en-GB" {
		t.Errorf("identity profile %+v", id)
	}
	if !slices.Equal(id.Groups, []string{"staff", "admins", "editor"}) {
		t.Errorf("groups = %v", id.Groups)
	}
	if id.ReturnTo != "/projects/7?tab=a" || id.FlowData["account"] != "acme" {
		t.Errorf("flow data lost: %q %v", id.ReturnTo, id.FlowData)
	}
	if id.SessionIndex != "sid-alice-0001" || id.AuthTime.IsZero() {
		t.Errorf("sid %q auth_time %v", id.SessionIndex, id.AuthTime)
	}
	// The raw ID token is kept for logout's id_token_hint, and verifies.
	if tok, err := e.conn.VerifyIDToken(context.Background(), id.IDToken.Reveal(), q.Get("nonce")); err != nil || tok.Subject != id.Subject {
		t.Errorf("Identity.IDToken %q: %v", id.IDToken.Reveal(), err)
	}
	if id.Attribute("sub") != "alice-0001" || len(id.Attributes["groups"]) != 2 || id.Attribute("email_verified") != "true" {
		t.Errorf("attributes %v", id.Attributes)
	}
	if got := e.op.Prompts(); !slices.Equal(got, []string{"login"}) {
		t.Errorf("prompts = %v", got)
	}

	// The state is single use.
	_, err = e.complete(params)
	wantReason(t, err, sso.ReasonStateMissing)
}

func TestSteadyStateFetchesNothing(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	for i := 0; i < 3; i++ {
		if _, err := e.login("bob@example.com"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		// Past the refetch rate limit, within the cache lifetimes.
		e.clock.Advance(5 * oidc.DefaultJWKSMinRefetchInterval)
	}
	s := e.op.Stats()
	if s.Discovery != 1 || s.JWKS != 1 || s.Token != 3 || s.Userinfo != 0 {
		t.Fatalf("provider stats %+v; want one discovery, one JWKS fetch, three token requests, no userinfo", s)
	}
}

func TestScopes(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.Scopes = []string{"groups", "email", "offline_access"} })
	step := e.begin(sso.BeginRequest{})
	u, _ := url.Parse(step.URL)
	if got := u.Query().Get("scope"); got != "openid email profile groups offline_access" {
		t.Fatalf("scope = %q", got)
	}
	if _, err := e.complete(e.callback(step, "alice-0001")); err != nil {
		t.Fatal(err)
	}
}

// TestProviderPicker shows what a provider picker and a logout need from
// a Connection.
func TestProviderPicker(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
		c.PostLogoutRedirectURL = "https://app.example/bye"
	})
	if e.conn.ID() != "acme" || e.conn.Protocol() != sso.ProtocolOIDC || e.conn.Issuer() != e.op.Issuer() ||
		e.conn.PostLogoutRedirectURL() != "https://app.example/bye" {
		t.Fatalf("accessors of %+v", e.cfg)
	}
	// Metadata fetches the discovery document once.
	m, err := e.conn.Metadata(context.Background())
	if err != nil || m.Issuer != e.op.Issuer() || m.EndSessionEndpoint != e.op.Issuer()+"/end_session" || !m.AuthorizationResponseIssParameterSupported {
		t.Fatalf("Metadata: %+v %v", m, err)
	}
	if _, err := e.conn.Metadata(context.Background()); err != nil || e.op.Stats().Discovery != 1 {
		t.Fatalf("second Metadata: %v, %d discoveries", err, e.op.Stats().Discovery)
	}
}

// TestAuthorizationURL: the authorization request carries each parameter
// once, the fixed ones encoded when the provider was loaded and the
// per-login ones appended; an endpoint with a query of its own keeps it.
func TestAuthorizationURL(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.ACRValues = []string{"mfa", "phr"} })
	step, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding, LoginHint: "a b@example.com", ForceAuthn: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(step.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{"response_type": "code", "client_id": clientID, "redirect_uri": redirectURL, "scope": "openid email profile",
		"state": step.State, "code_challenge_method": "S256", "login_hint": "a b@example.com", "prompt": "login", "acr_values": "mfa phr"}
	for k, v := range want {
		if len(q[k]) != 1 || q[k][0] != v {
			t.Errorf("%s = %q; want %q", k, q[k], v)
		}
	}
	for _, k := range []string{"nonce", "code_challenge"} {
		if len(q[k]) != 1 || len(q[k][0]) != 43 {
			t.Errorf("%s = %q", k, q[k])
		}
	}
	if len(q) != len(want)+2 {
		t.Errorf("parameters %v", q)
	}
	// The provider accepts it: PKCE, nonce and state check out.
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
}
