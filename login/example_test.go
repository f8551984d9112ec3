package login_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// appSessions is the host application's session: here a cookie naming the
// user. A real application signs it or keeps it server-side.
type appSessions struct{}

func (appSessions) StartSession(w http.ResponseWriter, r *http.Request, res *login.Result) error {
	http.SetCookie(w, &http.Cookie{Name: "session", Value: res.User, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return nil
}

func (appSessions) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
	return nil, nil
}

func (appSessions) CurrentUser(r *http.Request) string {
	if c, err := r.Cookie("session"); err == nil {
		return c.Value
	}
	return ""
}

// Example mounts the login handler under /auth of an http.ServeMux, with
// one OpenID Connect connection for the account "acme".
func Example() {
	ctx := context.Background()
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})

	// The connection's protocol settings, at the URLs the handler serves
	// for it. New does no network I/O.
	const base = "https://app.example/auth"
	acme, err := oidc.New(oidc.Config{
		ID:           "acme-entra",
		Issuer:       "https://login.microsoftonline.com/0b0c0d0e/v2.0",
		ClientID:     "app-client-id",
		ClientSecret: sso.Secret("app-client-secret"),
		RedirectURL:  login.EndpointsOf(base, "acme-entra").Callback,
		StateStore:   states,
	})
	if err != nil {
		panic(err)
	}

	// The tenant, declared once: how people find it, who must use single
	// sign-on, and how its users are provisioned.
	reg, err := login.NewRegistry(login.RegistryConfig{BaseURL: base, Accounts: []login.Account{{
		ID: "acme", Name: "Acme", Aliases: []string{"acme"},
		Domains: []discovery.Domain{{Name: "acme.example"}},
		Policy:  policy.Policy{Mode: policy.ModeSSORequired, AdminsMayUsePassword: true},
		Connections: []login.Connection{{
			Authenticator: acme,
			Policy:        policy.Connection{Stage: policy.StageLive},
			Provisioning:  provisioning.Connection{JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"member"}}},
		}},
	}}})
	if err != nil {
		panic(err)
	}

	// The application's users.
	users := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	prov, _ := provisioning.New(provisioning.Config{Store: users})

	h, err := login.New(login.Config{
		Registry:    reg,
		Provisioner: prov,
		Users:       login.StoreUsers{Store: users, AdminRoles: []string{"admin"}},
		Sessions:    appSessions{},
		Passwords: login.PasswordCheckFunc(func(ctx context.Context, email string, pw sso.Secret) (string, error) {
			return "", errors.New("the application's own password check goes here")
		}),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", h)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/auth/login", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}

// ExampleHandler_Routes mounts a handler at the root of a ServeMux, where
// its routes sit beside the application's own.
func ExampleHandler_Routes() {
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	prov, _ := provisioning.New(provisioning.Config{Store: store})
	h, err := login.New(login.Config{
		Registry:    new(login.Registry),
		Provisioner: prov,
		Users:       login.StoreUsers{Store: store},
		Sessions:    appSessions{},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	for _, p := range h.Routes() {
		mux.Handle(p, h)
		fmt.Println(p)
	}
	// Output:
	// /login
	// /login/
	// /saml/
	// /oidc/
	// /ldap/
	// /logout
}
