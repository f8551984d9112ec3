package scenariotest

import (
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// SmartKey: each account configures its own SSO mechanism (SAML, OpenID
// Connect or LDAP). A user in several accounts with different providers
// selects which one to use, and switching accounts may need a new login.
// "Account administrators can log in with password" keeps a misconfigured
// SSO from locking the administrators out.
func TestSmartKey(t *testing.T) {
	w := newWorld(t,
		account{
			disc: discovery.Account{ID: "alpha", Name: "Alpha Corp", Domains: domains("alpha.example"),
				Connections: []discovery.Connection{{ID: "alpha-saml", Protocol: sso.ProtocolSAML, DisplayName: "Alpha SAML", LogoURL: "/logos/alpha.svg"}}},
			policy: policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true,
				Connections: []policy.Connection{{ID: "alpha-saml", Stage: policy.StageLive}}},
			conns:      map[string]provisioning.Connection{"alpha-saml": {RequireEmail: true}},
			trustEmail: []string{"alpha-saml"},
		},
		account{
			disc: discovery.Account{ID: "beta", Name: "Beta Labs", Domains: domains("beta.example"),
				Connections: []discovery.Connection{{ID: "beta-oidc", Protocol: sso.ProtocolOIDC, DisplayName: "Beta Okta", LogoURL: "https://beta.example/logo.png"}}},
			policy: policy.Policy{Mode: policy.ModeSSORequired, Connections: []policy.Connection{{ID: "beta-oidc", Stage: policy.StageLive}}},
			// Pat's email is at alpha.example; Beta lets its IdP assert
			// outside addresses (never linked by email) and identifies its
			// members by the IdP's subject, which Beta's admin set.
			conns: map[string]provisioning.Connection{"beta-oidc": {AllowEmailOutsideDomains: true, RequireEmail: true, Identifier: provisioning.IdentifierSubject}},
		},
		account{
			disc: discovery.Account{ID: "gamma", Name: "Gamma Ltd", Domains: domains("gamma.example"),
				Connections: []discovery.Connection{{ID: "gamma-ldap", Protocol: sso.ProtocolLDAP, DisplayName: "Gamma directory"}}},
			policy:     policy.Policy{Mode: policy.ModeSSOOptional, Connections: []policy.Connection{{ID: "gamma-ldap", Stage: policy.StageLive}}},
			conns:      map[string]provisioning.Connection{"gamma-ldap": {RequireEmail: true}},
			trustEmail: []string{"gamma-ldap"},
		},
	)
	pat := w.addUser("pat@alpha.example",
		member{account: "alpha", roles: []string{adminRole}},
		member{account: "beta", identifier: "00u-pat"})
	lee := w.addUser("lee@alpha.example", member{account: "alpha"})
	gus := w.addUser("gus@gamma.example", member{account: "gamma"})

	// Pat belongs to two accounts with different providers: the login page
	// offers both, with their names and logos.
	r, err := w.router.ForAccounts(w.memberships(pat))
	if err != nil || !slices.Equal(connIDs(r), []string{"alpha-saml", "beta-oidc"}) ||
		r.Choice(0).DisplayName != "Alpha SAML" || r.Choice(1).LogoURL != "https://beta.example/logo.png" {
		t.Fatalf("choices = %+v, %v", r, err)
	}

	// Pat picks Beta (OIDC); Beta's admin set Pat's IdP identifier.
	res := w.mustSSO("beta-oidc", &sso.Identity{Subject: "00u-pat", Email: "pat@alpha.example", EmailVerified: true})
	if res.User.ID != pat || !slices.Equal(res.Accounts, []string{"beta"}) {
		t.Fatalf("Beta login = %+v", res)
	}
	// Switching to Alpha needs a new login: Alpha does not accept Beta's IdP.
	need, d := policy.NeedsReauth(w.policies["alpha"], w.facts(pat, "alpha"), policy.Session{Method: policy.SSO("beta-oidc", sso.ProtocolOIDC)})
	if !need || d.Reason != sso.ReasonReauthRequired {
		t.Fatalf("switch to alpha: %v %+v", need, d)
	}
	// Through Alpha's own SAML connection, Pat gets Alpha.
	res = w.mustSSO("alpha-saml", &sso.Identity{Subject: "pat@alpha.example", Email: "pat@alpha.example"})
	if res.User.ID != pat || !slices.Equal(res.Accounts, []string{"alpha"}) {
		t.Fatalf("Alpha login = %+v", res)
	}
	// Switching from that session to Alpha again needs nothing.
	if need, _ := policy.NeedsReauth(w.policies["alpha"], w.facts(pat, "alpha"), policy.Session{Method: policy.SSO("alpha-saml", sso.ProtocolSAML)}); need {
		t.Fatal("reauth to the same account")
	}

	// Break-glass: Alpha requires SSO, but its administrators may use their
	// password; other members may not.
	d = w.password("alpha", "pat@alpha.example")
	wantDecision(t, "admin password", d, true, "")
	if d.Rule != policy.RuleAdminBreakGlass {
		t.Fatalf("rule = %s", d.Rule)
	}
	d = w.password("alpha", "lee@alpha.example")
	wantDecision(t, "member password", d, false, sso.ReasonSSORequired)
	if w.facts(lee, "alpha").Admin {
		t.Fatal("lee is no admin")
	}

	// LDAP account: the directory vouches for its mail attribute.
	res = w.mustSSO("gamma-ldap", &sso.Identity{Issuer: "ldaps://ldap.gamma.example", Subject: "uid=gus,ou=people,dc=gamma,dc=example", Email: "gus@gamma.example"})
	if res.User.ID != gus || res.Match != provisioning.MatchEmail {
		t.Fatalf("LDAP = %+v", res)
	}
}

