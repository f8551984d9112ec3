package policy_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    policy.Policy
		want string // substring of the error; "" for valid
	}{
		{"zero with account", policy.Policy{Account: "acme"}, ""},
		{"full", live(policy.ModeSSORequired), ""},
		{"no account", policy.Policy{}, "account is empty"},
		{"unknown mode", policy.Policy{Account: "a", Mode: "required"}, `mode "required" is unknown`},
		{"dry run needs required", policy.Policy{Account: "a", Mode: policy.ModeSSOOptional, DryRun: true}, "dry_run only applies"},
		{"required needs a live connection", policy.Policy{Account: "a", Mode: policy.ModeSSORequired,
			Connections: []policy.Connection{{ID: "c", Stage: policy.StageTesting, TestUserIDs: []string{"u"}}}}, "needs at least one connection in stage \"live\""},
		{"unknown scope", with(live(policy.ModeSSORequired), func(p *policy.Policy) { p.Scope.Kind = "everyone" }), `scope.kind "everyone" is unknown`},
		{"domains without kind", with(live(policy.ModeSSORequired), func(p *policy.Policy) { p.Scope.Domains = []string{"a.example"} }), "scope lists domains or roles"},
		{"domain scope empty", with(live(policy.ModeSSORequired), func(p *policy.Policy) { p.Scope.Kind = policy.ScopeEmailDomains }), "scope.domains is empty"},
		{"domain scope bad domain", with(live(policy.ModeSSORequired), func(p *policy.Policy) {
			p.Scope = policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"localhost"}}
		}), `"localhost" is not a valid domain`},
		{"domain scope with roles", with(live(policy.ModeSSORequired), func(p *policy.Policy) {
			p.Scope = policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"a.example"}, Roles: []string{"x"}}
		}), "remove scope.roles"},
		{"role scope empty", with(live(policy.ModeSSORequired), func(p *policy.Policy) { p.Scope.Kind = policy.ScopeRoles }), "scope.roles is empty"},
		{"role scope blank role", with(live(policy.ModeSSORequired), func(p *policy.Policy) {
			p.Scope = policy.Scope{Kind: policy.ScopeRoles, Roles: []string{" "}}
		}), "empty role name"},
		{"role scope with domains", with(live(policy.ModeSSORequired), func(p *policy.Policy) {
			p.Scope = policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"x"}, Domains: []string{"a.example"}}
		}), "remove scope.domains"},
		{"connection without id", policy.Policy{Account: "a", Connections: []policy.Connection{{Stage: policy.StageLive}}}, "connections[0].id is empty"},
		{"duplicate connection", policy.Policy{Account: "a", Connections: []policy.Connection{{ID: "c"}, {ID: "c"}}}, `connection "c" is listed twice`},
		{"unknown stage", policy.Policy{Account: "a", Connections: []policy.Connection{{ID: "c", Stage: "beta"}}}, `stage "beta" is unknown`},
		{"testing without test users", policy.Policy{Account: "a", Connections: []policy.Connection{{ID: "c", Stage: policy.StageTesting}}}, "names no test users"},
		{"bad test email", policy.Policy{Account: "a", Connections: []policy.Connection{{ID: "c", Stage: policy.StageTesting, TestUserEmails: []string{"bob"}}}}, `test user email "bob"`},
		{"empty test id", policy.Policy{Account: "a", Connections: []policy.Connection{{ID: "c", Stage: policy.StageTesting, TestUserIDs: []string{""}}}}, "empty ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v; want it to contain %q", err, tc.want)
			}
			var e *sso.Error
			if !errors.Is(err, sso.ReasonInvalidConfig) || !errors.As(err, &e) || e.Op != "policy.Validate" {
				t.Fatalf("Validate error is not an *sso.Error with invalid_config: %#v", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := policy.Policy{Mode: "x", Connections: []policy.Connection{{ID: "c", Stage: "y"}}}
	err := p.Validate()
	for _, want := range []string{"account is empty", `mode "x"`, `stage "y"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want %q among the problems", err, want)
		}
	}
}

func TestPolicyJSON(t *testing.T) {
	src := `{
	  "account": "acme",
	  "mode": "sso_required",
	  "scope": {"kind": "email_domains", "domains": ["acme.example"]},
	  "admins_may_use_password": true,
	  "second_factor_required": true,
	  "sso_satisfies_second_factor": true,
	  "connections": [
	    {"id": "acme-entra", "stage": "live", "live_at": "2026-03-01T09:00:00Z", "live_by": "ada"},
	    {"id": "acme-okta", "stage": "testing", "test_user_emails": ["olly@acme.example"]}
	  ]
	}`
	var p policy.Policy
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := policy.Policy{
		Account: "acme", Mode: policy.ModeSSORequired,
		Scope:                policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"acme.example"}},
		AdminsMayUsePassword: true, SecondFactorRequired: true, SSOSatisfiesSecondFactor: true,
		Connections: []policy.Connection{
			{ID: "acme-entra", Stage: policy.StageLive, LiveAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), LiveBy: "ada"},
			{ID: "acme-okta", Stage: policy.StageTesting, TestUserEmails: []string{"olly@acme.example"}},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("decoded %+v\nwant %+v", p, want)
	}
	b, err := json.Marshal(policy.Policy{Account: "a"})
	if err != nil || string(b) != `{"account":"a"}` {
		t.Fatalf("zero policy marshals to %s, %v", b, err)
	}
}
