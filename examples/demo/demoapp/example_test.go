package demoapp_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssokit/sso/examples/demo/demoapp"
)

// Start runs the demo in-process on free ports, as tests do: the
// application on localhost, the mock identity providers on 127.0.0.1.
func Example() {
	app, err := demoapp.Start(context.Background(), demoapp.Options{
		Addr: "localhost:0", SAMLAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", LDAPAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	resp, err := http.Get(app.URL() + "/me")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("GET /me:", resp.StatusCode)
	fmt.Println("app on localhost:", strings.HasPrefix(app.URL(), "http://localhost:"))
	fmt.Println("SAML IdP on 127.0.0.1:", strings.HasPrefix(app.SAMLURL(), "http://127.0.0.1:"))
	// Output:
	// GET /me: 401
	// app on localhost: true
	// SAML IdP on 127.0.0.1: true
}

// Check reports every problem of a configuration file with its field and
// its fix, and starts nothing.
func ExampleCheck() {
	dir, _ := os.MkdirTemp("", "demo-example-")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "config.json")
	_ = os.WriteFile(file, []byte(`{"accounts": [{"id": "acme", "policy": {"mode": "sso_mandatory"},
  "connections": [{"id": "acme-op", "protocol": "oidc", "oidc": {"issuer": "https://op.acme.example"}}]}]}`), 0o600)
	fmt.Println(demoapp.Check(demoapp.Options{ConfigFile: file}))
	// Output:
	// the configuration has 3 problem(s):
	//   accounts[0].policy.mode: "sso_mandatory" is not a mode: use "password_only", "sso_optional" or "sso_required"
	//   accounts[0].connections[0].oidc.client_id: missing: the client ID registered at the provider
	//   accounts[0].connections[0].oidc.client_secret: missing: the client secret registered at the provider
}
