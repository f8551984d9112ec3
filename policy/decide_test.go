package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

// live returns a policy for account "acme" in the given mode with one live
// connection "acme-idp", one testing connection "acme-test" and one draft
// connection "acme-draft".
func live(mode policy.Mode) policy.Policy {
	return policy.Policy{
		Account: "acme",
		Mode:    mode,
		Connections: []policy.Connection{
			{ID: "acme-idp", Stage: policy.StageLive},
			{ID: "acme-test", Stage: policy.StageTesting, TestUserEmails: []string{"Tess@Bücher.Example"}, TestUserIDs: []string{"u-tester"}},
			{ID: "acme-draft", Stage: policy.StageDraft},
			{ID: "acme-zero"}, // stage "" is a draft
		},
	}
}

func with(p policy.Policy, f func(*policy.Policy)) policy.Policy {
	f(&p)
	return p
}

var (
	staff     = policy.User{ID: "u-staff", Email: "olly@acme.example", Roles: []string{"Staff"}}
	admin     = policy.User{ID: "u-admin", Email: "ada@acme.example", Roles: []string{"Administrator"}, Admin: true}
	assessor  = policy.User{ID: "u-assessor", Email: "assessor@gmail.com", Roles: []string{"Assessor"}}
	tester    = policy.User{ID: "u-other", Email: "tess@xn--bcher-kva.example"}
	byID      = policy.User{ID: "u-tester", Email: "someone@else.example"}
	password  = policy.Password()
	viaIdP    = policy.SSO("acme-idp", sso.ProtocolSAML)
	viaIdPMFA = func() policy.Method { m := viaIdP; m.MFA = true; return m }()
)

