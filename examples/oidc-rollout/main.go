// Command oidc-rollout shows how an account moves to OpenID Connect single
// sign-on in two steps, as Smart.pr onboards its customers:
//
//  1. Single sign-on is optional: the account's OpenID provider is
//     configured and people may log in with it, while their passwords keep
//     working. This is when the organisation tests its setup.
//  2. Single sign-on is required: an administrator switches the account on
//     its settings page (/admin). From then on a password login is refused
//     with a message that points to single sign-on, and the password is not
//     even checked.
//
// The switch goes through policy.Update, which refuses it (would_lock_out)
// while no administrator of the account has completed a single sign-on
// login: nobody can lock the account out by requiring a connection that
// has never worked.
//
// Run it with
//
//	go run ./examples/oidc-rollout
//
// and open http://localhost:8080. The mock OpenID provider runs on a free
// port of 127.0.0.1; the test logins are printed on start.
package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/examples/internal/host"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
)

const (
	account    = "newsroom"
	connection = "newsroom-entra"
)

// people are the application's users, created before single sign-on
// existed, each with a password.
var people = []host.User{
	{Email: "ada@newsroom.example", Password: "ada-password", GivenName: "Ada",
		Members: []host.Member{{Account: account, Roles: []string{"admin"}}}},
	{Email: "olly@newsroom.example", Password: "olly-password", GivenName: "Olly",
		Members: []host.Member{{Account: account, Roles: []string{"editor"}}}},
}

func main() { host.Main(start) }

// app is the running example.
type app struct {
	host.App
	op *oidctest.Server
	mu sync.Mutex // serialises policy changes
}

// start builds the application and serves it on addr in the background.
func start(addr string, logger *slog.Logger) (*app, error) {
	a := new(app)
	return a, a.Start(addr, logger, a.setup)
}

// setup starts the OpenID provider and declares the account, its users
// and its settings page.
func (a *app) setup(context.Context) (host.Setup, error) {
	// The customer's OpenID provider (here a mock one), where the
	// application is registered as a client with its callback URL.
	var err error
	if a.op, err = oidctest.NewServer(oidctest.Config{NoTLS: true, Users: []oidctest.User{
		{Subject: "ada-7f1c", Email: "ada@newsroom.example", GivenName: "Ada", FamilyName: "Admin"},
		{Subject: "olly-2b9e", Email: "olly@newsroom.example", GivenName: "Olly", FamilyName: "Otter"},
	}}); err != nil {
		return host.Setup{}, err
	}
	a.OnClose(a.op.Close)
	callback := login.EndpointsOf(a.URL, connection).Callback // the URL the handler serves
	a.op.AddClient(oidctest.Client{ID: "newsroom-app", Secret: "newsroom-secret", RedirectURIs: []string{callback}})

	// The connection: an OpenID Connect relying party. New does no I/O;
	// the provider's discovery document is fetched at the first login.
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	rp, err := oidc.New(oidc.Config{
		ID:           connection,
		Issuer:       a.op.Issuer(),
		ClientID:     "newsroom-app",
		ClientSecret: sso.Secret("newsroom-secret"),
		RedirectURL:  callback,
		StateStore:   states,
		Events:       a.Audit.Event,
		// The mock provider runs on plain http on 127.0.0.1. A real
		// provider needs neither switch.
		InsecureAllowHTTP:           true,
		InsecureAllowPrivateNetwork: true,
	})
	if err != nil {
		return host.Setup{}, err
	}
	// The account, declared once. Discovery: an email at
	// newsroom.example, or the SSO domain "newsroom", finds the
	// connection. Policy, step 1: single sign-on is optional.
	// Provisioning's zero value is the strictest: only users the
	// application already has (Smart.pr has no automatic provisioning),
	// matched by the email the provider verified, in the account's domain.
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: a.URL, Accounts: []login.Account{{
		ID: account, Name: "Newsroom Ltd", Aliases: []string{"newsroom"},
		Domains: []discovery.Domain{{Name: "newsroom.example"}},
		Policy:  policy.Policy{Mode: policy.ModeSSOOptional},
		Connections: []login.Connection{{Authenticator: rp, DisplayName: "Newsroom Entra ID",
			Policy: policy.Connection{Stage: policy.StageLive}}},
	}}})
	if err != nil {
		return host.Setup{}, err
	}

	return host.Setup{
		Registry:   reg,
		Users:      people, // the application's users, with their own passwords
		AdminRoles: []string{"admin"},
		Administer: true,
		Home: host.Home{
			Title: "OIDC rollout: optional, then required",
			Intro: "Newsroom Ltd logs in with its OpenID provider. Single sign-on starts optional; an administrator requires it on the account settings page.",
			Links: []host.Link{{Text: "Account settings (administrators)", URL: "/admin"}},
			Logins: []host.TestLogin{
				{Who: "olly@newsroom.example", Password: "olly-password", Shows: "password works while SSO is optional, is refused once it is required"},
				{Who: "olly@newsroom.example", Shows: "email only: single sign-on at the OpenID provider"},
				{Who: "ada@newsroom.example", Password: "ada-password", Shows: "administrator: requires SSO at /admin, after one SSO login of her own"},
			},
		},
		Notes: []string{"Mock OpenID provider: " + a.op.Issuer()},
		// The account's settings page.
		Routes: func(mux *http.ServeMux) {
			mux.HandleFunc("GET /admin", a.adminPage)
			mux.Handle("POST /admin", http.NewCrossOriginProtection().Handler(http.HandlerFunc(a.adminSubmit)))
		},
	}, nil
}

