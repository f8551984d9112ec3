// Command multi-protocol shows one application serving accounts on all
// three protocols, as SmartKey does:
//
//   - Acme logs in with SAML (its IdP must send emailAddress NameIDs),
//     Globex with OpenID Connect, Initech with its LDAP directory: the
//     email address finds the account's connection;
//   - Acme and Initech require single sign-on, but their administrators
//     keep their password ("Account administrators can log in with
//     password"), so a broken identity provider cannot lock them out;
//   - Globex and Initech share the email domain example.com, and
//     alice@example.com is a member of both: she picks which provider to
//     use, and her login grants only the account of that provider. A
//     password login grants Globex only, since Initech requires single
//     sign-on.
//
// Users, pending logins, replay records and the audit log are kept in
// SQLite (store/sqlstore), in memory unless -db names a file.
//
// Run it with
//
//	go run ./examples/multi-protocol
//
// and open http://localhost:8080. The mock SAML IdP, OpenID provider and
// LDAP directory run on free ports of 127.0.0.1; the test logins are
// printed on start.
package main

import (
	"context"
	"flag"
	"log/slog"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/examples/internal/host"
	"github.com/ssokit/sso/examples/internal/mockidp"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/store/sqlstore"
)

func main() {
	db := flag.String("db", ":memory:", "SQLite database file")
	host.Main(func(addr string, logger *slog.Logger) (*app, error) { return start(addr, *db, logger) })
}

// app is the running example.
type app struct {
	host.App
	dbPath string
	db     *sqlstore.Store
	idp    *mockidp.SAML
	op     *oidctest.Server
	dir    *ldaptest.Server
}

// start builds the application with its database at dbPath and serves it
// on addr in the background.
func start(addr, dbPath string, logger *slog.Logger) (*app, error) {
	a := &app{dbPath: dbPath}
	return a, a.Start(addr, logger, a.setup)
}

