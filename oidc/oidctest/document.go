package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// DocumentServer serves a captured discovery document (say, Entra ID's or
// Okta's) from an httptest TLS server, with every https host in it
// rewritten to the server, so that discovery code can be tested against
// real providers' document shapes. Every path ending in
// /.well-known/openid-configuration answers with the document; every other
// path answers with a JWKS holding one RSA key.
type DocumentServer struct {
	srv *httptest.Server
	doc []byte
	// Issuer is the document's issuer after rewriting.
	Issuer string
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
	d.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			w.Write(d.doc)
			return
		}
		w.Write(jwks)
	}))
	t.Cleanup(d.srv.Close)
	d.doc = reHost.ReplaceAll(doc, []byte(d.srv.URL))
	var m struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(d.doc, &m); err != nil {
		t.Fatalf("oidctest.ServeDocument: %v", err)
	}
	d.Issuer = m.Issuer
	return d
}

// URL returns the server's base URL.
func (d *DocumentServer) URL() string { return d.srv.URL }

// Client returns an HTTP client that trusts the server.
func (d *DocumentServer) Client() *http.Client { return d.srv.Client() }

// CACertPEM returns the server's certificate in PEM form.
func (d *DocumentServer) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.srv.Certificate().Raw})
}
