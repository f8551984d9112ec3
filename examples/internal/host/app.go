package host

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/provisioning"
)

// App is a running example application: ssokit's login handler with the
// host's own pieces around it (session, audit log, user store, password
// table, start page and /me), served on a loopback address. An example
// embeds it and brings what its scenario is about in a Setup: its
// identity providers, accounts and users.
type App struct {
	// URL is the application's base URL, e.g. "http://localhost:8080":
	// connections are configured with the URLs the handler serves below it
	// (login.EndpointsOf).
	URL      string
	Logger   *slog.Logger
	Audit    *Audit
	Sessions *Sessions

	// Set once the setup is done.
	Registry *login.Registry
	Store    provisioning.Store
	Users    login.StoreUsers
	Handler  *login.Handler
	Home     *Home

	notes   []string
	cleanup cleanup
}

// Setup is what an example brings to its App.
type Setup struct {
	// Registry holds the example's accounts and their connections, at the
	// App's URL. Required; the App closes it.
	Registry *login.Registry
	// Store keeps the application's users; a provisioning.MemoryStore when
	// nil.
	Store provisioning.Store
	// AdminRoles are the roles that make a member an administrator of the
	// account (login.StoreUsers.AdminRoles).
	AdminRoles []string
	// Users are added to Store, with their passwords, before anyone logs in.
	Users []User
	// Events receives the audit events of the login handler and the
	// provisioner; the App's Audit when nil.
	Events sso.EventFunc
	// StateStore is login.Config.StateStore.
	StateStore sso.StateStore
	// Administer lets the accounts' administrators run test logins and see
	// the details of failures (login.Config.CanAdminister).
	Administer bool
	// Home is the start page; its Sessions are the App's.
	Home Home
	// Notes are printed on start with the test logins, e.g. the mock
	// identity providers' URLs.
	Notes []string
	// Routes, when set, adds the example's own pages to the application's
	// routes.
	Routes func(*http.ServeMux)
}

// Start listens on addr (port 0 picks a free port), calls setup, which may
// use a.URL, a.Audit and a.Sessions and registers with OnClose what it
// starts, and serves the application in the background. On error it stops
// whatever was started.
func (a *App) Start(addr string, logger *slog.Logger, setup func(context.Context) (Setup, error)) (err error) {
	ctx := context.Background()
	a.Logger, a.Audit, a.Sessions = logger, NewAudit(logger), NewSessions()
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	ln, url, err := listen(addr)
	if err != nil {
		return err
	}
	a.URL = url
	a.OnClose(func() { ln.Close() })
	s, err := setup(ctx)
	if err != nil {
		return err
	}
	if err := a.build(ctx, s); err != nil {
		return err
	}
	mux := newMux(a.Handler, a.Home, a.Sessions.MeHandler(a.Store))
	if s.Routes != nil {
		s.Routes(mux)
	}
	srv := serve(ln, mux, logger)
	a.OnClose(srv.Close)
	return nil
}

// build makes the users, the provisioner, the login handler and the start
// page.
func (a *App) build(ctx context.Context, s Setup) error {
	if a.Registry = s.Registry; a.Registry != nil { // else login.New says what is missing
		a.OnClose(func() { _ = a.Registry.Close() })
	}
	a.Store = s.Store
	if a.Store == nil {
		a.Store = provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	}
	events := s.Events
	if events == nil {
		events = a.Audit.Event
	}
	a.Users = login.StoreUsers{Store: a.Store, AdminRoles: s.AdminRoles, SSOLogins: a.Sessions.SSOLogins}
	passwords := NewPasswords(a.Users)
	if err := addUsers(ctx, a.Store, passwords, s.Users...); err != nil {
		return err
	}
	prov, err := provisioning.New(provisioning.Config{Store: a.Store, Events: events})
	if err != nil {
		return err
	}
	cfg := login.Config{
		Registry:    s.Registry,
		Provisioner: prov,
		Users:       a.Users,
		Sessions:    a.Sessions,
		Passwords:   passwords,
		StateStore:  s.StateStore,
		Events:      events,
		Logger:      a.Logger,
	}
	if s.Administer {
		cfg.CanAdminister = a.Sessions.IsAdmin(a.Users)
	}
	if a.Handler, err = login.New(cfg); err != nil {
		return err
	}
	home := s.Home
	home.Sessions = a.Sessions
	a.Home, a.notes = &home, s.Notes
	return nil
}

// OnClose registers fn to run at Close, before the functions registered
// earlier.
func (a *App) OnClose(fn func()) { a.cleanup.add(fn) }

// Close stops the application and whatever its setup started.
func (a *App) Close() { a.cleanup.run() }

// Run prints the application's URL, notes and test logins, waits for
// Ctrl-C and closes the application.
func (a *App) Run() {
	a.Home.Print(os.Stdout, a.URL, a.notes...)
	waitForInterrupt()
	a.Close()
}

// Main is an example's main function: it parses the flags (-addr, and
// those the example defined), starts the example and runs it.
func Main[A interface{ Run() }](start func(addr string, logger *slog.Logger) (A, error)) {
	addr := flag.String("addr", "localhost:8080", "where the application listens")
	flag.Parse()
	a, err := start(*addr, newLogger())
	if err != nil {
		log.Fatal(err)
	}
	a.Run()
}