func TestDecide(t *testing.T) {
	required := live(policy.ModeSSORequired)
	byDomain := with(required, func(p *policy.Policy) {
		p.Scope = policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"ACME.example", "bücher.example"}}
	})
	byRole := with(required, func(p *policy.Policy) {
		p.Scope = policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"staff"}}
	})
	breakGlass := with(required, func(p *policy.Policy) { p.AdminsMayUsePassword = true })
	dryRun := with(byDomain, func(p *policy.Policy) { p.DryRun = true })
	invalid := with(required, func(p *policy.Policy) { p.Mode = "sso_requird" })

	tests := []struct {
		name    string
		p       policy.Policy
		u       policy.User
		m       policy.Method
		allowed bool
		reason  sso.Reason
		rule    policy.Rule
		dryRun  bool
	}{
		{"zero mode allows password", policy.Policy{Account: "acme"}, staff, password, true, "", policy.RulePasswordOnly, false},
		{"password only allows password", live(policy.ModePasswordOnly), staff, password, true, "", policy.RulePasswordOnly, false},
		{"password only refuses sso", live(policy.ModePasswordOnly), staff, viaIdP, false, sso.ReasonPasswordOnly, policy.RulePasswordOnly, false},
		{"zero mode refuses sso", with(live(""), func(p *policy.Policy) {}), staff, viaIdP, false, sso.ReasonPasswordOnly, policy.RulePasswordOnly, false},
		{"optional allows password", live(policy.ModeSSOOptional), staff, password, true, "", policy.RuleSSOOptional, false},
		{"optional allows live sso", live(policy.ModeSSOOptional), staff, viaIdP, true, "", policy.RuleConnectionLive, false},
		{"required allows live sso", required, staff, viaIdP, true, "", policy.RuleConnectionLive, false},
		{"draft connection refused", live(policy.ModeSSOOptional), admin, policy.SSO("acme-draft", sso.ProtocolOIDC), false, sso.ReasonConnectionNotLive, policy.RuleConnectionDraft, false},
		{"zero stage is a draft", live(policy.ModeSSOOptional), admin, policy.SSO("acme-zero", sso.ProtocolOIDC), false, sso.ReasonConnectionNotLive, policy.RuleConnectionDraft, false},
		{"testing refuses other users", live(policy.ModeSSOOptional), admin, policy.SSO("acme-test", sso.ProtocolOIDC), false, sso.ReasonConnectionNotLive, policy.RuleConnectionTesting, false},
		{"testing allows test user by email (case, IDNA)", live(policy.ModeSSOOptional), tester, policy.SSO("acme-test", sso.ProtocolOIDC), true, "", policy.RuleTestUser, false},
		{"testing allows test user by ID", live(policy.ModeSSOOptional), byID, policy.SSO("acme-test", sso.ProtocolOIDC), true, "", policy.RuleTestUser, false},
		{"testing: ID compared exactly", live(policy.ModeSSOOptional), policy.User{ID: "U-TESTER"}, policy.SSO("acme-test", sso.ProtocolOIDC), false, sso.ReasonConnectionNotLive, policy.RuleConnectionTesting, false},
		{"unknown connection refused", live(policy.ModeSSOOptional), staff, policy.SSO("other-account-idp", sso.ProtocolSAML), false, sso.ReasonConnectionNotFound, policy.RuleUnknownConnection, false},
		{"required refuses password", required, staff, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"required refuses admin password without break-glass", required, admin, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"break-glass allows admin password", breakGlass, admin, password, true, "", policy.RuleAdminBreakGlass, false},
		{"break-glass is for admins only", breakGlass, staff, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"domain scope binds its domain", byDomain, staff, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"domain scope: upper-case email", byDomain, policy.User{Email: " Olly@ACME.Example "}, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"domain scope: IDNA domain", byDomain, tester, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"domain scope: assessor keeps password", byDomain, assessor, password, true, "", policy.RuleOutOfScope, false},
		{"domain scope: subdomain is another domain", byDomain, policy.User{Email: "a@sub.acme.example"}, password, true, "", policy.RuleOutOfScope, false},
		{"domain scope: lookalike suffix is another domain", byDomain, policy.User{Email: "a@evilacme.example"}, password, true, "", policy.RuleOutOfScope, false},
		{"domain scope: missing email is bound (closed)", byDomain, policy.User{ID: "x"}, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"domain scope: malformed email is bound (closed)", byDomain, policy.User{Email: "not-an-email"}, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"role scope binds role (any case)", byRole, staff, password, false, sso.ReasonSSORequired, policy.RuleSSORequired, false},
		{"role scope: other roles keep password", byRole, assessor, password, true, "", policy.RuleOutOfScope, false},
		{"role scope: no roles keep password", byRole, policy.User{Email: "x@acme.example"}, password, true, "", policy.RuleOutOfScope, false},
		{"dry run allows but reports", dryRun, staff, password, true, sso.ReasonSSORequired, policy.RuleSSORequired, true},
		{"dry run: out of scope is not reported", dryRun, assessor, password, true, "", policy.RuleOutOfScope, false},
		{"invalid policy refuses password", invalid, staff, password, false, sso.ReasonInvalidConfig, policy.RuleInvalidPolicy, false},
		{"invalid policy refuses sso", invalid, staff, viaIdP, false, sso.ReasonInvalidConfig, policy.RuleInvalidPolicy, false},
		{"unknown method refused", required, staff, policy.Method{Kind: "magic"}, false, sso.ReasonInvalidRequest, policy.RuleInvalidMethod, false},
		{"zero method refused", live(policy.ModeSSOOptional), staff, policy.Method{}, false, sso.ReasonInvalidRequest, policy.RuleInvalidMethod, false},
		{"sso without connection refused", live(policy.ModeSSOOptional), staff, policy.SSO("", sso.ProtocolSAML), false, sso.ReasonInvalidRequest, policy.RuleInvalidMethod, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := policy.Decide(tc.p, tc.u, tc.m)
			if d.Allowed != tc.allowed || d.Reason != tc.reason || d.Rule != tc.rule || d.DryRunRefusal != tc.dryRun {
				t.Fatalf("Decide = {Allowed:%v Reason:%q Rule:%q DryRun:%v} (%s); want {%v %q %q %v}",
					d.Allowed, d.Reason, d.Rule, d.DryRunRefusal, d.Detail, tc.allowed, tc.reason, tc.rule, tc.dryRun)
			}
			if d.Detail == "" {
				t.Error("Decision has no Detail")
			}
			if d.Account != tc.p.Account || d.User != tc.u.ID || d.Method != tc.m {
				t.Errorf("Decision does not repeat its inputs: %+v", d)
			}
			err := d.Err()
			if tc.allowed {
				if err != nil {
					t.Errorf("Err() = %v for an allowed login", err)
				}
				return
			}
			var e *sso.Error
			if !errors.As(err, &e) || !errors.Is(err, tc.reason) || e.Detail != d.Detail {
				t.Errorf("Err() = %#v; want *sso.Error with %q", err, tc.reason)
			}
		})
	}
}

