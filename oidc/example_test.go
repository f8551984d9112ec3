package oidc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"sort"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

// A whole login against an in-process provider: Begin redirects the
// browser, the provider sends it back to the callback, Complete returns the
// identity.
func Example() {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	op.AddClient(oidctest.Client{ID: "my-app", Secret: "secret", RedirectURIs: []string{"https://app.example/oidc/acme/callback"}})

	conn, err := oidc.New(oidc.Config{
		ID:           "acme",
		Issuer:       op.Issuer(),
		ClientID:     "my-app",
		ClientSecret: "secret",
		RedirectURL:  "https://app.example/oidc/acme/callback",
		CACertPEM:    op.CACertPEM(),
		// The test provider listens on loopback.
		InsecureAllowPrivateNetwork: true,
		StateStore:                  sso.NewMemoryStateStore(sso.MemoryOptions{}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	binding := sso.NewBinding() // kept in an HttpOnly cookie by the host
	step, err := conn.Begin(ctx, sso.BeginRequest{Binding: binding, ReturnTo: "/dashboard", LoginHint: "alice@example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The browser logs in at the provider and comes back to the callback.
	callback, err := oidctest.LoginAs(op.Client(), step.URL, "alice@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	id, err := conn.Complete(ctx, sso.CompleteRequest{Binding: binding, Params: callback.Query()})
	if err != nil {
		fmt.Println(sso.ReasonOf(err), err)
		return
	}
	fmt.Println(id.Subject, id.Email, id.EmailVerified)
	fmt.Println(id.DisplayName, id.Groups, id.ReturnTo)
	// Output:
	// alice-0001 alice@example.com true
	// Alice Liddell [staff admins editor] /dashboard
}

// Misbehaving providers produce typed errors whose Reason says what went
// wrong; the Detail is for administrators. An OAuth error answer of the
// provider is a *ProviderError inside the *sso.Error, with the provider's
// own code and description.
func Example_errors() {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	op.AddClient(oidctest.Client{ID: "my-app", Secret: "secret", RedirectURIs: []string{"https://app.example/cb"}})
	conn, _ := oidc.New(oidc.Config{ID: "acme", Issuer: op.Issuer(), ClientID: "my-app", ClientSecret: "secret",
		RedirectURL: "https://app.example/cb", CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true,
		StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})})
	ctx := context.Background()
	for _, m := range []oidctest.Misbehavior{
		{Expired: true},
		{HS256WithPublicKey: true},
		{EmailNotVerified: true},
		{CallbackError: "access_denied", CallbackErrorDescription: "User is not assigned to the application"},
	} {
		op.Misbehave(m)
		b := sso.NewBinding()
		step, _ := conn.Begin(ctx, sso.BeginRequest{Binding: b})
		cb, _ := op.Authorize(step.URL, "alice-0001")
		_, err := conn.Complete(ctx, sso.CompleteRequest{Binding: b, Params: cb.Query()})
		fmt.Println(sso.ReasonOf(err))
		var pe *oidc.ProviderError
		if errors.As(err, &pe) {
			fmt.Printf("  %s endpoint: %s: %s\n", pe.Endpoint, pe.Code, pe.Description)
		}
	}
	// Output:
	// expired
	// algorithm_not_allowed
	// email_not_verified
	// idp_error
	//   authorization endpoint: access_denied: User is not assigned to the application
}

// Check tells an administrator whether a provider can be used, before any
// connection is configured.
func ExampleCheck() {
	op, err := oidctest.NewServer(oidctest.Config{NoEndSession: true})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	r, err := oidc.Check(context.Background(), op.Issuer(), oidc.DiscoverOptions{CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("usable:", r.Usable, "pkce:", r.PKCE, "email scope:", r.EmailScope, "keys:", r.Keys)
	fmt.Println("auth methods:", r.SupportedAuthMethods)
	fmt.Println("warnings:", r.Warnings)
	// Output:
	// usable: true pkce: true email scope: true keys: 1
	// auth methods: [client_secret_basic client_secret_post private_key_jwt]
	// warnings: [no end_session_endpoint: logout ends the application's session only]
}

// ParseMetadata and Compatibility judge a discovery document offline, e.g.
// one pasted into an admin form.
func ExampleParseMetadata() {
	doc := []byte(`{
	  "issuer": "https://login.example.com/tenant-1",
	  "authorization_endpoint": "https://login.example.com/tenant-1/authorize",
	  "token_endpoint": "https://login.example.com/tenant-1/token",
	  "jwks_uri": "https://login.example.com/tenant-1/keys",
	  "response_types_supported": ["id_token", "token id_token"],
	  "scopes_supported": ["openid", "profile"],
	  "token_endpoint_auth_methods_supported": ["client_secret_jwt"],
	  "id_token_signing_alg_values_supported": ["HS256"]
	}`)
	m, err := oidc.ParseMetadata(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := m.Compatibility("https://login.example.com/tenant-1")
	fmt.Println("usable:", r.Usable)
	for _, s := range r.Missing {
		fmt.Println("-", s)
	}
	// Output:
	// usable: false
	// - the authorization code flow is not offered (response_types_supported lacks "code")
	// - the email scope is not offered (scopes_supported lacks "email")
	// - no supported token endpoint authentication method (provider offers client_secret_jwt; ssokit uses client_secret_basic, client_secret_post, private_key_jwt)
	// - no allowed ID token signing algorithm (provider offers HS256; ssokit accepts asymmetric algorithms only)
}

// CompleteWithTokens keeps the ID token for an RP-initiated logout.
func ExampleConnection_Logout() {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	op.AddClient(oidctest.Client{ID: "my-app", Secret: "secret", RedirectURIs: []string{"https://app.example/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example/bye"}})
	conn, _ := oidc.New(oidc.Config{ID: "acme", Issuer: op.Issuer(), ClientID: "my-app", ClientSecret: "secret",
		RedirectURL: "https://app.example/cb", PostLogoutRedirectURL: "https://app.example/bye",
		CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true, StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})})
	ctx := context.Background()
	b := sso.NewBinding()
	step, _ := conn.Begin(ctx, sso.BeginRequest{Binding: b})
	cb, _ := op.Authorize(step.URL, "bob@example.com")
	_, toks, err := conn.CompleteWithTokens(ctx, sso.CompleteRequest{Binding: b, Params: cb.Query()})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Later: the host ends its session, then sends the browser to the
	// provider.
	logout, err := conn.Logout(ctx, oidc.LogoutRequest{IDTokenHint: toks.IDToken, State: "xyz"})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := url.Parse(logout.URL)
	var keys []string
	for k := range u.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println(logout.Kind, u.Path, keys)
	fmt.Println("printed ID token:", toks.IDToken)
	// Output:
	// redirect /end_session [client_id id_token_hint post_logout_redirect_uri state]
	// printed ID token: [redacted]
}

// VerifyIDToken checks a token outside a login, here one minted by the
// test provider.
func ExampleConnection_VerifyIDToken() {
	op, err := oidctest.NewServer(oidctest.Config{Algorithm: "ES256"})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	conn, _ := oidc.New(oidc.Config{ID: "acme", Issuer: op.Issuer(), ClientID: "my-app", ClientSecret: "secret",
		RedirectURL: "https://app.example/cb", CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true,
		StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})})
	ctx := context.Background()
	tok, err := conn.VerifyIDToken(ctx, op.Sign(op.Claims("my-app", "alice-0001", "n-42")), "n-42")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(tok.Subject, tok.Algorithm, tok.Audience)
	_, err = conn.VerifyIDToken(ctx, op.Sign(op.Claims("other-app", "alice-0001", "n-42")), "n-42")
	fmt.Println(sso.ReasonOf(err))
	// Output:
	// alice-0001 ES256 [my-app]
	// audience_mismatch
}
