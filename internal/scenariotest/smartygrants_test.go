package scenariotest

import (
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// SmartyGrants: manage users log in at /login/sso by typing their
// organisation's SSO domain (or bookmark /login/sso/{domain}). Users are
// added by an administrator beforehand (no provisioning), with their email
// as username, and the SAML response must carry the email. SSO applies to
// users with the organisation's email domains only: external assessors keep
// their password. One person may be in several accounts; an SSO login grants
// only the SSO account(s), the others need their own login.
func TestSmartyGrants(t *testing.T) {
	const idp = "https://sts.example.com/adfs/services/trust"
	// Pre-provisioned only, email required, the admin declares the IdP's
	// emails trustworthy (SAML has no email_verified).
	sg := provisioning.Connection{RequireEmail: true}
	w := newWorld(t,
		account{
			disc: discovery.Account{ID: "example-funds", Name: "Example Funds", Aliases: []string{"example"}, Domains: []discovery.Domain{{Name: "example.com", Shared: true}},
				Connections: []discovery.Connection{{ID: "example-funds-saml", Protocol: sso.ProtocolSAML, Issuers: []string{idp}}}},
			policy: policy.Policy{Mode: policy.ModeSSORequired, Scope: policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"example.com"}},
				Connections: []policy.Connection{{ID: "example-funds-saml", Stage: policy.StageLive}}},
			conns:      map[string]provisioning.Connection{"example-funds-saml": sg},
			trustEmail: []string{"example-funds-saml"},
		},
		account{ // a second division of the same customer, its own SSO connection to the same IdP
			disc: discovery.Account{ID: "example-grants", Name: "Example Grants", Aliases: []string{"example-grants"}, Domains: []discovery.Domain{{Name: "example.com", Shared: true}},
				Connections: []discovery.Connection{{ID: "example-grants-saml", Protocol: sso.ProtocolSAML, Issuers: []string{idp}}}},
			policy:     policy.Policy{Mode: policy.ModeSSORequired, Connections: []policy.Connection{{ID: "example-grants-saml", Stage: policy.StageLive}}},
			conns:      map[string]provisioning.Connection{"example-grants-saml": sg},
			trustEmail: []string{"example-grants-saml"},
		},
		account{ // a non-SSO account
			disc:   discovery.Account{ID: "community-trust", Name: "Community Trust"},
			policy: policy.Policy{},
		},
	)
	olly := w.addUser("olly@example.com",
		member{account: "example-funds", roles: []string{adminRole}},
		member{account: "example-grants", roles: []string{"Program Manager"}},
		member{account: "community-trust", roles: []string{"Assessor"}})
	assessor := w.addUser("assessor@gmail.com", member{account: "example-funds", roles: []string{"Assessor"}})
	saml := func(email string) *sso.Identity {
		return &sso.Identity{Issuer: idp, Subject: email, SubjectFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", Email: email}
	}

	// /login/sso: the typed domain (any case) and the bookmarked URL find
	// the account's connection; an unknown domain does not.
	for _, typed := range []string{"example", "EXAMPLE", " Example "} {
		r, err := w.router.LookupAlias(typed)
		if err != nil || !slices.Equal(connIDs(r), []string{"example-funds-saml"}) {
			t.Fatalf("LookupAlias(%q) = %v, %v", typed, r, err)
		}
	}
	_, err := w.router.LookupAlias("no-such-org")
	wantErr(t, "unknown SSO domain", err, sso.ReasonAccountNotFound)
	// The customer's two accounts share the email domain: typing the email
	// offers both.
	r, err := w.router.Lookup("olly@example.com")
	if err != nil || !slices.Equal(r.Accounts(), []string{"example-funds", "example-grants"}) {
		t.Fatalf("Lookup(olly) = %v, %v; want both accounts to choose from", r, err)
	}
	// The assessor's domain has no SSO.
	_, err = w.router.Lookup("assessor@gmail.com")
	wantErr(t, "assessor's domain", err, sso.ReasonNoSSO)

	// Domain scope: olly must use SSO, the external assessor keeps the
	// password.
	d := w.password("example-funds", "olly@example.com")
	wantDecision(t, "olly's password", d, false, sso.ReasonSSORequired)
	d = w.password("example-funds", "assessor@gmail.com")
	wantDecision(t, "assessor's password", d, true, "")
	if d.Rule != policy.RuleOutOfScope {
		t.Fatalf("assessor rule = %s", d.Rule)
	}

	// Olly's SSO login: pre-provisioned user found by email, linked.
	res := w.mustSSO("example-funds-saml", saml("olly@example.com"))
	if res.User.ID != olly || res.Match != provisioning.MatchEmail {
		t.Fatalf("olly = %+v", res)
	}
	// The login grants only this account, though olly is in three.
	if !slices.Equal(res.Accounts, []string{"example-funds"}) || len(w.memberships(olly)) != 3 {
		t.Fatalf("granted %v of %v", res.Accounts, w.memberships(olly))
	}
	// Switching to the other SSO account, or to the password account, needs
	// another login.
	session := policy.Session{Method: policy.SSO("example-funds-saml", sso.ProtocolSAML)}
	for _, acct := range []string{"example-grants", "community-trust"} {
		need, dec := policy.NeedsReauth(w.policies[acct], w.facts(olly, acct), session)
		if !need || dec.Reason != sso.ReasonReauthRequired {
			t.Fatalf("switch to %s: need=%v %+v", acct, need, dec)
		}
	}
	// The other SSO account's own connection grants it.
	res = w.mustSSO("example-grants-saml", saml("olly@example.com"))
	if !slices.Equal(res.Accounts, []string{"example-grants"}) || res.User.ID != olly {
		t.Fatalf("second account = %+v", res)
	}
	// And the regular login page gets olly into the non-SSO account.
	d = w.password("community-trust", "olly@example.com")
	wantDecision(t, "non-SSO account", d, true, "")

	// Not added by an administrator: refused, nothing created.
	l := w.sso("example-funds-saml", saml("colleague@example.com"), "")
	wantErr(t, "not pre-provisioned", l.err, sso.ReasonUserNotProvisioned)
	if w.userByEmail("colleague@example.com") != nil {
		t.Fatal("user created")
	}
	// The SAML response must contain the email.
	l = w.sso("example-funds-saml", &sso.Identity{Issuer: idp, Subject: "opaque-id-17"}, "")
	wantErr(t, "no email", l.err, sso.ReasonEmailMissing)
	// An assertion for an address outside the account's domains is refused
	// even though that user is a member (the assessor uses passwords).
	l = w.sso("example-funds-saml", saml("assessor@gmail.com"), "")
	wantErr(t, "assessor through SSO", l.err, sso.ReasonEmailDomainNotAllowed)
	if w.membership(assessor, "example-funds") == nil {
		t.Fatal("assessor lost")
	}
}

