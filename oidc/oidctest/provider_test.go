package oidctest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/sso/oidc/oidctest"
)

const redirect = "https://app.example/cb"

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

const verifier = "verifier-0123456789-0123456789-0123456789-0123"

func authURL(op *oidctest.Server, mut func(url.Values)) string {
	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {redirect}, "scope": {"openid email profile"},
		"state": {"st"}, "nonce": {"nn"}, "code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
	if mut != nil {
		mut(q)
	}
	return op.Issuer() + "/authorize?" + q.Encode()
}

func start(t *testing.T) *oidctest.Server {
	op := oidctest.Start(t, oidctest.Config{})
	op.AddClient(oidctest.Client{ID: "app", Secret: "pw", RedirectURIs: []string{redirect}, PostLogoutRedirectURIs: []string{"https://app.example/bye"}})
	return op
}

func noRedirect(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// redeem posts a token request and returns the status and JSON body.
func redeem(t *testing.T, op *oidctest.Server, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", op.Issuer()+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth("app", "pw")
	}
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func code(t *testing.T, op *oidctest.Server) string {
	t.Helper()
	u, err := op.Authorize(authURL(op, nil), "alice-0001")
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("state") != "st" || u.Query().Get("iss") != op.Issuer() {
		t.Fatalf("callback %s", u)
	}
	return u.Query().Get("code")
}

func tokenForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
}

