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
	"flag"
	"log"
	"log/slog"
	"os"

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

func main() {
	addr := flag.String("addr", "localhost:8080", "where the application listens")
	flag.Parse()
	a, err := start(*addr, host.Logger())
	if err != nil {
		log.Fatal(err)
	}
	a.home.Print(os.Stdout, a.url, "Mock SAML IdPs: "+a.fundIdP.URL()+" (The Fund), "+a.councilIdP.URL()+" (the Council)")
	host.WaitForInterrupt()
	a.Close()
}

// app is the running example.
type app struct {
	url        string
	fundIdP    *mockidp.SAML
	councilIdP *mockidp.SAML
	store      *provisioning.MemoryStore
	sessions   *host.Sessions
	audit      *host.Audit
	home       *host.Home
	cleanup    host.Cleanup
}

// start builds the application and serves it on addr in the background.
func start(addr string, logger *slog.Logger) (_ *app, err error) {
	ctx := context.Background()
	a := &app{audit: host.NewAudit(logger), sessions: host.NewSessions()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	ln, url, err := host.Listen(addr)
	if err != nil {
		return nil, err
	}
	a.url = url
	a.cleanup.Add(func() { ln.Close() })

	// The organisations' identity providers (here mock ones). The Fund's
	// sends the username as an emailAddress NameID (and an outdated
	// address in its "email" attribute); the Council's sends an opaque
	// persistent NameID and the username in a "username" attribute.
	if a.fundIdP, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		{Email: "olly@fund.example", GivenName: "Olly", Attributes: map[string][]string{"email": {"olly.otter@oldmail.example"}}},
		{Email: "newbie@fund.example", GivenName: "Newbie"}, // not added to the application
	}}); err != nil {
		return nil, err
	}
	a.cleanup.Add(a.fundIdP.Close)
	if a.councilIdP, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		{Email: "cara@council.example", GivenName: "Cara", NameID: "c-7d2e41", NameIDFormat: saml.NameIDFormatPersistent,
			Attributes: map[string][]string{"email": nil, "username": {"cara@council.example"}}},
	}}); err != nil {
		return nil, err
	}
	a.cleanup.Add(a.councilIdP.Close)

	// The connections: one SAML service provider per organisation, each
	// with its own entity ID and ACS URL, trusting the metadata the
	// organisation gave (see mockidp.SAML.NewServiceProvider).
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	newSP := func(id string, idp *mockidp.SAML, attrs sso.AttributeMap) (*saml.ServiceProvider, error) {
		at := login.EndpointsOf(a.url, id) // the URLs the handler serves for it
		return idp.NewServiceProvider(ctx, saml.Config{
			ID:         id,
			EntityID:   at.EntityID,
			ACSURL:     at.ACS,
			Attributes: attrs,
			// The organisation vouches for the emails its IdP sends.
			TrustEmail:  true,
			StateStore:  states,
			ReplayCache: replay,
			Events:      a.audit.Event,
		})
	}
	// The Fund: the email is the NameID (no attribute is read for it).
	fund, err := newSP("fund-okta", a.fundIdP, sso.AttributeMap{Email: []string{}})
	if err != nil {
		return nil, err
	}
	// The Council: the email is the configured attribute (SmartyGrants'
	// "Username Attribute Name").
	council, err := newSP("council-entra", a.councilIdP, sso.AttributeMap{Email: []string{"username"}})
	if err != nil {
		return nil, err
	}
	// The accounts, each declared once: the SSO domain people type at
	// /login/sso (alias), the email domains it claims, its policy and its
	// connection. Single sign-on is required, at The Fund only for emails
	// at fund.example (assessors from elsewhere keep their password), at
	// the Council for everyone. Provisioning's zero value: only users
	// added beforehand, no just-in-time creation, emails in the account's
	// domains only.
	live := policy.Connection{Stage: policy.StageLive}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.url, Accounts: []login.Account{
		{ID: "fund", Name: "The Fund", Aliases: []string{"thefund"}, Domains: []discovery.Domain{{Name: "fund.example"}},
			Policy: policy.Policy{Mode: policy.ModeSSORequired,
				Scope: policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"fund.example"}}},
			Connections: []login.Connection{{Authenticator: fund, DisplayName: "The Fund's Okta", Policy: live}}},
		{ID: "council", Name: "City Council", Aliases: []string{"council"}, Domains: []discovery.Domain{{Name: "council.example"}},
			Policy:      policy.Policy{Mode: policy.ModeSSORequired},
			Connections: []login.Connection{{Authenticator: council, DisplayName: "Council Entra ID", Policy: live}}},
	}})
	if err != nil {
		return nil, err
	}
	a.cleanup.Add(func() { _ = reg.Close() })

	// The users, added by each account's administrator.
	a.store = provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	users := login.StoreUsers{Store: a.store, AdminRoles: []string{"administrator"}}
	passwords := host.NewPasswords(users)
	if err := host.AddUsers(ctx, a.store, passwords,
		host.User{Email: "olly@fund.example", Password: "olly-password", Members: []host.Member{{Account: "fund", Roles: []string{"administrator"}}}},
		host.User{Email: "assessor@consultancy.example", Password: "assessor-password", Members: []host.Member{{Account: "fund", Roles: []string{"assessor"}}}},
		host.User{Email: "cara@council.example", Members: []host.Member{{Account: "council", Roles: []string{"grants officer"}}}},
	); err != nil {
		return nil, err
	}
	prov, err := provisioning.New(provisioning.Config{Store: a.store, Events: a.audit.Event})
	if err != nil {
		return nil, err
	}

	h, err := login.New(login.Config{
		Registry:    reg,
		Provisioner: prov,
		Users:       users,
		Sessions:    a.sessions,
		Passwords:   passwords,
		Events:      a.audit.Event,
		Logger:      logger,
	})
	if err != nil {
		return nil, err
	}
	a.home = &host.Home{
		Title:    "SAML with an SSO domain prompt",
		Intro:    "Staff of The Fund and the City Council log in through /login/sso with their organisation's SSO domain (thefund, council), or bookmark /login/sso/thefund. Outside assessors keep their password.",
		Sessions: a.sessions,
		Links: []host.Link{
			{Text: "/login/sso/thefund (bookmarkable)", URL: h.DomainLoginURL("thefund", "")},
			{Text: "/login/sso/council (bookmarkable)", URL: h.DomainLoginURL("council", "")},
		},
		Logins: []host.TestLogin{
			{Who: "SSO domain thefund, then olly@fund.example", Shows: "email from the NameID"},
			{Who: "SSO domain council, then cara@council.example", Shows: "email from the username attribute; the NameID is opaque"},
			{Who: "assessor@consultancy.example", Password: "assessor-password", Shows: "outside the SSO email domain: the password works"},
			{Who: "olly@fund.example", Password: "olly-password", Shows: "inside it: the password is refused"},
			{Who: "SSO domain thefund, then newbie@fund.example", Shows: "known to the IdP, not added here: user_not_provisioned"},
		},
	}
	mux := host.Mux(h, a.home, a.sessions.MeHandler(a.store))
	srv := host.Serve(ln, mux, logger)
	a.cleanup.Add(srv.Close)
	return a, nil
}

// Close stops the application and the mock identity providers.
func (a *app) Close() { a.cleanup.Run() }
