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
	"log"
	"log/slog"
	"os"

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
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/store/sqlstore"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "where the application listens")
	db := flag.String("db", ":memory:", "SQLite database file")
	flag.Parse()
	a, err := start(*addr, *db, host.Logger())
	if err != nil {
		log.Fatal(err)
	}
	a.home.Print(os.Stdout, a.url, "Mock SAML IdP: "+a.idp.URL()+"\nMock OpenID provider: "+a.op.Issuer()+"\nMock LDAP directory: "+a.dir.URL())
	host.WaitForInterrupt()
	a.Close()
}

// app is the running example.
type app struct {
	url      string
	idp      *mockidp.SAML
	op       *oidctest.Server
	dir      *ldaptest.Server
	store    *sqlstore.Store
	sessions *host.Sessions
	audit    *host.Audit
	home     *host.Home
	cleanup  host.Cleanup
}

// start builds the application with its database at dbPath and serves it
// on addr in the background.
func start(addr, dbPath string, logger *slog.Logger) (_ *app, err error) {
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

	// One store for users, pending logins, replay records and events.
	if a.store, err = sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Config{}); err != nil {
		return nil, err
	}
	a.cleanup.Add(func() { _ = a.store.Close() })
	persist := a.store.EventFunc(func(err error) { logger.Error("audit log", "error", err) })
	events := func(ctx context.Context, e sso.Event) {
		a.audit.Event(ctx, e)
		persist(ctx, e)
	}

	// The three accounts' identity providers (mock ones).
	if a.idp, err = mockidp.StartSAML(samltest.Config{Users: []samltest.User{
		{Email: "sam@acme.example", GivenName: "Sam"}, {Email: "root@acme.example", GivenName: "Root"},
	}}); err != nil {
		return nil, err
	}
	a.cleanup.Add(a.idp.Close)
	if a.op, err = oidctest.NewServer(oidctest.Config{NoTLS: true, Users: oidctest.DefaultUsers()}); err != nil { // alice and bob of example.com
		return nil, err
	}
	a.cleanup.Add(a.op.Close)
	if a.dir, err = ldaptest.NewServer(ldaptest.SampleConfig()); err != nil { // alice and bob again, StartTLS
		return nil, err
	}
	a.cleanup.Add(a.dir.Close)

	// Acme: SAML, emailAddress NameIDs.
	at := login.EndpointsOf(a.url, "acme-saml") // the URLs the handler serves for it
	acme, err := a.idp.NewServiceProvider(ctx, saml.Config{
		ID:           "acme-saml",
		EntityID:     at.EntityID,
		ACSURL:       at.ACS,
		NameIDFormat: saml.NameIDFormatEmailAddress,
		TrustEmail:   true,
		StateStore:   a.store,
		ReplayCache:  a.store,
		Events:       events,
	})
	if err != nil {
		return nil, err
	}
	// Globex: OpenID Connect (authorization code flow, email scope).
	callback := login.EndpointsOf(a.url, "globex-oidc").Callback
	a.op.AddClient(oidctest.Client{ID: "globex-app", Secret: "globex-secret", RedirectURIs: []string{callback}})
	globex, err := oidc.New(oidc.Config{
		ID: "globex-oidc", Issuer: a.op.Issuer(), ClientID: "globex-app", ClientSecret: sso.Secret("globex-secret"),
		RedirectURL: callback, StateStore: a.store, ReplayCache: a.store, Events: events,
		InsecureAllowHTTP: true, InsecureAllowPrivateNetwork: true, // the mock provider: plain http on 127.0.0.1
	})
	if err != nil {
		return nil, err
	}
	// Initech: the directory, searched for the email by a service account,
	// over StartTLS with the directory's own CA.
	initech, err := ldap.New(ldap.Config{
		ID: "initech-ldap", URLs: []string{a.dir.URL()}, CACertPEM: a.dir.CACertPEM(), TrustEmail: true, Events: events,
		Search: &ldap.Search{BaseDN: ldaptest.SampleBaseDN, ObjectClass: "inetOrgPerson",
			BindDN: ldaptest.SampleServiceDN, BindPassword: sso.Secret(ldaptest.SampleServicePassword)},
	})
	if err != nil {
		return nil, err
	}
	// The three accounts, each declared once. Acme and Initech require
	// single sign-on with the administrators' break-glass; Globex makes it
	// optional. example.com is claimed by two accounts (Shared), so its
	// people choose.
	shared := []discovery.Domain{{Name: "example.com", Shared: true}}
	live := policy.Connection{Stage: policy.StageLive}
	required := policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true}
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.url, Accounts: []login.Account{
		{ID: "acme", Name: "Acme", Domains: []discovery.Domain{{Name: "acme.example"}}, Policy: required,
			Connections: []login.Connection{{Authenticator: acme, DisplayName: "Acme SAML", Policy: live}}},
		{ID: "globex", Name: "Globex", Domains: shared, Policy: policy.Policy{Mode: policy.ModeSSOOptional},
			Connections: []login.Connection{{Authenticator: globex, DisplayName: "Globex OpenID", Policy: live}}},
		{ID: "initech", Name: "Initech", Domains: shared, Policy: required,
			Connections: []login.Connection{{Authenticator: initech, DisplayName: "Initech directory", Policy: live}}},
	}})
	if err != nil {
		return nil, err
	}
	a.cleanup.Add(func() { _ = reg.Close() })

	users := login.StoreUsers{Store: a.store, AdminRoles: []string{"administrator"}}
	passwords := host.NewPasswords(users)
	if err := host.AddUsers(ctx, a.store, passwords,
		host.User{Email: "root@acme.example", Password: "root-password", Members: []host.Member{{Account: "acme", Roles: []string{"administrator"}}}},
		host.User{Email: "sam@acme.example", Password: "sam-password", Members: []host.Member{{Account: "acme", Roles: []string{"operator"}}}},
		host.User{Email: "alice@example.com", Password: "alice-app-password", Members: []host.Member{
			{Account: "globex", Roles: []string{"operator"}}, {Account: "initech", Roles: []string{"operator"}}}},
		host.User{Email: "bob@example.com", Members: []host.Member{{Account: "initech", Roles: []string{"operator"}}}},
	); err != nil {
		return nil, err
	}
	prov, err := provisioning.New(provisioning.Config{Store: a.store, Events: events})
	if err != nil {
		return nil, err
	}

	h, err := login.New(login.Config{
		Registry:      reg,
		Provisioner:   prov,
		Users:         users,
		Sessions:      a.sessions,
		Passwords:     passwords,
		StateStore:    a.store,
		CanAdminister: a.sessions.IsAdmin(users),
		Events:        events,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	a.home = &host.Home{
		Title:    "SAML, OpenID Connect and LDAP side by side",
		Intro:    "Acme logs in with SAML, Globex with OpenID Connect, Initech with its LDAP directory. Globex and Initech share example.com.",
		Sessions: a.sessions,
		Logins: []host.TestLogin{
			{Who: "sam@acme.example", Shows: "SAML"},
			{Who: "root@acme.example", Password: "root-password", Shows: "Acme's administrator: the password works although SSO is required"},
			{Who: "sam@acme.example", Password: "sam-password", Shows: "not an administrator: the password is refused"},
			{Who: "alice@example.com", Shows: "member of Globex and Initech: pick OpenID Connect, or the directory (password alice-password)"},
			{Who: "alice@example.com", Password: "alice-app-password", Shows: "the application's password grants Globex only"},
		},
	}
	mux := host.Mux(h, a.home, a.sessions.MeHandler(a.store))
	srv := host.Serve(ln, mux, logger)
	a.cleanup.Add(srv.Close)
	return a, nil
}

// Close stops the application and the mock identity providers.
func (a *app) Close() { a.cleanup.Run() }
