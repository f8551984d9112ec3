package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/sso/internal/mockserver"
)

// DocumentServer serves a captured discovery document (say, Entra ID's or
// Okta's) on a loopback port over https with its own CA, as a Server does,
// with every https host in it rewritten to the server, so that discovery
// code can be tested against real providers' document shapes. Every path
// ending in /.well-known/openid-configuration answers with the document;
// every other path answers with a JWKS holding one RSA key.
type DocumentServer struct {
	srv    *mockserver.HTTP
	doc    []byte
	issuer string
}

var reHost = regexp.MustCompile(`https://[A-Za-z0-9.-]+(:[0-9]+)?`)

// ServeDocument starts a DocumentServer for doc and closes it when the test
// ends. It fails the test if doc is not a JSON object.
func ServeDocument(t testing.TB, doc []byte) *DocumentServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "doc-key", Algorithm: "RS256", Use: "sig"}}})
	d := &DocumentServer{}
	if d.srv, err = mockserver.NewHTTP("oidctest", "", false); err != nil {
		t.Fatalf("oidctest.ServeDocument: %v", err)
	}
	t.Cleanup(d.srv.Close)
	d.doc = reHost.ReplaceAll(doc, []byte(d.srv.URL()))
	var m struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(d.doc, &m); err != nil {
		t.Fatalf("oidctest.ServeDocument: %v", err)
	}
	d.issuer = m.Issuer
	d.srv.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			_, _ = w.Write(d.doc)
			return
		}
		_, _ = w.Write(jwks)
	}))
	return d
}

// URL returns the server's base URL, "https://127.0.0.1:port".
func (d *DocumentServer) URL() string { return d.srv.URL() }

// Issuer returns the document's issuer after rewriting.
func (d *DocumentServer) Issuer() string { return d.issuer }

// Client returns a new HTTP client that trusts the server's TLS
// certificate.
func (d *DocumentServer) Client() *http.Client { return d.srv.Client() }

// CACertPEM returns the certificate of the CA that signed the server's
// TLS certificate, in PEM form.
func (d *DocumentServer) CACertPEM() []byte { return d.srv.CACertPEM() }

// Close shuts the server down; ServeDocument's cleanup does it when the
// test ends.
func (d *DocumentServer) Close() { d.srv.Close() }
