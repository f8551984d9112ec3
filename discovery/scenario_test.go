package discovery_test

import (
	"errors"
	"testing"

	"github.com/ssokit/sso"
)

// Smart.pr: the person types their organisation email and is sent to their
// organisation's (OIDC) sign-in page. The answer depends on the domain only.
func TestScenarioSmartPr(t *testing.T) {
	tab := mustNew(t, fixture())
	known, err := tab.Lookup("pr.manager@agency.example")
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := tab.Lookup("never-registered@agency.example")
	if err != nil {
		t.Fatal(err)
	}
	if known.Len() != 1 || known.Choice(0).Protocol != sso.ProtocolOIDC || conns(known) != conns(unknown) {
		t.Fatalf("routes differ or wrong: %+v / %+v", known, unknown)
	}
}

// SmartyGrants: /login/sso asks for the organisation's domain, which also
// works bookmarked as /login/sso/{domain}; external assessors at other
// domains have no SSO and use their password; a customer with several
// accounts lets its people choose.
func TestScenarioSmartyGrants(t *testing.T) {
	tab := mustNew(t, fixture())
	for _, typed := range []string{"example", "Example", "example.com"} {
		r, err := tab.LookupAlias(typed)
		if err != nil || r.Len() != 1 || r.Choice(0).Account != "example-funds" || r.Choice(0).Protocol != sso.ProtocolSAML {
			t.Fatalf("LookupAlias(%q) = %+v, %v", typed, r, err)
		}
	}
	if _, err := tab.LookupAlias("no-such-organisation"); !errors.Is(err, sso.ReasonAccountNotFound) {
		t.Fatalf("unknown SSO domain: %v", err)
	}
	if _, err := tab.Lookup("assessor@gmail.com"); !errors.Is(err, sso.ReasonNoSSO) {
		t.Fatalf("assessor: %v", err)
	}
	r, err := tab.Lookup("olly@example.com")
	if err != nil || len(r.Accounts()) != 2 {
		t.Fatalf("the shared domain offers %+v, %v; want both accounts", r, err)
	}
}

// SmartSimple: only IdP-initiated logins; the assertion's issuer finds the
// connections and its SSOModule attribute picks one.
func TestScenarioSmartSimple(t *testing.T) {
	tab := mustNew(t, fixture())
	cs, err := tab.LookupIssuer("sso:saml2:alias:stage:SmartSimple:idp")
	if err != nil || len(cs) != 2 {
		t.Fatalf("LookupIssuer = %+v, %v", cs, err)
	}
	c, err := tab.LookupModule(cs[0].Account, "Partners")
	if err != nil || c.Connection != "shipping-partners" {
		t.Fatalf("SSOModule Partners = %+v, %v", c, err)
	}
	c, err = tab.LookupModule(cs[0].Account, "SAML2")
	if err != nil || c.Connection != "shipping-saml2" {
		t.Fatalf("SSOModule SAML2 = %+v, %v", c, err)
	}
	// A module of another account never selects across accounts.
	if _, err := tab.LookupModule("hiring", "Partners"); !errors.Is(err, sso.ReasonConnectionNotFound) {
		t.Fatalf("cross-account module: %v", err)
	}
}

// SmartRecruiters: the IdP starts the login (its issuer finds the
// connection), and users may also log in directly: discovery still names the
// connection, and policy says the password is allowed too.
func TestScenarioSmartRecruiters(t *testing.T) {
	tab := mustNew(t, fixture())
	cs, err := tab.LookupIssuer("http://www.okta.com/exk1")
	if err != nil || len(cs) != 1 || cs[0].Account != "hiring" {
		t.Fatalf("LookupIssuer = %+v, %v", cs, err)
	}
	r, err := tab.Lookup("recruiter@hiring.example")
	if err != nil || conns(r) != "hiring-okta" {
		t.Fatalf("Lookup = %+v, %v", r, err)
	}
}

// SmartKey: a person in several accounts with different providers (SAML,
// LDAP) chooses which to use; the host knows the person's accounts.
func TestScenarioSmartKey(t *testing.T) {
	tab := mustNew(t, fixture())
	r, err := tab.ForAccounts([]string{"vault", "lab"})
	if err != nil || r.Len() != 2 {
		t.Fatalf("ForAccounts = %+v, %v", r, err)
	}
	if c := r.Choice(0); c.DisplayName != "Vault SSO" || c.LogoURL == "" || c.Protocol != sso.ProtocolSAML {
		t.Errorf("first choice = %+v", c)
	}
	if c := r.Choice(1); c.DisplayName != "Lab directory" || c.Protocol != sso.ProtocolLDAP {
		t.Errorf("second choice = %+v", c)
	}
	// The email alone routes by domain: only the vault account.
	if r, err := tab.Lookup("kim@vault.example"); err != nil || conns(r) != "vault-saml" {
		t.Fatalf("Lookup = %+v, %v", r, err)
	}
}
