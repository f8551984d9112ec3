package scenariotest

import (
	"context"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// SmartSimple: IdP-initiated SAML only. The assertion's issuer finds the
// connections and its SSOModule attribute picks one. The user is identified
// by the UID attribute (an employee ID). "Create New User on No Match" and
// "Create New Organization on No Match" create the user and its organisation
// with the default role, status and organisation; "Enable Updates To User
// Role/Organization" keep roles and organisation in step with the
// assertion's Roles (comma-delimited) and Department. "Enforce SSO" applies
// to a set of roles, and an SSO login may bypass the second factor.
func TestSmartSimple(t *testing.T) {
	const idp = "sso:saml2:alias:stage:SmartSimple:idp"
	staff := provisioning.Connection{
		Identifier: provisioning.IdentifierAttribute, IdentifierAttribute: "UID",
		JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"Applicant"}, DefaultStatus: "pending",
			DefaultOrganisation: "Unassigned", CreateOrganisation: true, OrganisationStatus: "new"},
		Updates: provisioning.Updates{Names: true, Roles: true, Organisation: true},
		Roles: provisioning.RoleMapping{Attribute: "Roles", SplitCommas: true,
			Map: map[string][]string{"Clerk": {"Clerk"}, "Manager": {"Manager"}, "Reviewer": {"Reviewer"}}},
	}
	partners := staff
	partners.AllowEmailOutsideDomains = true // partner organisations' own domains
	partners.JIT.DefaultRoles = []string{"Partner"}
	w := newWorld(t, account{
		disc: discovery.Account{ID: "shipping-co", Name: "Shipping Co", Domains: domains("shipping.example"),
			Connections: []discovery.Connection{
				{ID: "shipping-saml2", Protocol: sso.ProtocolSAML, Issuers: []string{idp}, Module: "SAML2"},
				{ID: "shipping-partners", Protocol: sso.ProtocolSAML, Issuers: []string{idp}, Module: "Partners"},
			}},
		policy: policy.Policy{Mode: policy.ModeSSORequired, Scope: policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"Clerk", "Manager"}},
			SecondFactorRequired: true, SSOSatisfiesSecondFactor: true,
			Connections: []policy.Connection{{ID: "shipping-saml2", Stage: policy.StageLive}, {ID: "shipping-partners", Stage: policy.StageLive}}},
		conns: map[string]provisioning.Connection{"shipping-saml2": staff, "shipping-partners": partners},
	})
	// An organisation that exists already, and a role granted by hand later.
	_ = w.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		return tx.CreateOrganisation(context.Background(), &provisioning.Organisation{Account: "shipping-co", Name: "Receiving"})
	})

	// IdP-initiated: route by issuer, then by the SSOModule attribute.
	route := func(a *sso.Identity) string {
		t.Helper()
		cs, err := w.router.LookupIssuer(a.Issuer)
		if err != nil || len(cs) != 2 {
			t.Fatalf("LookupIssuer = %v, %v", cs, err)
		}
		module := a.FirstAttribute("SSOModule")
		c, err := w.router.LookupModule(cs[0].Account, module)
		if err != nil {
			t.Fatalf("LookupModule(%q): %v", module, err)
		}
		return c.Connection
	}
	assertion := func(uid, email, dept, roles string) *sso.Identity {
		// The IdP states a multi-factor sign-in, which lets the SSO login
		// count as the second factor.
		a := &sso.Identity{Issuer: idp, Subject: uid, SubjectFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
			Email: email, GivenName: "David", FamilyName: "Smith", IdPInitiated: true, AuthnContext: "https://refeds.org/profile/mfa", MFA: true,
			Attributes: map[string][]string{"UID": {uid}, "Department": {dept}, "Language": {"1"}, "SSOModule": {"SAML2"}}}
		if roles != "-" {
			a.Attributes["Roles"] = []string{roles}
		}
		return a
	}

	// First login of David (the product's sample assertion): created just in
	// time, with the department's organisation created too.
	a := assertion("T5014CD", "david.smith@shipping.example", "Shipping", "Clerk")
	conn := route(a)
	if conn != "shipping-saml2" {
		t.Fatalf("routed to %s", conn)
	}
	l := w.sso(conn, a, "")
	if l.err != nil {
		t.Fatal(l.err)
	}
	res := l.res
	if !res.Created || res.Match != provisioning.MatchCreated || res.User.GivenName != "David" || res.User.Language != "1" ||
		res.Membership.Status != "pending" || res.Organisation == nil || res.Organisation.Name != "Shipping" || res.Organisation.Status != "new" ||
		!slices.Equal(res.Roles(), []string{"Applicant", "Clerk"}) {
		t.Fatalf("JIT = %+v (org %+v)", res, res.Organisation)
	}
	david := res.User.ID
	// "Bypass Two Factor Authentication when logged in with SSO".
	if !l.decision.SecondFactorSatisfied || l.decision.SecondFactorRequired {
		t.Fatalf("second factor: %+v", l.decision)
	}

	// Role scope: David is a Clerk, so his password is refused.
	d := w.password("shipping-co", "david.smith@shipping.example")
	wantDecision(t, "clerk's password", d, false, sso.ReasonSSORequired)

	// Next login: promoted and moved to an existing organisation; matched by
	// the link now (UID stays the NameID here).
	a = assertion("T5014CD", "david.smith@shipping.example", "Receiving", "Clerk, Manager")
	res = w.mustSSO(route(a), a)
	if res.Match != provisioning.MatchLink || res.User.ID != david || res.Organisation.Name != "Receiving" ||
		!slices.Equal(res.Roles(), []string{"Applicant", "Clerk", "Manager"}) || !slices.Contains(res.Updated, "organisation") {
		t.Fatalf("update = %+v", res)
	}

	// An administrator grants Reviewer by hand; the IdP then sends an empty
	// Roles attribute: IdP roles go, the admin's and the default stay.
	_ = w.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		m, err := tx.FindMembership(context.Background(), david, "shipping-co")
		if err != nil {
			return err
		}
		m.Roles = append(m.Roles, provisioning.RoleGrant{Role: "Reviewer", Source: provisioning.RoleSourceAdmin})
		return tx.PutMembership(context.Background(), m)
	})
	a = assertion("T5014CD", "david.smith@shipping.example", "", "")
	res = w.mustSSO(route(a), a)
	if !slices.Equal(res.Roles(), []string{"Applicant", "Reviewer"}) || res.Organisation.Name != "Receiving" {
		t.Fatalf("after empty Roles: %v in %s", res.Roles(), res.Organisation.Name)
	}
	// No Roles attribute at all: nothing changes.
	a = assertion("T5014CD", "david.smith@shipping.example", "", "-")
	res = w.mustSSO(route(a), a)
	if !slices.Equal(res.Roles(), []string{"Applicant", "Reviewer"}) || len(res.Updated) != 0 {
		t.Fatalf("after missing Roles: %v, updated %v", res.Roles(), res.Updated)
	}
	// Out of the role scope now, David may use his password.
	d = w.password("shipping-co", "david.smith@shipping.example")
	wantDecision(t, "applicant's password", d, true, "")

	// A partner through the Partners module: other email domain allowed on
	// that connection only; same IdP, other defaults.
	p := assertion("P-0042", "ana@partner-logistics.example", "Partner Logistics", "-")
	p.Attributes["SSOModule"] = []string{"partners"}
	if c := route(p); c != "shipping-partners" {
		t.Fatalf("partner routed to %s", c)
	}
	res = w.mustSSO("shipping-partners", p)
	if !res.Created || !slices.Equal(res.Roles(), []string{"Partner"}) || res.Organisation.Name != "Partner Logistics" {
		t.Fatalf("partner = %+v", res)
	}
	p2 := assertion("P-0043", "bo@partner-logistics.example", "", "-")
	l = w.sso("shipping-saml2", p2, "")
	wantErr(t, "partner domain on the staff connection", l.err, sso.ReasonEmailDomainNotAllowed)

	// The UID is case-sensitive and decides: another employee whose
	// assertion carries David's email but another UID is not David.
	x := assertion("T5014CE", "david.smith@shipping.example", "", "-")
	l = w.sso(route(x), x, "")
	wantErr(t, "other UID, same email", l.err, sso.ReasonLinkRequiresProof)
}

// SmartSimple's "Default Organization" must exist when new organisations
// are not created.
func TestSmartSimpleDefaultOrganisationMissing(t *testing.T) {
	w := newWorld(t, account{
		disc: discovery.Account{ID: "shipping-co", Domains: domains("shipping.example"),
			Connections: []discovery.Connection{{ID: "shipping-saml2", Protocol: sso.ProtocolSAML, Module: "SAML2"}}},
		policy: policy.Policy{Mode: policy.ModeSSOOptional, Connections: []policy.Connection{{ID: "shipping-saml2", Stage: policy.StageLive}}},
		conns: map[string]provisioning.Connection{"shipping-saml2": {Identifier: provisioning.IdentifierAttribute, IdentifierAttribute: "UID",
			JIT: provisioning.JIT{Enabled: true, DefaultOrganisation: "Unassigned"}}},
	})
	l := w.sso("shipping-saml2", &sso.Identity{Subject: "T1", Email: "a@shipping.example", Attributes: map[string][]string{"UID": {"T1"}}}, "")
	wantErr(t, "missing default organisation", l.err, sso.ReasonInvalidConfig)
	if w.userByEmail("a@shipping.example") != nil {
		t.Fatal("user created although the login failed")
	}
}
