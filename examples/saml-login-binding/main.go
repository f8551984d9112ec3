// Command saml-login-binding shows SAML single sign-on keyed on SSO
// identifiers, with login binding, as SmartRecruiters runs it:
//
//   - each user has an SSO identifier, set by an administrator when the user
//     is created; it must equal the identity provider's NameID exactly,
//     case included. A user without one is identified by the email;
//   - when the NameID matches nobody, the application asks for a password
//     instead, then for a confirmation that names the identity and the
//     account: the identity is bound to that user ("login binding"), and
//     the next single sign-on logs them in directly. It works both ways:
//     single sign-on first then the password, or the password first then a
//     single sign-on the application starts, which only asks for the
//     confirmation. Logins started at the identity provider may be bound
//     too (LoginBinding.AllowIdPInitiated), single sign-on first only;
//   - logins start at the application (SP-initiated, after the email) or at
//     the identity provider (IdP-initiated);
//   - Recruit Co's old ADFS still signs with RSA-SHA1, so that one
//     connection allows SHA-1 (saml.Config.AllowSHA1); every other
//     connection, like the Talent Agency's, refuses it
//     (algorithm_not_allowed).
//
// Login binding links the identity to whoever types a password in that
// browser and confirms, who need not be the person who signed in at the
// identity provider (see provisioning.LoginBinding): the confirmation names
// the identity about to be connected, and the binding waits ten minutes at
// most.
//
// Run it with
//
//	go run ./examples/saml-login-binding
//
// and open http://localhost:8080. The mock identity providers run on free
// ports of 127.0.0.1; the test logins are printed on start.
package main