func TestDecideSecondFactor(t *testing.T) {
	base := with(live(policy.ModeSSOOptional), func(p *policy.Policy) { p.SecondFactorRequired = true })
	bypass := with(base, func(p *policy.Policy) { p.SSOSatisfiesSecondFactor = true })
	tests := []struct {
		name               string
		p                  policy.Policy
		m                  policy.Method
		satisfied, require bool
	}{
		{"password needs the second factor", base, password, false, true},
		{"password needs it even with bypass", bypass, password, false, true},
		{"sso without bypass needs it", base, viaIdPMFA, false, true},
		{"sso with MFA evidence and bypass satisfies it", bypass, viaIdPMFA, true, false},
		{"sso without MFA evidence needs it even with bypass", bypass, viaIdP, false, true},
		{"no second factor, no bypass", live(policy.ModeSSOOptional), viaIdP, false, false},
		{"bypass alone", with(live(policy.ModeSSOOptional), func(p *policy.Policy) { p.SSOSatisfiesSecondFactor = true }), viaIdPMFA, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := policy.Decide(tc.p, staff, tc.m)
			if !d.Allowed || d.SecondFactorSatisfied != tc.satisfied || d.SecondFactorRequired != tc.require {
				t.Fatalf("Decide = %+v; want allowed, satisfied %v, required %v", d, tc.satisfied, tc.require)
			}
		})
	}
	// A refused login reports no second factor.
	if d := policy.Decide(bypass, staff, policy.SSO("acme-draft", "")); d.Allowed || d.SecondFactorSatisfied {
		t.Errorf("refused login: %+v", d)
	}
}

func TestDecideDoesNotModifyPolicy(t *testing.T) {
	p := live(policy.ModeSSORequired)
	p.Scope = policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"ACME.Example"}}
	policy.Decide(p, staff, password)
	if p.Scope.Domains[0] != "ACME.Example" || p.Connections[0].Stage != policy.StageLive {
		t.Fatalf("Decide modified the policy: %+v", p)
	}
}

func TestDecisionEvent(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	dry := with(live(policy.ModeSSORequired), func(p *policy.Policy) { p.DryRun = true })
	tests := []struct {
		name string
		d    policy.Decision
		ok   bool
		typ  sso.EventType
	}{
		{"allowed has none", policy.Decide(live(policy.ModeSSOOptional), staff, password), false, ""},
		{"dry run refusal", policy.Decide(dry, staff, password), true, sso.EventPolicyDryRunRefusal},
		{"password refused", policy.Decide(live(policy.ModeSSORequired), staff, password), true, sso.EventPasswordRefused},
		{"sso refused", policy.Decide(live(policy.ModeSSORequired), staff, policy.SSO("acme-draft", sso.ProtocolSAML)), true, sso.EventLoginFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := tc.d.Event(at)
			if ok != tc.ok || e.Type != tc.typ {
				t.Fatalf("Event = %+v, %v; want %q, %v", e, ok, tc.typ, tc.ok)
			}
			if !ok {
				return
			}
			if e.Time != at || e.Account != "acme" || e.User != "u-staff" || e.Reason == "" || e.Attrs["rule"] != string(tc.d.Rule) {
				t.Errorf("event = %+v", e)
			}
		})
	}
}

