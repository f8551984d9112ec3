package safehttp_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/safehttp"
)

// Validate a configured metadata URL without any network I/O.
func ExampleCheckURL() {
	for _, u := range []string{
		"https://idp.example.com/metadata",
		"http://idp.example.com/metadata",
		"https://169.254.169.254/latest/meta-data/",
	} {
		err := safehttp.CheckURL(u, safehttp.Options{})
		fmt.Printf("%s: %q\n", u, sso.ReasonOf(err))
	}
	// Output:
	// https://idp.example.com/metadata: ""
	// http://idp.example.com/metadata: "address_not_allowed"
	// https://169.254.169.254/latest/meta-data/: "address_not_allowed"
}

// Fetch a document. The test server listens on 127.0.0.1, which the default
// options refuse; InsecureAllowPrivateNetwork lets the client reach it.
func ExampleGet() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<EntityDescriptor entityID="https://idp.example.com"/>`)
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	ctx := context.Background()

	_, err := safehttp.Get(ctx, safehttp.NewClient(safehttp.Options{RootCAs: roots}), srv.URL, 0)
	fmt.Println(sso.ReasonOf(err))

	client := safehttp.NewClient(safehttp.Options{RootCAs: roots, InsecureAllowPrivateNetwork: true})
	resp, err := safehttp.Get(ctx, client, srv.URL, 64<<10)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, string(resp.Body))
	// Output:
	// address_not_allowed
	// 200 <EntityDescriptor entityID="https://idp.example.com"/>
}