func TestLoginPage(t *testing.T) {
	op := start(t)
	op.AddUser(oidctest.User{Subject: "eve", Email: "eve@example.com", Name: `<script>alert(1)</script>`})
	resp, err := op.Client().Get(authURL(op, func(q url.Values) { q.Set("login_hint", "bob@example.com") }))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{`value="alice-0001"`, `value="bob@example.com"`, `name="email"`, "&lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Error("login page not escaped or without CSP")
	}
	// LoginAs by email and by subject.
	for _, who := range []string{"bob@example.com", "alice-0001"} {
		u, err := oidctest.LoginAs(op.Client(), authURL(op, nil), who)
		if err != nil || u.Query().Get("code") == "" {
			t.Fatalf("LoginAs(%s) = %v, %v", who, u, err)
		}
	}
	if _, err := oidctest.LoginAs(op.Client(), authURL(op, nil), "nobody@example.com"); err == nil {
		t.Fatal("unknown user logged in")
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	op := start(t)
	c := noRedirect(op.Client())
	for name, mut := range map[string]func(url.Values){
		"unknown client":          func(q url.Values) { q.Set("client_id", "nope") },
		"unregistered redirect":   func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"redirect prefix trick":   func(q url.Values) { q.Set("redirect_uri", redirect+"/../x") },
		"redirect with extra arg": func(q url.Values) { q.Set("redirect_uri", redirect+"?x=1") },
	} {
		resp, err := c.Get(authURL(op, mut))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q; want a 400 page, no redirect", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for name, tc := range map[string]struct {
		mut  func(url.Values)
		want string
	}{
		"no PKCE":         {func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		"plain PKCE":      {func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		"implicit":        {func(q url.Values) { q.Set("response_type", "id_token") }, "unsupported_response_type"},
		"no openid scope": {func(q url.Values) { q.Set("scope", "email") }, "invalid_scope"},
	} {
		u, err := op.Authorize(authURL(op, tc.mut), "alice-0001")
		if err != nil || u.Query().Get("error") != tc.want || u.Query().Get("state") != "st" {
			t.Errorf("%s: %v %v; want error=%s", name, u, err, tc.want)
		}
	}
}

func TestTokenEndpoint(t *testing.T) {
	op := start(t)
	status, body := redeem(t, op, tokenForm(code(t, op)), true)
	if status != 200 || body["id_token"] == nil || body["access_token"] == nil || body["token_type"] != "Bearer" {
		t.Fatalf("token response %d %v", status, body)
	}
	// The ID token verifies with the JWKS and carries the request's nonce.
	jws, err := jose.ParseSigned(body["id_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify(op.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	if claims["nonce"] != "nn" || claims["aud"] != "app" || claims["iss"] != op.Issuer() || claims["email"] != "alice@example.com" || jws.Signatures[0].Header.KeyID != op.KeyID() {
		t.Fatalf("claims %v", claims)
	}
	// Userinfo with the access token.
	req, _ := http.NewRequest("GET", op.Issuer()+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	resp, err := op.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("userinfo %v %v", resp, err)
	}
	var ui map[string]any
	json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if ui["sub"] != "alice-0001" || ui["name"] != "Alice Liddell" {
		t.Fatalf("userinfo %v", ui)
	}
	req.Header.Set("Authorization", "Bearer wrong")
	resp, _ = op.Client().Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("userinfo with a wrong token: %d", resp.StatusCode)
	}

	tests := []struct {
		name  string
		form  func() url.Values
		basic bool
		want  string
	}{
		{"code used twice", func() url.Values { c := code(t, op); redeem(t, op, tokenForm(c), true); return tokenForm(c) }, true, "invalid_grant"},
		{"wrong verifier", func() url.Values { f := tokenForm(code(t, op)); f.Set("code_verifier", verifier+"x"); return f }, true, "invalid_grant"},
		{"no verifier", func() url.Values { f := tokenForm(code(t, op)); f.Del("code_verifier"); return f }, true, "invalid_grant"},
		{"other redirect_uri", func() url.Values { f := tokenForm(code(t, op)); f.Set("redirect_uri", redirect+"2"); return f }, true, "invalid_grant"},
		{"no client auth", func() url.Values { return tokenForm(code(t, op)) }, false, "invalid_client"},
		{"post for a basic client", func() url.Values {
			f := tokenForm(code(t, op))
			f.Set("client_id", "app")
			f.Set("client_secret", "pw")
			return f
		}, false, "invalid_client"},
		{"two methods", func() url.Values { f := tokenForm(code(t, op)); f.Set("client_secret", "pw"); return f }, true, "invalid_client"},
		{"wrong grant", func() url.Values { f := tokenForm(code(t, op)); f.Set("grant_type", "password"); return f }, true, "unsupported_grant_type"},
	}
	for _, tc := range tests {
		status, body := redeem(t, op, tc.form(), tc.basic)
		if status < 400 || body["error"] != tc.want {
			t.Errorf("%s: %d %v; want %s", tc.name, status, body, tc.want)
		}
	}
}

func TestCodeExpires(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	op := oidctest.Start(t, oidctest.Config{Now: clock})
	op.AddClient(oidctest.Client{ID: "app", Secret: "pw", RedirectURIs: []string{redirect}})
	c := code(t, op)
	now = now.Add(2 * time.Minute)
	if status, body := redeem(t, op, tokenForm(c), true); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", status, body)
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	op.AddClient(oidctest.Client{ID: "app", AuthMethod: oidctest.AuthPrivateKeyJWT, PublicKey: key.Public(), RedirectURIs: []string{redirect}})
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	assertion := func(mut func(map[string]any)) string {
		c := map[string]any{"iss": "app", "sub": "app", "aud": op.Issuer() + "/token", "exp": time.Now().Add(time.Minute).Unix(),
			"iat": time.Now().Unix(), "jti": base64.RawURLEncoding.EncodeToString([]byte(time.Now().String()))}
		if mut != nil {
			mut(c)
		}
		b, _ := json.Marshal(c)
		obj, _ := signer.Sign(b)
		s, _ := obj.CompactSerialize()
		return s
	}
	form := func(a string) url.Values {
		f := tokenForm(code(t, op))
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", a)
		return f
	}
	good := assertion(nil)
	if status, body := redeem(t, op, form(good), false); status != 200 {
		t.Fatalf("good assertion: %d %v", status, body)
	}
	for name, a := range map[string]string{
		"replayed jti": good,
		"wrong aud":    assertion(func(c map[string]any) { c["aud"] = "https://other.example/token" }),
		"expired":      assertion(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"wrong iss":    assertion(func(c map[string]any) { c["iss"] = "someone" }),
		"no jti":       assertion(func(c map[string]any) { delete(c, "jti") }),
		"not a JWT":    "abc",
	} {
		if status, body := redeem(t, op, form(a), false); status != 401 || body["error"] != "invalid_client" {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
}

func TestKeysAndSwitches(t *testing.T) {
	op := start(t)
	jwks := func() jose.JSONWebKeySet {
		resp, err := op.Client().Get(op.Issuer() + "/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s jose.JSONWebKeySet
		json.NewDecoder(resp.Body).Decode(&s)
		return s
	}
	first := op.KeyID()
	kid := op.RotateKey()
	if s := jwks(); len(s.Keys) != 2 || s.Keys[0].KeyID != first || s.Keys[1].KeyID != kid || kid == first {
		t.Fatalf("after rotation %v", s.Keys)
	}
	op.RetireOldKeys()
	if s := jwks(); len(s.Keys) != 1 || s.Keys[0].KeyID != kid || !s.Keys[0].IsPublic() {
		t.Fatalf("after retiring %v", s.Keys)
	}

	op.Misbehave(oidctest.Misbehavior{AlgNone: true})
	if tok := op.Sign(op.Claims("app", "s", "")); !strings.HasSuffix(tok, ".") {
		t.Fatalf("alg none token %q", tok)
	}
	op.Misbehave(oidctest.Misbehavior{EncryptedIDToken: true})
	if tok := op.Sign(op.Claims("app", "s", "")); strings.Count(tok, ".") != 4 {
		t.Fatalf("JWE %q", tok)
	}
	op.Misbehave(oidctest.Misbehavior{Down: true})
	resp, _ := op.Client().Get(op.Issuer() + "/.well-known/openid-configuration")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("down: %d", resp.StatusCode)
	}
	// Down at one endpoint only.
	op.Misbehave(oidctest.Misbehavior{Down: true, Endpoint: "/jwks"})
	for path, want := range map[string]int{"/jwks": 503, "/.well-known/openid-configuration": 200} {
		resp, _ := op.Client().Get(op.Issuer() + path)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s with /jwks down: %d", path, resp.StatusCode)
		}
	}
	op.Misbehave(oidctest.Misbehavior{})
	if s := op.Stats(); s.Discovery != 1 || s.JWKS != 2 { // a request answered "down" reaches no endpoint
		t.Fatalf("stats %+v", s)
	}
}

func TestUserinfoSwitches(t *testing.T) {
	op := start(t)
	_, body := redeem(t, op, tokenForm(code(t, op)), true)
	get := func() (int, map[string]any) {
		req, _ := http.NewRequest("GET", op.Issuer()+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
		resp, err := op.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	op.Misbehave(oidctest.Misbehavior{UserinfoError: "insufficient_scope"})
	if status, m := get(); status != 401 || m["error"] != "insufficient_scope" {
		t.Fatalf("userinfo error: %d %v", status, m)
	}
	op.Misbehave(oidctest.Misbehavior{UserinfoWrongSubject: true, UserinfoClaims: map[string]any{"department": "R&D"}})
	if status, m := get(); status != 200 || m["sub"] == "alice-0001" || m["department"] != "R&D" {
		t.Fatalf("userinfo: %d %v", status, m)
	}
}

func TestEndSession(t *testing.T) {
	op := start(t)
	_, body := redeem(t, op, tokenForm(code(t, op)), true)
	c := noRedirect(op.Client())
	get := func(q url.Values) *http.Response {
		resp, err := c.Get(op.Issuer() + "/end_session?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get(url.Values{"id_token_hint": {body["id_token"].(string)}, "post_logout_redirect_uri": {"https://app.example/bye"}, "state": {"s1"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "https://app.example/bye?state=s1" {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if l := op.Logouts(); len(l) != 1 || l[0].Subject != "alice-0001" || l[0].ClientID != "app" {
		t.Fatalf("logouts %+v", l)
	}
	if resp := get(url.Values{"id_token_hint": {"forged.token.x"}}); resp.StatusCode != 400 {
		t.Fatalf("forged hint: %d", resp.StatusCode)
	}
	if resp := get(url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"https://evil.example/"}}); resp.StatusCode != 400 {
		t.Fatalf("unregistered post-logout URL: %d", resp.StatusCode)
	}
	if resp := get(url.Values{"client_id": {"app"}}); resp.StatusCode != 200 {
		t.Fatalf("plain logout: %d", resp.StatusCode)
	}
}

func TestPath(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{Path: "/tenants/acme/"})
	root := strings.TrimSuffix(op.URL(), "/tenants/acme")
	if root == op.URL() || op.Issuer() != op.URL() {
		t.Fatalf("URL %s, issuer %s", op.URL(), op.Issuer())
	}
	c := op.Client()
	resp, err := c.Get(root + "/tenants/acme/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d["issuer"] != root+"/tenants/acme" || d["token_endpoint"] != root+"/tenants/acme/token" {
		t.Fatalf("discovery %v", d)
	}
	for _, u := range []string{root + "/.well-known/openid-configuration", root + "/tenants/acme", root + "/tenants/acmex/jwks"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s outside the issuer path: %d", u, resp.StatusCode)
		}
	}
	if _, err := oidctest.NewServer(oidctest.Config{Path: "tenants"}); err == nil {
		t.Error("relative Path accepted")
	}
	if _, err := oidctest.NewServer(oidctest.Config{Algorithm: "HS256"}); err == nil {
		t.Error("Algorithm HS256 accepted")
	}
}

// TestTLSAndNoTLS: the server is https with its own CA by default, which
// Client and CACertPEM trust and the system roots do not; NoTLS is plain
// http.
func TestTLSAndNoTLS(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{})
	discovery := op.URL() + "/.well-known/openid-configuration"
	if !strings.HasPrefix(op.URL(), "https://127.0.0.1:") || op.CACertPEM() == nil {
		t.Fatalf("URL %s, CA %q", op.URL(), op.CACertPEM())
	}
	resp, err := op.Client().Get(discovery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := http.Get(discovery); err == nil {
		t.Fatal("the system roots trust the server's CA")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(op.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	own := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err = own.Get(discovery); err != nil {
		t.Fatalf("discovery trusting CACertPEM: %v", err)
	}
	resp.Body.Close()
	own.CloseIdleConnections()

	plain := oidctest.Start(t, oidctest.Config{NoTLS: true})
	if !strings.HasPrefix(plain.URL(), "http://127.0.0.1:") || plain.CACertPEM() != nil {
		t.Fatalf("NoTLS: URL %s, CA %q", plain.URL(), plain.CACertPEM())
	}
	if resp, err = plain.Client().Get(plain.URL() + "/jwks"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("jwks over http: %v %v", resp, err)
	}
	resp.Body.Close()
	plain.Close()
	if _, err := plain.Client().Get(plain.URL() + "/jwks"); err == nil {
		t.Fatal("the server answers after Close")
	}
}
