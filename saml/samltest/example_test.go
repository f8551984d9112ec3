package samltest_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// An IdP on a free loopback port, over https with a CA of its own: Client
// trusts it, and CACertPEM gives the CA to a client of the caller's. In a
// test, samltest.Start(t, cfg) does the same and closes the server when
// the test ends.
func Example() {
	idp, err := samltest.NewServer(samltest.Config{
		Users: []samltest.User{{Email: "dana@corp.example", Password: "s3cret", GivenName: "Dana"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	resp, err := idp.Client().Get(idp.MetadataURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("metadata:", resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println("URL:", strings.Split(idp.URL(), ":")[0])
	fmt.Println("entity ID:", strings.TrimPrefix(idp.EntityID(), idp.URL()))
	// Output:
	// metadata: 200 application/samlmetadata+xml
	// URL: https
	// entity ID: /metadata
}

// A demo for a person's browser serves plain http, which the browser
// accepts without trusting a CA, on an address of its choosing.
func ExampleConfig_noTLS() {
	idp, err := samltest.NewServer(samltest.Config{NoTLS: true, Addr: "127.0.0.1:0", Path: "/idp"})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	fmt.Println(strings.HasPrefix(idp.SSOURL(), "http://127.0.0.1:"), strings.HasSuffix(idp.SSOURL(), "/idp/sso"), idp.CACertPEM() == nil)
	// Output: true true true
}

// Signed responses for unit tests and benchmarks, built directly, with a
// misbehavior switch. A fixed EntityID keeps the IdP's name the same from
// run to run.
func ExampleServer_EncodedResponse() {
	idp, err := samltest.NewServer(samltest.Config{EntityID: "https://idp.example.com/metadata"})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	cfg := idp.ConnectionConfig("acme", "https://app.example.com/metadata", "https://app.example.com/acs")
	cfg.AllowIdPInitiated = true
	sp, _ := saml.New(context.Background(), cfg)

	good, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com"})
	id, err := sp.ValidateResponse(context.Background(), good, "")
	fmt.Println(id.Subject, id.Issuer, err)

	forged, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com",
		Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInExtensions}})
	_, err = sp.ValidateResponse(context.Background(), forged, "")
	fmt.Println(err != nil)
	// Output:
	// alice@example.com https://idp.example.com/metadata <nil>
	// true
}