import (
	"context"
	"log/slog"

	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/examples/internal/host"
	"github.com/ssokit/sso/examples/internal/mockidp"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func main() { host.Main(start) }

// app is the running example.
type app struct {
	host.App
	adfs    *mockidp.SAML // Recruit Co's IdP, signing with RSA-SHA1
	okta    *mockidp.SAML // the Talent Agency's IdP, RSA-SHA256
	recruit *saml.ServiceProvider
}

// start builds the application and serves it on addr in the background.
func start(addr string, logger *slog.Logger) (*app, error) {
	a := new(app)
	return a, a.Start(addr, logger, a.setup)
}

// setup starts the identity providers and declares the accounts and users.
func (a *app) setup(ctx context.Context) (_ host.Setup, err error) {
	// Recruit Co's ADFS sends persistent NameIDs for some people and
	// email NameIDs for others, and signs with RSA-SHA1.
	persistent := func(email, nameID string) samltest.User {
		return samltest.User{Email: email, NameID: nameID, NameIDFormat: saml.NameIDFormatPersistent}
	}
	if a.adfs, err = mockidp.StartSAML(samltest.Config{
		SignatureAlgorithm: dsig.RSASHA1SignatureMethod,
		Users: []samltest.User{
			persistent("emp@recruit.example", "E12345"),
			{Email: "sam@recruit.example"},
			{Email: "jane.doe@recruit.example"},
			persistent("ken@recruit.example", "K-998"),
		},
	}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.adfs.Close)
	if a.okta, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{{Email: "alex@agency.example"}}}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.okta.Close)

	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	newSP := func(id string, idp *mockidp.SAML, allowSHA1 bool) (*saml.ServiceProvider, error) {
		at := login.EndpointsOf(a.URL, id) // the URLs the handler serves for it
		return idp.NewServiceProvider(ctx, saml.Config{
			ID:                id,
			EntityID:          at.EntityID,
			ACSURL:            at.ACS,
			AllowIdPInitiated: true,
			AllowSHA1:         allowSHA1,
			TrustEmail:        true,
			StateStore:        states,
			ReplayCache:       replay,
			Events:            a.Audit.Event,
		})
	}
	// SHA-1 is accepted from Recruit Co's ADFS only.
	if a.recruit, err = newSP("recruit-adfs", a.adfs, true); err != nil {
		return host.Setup{}, err
	}
	agency, err := newSP("agency-okta", a.okta, false)
	if err != nil {
		return host.Setup{}, err
	}
	// The accounts, each declared once: found by email domain
	// (SP-initiated) and by the IdP's entity ID, read from its metadata
	// (IdP-initiated). Single sign-on is optional; direct login with the
	// password stays possible.
	optional := policy.Policy{Mode: policy.ModeSSOOptional}
	live := policy.Connection{Stage: policy.StageLive}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.URL, Accounts: []login.Account{
		{ID: "recruit", Name: "Recruit Co", Domains: []discovery.Domain{{Name: "recruit.example"}}, Policy: optional,
			Connections: []login.Connection{{Authenticator: a.recruit, DisplayName: "Recruit Co ADFS", Policy: live,
				// The NameID is matched against each member's SSO
				// identifier (exactly), and login binding handles the
				// NameIDs that match nobody.
				Provisioning: provisioning.Connection{
					Identifier: provisioning.IdentifierSubject,
					// SmartRecruiters binds identities from logins started
					// at its IdP too; the confirmation page names the
					// identity, so that one posted into the browser by
					// another site is not bound unseen.
					LoginBinding: provisioning.LoginBinding{Enabled: true, AllowIdPInitiated: true},
				}}}},
		{ID: "agency", Name: "Talent Agency", Domains: []discovery.Domain{{Name: "agency.example"}}, Policy: optional,
			Connections: []login.Connection{{Authenticator: agency, DisplayName: "Talent Agency Okta", Policy: live}}},
	}})
	if err != nil {
		return host.Setup{}, err
	}

	fromADFS := a.adfs.StartURL(a.recruit.EntityID(), "") // an IdP-initiated login at Recruit Co
	return host.Setup{
		Registry: reg,
		// The users, created through the application's users API, some
		// with an SSO identifier.
		Users: []host.User{
			{Email: "emp@recruit.example", Password: "emp-password", Members: []host.Member{{Account: "recruit", SSOIdentifier: "E12345"}}},
			{Email: "sam@recruit.example", Password: "sam-password", Members: []host.Member{{Account: "recruit"}}},
			{Email: "jane.doe@recruit.example", Password: "jane-password", Members: []host.Member{{Account: "recruit", SSOIdentifier: "Jane.Doe@recruit.example"}}},
			{Email: "ken@recruit.example", Password: "ken-password", Members: []host.Member{{Account: "recruit", SSOIdentifier: "ken-old"}}},
			{Email: "alex@agency.example", Password: "alex-password", Members: []host.Member{{Account: "agency"}}},
		},
		Home: host.Home{
			Title: "SAML with SSO identifiers and login binding",
			Intro: "Recruit Co's people log in with their ADFS; a NameID that matches no SSO identifier is bound to the user who then logs in with a password.",
			Links: []host.Link{{Text: "Start at Recruit Co's ADFS (IdP-initiated)", URL: fromADFS}},
			Logins: []host.TestLogin{
				{Who: "emp@recruit.example", Shows: "NameID E12345 equals his SSO identifier: logged in"},
				{Who: "sam@recruit.example", Shows: "no SSO identifier: the email NameID identifies him"},
				{Who: "jane.doe@recruit.example", Shows: "her SSO identifier is Jane.Doe@recruit.example: the case differs, so log in once with jane-password to bind"},
				{Who: "ken@recruit.example", Password: "ken-password", Shows: "password first, then start at the ADFS: NameID K-998 is bound to him"},
				{Who: "alex@agency.example", Shows: "the Talent Agency's connection refuses RSA-SHA1 (only Recruit Co's allows it)"},
			},
		},
		Notes: []string{"Recruit Co's ADFS (IdP-initiated login): " + fromADFS, "Talent Agency's Okta: " + a.okta.URL()},
	}, nil
}