// SmartyGrants' onboarding: SSO is first set up for testing with nominated
// users while the live account keeps passwords, then applied at an agreed
// time, from when users must log in through SSO.
func TestSmartyGrantsOnboarding(t *testing.T) {
	w := newWorld(t, account{
		disc: discovery.Account{ID: "example-funds", Aliases: []string{"example"}, Domains: domains("example.com"),
			Connections: []discovery.Connection{{ID: "example-funds-saml", Protocol: sso.ProtocolSAML}}},
		policy: policy.Policy{Mode: policy.ModeSSOOptional,
			Connections: []policy.Connection{{ID: "example-funds-saml", Stage: policy.StageTesting, TestUserEmails: []string{"tester@example.com"}}}},
		conns:      map[string]provisioning.Connection{"example-funds-saml": {RequireEmail: true}},
		trustEmail: []string{"example-funds-saml"},
	})
	tester := w.addUser("tester@example.com", member{account: "example-funds", roles: []string{adminRole}})
	staff := w.addUser("staff@example.com", member{account: "example-funds"})
	id := func(e string) *sso.Identity { return &sso.Identity{Subject: e, Email: e} }

	w.mustSSO("example-funds-saml", id("tester@example.com"))
	l := w.sso("example-funds-saml", id("staff@example.com"), "")
	wantErr(t, "staff while testing", l.err, sso.ReasonConnectionNotLive)
	d := w.password("example-funds", "staff@example.com")
	wantDecision(t, "staff password while testing", d, true, "")

	// Applied to the live account.
	next := policy.Policy{Account: "example-funds", Mode: policy.ModeSSORequired,
		Scope:       policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"example.com"}},
		Connections: []policy.Connection{{ID: "example-funds-saml", Stage: policy.StageLive}}}
	if err := w.setPolicy(next, "smartygrants-service", w.admins("example-funds", tester, staff)); err != nil {
		t.Fatal(err)
	}
	if p := w.policies["example-funds"]; p.Connections[0].LiveAt.IsZero() || p.Connections[0].LiveBy != "smartygrants-service" {
		t.Fatalf("going live not recorded: %+v", p.Connections[0])
	}
	w.mustSSO("example-funds-saml", id("staff@example.com"))
	d = w.password("example-funds", "staff@example.com")
	wantDecision(t, "staff password when applied", d, false, sso.ReasonSSORequired)
}
