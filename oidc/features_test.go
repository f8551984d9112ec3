package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

func TestUserinfo(t *testing.T) {
	override := map[string]any{"name": "Alice from userinfo", "department": "R&D"}
	tests := []struct {
		name         string
		mode         oidc.UserinfoMode
		emailOnlyUI  bool
		wantCalls    int
		wantName     string
		wantEmail    string
		wantDeptFrom string
	}{
		{"when needed, ID token complete", oidc.UserinfoWhenNeeded, false, 0, "Alice Liddell", "alice@example.com", ""},
		{"when needed, email only in userinfo", oidc.UserinfoWhenNeeded, true, 1, "Alice from userinfo", "alice@example.com", "R&D"},
		{"always, ID token wins", oidc.UserinfoAlways, false, 1, "Alice Liddell", "alice@example.com", "R&D"},
		{"preferred, userinfo wins", oidc.UserinfoPreferred, false, 1, "Alice from userinfo", "alice@example.com", "R&D"},
		{"never", oidc.UserinfoNever, false, 0, "Alice Liddell", "alice@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
				c.Userinfo = tc.mode
			})
			e.op.Misbehave(oidctest.Misbehavior{EmailOnlyInUserinfo: tc.emailOnlyUI, UserinfoClaims: override})
			id, err := e.login("alice-0001")
			if err != nil {
				t.Fatal(err)
			}
			if n := e.op.Stats().Userinfo; n != tc.wantCalls {
				t.Errorf("userinfo called %d times; want %d", n, tc.wantCalls)
			}
			if id.DisplayName != tc.wantName || id.Email != tc.wantEmail || !id.EmailVerified || id.Attribute("department") != tc.wantDeptFrom {
				t.Errorf("identity name %q email %q verified %v department %q", id.DisplayName, id.Email, id.EmailVerified, id.Attribute("department"))
			}
			if id.Subject != "alice-0001" {
				t.Errorf("subject %q", id.Subject)
			}
		})
	}
	t.Run("userinfo email unverified", func(t *testing.T) {
		// The email comes from userinfo, so its email_verified must too.
		e := newEnv(t, oidctest.Config{}, nil)
		e.op.Misbehave(oidctest.Misbehavior{EmailOnlyInUserinfo: true, UserinfoClaims: map[string]any{"email_verified": false}})
		_, err := e.login("alice-0001")
		wantReason(t, err, sso.ReasonEmailNotVerified)
	})
	t.Run("userinfo verifies the ID token's address", func(t *testing.T) {
		// The ID token has the email without email_verified; userinfo
		// names the same address and verifies it.
		e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.Userinfo = oidc.UserinfoAlways })
		e.op.Misbehave(oidctest.Misbehavior{OmitEmailVerified: true, UserinfoClaims: map[string]any{"email": "Alice@example.com", "email_verified": true}})
		id, err := e.login("alice-0001")
		if err != nil || id.Email != "alice@example.com" || !id.EmailVerified {
			t.Fatalf("identity %+v, %v", id, err)
		}
	})
	t.Run("email_verified as a string", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{}, nil)
		e.op.AddUser(oidctest.User{Subject: "cognito-1", Email: "c@example.com", Name: "C", Claims: map[string]any{"email_verified": "true"}})
		e.op.AddUser(oidctest.User{Subject: "cognito-2", Email: "d@example.com", Name: "D", Claims: map[string]any{"email_verified": "false"}})
		if id, err := e.login("cognito-1"); err != nil || !id.EmailVerified {
			t.Fatalf("identity %+v, %v", id, err)
		}
		_, err := e.login("cognito-2")
		wantReason(t, err, sso.ReasonEmailNotVerified)
	})
	t.Run("provider without userinfo", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{NoUserinfo: true}, nil)
		e.op.Misbehave(oidctest.Misbehavior{EmailOnlyInUserinfo: true})
		_, err := e.login("alice-0001")
		wantReason(t, err, sso.ReasonEmailMissing)
	})
}

