package policy_test

import (
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

// TestTestUserEmailFoldsASCIIOnly: a StageTesting connection admits its
// test users by email, ignoring the case of ASCII letters only. An address
// spelt with a character that Unicode folds or maps to an ASCII letter is
// another person's address, in either direction.
func TestTestUserEmailFoldsASCIIOnly(t *testing.T) {
	tests := []struct {
		name, testUser, email string
		admitted              bool
	}{
		{"same address", "alike@corp.example", "alike@corp.example", true},
		{"ASCII case", "alike@corp.example", "ALIKE@Corp.Example", true},
		{"ASCII case in the list", "ALIKE@CORP.EXAMPLE", "alike@corp.example", true},
		{"Kelvin sign U+212A", "alike@corp.example", "ali\u212Ae@corp.example", false},
		{"Kelvin sign U+212A in the list", "ali\u212Ae@corp.example", "alike@corp.example", false},
		{"long s U+017F", "sam@corp.example", "\u017Fam@corp.example", false},
		{"long s U+017F in the list", "\u017Fam@corp.example", "SAM@corp.example", false},
		{"dotless i U+0131", "ivan@corp.example", "\u0131van@corp.example", false},
		{"capital I with dot U+0130", "ivan@corp.example", "\u0130van@corp.example", false},
		{"capital I with dot U+0130 in the list", "\u0130van@corp.example", "ivan@corp.example", false},
		{"fullwidth a U+FF41", "alice@corp.example", "\uFF41lice@corp.example", false},
		{"fullwidth A U+FF21", "alice@corp.example", "\uFF21lice@corp.example", false},
		// The domain goes through IDNA, which maps fullwidth letters and
		// the Kelvin sign in domains to ASCII, as DNS would.
		{"IDNA domain", "alice@corp.example", "alice@\uFF43orp.example", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policy.Policy{Account: "corp", Mode: policy.ModeSSOOptional, Connections: []policy.Connection{
				{ID: "corp-test", Stage: policy.StageTesting, TestUserEmails: []string{tc.testUser}},
			}}
			d := policy.Decide(p, policy.User{ID: "u-1", Email: tc.email}, policy.SSO("corp-test", sso.ProtocolSAML))
			if d.Allowed != tc.admitted {
				t.Fatalf("test user %q, login as %q: Allowed = %v (%s); want %v", tc.testUser, tc.email, d.Allowed, d.Detail, tc.admitted)
			}
			want := policy.RuleConnectionTesting
			if tc.admitted {
				want = policy.RuleTestUser
			}
			if d.Rule != want {
				t.Fatalf("Rule = %q; want %q", d.Rule, want)
			}
		})
	}
}

// TestRoleScopeFoldsUnicode pins the opposite choice for the role scope of
// an SSO requirement: there folding can only widen the requirement, so a
// role spelt with the long s U+017F is bound by a scope on "staff", never
// exempted from it.
func TestRoleScopeFoldsUnicode(t *testing.T) {
	p := with(live(policy.ModeSSORequired), func(p *policy.Policy) {
		p.Scope = policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"staff"}}
	})
	for _, role := range []string{"staff", "STAFF", "\u017Ftaff"} {
		d := policy.Decide(p, policy.User{ID: "u", Email: "x@acme.example", Roles: []string{role}}, password)
		if d.Allowed || d.Rule != policy.RuleSSORequired {
			t.Errorf("role %q: Allowed = %v, Rule %q (%s); want bound by the requirement", role, d.Allowed, d.Rule, d.Detail)
		}
	}
	if d := policy.Decide(p, policy.User{ID: "u", Roles: []string{"clerk"}}, password); !d.Allowed || d.Rule != policy.RuleOutOfScope {
		t.Errorf("role clerk: %s; want out of scope", d.Detail)
	}
}
