package policy_test

import (
	"errors"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

// expect checks one decision of a scenario step.
func expect(t *testing.T, step string, p policy.Policy, u policy.User, m policy.Method, allowed bool, reason sso.Reason) policy.Decision {
	t.Helper()
	d := policy.Decide(p, u, m)
	if d.Allowed != allowed || (!allowed && d.Reason != reason) {
		t.Fatalf("%s: %s for %s = allowed %v, %q (%s); want allowed %v, %q",
			step, m, u.ID, d.Allowed, d.Reason, d.Detail, allowed, reason)
	}
	return d
}

// Smart.pr: an OIDC connection is configured, tested with SSO optional while
// passwords keep working, and then switched to SSO required, which disables
// passwords.
func TestScenarioSmartPr(t *testing.T) {
	admin := policy.User{ID: "pr-admin", Email: "admin@agency.example", Admin: true}
	member := policy.User{ID: "pr-member", Email: "member@agency.example"}
	admins := []policy.User{admin, member}
	entra := policy.SSO("agency-entra", sso.ProtocolOIDC)

	// Before: a password-only account.
	p := policy.Policy{Account: "agency"}
	expect(t, "before", p, member, policy.Password(), true, "")
	expect(t, "before", p, member, entra, false, sso.ReasonPasswordOnly)

	// The account manager configures the connection and makes SSO optional,
	// with the customer's administrator as test user.
	p, _, err := policy.Update(p, policy.Policy{Account: "agency", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "agency-entra", Stage: policy.StageTesting, TestUserEmails: []string{"admin@agency.example"}}}},
		admins, "account-manager", t0)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "testing", p, admin, entra, true, "")
	expect(t, "testing", p, member, entra, false, sso.ReasonConnectionNotLive)
	expect(t, "testing", p, member, policy.Password(), true, "")

	// Everything checks out: the connection goes live, SSO still optional.
	next := p
	next.Connections = []policy.Connection{{ID: "agency-entra", Stage: policy.StageLive}}
	p, ch, err := policy.Update(p, next, admins, "account-manager", t1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.WentLive) != 1 {
		t.Fatalf("going live not recorded: %+v", ch)
	}
	expect(t, "optional", p, member, entra, true, "")
	expect(t, "optional", p, member, policy.Password(), true, "")

	// Switch to SSO required: refused while no administrator has logged in
	// through the connection, accepted once one has.
	next = p
	next.Mode = policy.ModeSSORequired
	if _, _, err := policy.Update(p, next, admins, "account-manager", t1); !errors.Is(err, sso.ReasonWouldLockOut) {
		t.Fatalf("switch before any administrator's SSO login = %v; want would_lock_out", err)
	}
	admin.SSOLogins = []string{"agency-entra"}
	p, _, err = policy.Update(p, next, []policy.User{admin, member}, "account-manager", t1)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "required", p, member, policy.Password(), false, sso.ReasonSSORequired)
	expect(t, "required", p, admin, policy.Password(), false, sso.ReasonSSORequired)
	expect(t, "required", p, member, entra, true, "")
}

// SmartyGrants: SSO applies to users with the organisation's email domains;
// external assessors keep their native password. A testing account admits
// the nominated users. An SSO login grants only the SSO-enabled accounts.
func TestScenarioSmartyGrants(t *testing.T) {
	olly := policy.User{ID: "olly", Email: "olly@example.com", Admin: true, SSOLogins: []string{"example-saml"}}
	assessor := policy.User{ID: "assessor", Email: "assessor@gmail.com"}
	consultant := policy.User{ID: "consultant", Email: "user@consultancy.com"}
	saml := policy.SSO("example-saml", sso.ProtocolSAML)

	// The test SSO account: nominated users only.
	test := policy.Policy{Account: "example-test", Mode: policy.ModeSSOOptional, Connections: []policy.Connection{
		{ID: "example-saml", Stage: policy.StageTesting, TestUserEmails: []string{"olly@example.com"}}}}
	expect(t, "test account", test, olly, saml, true, "")
	expect(t, "test account", test, assessor, saml, false, sso.ReasonConnectionNotLive)

	// The live account, restricted to @example.com.
	live := policy.Policy{Account: "example", Mode: policy.ModeSSORequired,
		Scope:       policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"example.com"}},
		Connections: []policy.Connection{{ID: "example-saml", Stage: policy.StageLive}}}
	if err := policy.CheckLockout(live, []policy.User{olly}); err != nil {
		t.Fatal(err)
	}
	expect(t, "live", live, olly, policy.Password(), false, sso.ReasonSSORequired)
	expect(t, "live", live, olly, saml, true, "")
	expect(t, "live", live, assessor, policy.Password(), true, "")
	expect(t, "live", live, consultant, policy.Password(), true, "")

	// Several accounts: a second SSO account of the same customer accepts the
	// same connection; a non-SSO account needs the regular password login.
	division := policy.Policy{Account: "example-division", Mode: policy.ModeSSORequired,
		Connections: []policy.Connection{{ID: "example-saml", Stage: policy.StageLive}}}
	nonSSO := policy.Policy{Account: "other-funder"}
	ssoSession := policy.Session{Method: saml}
	if need, d := policy.NeedsReauth(division, olly, ssoSession); need {
		t.Errorf("switch to the customer's other SSO account needs reauth: %+v", d)
	}
	if need, _ := policy.NeedsReauth(nonSSO, olly, ssoSession); !need {
		t.Error("an SSO login granted a non-SSO account")
	}
	if need, _ := policy.NeedsReauth(live, olly, policy.Session{Method: policy.Password()}); !need {
		t.Error("a password login granted the SSO account")
	}
}

