package scenariotest

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// SmartRecruiters: users are created beforehand with an ssoIdentifier, which
// is case-sensitive and must equal what the IdP sends (by default the user's
// email). When the identifier is not recognised the login form is shown, and
// after a successful password login the IdP identifier is bound to that user
// ("login binding"); the next IdP login signs in directly. Direct password
// login stays possible.
func TestSmartRecruiters(t *testing.T) {
	const okta = "http://www.okta.com/exk1"
	w := newWorld(t, account{
		disc: discovery.Account{ID: "hiring", Name: "Hiring Co", Domains: domains("hiring.example"),
			Connections: []discovery.Connection{{ID: "hiring-okta", Protocol: sso.ProtocolSAML, Issuers: []string{okta}}}},
		policy: policy.Policy{Mode: policy.ModeSSOOptional, Connections: []policy.Connection{{ID: "hiring-okta", Stage: policy.StageLive}}},
		// The NameID is the identifier; the admin vouches for the IdP's
		// email NameIDs, so the default identifier (the email) matches.
		trustEmail: []string{"hiring-okta"},
		conns: map[string]provisioning.Connection{"hiring-okta": {Identifier: provisioning.IdentifierSubject,
			LoginBinding: provisioning.LoginBinding{Enabled: true}}},
	})
	jane := w.addUser("jane.doe@hiring.example", member{account: "hiring", identifier: "Jane.Doe@hiring.example"})
	sam := w.addUser("sam@hiring.example", member{account: "hiring"}) // created without ssoIdentifier
	emp := w.addUser("emp@hiring.example", member{account: "hiring", identifier: "E12345"})
	// An emailAddress NameID is also the identity's email (package saml
	// reads it so); other identifiers are persistent NameIDs.
	nameID := func(v string) *sso.Identity {
		if strings.Contains(v, "@") {
			return &sso.Identity{Issuer: okta, Subject: v, SubjectFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", Email: v}
		}
		return &sso.Identity{Issuer: okta, Subject: v, SubjectFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}
	}

	// IdP-initiated: the issuer finds the connection.
	if cs, err := w.router.LookupIssuer(okta); err != nil || len(cs) != 1 || cs[0].Connection != "hiring-okta" {
		t.Fatalf("LookupIssuer = %v, %v", cs, err)
	}

	// The identifier set at creation, exactly: signed in directly.
	if res := w.mustSSO("hiring-okta", nameID("E12345")); res.User.ID != emp || res.Match != provisioning.MatchIdentifier {
		t.Fatalf("E12345 = %+v", res)
	}
	// The default identifier is the email, exactly.
	if res := w.mustSSO("hiring-okta", nameID("sam@hiring.example")); res.User.ID != sam || res.Match != provisioning.MatchEmail {
		t.Fatalf("sam = %+v", res)
	}
	// Case matters: "e12345" is not E12345.
	l := w.sso("hiring-okta", nameID("e12345"), "")
	wantErr(t, "identifier in other case", l.err, sso.ReasonUserNotProvisioned)

	// Login binding: Jane's IdP sends her address in lower case, which
	// differs from her ssoIdentifier. The login form is shown...
	l = w.sso("hiring-okta", nameID("jane.doe@hiring.example"), "")
	wantErr(t, "Jane's unrecognised identifier", l.err, sso.ReasonLinkRequiresProof)
	if !errors.Is(l.err, provisioning.ErrBindingPossible) {
		t.Fatalf("no binding possible: %v", l.err)
	}
	// ...Jane logs in with her password (policy allows it) and confirms,
	// and the IdP identifier is bound to her.
	d := w.password("hiring", "jane.doe@hiring.example")
	wantDecision(t, "Jane's password", d, true, "")
	l = w.sso("hiring-okta", nameID("jane.doe@hiring.example"), jane)
	if l.err != nil || l.res.User.ID != jane || l.res.Match != provisioning.MatchBinding || !l.res.Linked {
		t.Fatalf("binding = %+v, %v", l.res, l.err)
	}
	// The next IdP login is recognised without a login page.
	if res := w.mustSSO("hiring-okta", nameID("jane.doe@hiring.example")); res.User.ID != jane || res.Match != provisioning.MatchLink {
		t.Fatalf("Jane's next login = %+v", res)
	}
}

// The documented caveat of login binding: the IdP identifier is bound to
// whoever logs in with a password, not necessarily the person who started
// at the IdP. alice starts the login at the IdP; her colleague bob types his
// password in the same browser; alice's IdP account now signs in as bob.
func TestSmartRecruitersBindingCaveat(t *testing.T) {
	w := newWorld(t, account{
		disc: discovery.Account{ID: "hiring", Domains: domains("hiring.example"),
			Connections: []discovery.Connection{{ID: "hiring-okta", Protocol: sso.ProtocolSAML}}},
		policy: policy.Policy{Mode: policy.ModeSSOOptional, Connections: []policy.Connection{{ID: "hiring-okta", Stage: policy.StageLive}}},
		conns: map[string]provisioning.Connection{"hiring-okta": {Identifier: provisioning.IdentifierSubject,
			LoginBinding: provisioning.LoginBinding{Enabled: true}}},
	})
	w.addUser("alice@hiring.example", member{account: "hiring", identifier: "alice-sr"})
	bob := w.addUser("bob@hiring.example", member{account: "hiring", identifier: "bob-sr"})
	l := w.sso("hiring-okta", &sso.Identity{Subject: "alice-idp-0001"}, "")
	if !errors.Is(l.err, provisioning.ErrBindingPossible) {
		t.Fatal(l.err)
	}
	// bob types his password and confirms.
	l = w.sso("hiring-okta", &sso.Identity{Subject: "alice-idp-0001"}, bob)
	if l.err != nil || l.res.User.ID != bob {
		t.Fatalf("binding = %+v, %v", l.res, l.err)
	}
	if res := w.mustSSO("hiring-okta", &sso.Identity{Subject: "alice-idp-0001"}); res.User.ID != bob {
		t.Fatalf("alice's IdP identity signs in as %s; the caveat says bob", res.User.ID)
	}
}
