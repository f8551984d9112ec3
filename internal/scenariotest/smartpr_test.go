package scenariotest

import (
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// Smart.pr: the person types their organisation email and is sent to the
// organisation's OpenID provider. The account is onboarded with SSO optional
// (passwords keep working while SSO is tested), then switched to SSO
// required, which disables the password. No user provisioning: users exist
// in Smart.pr already and are linked by their verified email.
func TestSmartPr(t *testing.T) {
	w := newWorld(t, account{
		disc: discovery.Account{ID: "agency", Name: "The Agency", Domains: domains("agency.example"),
			Connections: []discovery.Connection{{ID: "agency-entra", Protocol: sso.ProtocolOIDC, DisplayName: "Agency (Entra ID)", Issuers: []string{"https://login.microsoftonline.example/agency/v2.0"}}}},
		policy: policy.Policy{}, // password only, before onboarding
		conns:  map[string]provisioning.Connection{"agency-entra": {}},
	})
	admin := w.addUser("admin@agency.example", member{account: "agency", roles: []string{adminRole}})
	editor := w.addUser("Editor@agency.example", member{account: "agency", roles: []string{"Editor"}})
	oidc := func(sub, email string) *sso.Identity {
		return &sso.Identity{Issuer: "https://login.microsoftonline.example/agency/v2.0", Subject: sub, Email: email, EmailVerified: true}
	}

	// Discovery: the email's domain finds the connection; an unknown
	// address at the domain gets the very same answer.
	r1, err := w.router.Lookup("editor@agency.example")
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := w.router.Lookup("nobody-here@agency.example")
	if c := connIDs(r1); len(c) != 1 || c[0] != "agency-entra" || r1.Choice(0).DisplayName != "Agency (Entra ID)" || connIDs(r2)[0] != c[0] {
		t.Fatalf("routes %v / %v", r1, r2)
	}

	// Before onboarding: SSO refused, password fine.
	l := w.sso("agency-entra", oidc("sub-editor", "editor@agency.example"), "")
	wantErr(t, "SSO before onboarding", l.err, sso.ReasonPasswordOnly)
	if w.userByEmail("editor@agency.example").ID != editor {
		t.Fatal("lookup changed")
	}
	d := w.password("agency", "editor@agency.example")
	wantDecision(t, "password before onboarding", d, true, "")

	// Onboarding: SSO optional, the connection in testing with the
	// customer's administrator as test user.
	if err := w.setPolicy(policy.Policy{Account: "agency", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "agency-entra", Stage: policy.StageTesting, TestUserEmails: []string{"admin@agency.example"}}}},
		"account-manager", w.admins("agency", admin, editor)); err != nil {
		t.Fatal(err)
	}
	l = w.sso("agency-entra", oidc("sub-editor", "editor@agency.example"), "")
	wantErr(t, "non-test user while testing", l.err, sso.ReasonConnectionNotLive)
	res := w.mustSSO("agency-entra", oidc("sub-admin", "admin@agency.example"))
	if res.User.ID != admin || res.Match != provisioning.MatchEmail || !res.Linked {
		t.Fatalf("admin's first SSO login = %+v", res)
	}
	d = w.password("agency", "admin@agency.example")
	wantDecision(t, "password still works while testing", d, true, "")

	// Everything checks out: live, still optional.
	if err := w.setPolicy(policy.Policy{Account: "agency", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "agency-entra", Stage: policy.StageLive}}}, "account-manager", w.admins("agency", admin, editor)); err != nil {
		t.Fatal(err)
	}
	// The editor's email differs in case from the stored one: linked all
	// the same (verified email, claimed domain).
	res = w.mustSSO("agency-entra", oidc("sub-editor", "editor@agency.example"))
	if res.User.ID != editor || res.Match != provisioning.MatchEmail {
		t.Fatalf("editor = %+v", res)
	}
	d = w.password("agency", "editor@agency.example")
	wantDecision(t, "password while optional", d, true, "")
	// No SCIM, no JIT: a colleague Smart.pr does not know is refused.
	l = w.sso("agency-entra", oidc("sub-new", "new.hire@agency.example"), "")
	wantErr(t, "unknown colleague", l.err, sso.ReasonUserNotProvisioned)
	if w.userByEmail("new.hire@agency.example") != nil {
		t.Fatal("a user was created without provisioning")
	}
	// An unverified email never links an existing user.
	id := oidc("sub-other", "editor@agency.example")
	id.EmailVerified = false
	l = w.sso("agency-entra", id, "")
	wantErr(t, "unverified email", l.err, sso.ReasonLinkRequiresProof)

	// SSO required: passwords are disabled; SSO keeps working by the link.
	if err := w.setPolicy(policy.Policy{Account: "agency", Mode: policy.ModeSSORequired,
		Connections: []policy.Connection{{ID: "agency-entra", Stage: policy.StageLive}}}, "account-manager", w.admins("agency", admin, editor)); err != nil {
		t.Fatalf("SSO required after the admin's SSO login: %v", err)
	}
	d = w.password("agency", "editor@agency.example")
	wantDecision(t, "password when required", d, false, sso.ReasonSSORequired)
	d = w.password("agency", "admin@agency.example")
	wantDecision(t, "admin password when required (no break-glass)", d, false, sso.ReasonSSORequired)
	res = w.mustSSO("agency-entra", oidc("sub-editor", "editor@agency.example"))
	if res.Match != provisioning.MatchLink || res.User.ID != editor {
		t.Fatalf("SSO when required = %+v", res)
	}
}

// Smart.pr's switch to SSO required is refused while no administrator has
// completed an SSO login: the switch would lock everyone out.
func TestSmartPrRequiredNeedsAnAdminSSOLogin(t *testing.T) {
	w := newWorld(t, account{
		disc: discovery.Account{ID: "agency", Domains: domains("agency.example"),
			Connections: []discovery.Connection{{ID: "agency-entra", Protocol: sso.ProtocolOIDC}}},
		policy: policy.Policy{Mode: policy.ModeSSOOptional, Connections: []policy.Connection{{ID: "agency-entra", Stage: policy.StageLive}}},
		conns:  map[string]provisioning.Connection{"agency-entra": {}},
	})
	admin := w.addUser("admin@agency.example", member{account: "agency", roles: []string{adminRole}})
	required := policy.Policy{Account: "agency", Mode: policy.ModeSSORequired, Connections: []policy.Connection{{ID: "agency-entra", Stage: policy.StageLive}}}
	wantErr(t, "required before any admin SSO login", w.setPolicy(required, "account-manager", w.admins("agency", admin)), sso.ReasonWouldLockOut)
	// A dry run first shows who would be refused.
	dry := required
	dry.DryRun = true
	if err := w.setPolicy(dry, "account-manager", w.admins("agency", admin)); err != nil {
		t.Fatal(err)
	}
	d := w.password("agency", "admin@agency.example")
	if !d.Allowed || !d.DryRunRefusal {
		t.Fatalf("dry run = %+v; want allowed with DryRunRefusal", d)
	}
	if e, ok := d.Event(w.clock.Now()); !ok || e.Type != sso.EventPolicyDryRunRefusal {
		t.Fatalf("dry-run event = %+v, %v", e, ok)
	}
	w.mustSSO("agency-entra", &sso.Identity{Subject: "a", Email: "admin@agency.example", EmailVerified: true})
	if err := w.setPolicy(required, "account-manager", w.admins("agency", admin)); err != nil {
		t.Fatalf("required after the admin's SSO login: %v", err)
	}
}
