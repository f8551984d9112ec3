package oidctest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ssokit/sso/oidc/oidctest"
)

// NewServer runs the provider on an httptest TLS server; Authorize answers
// an authorization request as the login page would.
func ExampleNewServer() {
	op := oidctest.NewServer(oidctest.Options{})
	defer op.Close()
	op.AddClient(oidctest.Client{ID: "my-app", Secret: "secret", RedirectURIs: []string{"https://app.example/cb"}})

	authURL := op.Issuer() + "/authorize?response_type=code&client_id=my-app&redirect_uri=https://app.example/cb" +
		"&scope=openid+email&state=s1&nonce=n1&code_challenge_method=S256" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	callback, err := op.Authorize(authURL, "alice@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	q := callback.Query()
	fmt.Println(callback.Host, callback.Path, q.Get("state"), q.Get("code") != "", q.Get("iss") == op.Issuer())
	// Output: app.example /cb s1 true true
}

// New returns an http.Handler that can be mounted on any listener, e.g.
// a demo application's loopback port, under the issuer's path.
func ExampleNew() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p := oidctest.New(oidctest.Options{Issuer: srv.URL + "/idp"})
	mux.Handle("/idp/", p)

	resp, err := http.Get(srv.URL + "/idp/.well-known/openid-configuration")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.TrimPrefix(p.Issuer(), srv.URL), p.Algorithm())
	// Output: 200 /idp RS256
}

// Misbehave switches make the provider break the rules; Sign and Claims
// mint tokens directly for unit tests and benchmarks.
func ExampleProvider_Misbehave() {
	op := oidctest.NewServer(oidctest.Options{})
	defer op.Close()
	claims := op.Claims("my-app", "alice-0001", "nonce-1")

	fmt.Println(strings.Count(op.Sign(claims), "."))
	op.Misbehave(oidctest.Misbehaviour{EncryptedIDToken: true})
	fmt.Println(strings.Count(op.Sign(claims), "."))
	op.Misbehave(oidctest.Misbehaviour{AlgNone: true})
	fmt.Println(strings.HasSuffix(op.Sign(claims), "."))
	op.Misbehave(oidctest.Misbehaviour{}) // correct again
	// Output:
	// 2
	// 4
	// true
}