// SmartSimple: SSO is an additional method by default; "Enforce SSO"
// restricts a set of roles to SSO; "Bypass Two Factor Authentication" makes
// an SSO login count as the second factor. Several connections (SSO
// aliases) may be live at once.
func TestScenarioSmartSimple(t *testing.T) {
	clerk := policy.User{ID: "T5014CD", Email: "david@shipping.example", Roles: []string{"Clerk"}}
	manager := policy.User{ID: "M1", Email: "mia@shipping.example", Roles: []string{"Manager"}, Admin: true}
	p := policy.Policy{Account: "shipping", Mode: policy.ModeSSOOptional,
		SecondFactorRequired: true, SSOSatisfiesSecondFactor: true,
		Connections: []policy.Connection{{ID: "shipping-saml2", Stage: policy.StageLive}, {ID: "shipping-partners", Stage: policy.StageLive}}}
	saml2 := policy.SSO("shipping-saml2", sso.ProtocolSAML)

	d := expect(t, "additional", p, clerk, policy.Password(), true, "")
	if !d.SecondFactorRequired || d.SecondFactorSatisfied {
		t.Errorf("password login: %+v; want the second factor", d)
	}
	// "Bypass Two Factor Authentication" holds for a login whose IdP
	// showed multi-factor authentication, not for any SSO login.
	d = expect(t, "additional", p, clerk, saml2, true, "")
	if !d.SecondFactorRequired || d.SecondFactorSatisfied {
		t.Errorf("SSO login without MFA evidence: %+v; want the second factor", d)
	}
	saml2MFA := saml2
	saml2MFA.MFA = true
	d = expect(t, "additional", p, clerk, saml2MFA, true, "")
	if d.SecondFactorRequired || !d.SecondFactorSatisfied {
		t.Errorf("SSO login with MFA and bypass: %+v; want the second factor satisfied", d)
	}
	expect(t, "additional", p, clerk, policy.SSO("shipping-partners", sso.ProtocolSAML), true, "")

	// Enforce SSO for the Clerk role.
	next := p
	next.Mode = policy.ModeSSORequired
	next.Scope = policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"Clerk"}}
	p, ch, err := policy.Update(p, next, []policy.User{manager, clerk}, "mia", t1)
	if err != nil {
		t.Fatal(err) // the manager is outside the scope, so nobody is locked out
	}
	if ch.Empty() {
		t.Fatal("change not recorded")
	}
	expect(t, "enforced", p, clerk, policy.Password(), false, sso.ReasonSSORequired)
	expect(t, "enforced", p, manager, policy.Password(), true, "")
	expect(t, "enforced", p, clerk, saml2, true, "")
}

// SmartRecruiters: users may log in directly with their password alongside
// the IdP login.
func TestScenarioSmartRecruiters(t *testing.T) {
	recruiter := policy.User{ID: "r1", Email: "rita@hiring.example"}
	p := policy.Policy{Account: "hiring", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "hiring-okta", Stage: policy.StageLive}}}
	expect(t, "direct", p, recruiter, policy.Password(), true, "")
	expect(t, "idp", p, recruiter, policy.SSO("hiring-okta", sso.ProtocolSAML), true, "")
	if need, _ := policy.NeedsReauth(p, recruiter, policy.Session{Method: policy.Password()}); need {
		t.Error("a direct login needs reauth in its own account")
	}
}

// SmartKey: "Account administrators can log in with password" guards against
// lock-out; a person in several accounts with different SSO providers must
// re-authenticate when switching to an account whose requirements their
// login does not meet.
func TestScenarioSmartKey(t *testing.T) {
	admin := policy.User{ID: "k-admin", Email: "root@vault.example", Admin: true}
	user := policy.User{ID: "k-user", Email: "kim@vault.example"}
	optional := policy.Policy{Account: "vault", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "vault-saml", Stage: policy.StageLive}}}
	required := optional
	required.Mode = policy.ModeSSORequired

	if _, _, err := policy.Update(optional, required, []policy.User{admin, user}, "root", t1); !errors.Is(err, sso.ReasonWouldLockOut) {
		t.Fatalf("requiring SSO without the break-glass = %v; want would_lock_out", err)
	}
	required.AdminsMayUsePassword = true
	p, _, err := policy.Update(optional, required, []policy.User{admin, user}, "root", t1)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "break-glass", p, admin, policy.Password(), true, "")
	expect(t, "break-glass", p, user, policy.Password(), false, sso.ReasonSSORequired)

	// A second account uses an LDAP directory.
	lab := policy.Policy{Account: "lab", Mode: policy.ModeSSORequired,
		Connections: []policy.Connection{{ID: "lab-ldap", Stage: policy.StageLive}}}
	samlSession := policy.Session{Method: policy.SSO("vault-saml", sso.ProtocolSAML)}
	need, d := policy.NeedsReauth(lab, user, samlSession)
	if !need || !errors.Is(d.Err(), sso.ReasonReauthRequired) {
		t.Fatalf("switch vault -> lab = %v, %+v; want reauth", need, d)
	}
	ldapSession := policy.Session{Method: policy.SSO("lab-ldap", sso.ProtocolLDAP)}
	if need, _ := policy.NeedsReauth(lab, user, ldapSession); need {
		t.Error("the lab's own login needs reauth")
	}
	if need, _ := policy.NeedsReauth(p, user, ldapSession); !need {
		t.Error("an LDAP login to lab granted vault")
	}
}
