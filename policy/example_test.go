package policy_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

func ExampleDecide() {
	p := policy.Policy{
		Account: "acme",
		Mode:    policy.ModeSSORequired,
		// Only staff with @acme.example addresses must use single sign-on;
		// external assessors keep their password.
		Scope:                policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"acme.example"}},
		AdminsMayUsePassword: true,
		Connections:          []policy.Connection{{ID: "acme-entra", Stage: policy.StageLive}},
	}
	staff := policy.User{ID: "u1", Email: "olly@acme.example"}
	assessor := policy.User{ID: "u2", Email: "assessor@gmail.com"}
	admin := policy.User{ID: "u3", Email: "ada@acme.example", Admin: true}

	for _, u := range []policy.User{staff, assessor, admin} {
		d := policy.Decide(p, u, policy.Password())
		fmt.Printf("%s password: allowed=%v rule=%s reason=%q\n", u.ID, d.Allowed, d.Rule, d.Reason)
	}
	d := policy.Decide(p, staff, policy.SSO("acme-entra", sso.ProtocolOIDC))
	fmt.Println("u1 sso:", d.Allowed, d.Rule)
	// Output:
	// u1 password: allowed=false rule=sso_required reason="sso_required"
	// u2 password: allowed=true rule=out_of_scope reason=""
	// u3 password: allowed=true rule=admin_break_glass reason=""
	// u1 sso: true connection_live
}

func ExampleUpdate() {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	optional := policy.Policy{Account: "acme", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "acme-entra", Stage: policy.StageLive}}}
	required := optional
	required.Mode = policy.ModeSSORequired

	admin := policy.User{ID: "ada", Email: "ada@acme.example", Admin: true}
	_, _, err := policy.Update(optional, required, []policy.User{admin}, "ada", now)
	fmt.Println(errors.Is(err, sso.ReasonWouldLockOut))

	// After the administrator has completed a login through the connection,
	// the change goes through.
	admin.SSOLogins = []string{"acme-entra"}
	_, change, err := policy.Update(optional, required, []policy.User{admin}, "ada", now)
	fmt.Println(err)
	for _, e := range change.Events() {
		fmt.Println(e.Type, e.Detail)
	}
	// Output:
	// true
	// <nil>
	// policy_changed mode: "sso_optional" -> "sso_required"
}

func ExampleDecide_dryRun() {
	p := policy.Policy{Account: "acme", Mode: policy.ModeSSORequired, DryRun: true,
		Connections: []policy.Connection{{ID: "acme-entra", Stage: policy.StageLive}}}
	d := policy.Decide(p, policy.User{ID: "u1", Email: "olly@acme.example"}, policy.Password())
	fmt.Println(d.Allowed, d.DryRunRefusal, d.Reason)
	e, _ := d.Event(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	fmt.Println(e.Type, e.User)
	// Output:
	// true true sso_required
	// policy_dry_run_refusal u1
}

func ExampleNeedsReauth() {
	lab := policy.Policy{Account: "lab", Mode: policy.ModeSSORequired,
		Connections: []policy.Connection{{ID: "lab-ldap", Stage: policy.StageLive}}}
	u := policy.User{ID: "kim", Email: "kim@vault.example"}

	// Logged in to another account through its SAML connection.
	s := policy.Session{Method: policy.SSO("vault-saml", sso.ProtocolSAML)}
	need, d := policy.NeedsReauth(lab, u, s)
	fmt.Println(need, d.Reason, d.Rule)
	// Output:
	// true reauthentication_required unknown_connection
}
