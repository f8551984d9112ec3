package samltest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// An IdP mounted on any listener, as a demo application does: the base URL
// says where it is reachable, and it serves metadata, a login page, SSO,
// IdP-initiated login and SLO below that URL's path.
func Example() {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()

	idp, err := samltest.New(samltest.Config{
		BaseURL: srv.URL + "/idp",
		Users:   []samltest.User{{Email: "dana@corp.example", Password: "s3cret", GivenName: "Dana"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/idp/", idp)

	resp, err := http.Get(idp.MetadataURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("metadata:", resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println("entity ID ends with:", idp.EntityID()[len(srv.URL):])
	// Output:
	// metadata: 200 application/samlmetadata+xml
	// entity ID ends with: /idp/metadata
}

// Signed responses for unit tests and benchmarks, built directly, with a
// misbehaviour switch.
func ExampleIdP_EncodedResponse() {
	idp, _ := samltest.New(samltest.Config{BaseURL: "https://idp.example.com"})
	cfg := idp.ConnectionConfig("acme", "https://app.example.com/metadata", "https://app.example.com/acs")
	cfg.AllowIdPInitiated = true
	sp, _ := saml.New(context.Background(), cfg)

	good, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com"})
	id, err := sp.ValidateResponse(context.Background(), good, "")
	fmt.Println(id.Subject, err)

	forged, _ := idp.EncodedResponse(samltest.ResponseOptions{User: "alice@example.com",
		Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInExtensions}})
	_, err = sp.ValidateResponse(context.Background(), forged, "")
	fmt.Println(err != nil)
	// Output:
	// alice@example.com <nil>
	// true
}
