// Command saml-domain-prompt shows SAML single sign-on entered through an
// SSO domain, as SmartyGrants offers it to its customers' staff:
//
//   - /login/sso asks for the organisation's SSO domain, and
//     /login/sso/{domain} (e.g. /login/sso/thefund) starts single sign-on
//     at once, so it can be bookmarked or linked from an intranet;
//   - single sign-on is required only for emails at the organisation's own
//     domain: outside assessors, whom the organisation cannot add to its
//     identity provider, keep logging in with their password;
//   - users must be added to the account beforehand: someone the identity
//     provider knows but the application does not is refused
//     (user_not_provisioned), nobody is created automatically;
//   - the email, which is the username, comes from the NameID by default
//     (The Fund, whose IdP also sends an outdated address as "email"), or
//     from a configured attribute when the NameID is an opaque identifier
//     (the Council's IdP sends it as "username").
//
// Run it with
//
//	go run ./examples/saml-domain-prompt
//
// and open http://localhost:8080. The two organisations' mock SAML
// identity providers run on free ports of 127.0.0.1; the test logins are
// printed on start.
package main

import (
	"context"
	"log/slog"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/examples/internal/host"
	"github.com/ssokit/sso/examples/internal/mockidp"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

func main() { host.Main(start) }

// app is the running example.
type app struct {
	host.App
	fundIdP    *mockidp.SAML
	councilIdP *mockidp.SAML
}

// start builds the application and serves it on addr in the background.
func start(addr string, logger *slog.Logger) (*app, error) {
	a := new(app)
	return a, a.Start(addr, logger, a.setup)
}

// setup starts the identity providers and declares the accounts and users.
func (a *app) setup(ctx context.Context) (_ host.Setup, err error) {
	// The organisations' identity providers (here mock ones). The Fund's
	// sends the username as an emailAddress NameID (and an outdated
	// address in its "email" attribute); the Council's sends an opaque
	// persistent NameID and the username in a "username" attribute.
	if a.fundIdP, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		{Email: "olly@fund.example", GivenName: "Olly", Attributes: map[string][]string{"email": {"olly.otter@oldmail.example"}}},
		{Email: "newbie@fund.example", GivenName: "Newbie"}, // not added to the application
	}}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.fundIdP.Close)
	if a.councilIdP, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		{Email: "cara@council.example", GivenName: "Cara", NameID: "c-7d2e41", NameIDFormat: saml.NameIDFormatPersistent,
			Attributes: map[string][]string{"email": nil, "username": {"cara@council.example"}}},
	}}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.councilIdP.Close)

	// The connections: one SAML service provider per organisation, each
	// with its own entity ID and ACS URL, trusting the metadata the
	// organisation gave (see mockidp.SAML.NewServiceProvider).
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	newSP := func(id string, idp *mockidp.SAML, attrs sso.AttributeMap) (*saml.ServiceProvider, error) {
		at := login.EndpointsOf(a.URL, id) // the URLs the handler serves for it
		return idp.NewServiceProvider(ctx, saml.Config{
			ID:         id,
			EntityID:   at.EntityID,
			ACSURL:     at.ACS,
			Attributes: attrs,
			// The organisation vouches for the emails its IdP sends.
			TrustEmail:  true,
			StateStore:  states,
			ReplayCache: replay,
			Events:      a.Audit.Event,
		})
	}
	// The Fund: the email is the NameID (no attribute is read for it).
	fund, err := newSP("fund-okta", a.fundIdP, sso.AttributeMap{Email: []string{}})
	if err != nil {
		return host.Setup{}, err
	}
	// The Council: the email is the configured attribute (SmartyGrants'
	// "Username Attribute Name").
	council, err := newSP("council-entra", a.councilIdP, sso.AttributeMap{Email: []string{"username"}})
	if err != nil {
		return host.Setup{}, err
	}
	// The accounts, each declared once: the SSO domain people type at
	// /login/sso (alias), the email domains it claims, its policy and its
	// connection. Single sign-on is required, at The Fund only for emails
	// at fund.example (assessors from elsewhere keep their password), at
	// the Council for everyone. Provisioning's zero value: only users
	// added beforehand, no just-in-time creation, emails in the account's
	// domains only.
	live := policy.Connection{Stage: policy.StageLive}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.URL, Accounts: []login.Account{
		{ID: "fund", Name: "The Fund", Aliases: []string{"thefund"}, Domains: []discovery.Domain{{Name: "fund.example"}},
			Policy: policy.Policy{Mode: policy.ModeSSORequired,
				Scope: policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"fund.example"}}},
			Connections: []login.Connection{{Authenticator: fund, DisplayName: "The Fund's Okta", Policy: live}}},
		{ID: "council", Name: "City Council", Aliases: []string{"council"}, Domains: []discovery.Domain{{Name: "council.example"}},
			Policy:      policy.Policy{Mode: policy.ModeSSORequired},
			Connections: []login.Connection{{Authenticator: council, DisplayName: "Council Entra ID", Policy: live}}},
	}})
	if err != nil {
		return host.Setup{}, err
	}

	return host.Setup{
		Registry:   reg,
		AdminRoles: []string{"administrator"},
		// The users, added by each account's administrator.
		Users: []host.User{
			{Email: "olly@fund.example", Password: "olly-password", Members: []host.Member{{Account: "fund", Roles: []string{"administrator"}}}},
			{Email: "assessor@consultancy.example", Password: "assessor-password", Members: []host.Member{{Account: "fund", Roles: []string{"assessor"}}}},
			{Email: "cara@council.example", Members: []host.Member{{Account: "council", Roles: []string{"grants officer"}}}},
		},
		Home: host.Home{
			Title: "SAML with an SSO domain prompt",
			Intro: "Staff of The Fund and the City Council log in through /login/sso with their organisation's SSO domain (thefund, council), or bookmark /login/sso/thefund. Outside assessors keep their password.",
			Links: []host.Link{
				{Text: "/login/sso/thefund (bookmarkable)", URL: "/login/sso/thefund"},
				{Text: "/login/sso/council (bookmarkable)", URL: "/login/sso/council"},
			},
			Logins: []host.TestLogin{
				{Who: "SSO domain thefund, then olly@fund.example", Shows: "email from the NameID"},
				{Who: "SSO domain council, then cara@council.example", Shows: "email from the username attribute; the NameID is opaque"},
				{Who: "assessor@consultancy.example", Password: "assessor-password", Shows: "outside the SSO email domain: the password works"},
				{Who: "olly@fund.example", Password: "olly-password", Shows: "inside it: the password is refused"},
				{Who: "SSO domain thefund, then newbie@fund.example", Shows: "known to the IdP, not added here: user_not_provisioned"},
			},
		},
		Notes: []string{"Mock SAML IdPs: " + a.fundIdP.URL() + " (The Fund), " + a.councilIdP.URL() + " (the Council)"},
	}, nil
}