// SmartKey's lockout warning: turning off "Account administrators can log
// in with password" while SSO is required is refused until an administrator
// has completed an SSO login, since a misconfigured SSO would lock everyone
// out.
func TestSmartKeyBreakGlassRemoval(t *testing.T) {
	w := newWorld(t, account{
		disc: discovery.Account{ID: "alpha", Domains: domains("alpha.example"),
			Connections: []discovery.Connection{{ID: "alpha-saml", Protocol: sso.ProtocolSAML}}},
		policy: policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true,
			Connections: []policy.Connection{{ID: "alpha-saml", Stage: policy.StageLive}}},
		conns:      map[string]provisioning.Connection{"alpha-saml": {}},
		trustEmail: []string{"alpha-saml"},
	})
	pat := w.addUser("pat@alpha.example", member{account: "alpha", roles: []string{adminRole}})
	next := w.policies["alpha"]
	next.AdminsMayUsePassword = false
	wantErr(t, "removing the break-glass", w.setPolicy(next, pat, w.admins("alpha", pat)), sso.ReasonWouldLockOut)
	// The SSO is misconfigured (the IdP sends another domain): the login
	// fails, and the administrator still gets in with the password.
	l := w.sso("alpha-saml", &sso.Identity{Subject: "x", Email: "pat@alpha-corp.example"}, "")
	wantErr(t, "misconfigured IdP", l.err, sso.ReasonEmailDomainNotAllowed)
	d := w.password("alpha", "pat@alpha.example")
	wantDecision(t, "break-glass", d, true, "")
	// Fixed, the admin logs in through SSO; now the break-glass may go.
	w.mustSSO("alpha-saml", &sso.Identity{Subject: "pat", Email: "pat@alpha.example"})
	if err := w.setPolicy(next, pat, w.admins("alpha", pat)); err != nil {
		t.Fatal(err)
	}
	d = w.password("alpha", "pat@alpha.example")
	wantDecision(t, "admin password without break-glass", d, false, sso.ReasonSSORequired)
}