// setup opens the database, starts the identity providers and declares the
// accounts and users.
func (a *app) setup(ctx context.Context) (_ host.Setup, err error) {
	// One store for users, pending logins, replay records and events.
	if a.db, err = sqlstore.OpenSQLite(ctx, a.dbPath, sqlstore.Config{}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(func() { _ = a.db.Close() })
	persist := a.db.EventFunc(func(err error) { a.Logger.Error("audit log", "error", err) })
	events := func(ctx context.Context, e sso.Event) {
		a.Audit.Event(ctx, e)
		persist(ctx, e)
	}

	// The three accounts' identity providers (mock ones).
	if a.idp, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		{Email: "sam@acme.example", GivenName: "Sam"}, {Email: "root@acme.example", GivenName: "Root"},
	}}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.idp.Close)
	if a.op, err = oidctest.NewServer(oidctest.Config{NoTLS: true, Users: oidctest.DefaultUsers()}); err != nil { // alice and bob of example.com
		return host.Setup{}, err
	}
	a.OnClose(a.op.Close)
	if a.dir, err = ldaptest.NewServer(ldaptest.SampleConfig()); err != nil { // alice and bob again, StartTLS
		return host.Setup{}, err
	}
	a.OnClose(a.dir.Close)

	// Acme: SAML, emailAddress NameIDs.
	at := login.EndpointsOf(a.URL, "acme-saml") // the URLs the handler serves for it
	acme, err := a.idp.NewServiceProvider(ctx, saml.Config{
		ID:           "acme-saml",
		EntityID:     at.EntityID,
		ACSURL:       at.ACS,
		NameIDFormat: saml.NameIDFormatEmailAddress,
		TrustEmail:   true,
		StateStore:   a.db,
		ReplayCache:  a.db,
		Events:       events,
	})
	if err != nil {
		return host.Setup{}, err
	}
	// Globex: OpenID Connect (authorization code flow, email scope).
	callback := login.EndpointsOf(a.URL, "globex-oidc").Callback
	a.op.AddClient(oidctest.Client{ID: "globex-app", Secret: "globex-secret", RedirectURIs: []string{callback}})
	globex, err := oidc.New(oidc.Config{
		ID: "globex-oidc", Issuer: a.op.Issuer(), ClientID: "globex-app", ClientSecret: sso.Secret("globex-secret"),
		RedirectURL: callback, StateStore: a.db, ReplayCache: a.db, Events: events,
		InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true, // the mock provider: plain http on 127.0.0.1
	})
	if err != nil {
		return host.Setup{}, err
	}
	// Initech: the directory, searched for the email by a service account,
	// over StartTLS with the directory's own CA.
	initech, err := ldap.New(ldap.Config{
		ID: "initech-ldap", URLs: []string{a.dir.URL()}, CACertPEM: a.dir.CACertPEM(), TrustEmail: true, Events: events,
		Search: &ldap.Search{BaseDN: ldaptest.SampleBaseDN, ObjectClass: "inetOrgPerson",
			BindDN: ldaptest.SampleServiceDN, BindPassword: sso.Secret(ldaptest.SampleServicePassword)},
	})
	if err != nil {
		return host.Setup{}, err
	}
	// The three accounts, each declared once. Acme and Initech require
	// single sign-on with the administrators' break-glass; Globex makes it
	// optional. example.com is claimed by two accounts (Shared), so its
	// people choose.
	shared := []discovery.Domain{{Name: "example.com", Shared: true}}
	live := policy.Connection{Stage: policy.StageLive}
	required := policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.URL, Accounts: []login.Account{
		{ID: "acme", Name: "Acme", Domains: []discovery.Domain{{Name: "acme.example"}}, Policy: required,
			Connections: []login.Connection{{Authenticator: acme, DisplayName: "Acme SAML", Policy: live}}},
		{ID: "globex", Name: "Globex", Domains: shared, Policy: policy.Policy{Mode: policy.ModeSSOOptional},
			Connections: []login.Connection{{Authenticator: globex, DisplayName: "Globex OpenID", Policy: live}}},
		{ID: "initech", Name: "Initech", Domains: shared, Policy: required,
			Connections: []login.Connection{{Authenticator: initech, DisplayName: "Initech directory", Policy: live}}},
	}})
	if err != nil {
		return host.Setup{}, err
	}

	return host.Setup{
		Registry:   reg,
		Store:      a.db,
		StateStore: a.db,
		Events:     events,
		AdminRoles: []string{"administrator"},
		Administer: true,
		Users: []host.User{
			{Email: "root@acme.example", Password: "root-password", Members: []host.Member{{Account: "acme", Roles: []string{"administrator"}}}},
			{Email: "sam@acme.example", Password: "sam-password", Members: []host.Member{{Account: "acme", Roles: []string{"operator"}}}},
			{Email: "alice@example.com", Password: "alice-app-password", Members: []host.Member{
				{Account: "globex", Roles: []string{"operator"}}, {Account: "initech", Roles: []string{"operator"}}}},
			{Email: "bob@example.com", Members: []host.Member{{Account: "initech", Roles: []string{"operator"}}}},
		},
		Home: host.Home{
			Title: "SAML, OpenID Connect and LDAP side by side",
			Intro: "Acme logs in with SAML, Globex with OpenID Connect, Initech with its LDAP directory. Globex and Initech share example.com.",
			Logins: []host.TestLogin{
				{Who: "sam@acme.example", Shows: "SAML"},
				{Who: "root@acme.example", Password: "root-password", Shows: "Acme's administrator: the password works although SSO is required"},
				{Who: "sam@acme.example", Password: "sam-password", Shows: "not an administrator: the password is refused"},
				{Who: "alice@example.com", Shows: "member of Globex and Initech: pick OpenID Connect, or the directory (password alice-password)"},
				{Who: "alice@example.com", Password: "alice-app-password", Shows: "the application's password grants Globex only"},
			},
		},
		Notes: []string{"Mock SAML IdP: " + a.idp.URL() + "\nMock OpenID provider: " + a.op.Issuer() + "\nMock LDAP directory: " + a.dir.URL()},
	}, nil
}
