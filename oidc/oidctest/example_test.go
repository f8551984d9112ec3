package oidctest_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/ssokit/sso/oidc/oidctest"
)

// A provider on a free loopback port, over https with a CA of its own:
// Client trusts it, and CACertPEM gives the CA to a relying party's own
// client (oidc.Config.CACertPEM). In a test, oidctest.Start(t, cfg) does
// the same and closes the server when the test ends.
func Example() {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()

	resp, err := op.Client().Get(op.URL() + "/.well-known/openid-configuration")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Split(op.URL(), ":")[0], op.Issuer() == op.URL(), op.Algorithm())
	// Output: 200 https true RS256
}

// Authorize answers an authorization request as the login page would.
func ExampleServer_Authorize() {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		log.Fatal(err)
	}
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

// A demo for a person's browser serves plain http, which the browser
// accepts without trusting a CA, on an address of its choosing, with an
// issuer path as real providers have.
func ExampleConfig_noTLS() {
	op, err := oidctest.NewServer(oidctest.Config{NoTLS: true, Addr: "127.0.0.1:0", Path: "/realms/acme"})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	fmt.Println(strings.HasPrefix(op.Issuer(), "http://127.0.0.1:"), strings.HasSuffix(op.Issuer(), "/realms/acme"), op.CACertPEM() == nil)
	// Output: true true true
}

// Misbehave switches make the provider break the rules; Sign and Claims
// mint tokens directly for unit tests and benchmarks.
func ExampleServer_Misbehave() {
	op, err := oidctest.NewServer(oidctest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	claims := op.Claims("my-app", "alice-0001", "nonce-1")

	fmt.Println(strings.Count(op.Sign(claims), "."))
	op.Misbehave(oidctest.Misbehavior{EncryptedIDToken: true})
	fmt.Println(strings.Count(op.Sign(claims), "."))
	op.Misbehave(oidctest.Misbehavior{AlgNone: true})
	fmt.Println(strings.HasSuffix(op.Sign(claims), "."))
	op.Misbehave(oidctest.Misbehavior{}) // correct again
	// Output:
	// 2
	// 4
	// true
}
