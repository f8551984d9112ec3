package scenariotest

import (
	"context"
	"errors"
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
		conns: map[string]provisioning.Connection{"hiring-okta": {Identifier: provisioning.IdentifierSubject, TrustEmail: true,
			LoginBinding: provisioning.LoginBinding{Enabled: true}}},
	})
	jane := w.addUser("jane.doe@hiring.example", member{account: "hiring", identifier: "Jane.Doe@hiring.example"})
	sam := w.addUser("sam@hiring.example", member{account: "hiring"}) // created without ssoIdentifier
	emp := w.addUser("emp@hiring.example", member{account: "hiring", identifier: "E12345"})
	nameID := func(v string) *sso.Identity {
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
	browser := sso.NewBinding()
	l := w.sso("hiring-okta", nameID("e12345"), browser)
	wantErr(t, "identifier in other case", l.err, sso.ReasonUserNotProvisioned)

	// Login binding, SSO first: Jane's IdP sends her address in lower case,
	// which differs from her ssoIdentifier. The login form is shown...
	browser = sso.NewBinding()
	l = w.sso("hiring-okta", nameID("jane.doe@hiring.example"), browser)
	wantErr(t, "Jane's unrecognised identifier", l.err, sso.ReasonLinkRequiresProof)
	if !errors.Is(l.err, provisioning.ErrBindingPending) {
		t.Fatalf("no binding pending: %v", l.err)
	}
	// ...Jane logs in with her password in the same browser, and the IdP
	// identifier is bound to her.
	d, res := w.password("hiring", "jane.doe@hiring.example", browser)
	wantDecision(t, "Jane's password", d, true, "")
	if res == nil || res.User.ID != jane || res.Match != provisioning.MatchBinding || !res.Linked {
		t.Fatalf("binding = %+v", res)
	}
	// The next IdP login is recognised without a login page.
	if res := w.mustSSO("hiring-okta", nameID("jane.doe@hiring.example")); res.User.ID != jane || res.Match != provisioning.MatchLink {
		t.Fatalf("Jane's next login = %+v", res)
	}

	// Password first: Ken logs in directly, then follows a link from the
	// IdP in the same browser; his unknown identifier binds to him.
	ken := w.addUser("ken@hiring.example", member{account: "hiring", identifier: "old-id"})
	browser = sso.NewBinding()
	d, res = w.password("hiring", "ken@hiring.example", browser)
	if !d.Allowed || res != nil {
		t.Fatalf("Ken's password login = %+v, %+v", d, res)
	}
	res = w.mustSSOWithBinding("hiring-okta", nameID("K-998"), browser)
	if res.User.ID != ken || res.Match != provisioning.MatchBinding {
		t.Fatalf("Ken = %+v", res)
	}
	// A binding window passes: an unrelated identity later in the same
	// browser is not bound to Ken.
	w.clock.Advance(provisioning.DefaultBindingWindow)
	l = w.sso("hiring-okta", nameID("K-999"), browser)
	wantErr(t, "after the window", l.err, sso.ReasonUserNotProvisioned)
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
	browser := sso.NewBinding()
	l := w.sso("hiring-okta", &sso.Identity{Subject: "alice-idp-0001"}, browser)
	if !errors.Is(l.err, provisioning.ErrBindingPending) {
		t.Fatal(l.err)
	}
	_, res := w.password("hiring", "bob@hiring.example", browser)
	if res == nil || res.User.ID != bob {
		t.Fatalf("binding = %+v", res)
	}
	if res := w.mustSSO("hiring-okta", &sso.Identity{Subject: "alice-idp-0001"}); res.User.ID != bob {
		t.Fatalf("alice's IdP identity signs in as %s; the caveat says bob", res.User.ID)
	}
	// The pending identity waits only in the browser that started it: a
	// password login elsewhere binds nothing.
	other := sso.NewBinding()
	l = w.sso("hiring-okta", &sso.Identity{Subject: "carol-idp-0002"}, other)
	if !errors.Is(l.err, provisioning.ErrBindingPending) {
		t.Fatal(l.err)
	}
	_, err := w.prov.CompleteBinding(context.Background(), sso.NewBinding(), bob)
	wantErr(t, "completing from another browser", err, sso.ReasonStateMissing)
}

// mustSSOWithBinding is mustSSO with a browser binding.
func (w *world) mustSSOWithBinding(conn string, id *sso.Identity, binding string) *provisioning.Result {
	w.t.Helper()
	l := w.sso(conn, id, binding)
	if l.err != nil {
		w.t.Fatalf("SSO login of %q through %s: %v", id.Subject, conn, l.err)
	}
	return l.res
}