func TestClaimsMapping(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
		c.Attributes = sso.AttributeMap{Groups: []string{"teams", "roles"}, DisplayName: []string{}, Email: []string{"mail"}}
		c.SplitGroups = true
	})
	e.op.AddUser(oidctest.User{Subject: "carol", Email: "ignored@example.com", Name: "Carol", Roles: []string{"admin", "viewer"},
		Claims: map[string]any{"mail": "Carol@Bücher.Example", "teams": "red, blue,red", "sso_module": "crm", "lang": "fr",
			"address": map[string]any{"locality": "Paris"}, "employee_number": 12345678901234567}})
	id, err := e.login("carol")
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "Carol@xn--bcher-kva.example" {
		t.Errorf("email %q", id.Email)
	}
	if !slices.Equal(id.Groups, []string{"red", "blue", "admin", "viewer"}) {
		t.Errorf("groups %v", id.Groups)
	}
	if id.FirstAttribute("sso_module") != "crm" || id.FirstAttribute("lang") != "fr" || id.DisplayName != "" {
		t.Errorf("module %q language %q display %q", id.FirstAttribute("sso_module"), id.FirstAttribute("lang"), id.DisplayName)
	}
	if got := id.Attribute("address"); got != `{"locality":"Paris"}` {
		t.Errorf("address attribute %q", got)
	}
	if got := id.Attribute("employee_number"); got != "12345678901234567" {
		t.Errorf("large number attribute %q", got)
	}
	if got := id.Attributes["roles"]; !slices.Equal(got, []string{"admin", "viewer"}) {
		t.Errorf("roles attribute %v", got)
	}
}

func TestInvalidEmailClaim(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	e.op.AddUser(oidctest.User{Subject: "dave", Email: "dave at example"})
	_, err := e.login("dave")
	wantReason(t, err, sso.ReasonInvalidEmail)
}

func pemKey(t testing.TB, k crypto.Signer) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestTokenEndpointAuth(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name   string
		client oidctest.Client
		mutate func(*oidc.Config)
		want   sso.Reason
	}{
		{"basic", oidctest.Client{AuthMethod: oidctest.AuthClientSecretBasic, Secret: secret}, nil, ""},
		{"post", oidctest.Client{AuthMethod: oidctest.AuthClientSecretPost, Secret: secret},
			func(c *oidc.Config) { c.AuthMethod = oidc.AuthClientSecretPost }, ""},
		{"private_key_jwt RSA", oidctest.Client{AuthMethod: oidctest.AuthPrivateKeyJWT, PublicKey: rsaKey.Public()},
			func(c *oidc.Config) {
				c.AuthMethod, c.ClientSecret, c.PrivateKeyPEM, c.PrivateKeyID = oidc.AuthPrivateKeyJWT, "", sso.Secret(pemKey(t, rsaKey)), "k1"
			}, ""},
		{"private_key_jwt EC, issuer audience", oidctest.Client{AuthMethod: oidctest.AuthPrivateKeyJWT, PublicKey: ecKey.Public()},
			func(c *oidc.Config) {
				c.AuthMethod, c.ClientSecret, c.PrivateKeyPEM = oidc.AuthPrivateKeyJWT, "", sso.Secret(ecPEM)
				c.AssertionAudience = c.Issuer
			}, ""},
		{"wrong secret", oidctest.Client{AuthMethod: oidctest.AuthClientSecretBasic, Secret: "other"}, nil, sso.ReasonTokenExchangeFailed},
		{"post where basic is registered", oidctest.Client{AuthMethod: oidctest.AuthClientSecretBasic, Secret: secret},
			func(c *oidc.Config) { c.AuthMethod = oidc.AuthClientSecretPost }, sso.ReasonTokenExchangeFailed},
		{"private_key_jwt with another key", oidctest.Client{AuthMethod: oidctest.AuthPrivateKeyJWT, PublicKey: otherKey.Public()},
			func(c *oidc.Config) {
				c.AuthMethod, c.ClientSecret, c.PrivateKeyPEM = oidc.AuthPrivateKeyJWT, "", sso.Secret(pemKey(t, rsaKey))
			}, sso.ReasonTokenExchangeFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oidctest.Config{}, tc.mutate)
			tc.client.ID, tc.client.RedirectURIs = clientID, []string{redirectURL}
			e.op.AddClient(tc.client)
			id, err := e.login("alice-0001")
			if tc.want == "" {
				if err != nil || id.Subject != "alice-0001" {
					t.Fatalf("login: %v", err)
				}
				return
			}
			wantReason(t, err, tc.want)
			if !strings.Contains(err.Error(), "invalid_client") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.PostLogoutRedirectURL = "https://app.example/logged-out" })
	id, toks, err := e.conn.CompleteWithTokens(context.Background(), sso.CompleteRequest{Binding: e.binding,
		Params: e.callback(e.begin(sso.BeginRequest{}), "alice-0001")})
	if err != nil {
		t.Fatal(err)
	}
	if toks.IDToken == "" || toks.AccessToken == "" || toks.Claims.Subject != id.Subject || toks.Expiry.IsZero() {
		t.Fatalf("tokens %+v", toks)
	}
	if s := toks.IDToken.String(); s != "[redacted]" {
		t.Fatalf("ID token printed as %q", s)
	}
	step, err := e.conn.Logout(context.Background(), oidc.LogoutRequest{IDTokenHint: toks.IDToken, State: "st"})
	if err != nil {
		t.Fatal(err)
	}
	c := *e.op.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(step.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "https://app.example/logged-out?state=st" {
		t.Fatalf("end_session answered %d %q", resp.StatusCode, loc)
	}
	l := e.op.Logouts()
	if len(l) != 1 || !l[0].IDTokenHintValid || l[0].Subject != "alice-0001" || l[0].ClientID != clientID {
		t.Fatalf("logouts %+v", l)
	}

	e2 := newEnv(t, oidctest.Config{NoEndSession: true}, nil)
	_, err = e2.conn.Logout(context.Background(), oidc.LogoutRequest{})
	wantReason(t, err, sso.ReasonLogoutNotSupported)
}

