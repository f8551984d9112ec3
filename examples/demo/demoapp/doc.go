// Package demoapp is the demo application of ssokit (examples/demo): a
// multi-tenant web application that embeds the login handler, with a
// built-in mock SAML IdP, OpenID provider and LDAP directory, an SQLite
// database (or PostgreSQL and Redis shared by several replicas), and
// accounts and users for every product scenario.
//
// The command examples/demo is a thin wrapper around Run. Tests start the
// application in-process:
//
//	app, err := demoapp.Start(ctx, demoapp.Options{Addr: "localhost:0",
//		SAMLAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", LDAPAddr: "127.0.0.1:0"})
//	...
//	defer app.Close()
//	resp, err := http.Get(app.URL() + "/me")
//
// The application listens on localhost and the mock identity providers on
// 127.0.0.1, so that a browser treats them as different sites and cookie or
// SameSite mistakes show.
//
// Routes: the login handler's (see package login), the start page /, /me
// (the session as JSON, 401 when logged out), /healthz, and
// /admin/{account}, the single sign-on settings page of an account for its
// administrators. Changes made on the admin page (the policy, connection
// stages, IdP metadata) are kept in the database and survive a restart with
// the same database file.
//
// Several replicas (Options.Postgres, Options.Redis) share the users,
// sessions, replay records and settings; a change made on one replica's
// admin page reaches the others by PostgreSQL notification within
// milliseconds, or within Options.SyncInterval, and is applied with one
// rebuild of the routing table (see sync.go). /healthz lists each
// dependency and answers 503 naming the one that is down.
//
// An App is one way a host application can do its own part: its passwords,
// its sessions and its settings screen. None of it is part of ssokit.
package demoapp