// setMode switches the account's mode, refusing a change that would lock
// every administrator out.
func (a *app) setMode(ctx context.Context, by string, mode policy.Mode) (*policy.Change, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, ok := a.Registry.Policy(account)
	if !ok {
		return nil, errors.New("no account " + account)
	}
	next := old
	next.Mode = mode
	admins, err := a.admins(ctx)
	if err != nil {
		return nil, err
	}
	p, change, err := policy.Update(old, next, admins, by, time.Now())
	if err != nil {
		return nil, err
	}
	if err := a.Registry.SetPolicy(account, p); err != nil {
		return nil, err
	}
	for _, e := range change.Events() {
		a.Audit.Event(ctx, e)
	}
	return change, nil
}

// admins returns the account's administrators with the connections they
// have logged in through, for lockout prevention: a.Users
// (login.StoreUsers) asks the sessions for them (its SSOLogins is
// host.Sessions.SSOLogins). A real application lists the account's members
// from its own user table and records their logins there.
func (a *app) admins(ctx context.Context) ([]policy.User, error) {
	var out []policy.User
	for _, u := range people {
		id, err := a.Users.UserByEmail(ctx, u.Email)
		if err != nil {
			return nil, err
		}
		f, err := a.Users.Facts(ctx, id, account)
		if err != nil {
			return nil, err
		}
		if f.Admin {
			out = append(out, f)
		}
	}
	return out, nil
}

var adminPage = template.Must(template.New("admin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Account settings</title></head><body><main>
<h1>Newsroom Ltd: single sign-on</h1>
{{if .Message}}<p role="alert" id="message">{{.Message}}</p>{{end}}
<p id="mode">Mode: {{.Mode}}</p>
<form method="post" action="/admin">
{{if eq .Mode "sso_required"}}<input type="hidden" name="mode" value="sso_optional"><button type="submit">Make single sign-on optional</button>
{{else}}<input type="hidden" name="mode" value="sso_required"><button type="submit">Require single sign-on</button>{{end}}
</form>
<p><a href="/">Home</a></p>
</main></body></html>
`))

func (a *app) renderAdmin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pol, ok := a.Registry.Policy(account)
	if !ok {
		http.Error(w, "no account "+account, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = adminPage.Execute(w, map[string]any{"Mode": string(pol.Mode), "Message": msg})
}

// adminPage serves GET /admin to the account's administrators.
func (a *app) adminPage(w http.ResponseWriter, r *http.Request) {
	if !a.Sessions.IsAdmin(a.Users)(r, account) {
		http.Error(w, "for administrators of the account only; log in first", http.StatusForbidden)
		return
	}
	a.renderAdmin(w, r, http.StatusOK, "")
}

// adminSubmit serves POST /admin: the switch of the account's mode.
func (a *app) adminSubmit(w http.ResponseWriter, r *http.Request) {
	if !a.Sessions.IsAdmin(a.Users)(r, account) {
		http.Error(w, "for administrators of the account only; log in first", http.StatusForbidden)
		return
	}
	mode := policy.Mode(r.PostFormValue("mode"))
	if mode != policy.ModeSSOOptional && mode != policy.ModeSSORequired {
		http.Error(w, "unknown mode", http.StatusBadRequest)
		return
	}
	change, err := a.setMode(r.Context(), a.Sessions.Current(r).User, mode)
	if err != nil {
		// Administrators see what to fix.
		msg := err.Error()
		var se *sso.Error
		if errors.As(err, &se) {
			msg = fmt.Sprintf("Not changed (%s): %s", se.Reason, se.Detail)
		}
		a.renderAdmin(w, r, http.StatusConflict, msg)
		return
	}
	a.renderAdmin(w, r, http.StatusOK, "Saved: "+fmt.Sprint(change.Summary))
}