func TestManualEndpoints(t *testing.T) {
	var e *env
	e = newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
		iss := c.Issuer
		c.Endpoints = oidc.Endpoints{Authorization: iss + "/authorize", Token: iss + "/token", JWKS: iss + "/jwks", Userinfo: iss + "/userinfo"}
	})
	e.op.Misbehave(oidctest.Misbehavior{EmailOnlyInUserinfo: true})
	id, err := e.login("bob-0002")
	if err != nil || id.Email != "bob@example.com" {
		t.Fatalf("login: %+v, %v", id, err)
	}
	if s := e.op.Stats(); s.Discovery != 0 || s.JWKS != 1 || s.Userinfo != 1 {
		t.Fatalf("stats %+v; want no discovery", s)
	}
	// A hand-configured provider has no RFC 9207 flag: a callback without
	// iss is fine, a wrong one is not.
	e.op.Misbehave(oidctest.Misbehavior{CallbackWrongIss: true})
	_, err = e.login("bob-0002")
	wantReason(t, err, sso.ReasonIssuerMismatch)
}

func TestPlainHTTPProvider(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{NoTLS: true})
	op.AddClient(oidctest.Client{ID: clientID, Secret: secret, RedirectURIs: []string{"http://localhost:8080/cb"}})
	cfg := oidc.Config{ID: "demo", Issuer: op.Issuer(), ClientID: clientID, ClientSecret: secret, RedirectURL: "http://localhost:8080/cb",
		StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{}), InsecureAllowPrivateNetwork: true}
	_, err := oidc.New(cfg)
	wantReason(t, err, sso.ReasonInvalidConfig)
	cfg.InsecureAllowHTTP = true
	conn, err := oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := sso.NewBinding()
	step, err := conn.Begin(context.Background(), sso.BeginRequest{Binding: b})
	if err != nil {
		t.Fatal(err)
	}
	u, err := oidctest.LoginAs(op.Client(), step.URL, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Complete(context.Background(), sso.CompleteRequest{Binding: b, Params: u.Query()}); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := func() oidc.Config {
		return oidc.Config{ID: "c", Issuer: "https://idp.example", ClientID: "id", ClientSecret: "s",
			RedirectURL: "https://app.example/cb", StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})}
	}
	if err := (&oidc.Config{}).Validate(); err == nil {
		t.Fatal("zero Config valid")
	}
	g := good()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*oidc.Config)
		detail string
	}{
		{"no ID", func(c *oidc.Config) { c.ID = "" }, "ID"},
		{"http issuer", func(c *oidc.Config) { c.Issuer = "http://idp.example" }, "https"},
		{"issuer with query", func(c *oidc.Config) { c.Issuer = "https://idp.example?x=1" }, "query"},
		{"relative issuer", func(c *oidc.Config) { c.Issuer = "idp.example" }, "absolute"},
		{"no client ID", func(c *oidc.Config) { c.ClientID = "" }, "ClientID"},
		{"no secret", func(c *oidc.Config) { c.ClientSecret = "" }, "ClientSecret"},
		{"unknown method", func(c *oidc.Config) { c.AuthMethod = "client_secret_jwt" }, "AuthMethod"},
		{"private_key_jwt without key", func(c *oidc.Config) { c.AuthMethod = oidc.AuthPrivateKeyJWT }, "PrivateKeyPEM"},
		{"private_key_jwt bad key", func(c *oidc.Config) { c.AuthMethod, c.PrivateKeyPEM = oidc.AuthPrivateKeyJWT, "junk" }, "PEM"},
		{"no redirect", func(c *oidc.Config) { c.RedirectURL = "" }, "RedirectURL"},
		{"http redirect", func(c *oidc.Config) { c.RedirectURL = "http://app.example/cb" }, "https"},
		{"alg none", func(c *oidc.Config) { c.SigningAlgorithms = []string{"RS256", "none"} }, "unsigned"},
		{"alg HS256", func(c *oidc.Config) { c.SigningAlgorithms = []string{"HS256"} }, "HMAC"},
		{"alg unknown", func(c *oidc.Config) { c.SigningAlgorithms = []string{"RS1"} }, "RS1"},
		{"partial endpoints", func(c *oidc.Config) { c.Endpoints.Token = "https://idp.example/token" }, "Endpoints"},
		{"http endpoint", func(c *oidc.Config) {
			c.Endpoints = oidc.Endpoints{Authorization: "https://i/a", Token: "http://i/t", JWKS: "https://i/k"}
		}, "Endpoints.Token"},
		{"bad scope", func(c *oidc.Config) { c.Scopes = []string{"a b"} }, "Scopes"},
		{"bad userinfo mode", func(c *oidc.Config) { c.Userinfo = "sometimes" }, "Userinfo"},
		{"huge skew", func(c *oidc.Config) { c.ClockSkew = 3600e9 }, "ClockSkew"},
		{"bad CA", func(c *oidc.Config) { c.CACertPEM = []byte("not pem") }, "CACertPEM"},
		{"bad post-logout URL", func(c *oidc.Config) { c.PostLogoutRedirectURL = "/bye" }, "PostLogoutRedirectURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mutate(&c)
			err := c.Validate()
			wantReason(t, err, sso.ReasonInvalidConfig)
			if !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("err = %v; want it to mention %q", err, tc.detail)
			}
			if _, err := oidc.New(c); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	// Loopback redirect URLs may use http.
	c := good()
	c.RedirectURL = "http://127.0.0.1:8080/cb"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The secret never appears in errors or printed configs.
	c = good()
	c.ClientSecret = "hunter2"
	c.ID = ""
	if err := c.Validate(); strings.Contains(err.Error(), "hunter2") {
		t.Fatal("secret in error")
	}
	if s := (url.Values{"x": {c.ClientSecret.String()}}).Encode(); strings.Contains(s, "hunter2") {
		t.Fatal("secret printed")
	}
}
