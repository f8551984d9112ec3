// Command saml-idp-initiated shows SAML logins that start at the
// organisation's identity provider, as SmartSimple supports them:
//
//   - the employee opens the application from the IdP's portal, which POSTs
//     a signed assertion to the application's ACS (IdP-initiated SAML, opt-in
//     per connection with saml.Config.AllowIdPInitiated);
//   - people the application does not know yet are created at their first
//     login with the connection's defaults (role, status, organisation),
//     and an organisation named by their Department is created when missing;
//   - users are identified by the UID attribute (SmartSimple's "Use UID as
//     Unique Identifier"), not by the NameID;
//   - the account has two connections trusting the same IdP, "SAML2" for
//     staff and "PARTNERS" for partners: the assertion's SSOModule attribute
//     picks one (SmartSimple's "SSO Alias"), with its own defaults;
//   - each login updates the user's names, roles (the comma-separated Roles
//     attribute) and organisation (Department) from the assertion; roles an
//     administrator granted are kept;
//   - single sign-on is enforced for chosen roles only: Employees and
//     Managers must use it, a Consultant keeps the password;
//   - logging out sends single sign-on users to a logout redirect URL, here
//     the IdP's portal.
//
// Run it with
//
//	go run ./examples/saml-idp-initiated
//
// and open the mock IdP's portal printed on start (a free port of
// 127.0.0.1), or the application at http://localhost:8080.
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
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

const account = "simple"

func main() { host.Main(start) }

// app is the running example.
type app struct {
	host.App
	idp   *mockidp.SAML
	staff *saml.ServiceProvider // the "SAML2" connection
}

// idpUser is a person at the IdP, with SmartSimple's attribute names.
func idpUser(email, uid, module, first, last, department, roles string) samltest.User {
	attrs := map[string][]string{"UID": {uid}, "SSOModule": {module}, "First name": {first}, "Last name": {last}}
	if department != "" {
		attrs["Department"] = []string{department}
	}
	if roles != "" {
		attrs["Roles"] = []string{roles}
	}
	return samltest.User{Email: email, NameID: uid, NameIDFormat: saml.NameIDFormatUnspecified, Attributes: attrs}
}

// start builds the application and serves it on addr in the background.
func start(addr string, logger *slog.Logger) (*app, error) {
	a := new(app)
	return a, a.Start(addr, logger, a.setup)
}

// setup starts the identity provider and declares the account and users.
func (a *app) setup(ctx context.Context) (_ host.Setup, err error) {
	// The organisation's identity provider (here a mock one) and its people.
	if a.idp, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		idpUser("dave@simple.example", "T5014CD", "SAML2", "David", "Smith", "Shipping", "Clerk"),
		idpUser("sue@simple.example", "S1001", "SAML2", "Susan", "Jones", "Finance", "Manager,Reviewer"),
		idpUser("pia@simple.example", "P2002", "PARTNERS", "Pia", "Berg", "", ""),
		idpUser("eve@simple.example", "E3003", "NOSUCH", "Eve", "Nobody", "", ""),
	}}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.idp.Close)

	// Two connections of the account, both trusting the same IdP. Only
	// IdP-initiated logins arrive; users are identified by UID.
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	newSP := func(id string) (*saml.ServiceProvider, error) {
		at := login.EndpointsOf(a.URL, id) // the URLs the handler serves for it
		return a.idp.NewServiceProvider(ctx, saml.Config{
			ID:                id,
			Account:           account,
			EntityID:          at.EntityID,
			ACSURL:            at.ACS,
			AllowIdPInitiated: true,
			SubjectAttribute:  "UID",
			TrustEmail:        true,
			StateStore:        states,
			ReplayCache:       replay,
			Events:            a.Audit.Event,
		})
	}
	if a.staff, err = newSP("simple-saml2"); err != nil {
		return host.Setup{}, err
	}
	partners, err := newSP("simple-partners")
	if err != nil {
		return host.Setup{}, err
	}
	// Provisioning: create unknown users with the connection's defaults,
	// match known ones by UID, and keep names, roles and organisation up
	// to date from the assertion.
	provisioningFor := func(defaultRole, defaultOrg string) provisioning.Connection {
		return provisioning.Connection{
			Identifier:          provisioning.IdentifierAttribute,
			IdentifierAttribute: "UID",
			JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{defaultRole}, DefaultStatus: provisioning.StatusActive,
				DefaultOrganisation: defaultOrg, CreateOrganisation: true, OrganisationStatus: "Active"},
			Updates: provisioning.Updates{Names: true, Roles: true, Organisation: true},
			Roles:   provisioning.RoleMapping{Attribute: "Roles", SplitCommas: true, PassThrough: true},
		}
	}
	// The account, declared once. The SSOModule values select its
	// connections (the IdP's entity ID, read from the metadata, routes an
	// unsolicited response to the account). Single sign-on is enforced
	// for Employees and Managers; the other roles may also use their
	// password. Single sign-on users who log out land on the IdP's portal.
	portal := a.idp.URL() + "/"
	live := policy.Connection{Stage: policy.StageLive}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.URL, Accounts: []login.Account{{
		ID: account, Name: "Simple Foundation", Domains: []discovery.Domain{{Name: "simple.example"}},
		Policy: policy.Policy{Mode: policy.ModeSSORequired,
			Scope: policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"Employee", "Manager"}}},
		Connections: []login.Connection{
			{Authenticator: a.staff, DisplayName: "Simple ADFS", Module: "SAML2", Policy: live,
				Provisioning: provisioningFor("Employee", "Head Office"), LogoutRedirectURL: portal},
			{Authenticator: partners, DisplayName: "Simple ADFS (partners)", Module: "PARTNERS", Policy: live,
				Provisioning: provisioningFor("Partner", "Partners"), LogoutRedirectURL: portal},
		},
	}}})
	if err != nil {
		return host.Setup{}, err
	}

	// The account's organisations and the users an administrator added.
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	if err := host.Organisations(ctx, store, account, "Head Office", "Finance"); err != nil {
		return host.Setup{}, err
	}
	return host.Setup{
		Registry:   reg,
		Store:      store,
		AdminRoles: []string{"Administrator"},
		Users: []host.User{
			{Email: "sue@simple.example", Password: "sue-password",
				Members: []host.Member{{Account: account, Roles: []string{"Employee"}, SSOIdentifier: "S1001", Organisation: "Head Office"}}},
			{Email: "pat@simple.example", Password: "pat-password",
				Members: []host.Member{{Account: account, Roles: []string{"Consultant"}, Organisation: "Head Office"}}},
		},
		Home: host.Home{
			Title: "IdP-initiated SAML with just-in-time users",
			Intro: "Simple Foundation's people start at their identity provider's portal. New people are created at their first login; the SSOModule attribute picks the staff or the partners connection.",
			Links: []host.Link{{Text: "The identity provider's portal (start here)", URL: portal}},
			Logins: []host.TestLogin{
				{Who: "dave@simple.example", Shows: "new: created as Employee + Clerk, organisation Shipping created"},
				{Who: "pia@simple.example", Shows: "SSOModule PARTNERS: created through the partners connection"},
				{Who: "sue@simple.example", Shows: "known by UID S1001: roles and organisation updated from the assertion"},
				{Who: "eve@simple.example", Shows: "SSOModule NOSUCH: refused"},
				{Who: "sue@simple.example", Password: "sue-password", Shows: "Employee: the password is refused"},
				{Who: "pat@simple.example", Password: "pat-password", Shows: "Consultant: the password works"},
			},
		},
		Notes: []string{"Start at the mock IdP's portal: " + portal},
	}, nil
}