func TestNeedsReauth(t *testing.T) {
	optional := live(policy.ModeSSOOptional)
	required := live(policy.ModeSSORequired)
	twoFactor := with(optional, func(p *policy.Policy) { p.SecondFactorRequired = true })
	twoFactorBypass := with(twoFactor, func(p *policy.Policy) { p.SSOSatisfiesSecondFactor = true })
	pwSession := policy.Session{Method: password}
	ssoSession := policy.Session{Method: viaIdP}
	mfaSession := policy.Session{Method: viaIdPMFA}
	otherSSO := policy.Session{Method: policy.SSO("globex-idp", sso.ProtocolOIDC)}

	tests := []struct {
		name   string
		target policy.Policy
		s      policy.Session
		need   bool
		rule   policy.Rule
	}{
		{"password into optional", optional, pwSession, false, policy.RuleSSOOptional},
		{"password into required", required, pwSession, true, policy.RuleSSORequired},
		{"sso into account accepting it", required, ssoSession, false, policy.RuleConnectionLive},
		{"sso of another account's connection", required, otherSSO, true, policy.RuleUnknownConnection},
		{"sso into password-only account", live(policy.ModePasswordOnly), ssoSession, true, policy.RulePasswordOnly},
		{"password into account needing a second factor", twoFactor, pwSession, true, policy.RuleSecondFactor},
		{"password with second factor done", twoFactor, policy.Session{Method: password, SecondFactor: true}, false, policy.RuleSSOOptional},
		{"sso where sso is not a second factor", twoFactor, ssoSession, true, policy.RuleSecondFactor},
		{"sso with MFA where sso satisfies the second factor", twoFactorBypass, mfaSession, false, policy.RuleConnectionLive},
		{"sso without MFA evidence where sso could satisfy it", twoFactorBypass, ssoSession, true, policy.RuleSecondFactor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			need, d := policy.NeedsReauth(tc.target, staff, tc.s)
			if need != tc.need || d.Rule != tc.rule {
				t.Fatalf("NeedsReauth = %v, %+v; want %v, rule %q", need, d, tc.need, tc.rule)
			}
			if need && (d.Allowed || !errors.Is(d.Err(), sso.ReasonReauthRequired) || d.Detail == "") {
				t.Errorf("reauth decision = %+v", d)
			}
			if !need && !d.Allowed {
				t.Errorf("no reauth but not allowed: %+v", d)
			}
		})
	}
}

func TestWouldRefuse(t *testing.T) {
	p := live(policy.ModeSSORequired)
	p.Scope = policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"acme.example"}}
	p.AdminsMayUsePassword = true
	p.DryRun = true // ignored: the preview is of enforcement
	got, err := policy.WouldRefuse(p, []policy.User{staff, admin, assessor, {ID: "u-2", Email: "bo@acme.example"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range got {
		if d.Reason != sso.ReasonSSORequired || d.DryRunRefusal {
			t.Errorf("decision %+v", d)
		}
		ids = append(ids, d.User)
	}
	if strings.Join(ids, ",") != "u-staff,u-2" {
		t.Fatalf("WouldRefuse users = %v; want u-staff,u-2", ids)
	}
	if _, err := policy.WouldRefuse(policy.Policy{Account: "acme", Mode: policy.ModeSSORequired}, nil); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("WouldRefuse(invalid) err = %v", err)
	}
}

func TestMethod(t *testing.T) {
	id := &sso.Identity{Connection: "acme-idp", Protocol: sso.ProtocolSAML}
	if m := policy.MethodOf(id); m != viaIdP || m.String() != "sso:saml:acme-idp" {
		t.Fatalf("MethodOf = %+v %q", m, m.String())
	}
	if password.String() != "password" {
		t.Fatalf("Password().String() = %q", password.String())
	}
}
