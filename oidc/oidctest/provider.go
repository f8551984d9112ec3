// Package oidctest is an in-process OpenID provider for tests and demos:
// discovery, JWKS, a real HTML login page, token (client_secret_basic,
// client_secret_post and private_key_jwt, PKCE required), userinfo and
// end_session endpoints, RS256 or ES256 signing, and a switch for every
// misbehavior a relying party must catch (see [Misbehavior] and
// [Server.Misbehave]).
//
// It works in the manner of net/http/httptest: [Start] gives a test a
// [Server] on a free loopback port, over https with a CA of its own
// ([Server.Client] and [Server.CACertPEM] trust it), closed when the test
// ends; [NewServer] does the same for a program, which closes it. The
// issuer is the server's URL. [Config.NoTLS] makes it plain http, for a
// demo in a person's browser, and [Config.Addr] and [Config.Path] choose
// where it listens and the path of its issuer.
//
// [ServeDocument] serves a captured discovery document of a real provider
// instead, to test discovery against its shape.
package oidctest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/sso/internal/mockserver"
)

// User is a person who can log in at the provider.
type User struct {
	Subject string
	Email   string
	// UnverifiedEmail makes email_verified false for this user.
	UnverifiedEmail bool
	GivenName       string
	FamilyName      string
	Name            string
	Locale          string
	Groups          []string
	Roles           []string
	// Claims are further claims added to the ID token and userinfo.
	Claims map[string]any
}

// DefaultUsers returns the users a Server has when Config.Users is
// empty: alice and bob of example.com.
func DefaultUsers() []User {
	return []User{
		{Subject: "alice-0001", Email: "alice@example.com", GivenName: "Alice", FamilyName: "Liddell", Name: "Alice Liddell",
			Locale: "en-GB", Groups: []string{"staff", "admins"}, Roles: []string{"editor"}},
		{Subject: "bob-0002", Email: "bob@example.com", GivenName: "Bob", FamilyName: "Builder", Name: "Bob Builder",
			Locale: "de-DE", Groups: []string{"staff"}},
	}
}

// The token endpoint authentication methods a Client may register.
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
)

// Client is a registered relying party.
type Client struct {
	ID string
	// Secret is required for the client_secret methods.
	Secret string
	// AuthMethod is the one method the token endpoint accepts from this
	// client; AuthClientSecretBasic when empty.
	AuthMethod string
	// PublicKey verifies private_key_jwt assertions.
	PublicKey crypto.PublicKey
	// RedirectURIs are the registered callback URLs (exact match).
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered post-logout URLs.
	PostLogoutRedirectURIs []string
}

// Config configures a Server. Zero fields get defaults.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:8082"; a free port of
	// 127.0.0.1 when empty.
	Addr string
	// Path, e.g. "/realms/acme", is the path of the issuer, as a real
	// provider's often has; the endpoints are below it. Empty: the root.
	Path string
	// NoTLS serves plain http instead of https with the server's own CA.
	// Demos set it: a person's browser would reject the certificate.
	NoTLS bool
	// Algorithm is "RS256" (default) or "ES256".
	Algorithm string
	// Clients are the registered relying parties; see also AddClient.
	Clients []Client
	// Users defaults to DefaultUsers.
	Users []User
	// Now is the clock for tokens and codes; time.Now when nil.
	Now func() time.Time
	// NoIssParameter stops advertising and sending the RFC 9207 iss
	// parameter on the callback.
	NoIssParameter bool
	// NoEndSession removes the end_session_endpoint.
	NoEndSession bool
	// NoUserinfo removes the userinfo_endpoint.
	NoUserinfo bool
}

// Misbehavior switches make the provider break the protocol the way
// broken or hostile providers do (see Server.Misbehave). The zero value is
// a correct provider.
type Misbehavior struct {
	// ID token claims.
	WrongIssuer         bool   // iss names another provider
	WrongAudience       bool   // aud is another client
	ExtraAudience       string // aud also lists this value (azp is set to the client)
	OmitAZP             bool   // with ExtraAudience: no azp
	WrongAZP            bool   // azp names another client
	Expired             bool   // exp an hour ago
	IssuedInFuture      bool   // iat and nbf an hour ahead
	NonceMismatch       bool   // nonce differs from the request's
	WrongAtHash         bool   // at_hash of another access token
	OmitEmailVerified   bool   // no email_verified claim (like Entra ID)
	EmailNotVerified    bool   // email_verified false for everyone
	EmailOnlyInUserinfo bool   // email and profile claims only in userinfo
	// ID token signature.
	AlgNone            bool // unsigned token, alg "none"
	HS256WithPublicKey bool // HMAC-SHA256 keyed with the public key's PEM
	BadSignature       bool // signature bytes altered
	UnknownKeyID       bool // signed by a key that is not in the JWKS
	EncryptedIDToken   bool // the ID token is a JWE (5 parts)
	OmitIDToken        bool // the token response has no id_token
	// Callback.
	CallbackError            string // redirect back with this error code
	CallbackErrorDescription string
	CallbackWrongIss         bool // iss parameter names another provider
	OmitCallbackIss          bool // no iss parameter although advertised
	// Token and userinfo endpoints.
	TokenError           string // the token endpoint answers this OAuth error
	CodeReusable         bool   // codes may be redeemed more than once
	UserinfoWrongSubject bool   // userinfo is about someone else
	// UserinfoClaims are set in userinfo only, over the user's claims.
	UserinfoClaims map[string]any
	// UserinfoAsJWT answers userinfo with a signed JWT (application/jwt)
	// instead of JSON.
	UserinfoAsJWT bool
	// UserinfoError makes userinfo refuse the access token with this
	// OAuth error code (HTTP 401), e.g. "invalid_token".
	UserinfoError string
	// Availability.
	Delay time.Duration // every endpoint waits this long first (slow)
	Down  bool          // every endpoint answers 503
	// Endpoint limits Delay and Down to one endpoint, named by its path
	// below the issuer: "/.well-known/openid-configuration", "/jwks",
	// "/authorize", "/login", "/token", "/userinfo" or "/end_session".
	Endpoint string
}

// Stats counts requests per endpoint.
type Stats struct {
	Discovery, JWKS, Authorize, Login, Token, Userinfo, EndSession int
	// Busy is the time spent answering requests, from the handler's start
	// to its end, so that a benchmark can tell the provider's share of a
	// login (signing the ID token, say) from the relying party's.
	Busy time.Duration
}

// Logout is a recorded end_session request.
type Logout struct {
	ClientID              string
	Subject               string // from a valid id_token_hint
	IDTokenHintValid      bool
	LogoutHint            string
	PostLogoutRedirectURI string
	State                 string
}

// Server is an in-process OpenID provider on a loopback port. Its issuer
// is its URL; it serves below it:
//
//	GET  /.well-known/openid-configuration   discovery
//	GET  /jwks                               the signing keys
//	GET  /authorize                          authorization request -> login page
//	POST /login                              login form -> redirect to the client
//	POST /token                              token endpoint
//	GET|POST /userinfo                       userinfo endpoint
//	GET  /end_session                        RP-initiated logout
//
// A Server is safe for concurrent use.
type Server struct {
	srv      *mockserver.HTTP
	path     string // Config.Path, without trailing slash
	issuer   string
	alg      jose.SignatureAlgorithm
	now      func() time.Time
	issParam bool
	endSess  bool
	userinfo bool
	mux      *http.ServeMux

	mu       sync.Mutex
	keys     []*signingKey // published in the JWKS; the last one signs
	unknown  *signingKey   // signs for Misbehavior.UnknownKeyID
	clients  map[string]*Client
	users    []User
	requests map[string]*authRequest
	codes    map[string]*grant
	access   map[string]*grant
	jtis     map[string]bool
	mis      Misbehavior
	stats    Stats
	logouts  []Logout
	prompts  []string
	hints    []string
}

type signingKey struct {
	kid  string
	priv crypto.Signer
}

type authRequest struct {
	client, redirectURI, state, nonce, challenge, scope, loginHint, prompt string
}

type grant struct {
	req      *authRequest
	user     User
	authTime time.Time
	expires  time.Time
	access   string
}

// newServer returns a Server for cfg, without listener or issuer.
func newServer(cfg Config) (*Server, error) {
	if cfg.Path != "" && (!strings.HasPrefix(cfg.Path, "/") || strings.ContainsAny(cfg.Path, "?#")) {
		return nil, fmt.Errorf("oidctest: Path %q must be a path starting with /", cfg.Path)
	}
	p := &Server{
		path:     strings.TrimRight(cfg.Path, "/"),
		alg:      jose.RS256,
		now:      cfg.Now,
		issParam: !cfg.NoIssParameter,
		endSess:  !cfg.NoEndSession,
		userinfo: !cfg.NoUserinfo,
		clients:  map[string]*Client{},
		users:    slices.Clone(cfg.Users),
		requests: map[string]*authRequest{},
		codes:    map[string]*grant{},
		access:   map[string]*grant{},
		jtis:     map[string]bool{},
	}
	switch cfg.Algorithm {
	case "", "RS256":
	case "ES256":
		p.alg = jose.ES256
	default:
		return nil, fmt.Errorf("oidctest: Algorithm %q: use RS256 or ES256", cfg.Algorithm)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if len(p.users) == 0 {
		p.users = DefaultUsers()
	}
	for _, c := range cfg.Clients {
		p.AddClient(c)
	}
	p.keys = []*signingKey{p.newKey("key-1")}
	p.mux = http.NewServeMux()
	p.mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	p.mux.HandleFunc("GET /jwks", p.jwks)
	p.mux.HandleFunc("GET /authorize", p.authorize)
	p.mux.HandleFunc("POST /login", p.login)
	p.mux.HandleFunc("POST /token", p.token)
	p.mux.HandleFunc("/userinfo", p.userinfoHandler)
	p.mux.HandleFunc("GET /end_session", p.endSession)
	return p, nil
}

func (p *Server) newKey(kid string) *signingKey {
	var k crypto.Signer
	var err error
	if p.alg == jose.ES256 {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		panic(err)
	}
	return &signingKey{kid: kid, priv: k}
}

// unknownKey returns the provider's key that is never published, made on
// first use.
func (p *Server) unknownKey() *signingKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unknown == nil {
		p.unknown = p.newKey("unknown-key")
	}
	return p.unknown
}

// encryptionKey is the recipient of encrypted ID tokens, one per process:
// nobody decrypts them.
var encryptionKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// Issuer returns the issuer URL, which is URL.
func (p *Server) Issuer() string { return p.issuer }

// Algorithm returns the signing algorithm, "RS256" or "ES256".
func (p *Server) Algorithm() string { return string(p.alg) }

// AddClient registers (or replaces) a client.
func (p *Server) AddClient(c Client) {
	if c.AuthMethod == "" {
		c.AuthMethod = AuthClientSecretBasic
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[c.ID] = &c
}

// AddUser adds (or replaces, by Subject) a user.
func (p *Server) AddUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.users {
		if p.users[i].Subject == u.Subject {
			p.users[i] = u
			return
		}
	}
	p.users = append(p.users, u)
}

// Misbehave replaces the misbehavior switches; Misbehave(Misbehavior{})
// restores correct behavior.
func (p *Server) Misbehave(m Misbehavior) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mis = m
}

// RotateKey adds a new signing key with a new key ID, publishes it in the
// JWKS and signs with it from now on. The old keys stay published until
// RetireOldKeys. It returns the new key ID.
func (p *Server) RotateKey() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.newKey(fmt.Sprintf("key-%d", len(p.keys)+1+int(p.now().UnixNano()%1000)))
	p.keys = append(p.keys, k)
	return k.kid
}

// RetireOldKeys removes every key but the current one from the JWKS.
func (p *Server) RetireOldKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = p.keys[len(p.keys)-1:]
}

// KeyID returns the current signing key's ID.
func (p *Server) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[len(p.keys)-1].kid
}

// PublicKey returns the current signing key's public key.
func (p *Server) PublicKey() crypto.PublicKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[len(p.keys)-1].priv.Public()
}

// Stats returns the request counts.
func (p *Server) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Logouts returns the recorded end_session requests.
func (p *Server) Logouts() []Logout {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.logouts)
}

// Prompts returns the prompt parameter of every authorization request, in
// order ("" when absent).
func (p *Server) Prompts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.prompts)
}

// LoginHints returns the login_hint parameter of every authorization
// request, in order.
func (p *Server) LoginHints() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.hints)
}

// Discovery returns the discovery document.
func (p *Server) Discovery() map[string]any {
	d := map[string]any{
		"issuer":                                           p.issuer,
		"authorization_endpoint":                           p.issuer + "/authorize",
		"token_endpoint":                                   p.issuer + "/token",
		"jwks_uri":                                         p.issuer + "/jwks",
		"scopes_supported":                                 []string{"openid", "email", "profile", "groups"},
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            []string{"authorization_code"},
		"subject_types_supported":                          []string{"public"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"token_endpoint_auth_methods_supported":            []string{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "ES256", "PS256", "EdDSA"},
		"id_token_signing_alg_values_supported":            []string{string(p.alg)},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified",
			"name", "given_name", "family_name", "locale", "groups", "roles", "sid"},
	}
	if p.userinfo {
		d["userinfo_endpoint"] = p.issuer + "/userinfo"
	}
	if p.endSess {
		d["end_session_endpoint"] = p.issuer + "/end_session"
	}
	if p.issParam {
		d["authorization_response_iss_parameter_supported"] = true
	}
	return d
}

// serveHTTP serves the provider's endpoints below Config.Path.
func (p *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() {
		d := time.Since(start)
		p.mu.Lock()
		p.stats.Busy += d
		p.mu.Unlock()
	}()
	path, ok := strings.CutPrefix(r.URL.Path, p.path)
	if !ok || !strings.HasPrefix(path, "/") {
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	mis := p.mis
	p.mu.Unlock()
	if mis.Endpoint == "" || path == mis.Endpoint {
		if mis.Delay > 0 {
			// Read the body first: only then does the server notice a
			// client that gives up, and end the wait.
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r.Body = io.NopCloser(bytes.NewReader(b))
			select {
			case <-time.After(mis.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if mis.Down {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	if p.path != "" {
		r2 := *r
		u := *r.URL
		u.Path = path
		u.RawPath = ""
		r2.URL = &u
		r = &r2
	}
	w.Header().Set("Cache-Control", "no-store")
	p.mux.ServeHTTP(w, r)
}

func (p *Server) count(f *int) {
	p.mu.Lock()
	*f++
	p.mu.Unlock()
}

func (p *Server) discovery(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.Discovery)
	writeJSON(w, http.StatusOK, p.Discovery())
}

func (p *Server) jwks(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.JWKS)
	p.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range p.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(p.alg), Use: "sig"})
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize validates an authorization request and shows the login page.
func (p *Server) authorize(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.Authorize)
	req, back, msg := p.checkRequest(r.URL.Query())
	switch {
	case msg != "":
		// Never redirect to an unregistered URL.
		renderPage(w, http.StatusBadRequest, pageData{Error: msg})
		return
	case back != nil:
		http.Redirect(w, r, back.String(), http.StatusSeeOther)
		return
	}
	id := randomString(16)
	p.mu.Lock()
	p.requests[id] = req
	users := slices.Clone(p.users)
	p.mu.Unlock()
	renderPage(w, http.StatusOK, pageData{Request: id, Users: users, LoginHint: req.loginHint, Client: req.client, Action: p.issuer + "/login"})
}

// checkRequest validates an authorization request. It returns the request,
// or a redirect back with an error, or a message for a page when the
// client or redirect URI is unknown.
func (p *Server) checkRequest(q url.Values) (*authRequest, *url.URL, string) {
	p.mu.Lock()
	c := p.clients[q.Get("client_id")]
	mis := p.mis
	p.prompts = append(p.prompts, q.Get("prompt"))
	p.hints = append(p.hints, q.Get("login_hint"))
	p.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if c == nil || !slices.Contains(c.RedirectURIs, redirect) {
		return nil, nil, "Unknown client or unregistered redirect_uri."
	}
	req := &authRequest{client: c.ID, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"), loginHint: q.Get("login_hint"), prompt: q.Get("prompt")}
	switch {
	case mis.CallbackError != "":
		return nil, p.callbackURL(req, url.Values{"error": {mis.CallbackError}, "error_description": {mis.CallbackErrorDescription}}), ""
	case q.Get("response_type") != "code":
		return nil, p.callbackURL(req, url.Values{"error": {"unsupported_response_type"}}), ""
	case !slices.Contains(strings.Fields(req.scope), "openid"):
		return nil, p.callbackURL(req, url.Values{"error": {"invalid_scope"}, "error_description": {"openid scope missing"}}), ""
	case req.challenge == "" || q.Get("code_challenge_method") != "S256":
		return nil, p.callbackURL(req, url.Values{"error": {"invalid_request"}, "error_description": {"PKCE with S256 is required"}}), ""
	}
	return req, nil, ""
}

// callbackURL is the client's redirect URI with params, the state and
// (RFC 9207) iss.
func (p *Server) callbackURL(req *authRequest, params url.Values) *url.URL {
	p.mu.Lock()
	mis := p.mis
	p.mu.Unlock()
	if req.state != "" {
		params.Set("state", req.state)
	}
	switch {
	case mis.CallbackWrongIss:
		params.Set("iss", "https://attacker.example")
	case p.issParam && !mis.OmitCallbackIss:
		params.Set("iss", p.issuer)
	}
	u, _ := url.Parse(req.redirectURI)
	q := u.Query()
	for k, v := range params {
		if v[0] != "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u
}

// findUser returns the user with the given subject or email.
func (p *Server) findUser(who string) *User {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.users {
		if p.users[i].Subject == who || strings.EqualFold(p.users[i].Email, who) {
			u := p.users[i]
			return &u
		}
	}
	return nil
}

// issueCode creates a code for req and returns the callback URL.
func (p *Server) issueCode(req *authRequest, user *User) *url.URL {
	code := randomString(32)
	now := p.now()
	p.mu.Lock()
	p.codes[code] = &grant{req: req, user: *user, authTime: now, expires: now.Add(time.Minute)}
	p.mu.Unlock()
	return p.callbackURL(req, url.Values{"code": {code}})
}

// Authorize answers an authorization request in-process, without the
// login page: it validates authURL (the redirect from the relying party's
// Begin) as the authorization endpoint does, logs in the user with the
// given subject or email, and returns the callback URL with code, state
// and iss (or with an error). It is meant for unit tests and benchmarks;
// LoginAs drives the real page.
func (p *Server) Authorize(authURL, who string) (*url.URL, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	req, back, msg := p.checkRequest(u.Query())
	switch {
	case msg != "":
		return nil, errors.New("oidctest: " + msg)
	case back != nil:
		return back, nil
	}
	user := p.findUser(who)
	if user == nil {
		return nil, errors.New("oidctest: no user " + who)
	}
	return p.issueCode(req, user), nil
}

// login handles the login page's form: the chosen user or typed email.
func (p *Server) login(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.Login)
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, pageData{Error: "Bad form."})
		return
	}
	id := r.PostForm.Get("request")
	who := strings.TrimSpace(r.PostForm.Get("user"))
	if who == "" {
		who = strings.TrimSpace(r.PostForm.Get("email"))
	}
	user := p.findUser(who)
	p.mu.Lock()
	req := p.requests[id]
	if req != nil && user != nil {
		delete(p.requests, id)
	}
	users := slices.Clone(p.users)
	p.mu.Unlock()
	switch {
	case req == nil:
		renderPage(w, http.StatusBadRequest, pageData{Error: "This login request expired or was already used. Start again."})
		return
	case user == nil:
		renderPage(w, http.StatusOK, pageData{Request: id, Users: users, LoginHint: who, Client: req.client, Action: p.issuer + "/login",
			Error: "No user " + who + " here."})
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, p.issueCode(req, user).String(), http.StatusSeeOther)
}

// token redeems a code.
func (p *Server) token(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.Token)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	c, msg := p.authenticateClient(r)
	if c == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", msg)
		return
	}
	p.mu.Lock()
	mis := p.mis
	g := p.codes[f.Get("code")]
	if g != nil && !mis.CodeReusable {
		delete(p.codes, f.Get("code"))
	}
	p.mu.Unlock()
	switch {
	case mis.TokenError != "":
		oauthError(w, http.StatusBadRequest, mis.TokenError, "misbehaving on purpose")
		return
	case f.Get("grant_type") != "authorization_code":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	case g == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
		return
	case g.req.client != c.ID:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code issued to another client")
		return
	case !p.now().Before(g.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code expired")
		return
	case f.Get("redirect_uri") != g.req.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	case !pkceMatches(f.Get("code_verifier"), g.req.challenge):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE code_verifier does not match the code_challenge")
		return
	}
	accessToken := randomString(32)
	p.mu.Lock()
	g.access = accessToken
	p.access[accessToken] = g
	p.mu.Unlock()
	resp := map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600, "scope": g.req.scope}
	if !mis.OmitIDToken {
		claims := p.idTokenClaims(g, mis)
		resp["id_token"] = p.Sign(claims)
	}
	writeJSON(w, http.StatusOK, resp)
}

func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// authenticateClient applies the client's registered method, and only it.
func (p *Server) authenticateClient(r *http.Request) (*Client, string) {
	f := r.PostForm
	user, pass, basic := r.BasicAuth()
	assertion := f.Get("client_assertion")
	var method, id string
	switch {
	case basic:
		method = AuthClientSecretBasic
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		pass, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, "bad Basic encoding"
		}
	case assertion != "":
		method = AuthPrivateKeyJWT
		id = f.Get("client_id")
	case f.Get("client_secret") != "":
		method, id, pass = AuthClientSecretPost, f.Get("client_id"), f.Get("client_secret")
	default:
		return nil, "no client authentication"
	}
	if basic && f.Get("client_secret") != "" || basic && assertion != "" || assertion != "" && f.Get("client_secret") != "" {
		return nil, "more than one client authentication method"
	}
	p.mu.Lock()
	c := p.clients[id]
	p.mu.Unlock()
	if method == AuthPrivateKeyJWT && c == nil {
		// client_id is optional with an assertion: take it from iss.
		if cid, ok := unverifiedIssuer(assertion); ok {
			p.mu.Lock()
			c = p.clients[cid]
			p.mu.Unlock()
		}
	}
	switch {
	case c == nil:
		return nil, "unknown client"
	case c.AuthMethod != method:
		return nil, "client must authenticate with " + c.AuthMethod + ", not " + method
	case method == AuthPrivateKeyJWT:
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, "wrong client_assertion_type"
		}
		if msg := p.checkAssertion(c, assertion); msg != "" {
			return nil, msg
		}
		return c, ""
	case subtle.ConstantTimeCompare([]byte(pass), []byte(c.Secret)) != 1:
		return nil, "wrong client secret"
	}
	return c, ""
}

func unverifiedIssuer(jwt string) (string, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", false
	}
	return c.Iss, true
}

// checkAssertion verifies a private_key_jwt assertion (RFC 7523 section 3).
func (p *Server) checkAssertion(c *Client, assertion string) string {
	if c.PublicKey == nil {
		return "client has no registered public key"
	}
	jws, err := jose.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA})
	if err != nil {
		return "client assertion is not a signed JWT: " + err.Error()
	}
	payload, err := jws.Verify(c.PublicKey)
	if err != nil {
		return "client assertion signature does not verify"
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
		Jti string          `json:"jti"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "client assertion claims are malformed"
	}
	var auds []string
	if json.Unmarshal(claims.Aud, &auds) != nil {
		var one string
		if json.Unmarshal(claims.Aud, &one) != nil {
			return "client assertion aud is malformed"
		}
		auds = []string{one}
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case claims.Iss != c.ID || claims.Sub != c.ID:
		return "client assertion iss and sub must be the client ID"
	case !slices.Contains(auds, p.issuer+"/token") && !slices.Contains(auds, p.issuer):
		return "client assertion aud must be the token endpoint or the issuer"
	case claims.Exp == 0 || now.Unix() >= claims.Exp:
		return "client assertion expired"
	case claims.Jti == "":
		return "client assertion has no jti"
	case p.jtis[claims.Jti]:
		return "client assertion jti was used before"
	}
	p.jtis[claims.Jti] = true
	return ""
}

// userinfoHandler answers with the claims of the access token's user.
func (p *Server) userinfoHandler(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.Userinfo)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	g := p.access[tok]
	mis := p.mis
	p.mu.Unlock()
	switch {
	case !ok || g == nil:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "unknown access token")
		return
	case mis.UserinfoError != "":
		w.Header().Set("WWW-Authenticate", `Bearer error="`+mis.UserinfoError+`"`)
		oauthError(w, http.StatusUnauthorized, mis.UserinfoError, "misbehaving on purpose")
		return
	}
	claims := map[string]any{"sub": g.user.Subject}
	p.profileClaims(claims, g, mis)
	for k, v := range mis.UserinfoClaims {
		claims[k] = v
	}
	if mis.UserinfoWrongSubject {
		claims["sub"] = "someone-else"
	}
	if mis.UserinfoAsJWT {
		claims["iss"], claims["aud"] = p.issuer, g.req.client
		w.Header().Set("Content-Type", "application/jwt")
		io.WriteString(w, p.Sign(claims))
		return
	}
	writeJSON(w, http.StatusOK, claims)
}

// profileClaims adds the email and profile claims the granted scopes
// allow.
func (p *Server) profileClaims(claims map[string]any, g *grant, mis Misbehavior) {
	scopes := strings.Fields(g.req.scope)
	u := g.user
	if slices.Contains(scopes, "email") && u.Email != "" {
		claims["email"] = u.Email
		if !mis.OmitEmailVerified {
			claims["email_verified"] = !u.UnverifiedEmail && !mis.EmailNotVerified
		}
	}
	if slices.Contains(scopes, "profile") {
		for k, v := range map[string]string{"given_name": u.GivenName, "family_name": u.FamilyName, "name": u.Name, "locale": u.Locale} {
			if v != "" {
				claims[k] = v
			}
		}
	}
	if len(u.Groups) > 0 {
		claims["groups"] = u.Groups
	}
	if len(u.Roles) > 0 {
		claims["roles"] = u.Roles
	}
	for k, v := range u.Claims {
		claims[k] = v
	}
}

// idTokenClaims builds the ID token claims of a grant with the claim
// switches applied.
func (p *Server) idTokenClaims(g *grant, mis Misbehavior) map[string]any {
	now := p.now()
	c := p.Claims(g.req.client, g.user.Subject, g.req.nonce)
	c["auth_time"] = g.authTime.Unix()
	c["sid"] = "sid-" + g.user.Subject
	c["at_hash"] = atHash(g.access)
	if !mis.EmailOnlyInUserinfo {
		p.profileClaims(c, g, mis)
	}
	if mis.WrongIssuer {
		c["iss"] = "https://other-provider.example"
	}
	if mis.WrongAudience {
		c["aud"] = "another-client"
	}
	if mis.ExtraAudience != "" {
		c["aud"] = []string{g.req.client, mis.ExtraAudience}
		if !mis.OmitAZP {
			c["azp"] = g.req.client
		}
	}
	if mis.WrongAZP {
		c["azp"] = "another-client"
	}
	if mis.Expired {
		c["iat"] = now.Add(-2 * time.Hour).Unix()
		c["exp"] = now.Add(-time.Hour).Unix()
	}
	if mis.IssuedInFuture {
		c["iat"] = now.Add(time.Hour).Unix()
		c["nbf"] = now.Add(time.Hour).Unix()
		c["exp"] = now.Add(2 * time.Hour).Unix()
	}
	if mis.NonceMismatch {
		c["nonce"] = "not-the-nonce-you-sent"
	}
	if mis.WrongAtHash {
		c["at_hash"] = atHash("another-access-token")
	}
	return c
}

// Claims returns the claims of a correct ID token for clientID about
// subject: iss, sub, aud, iat, exp (an hour later), and nonce when not
// empty. Add to the map before signing it with Sign.
func (p *Server) Claims(clientID, subject, nonce string) map[string]any {
	now := p.now()
	c := map[string]any{
		"iss": p.issuer,
		"sub": subject,
		"aud": clientID,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Sign serialises claims as a compact JWS signed with the current key, or
// broken as the signature switches of the current Misbehavior say
// (AlgNone, HS256WithPublicKey, BadSignature, UnknownKeyID,
// EncryptedIDToken).
func (p *Server) Sign(claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	mis := p.mis
	key := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	switch {
	case mis.AlgNone:
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		return h + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	case mis.HS256WithPublicKey:
		der, err := x509.MarshalPKIXPublicKey(key.priv.Public())
		if err != nil {
			panic(err)
		}
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		return sign(jose.HS256, secret, key.kid, payload)
	case mis.UnknownKeyID:
		return sign(p.alg, p.unknownKey().priv, "unknown-key", payload)
	}
	tok := sign(p.alg, key.priv, key.kid, payload)
	switch {
	case mis.BadSignature:
		i := strings.LastIndexByte(tok, '.') + 1
		sig, _ := base64.RawURLEncoding.DecodeString(tok[i:])
		sig[len(sig)/2] ^= 0x55
		tok = tok[:i] + base64.RawURLEncoding.EncodeToString(sig)
	case mis.EncryptedIDToken:
		tok = encrypt(tok)
	}
	return tok
}

// SignRaw signs payload as it is, which need not be a JSON object, with the
// current key, adding header to the JOSE header (alg and kid are set
// already): for tests of what a verifier does with a validly signed token
// whose header or claims are odd.
func (p *Server) SignRaw(payload []byte, header map[string]any) string {
	p.mu.Lock()
	key := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range header {
		opts = opts.WithHeader(jose.HeaderKey(k), v)
	}
	return signWith(p.alg, key.priv, key.kid, payload, opts)
}

func sign(alg jose.SignatureAlgorithm, key any, kid string, payload []byte) string {
	return signWith(alg, key, kid, payload, (&jose.SignerOptions{}).WithType("JWT"))
}

func signWith(alg jose.SignatureAlgorithm, key any, kid string, payload []byte, opts *jose.SignerOptions) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		panic(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// encrypt wraps a signed token in a JWE for a key nobody else has, as a
// provider configured for ID token encryption would.
func encrypt(signed string) string {
	e, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: encryptionKey().Public()},
		(&jose.EncrypterOptions{}).WithContentType("JWT").WithType("JWT"))
	if err != nil {
		panic(err)
	}
	obj, err := e.Encrypt([]byte(signed))
	if err != nil {
		panic(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// endSession handles RP-initiated logout.
func (p *Server) endSession(w http.ResponseWriter, r *http.Request) {
	p.count(&p.stats.EndSession)
	if !p.endSess {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	l := Logout{ClientID: q.Get("client_id"), LogoutHint: q.Get("logout_hint"), PostLogoutRedirectURI: q.Get("post_logout_redirect_uri"), State: q.Get("state")}
	if hint := q.Get("id_token_hint"); hint != "" {
		if sub, aud, ok := p.verifyOwnToken(hint); ok {
			l.IDTokenHintValid, l.Subject = true, sub
			if l.ClientID == "" {
				l.ClientID = aud
			} else if l.ClientID != aud {
				renderPage(w, http.StatusBadRequest, pageData{Error: "id_token_hint was issued to another client."})
				return
			}
		} else {
			renderPage(w, http.StatusBadRequest, pageData{Error: "Invalid id_token_hint."})
			return
		}
	}
	p.mu.Lock()
	c := p.clients[l.ClientID]
	p.logouts = append(p.logouts, l)
	p.mu.Unlock()
	if l.PostLogoutRedirectURI != "" {
		if c == nil || !slices.Contains(c.PostLogoutRedirectURIs, l.PostLogoutRedirectURI) {
			renderPage(w, http.StatusBadRequest, pageData{Error: "post_logout_redirect_uri is not registered for this client."})
			return
		}
		u, _ := url.Parse(l.PostLogoutRedirectURI)
		if l.State != "" {
			qq := u.Query()
			qq.Set("state", l.State)
			u.RawQuery = qq.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	renderPage(w, http.StatusOK, pageData{LoggedOut: true})
}

// verifyOwnToken checks a token this provider signed (expired ones too,
// as id_token_hint allows) and returns its sub and first aud.
func (p *Server) verifyOwnToken(tok string) (sub, aud string, ok bool) {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{p.alg})
	if err != nil || len(jws.Signatures) != 1 {
		return "", "", false
	}
	p.mu.Lock()
	keys := slices.Clone(p.keys)
	p.mu.Unlock()
	for _, k := range keys {
		if k.kid != jws.Signatures[0].Header.KeyID {
			continue
		}
		payload, err := jws.Verify(k.priv.Public())
		if err != nil {
			return "", "", false
		}
		var c struct {
			Iss string          `json:"iss"`
			Sub string          `json:"sub"`
			Aud json.RawMessage `json:"aud"`
		}
		if json.Unmarshal(payload, &c) != nil || c.Iss != p.issuer {
			return "", "", false
		}
		var one string
		var many []string
		if json.Unmarshal(c.Aud, &one) != nil {
			if json.Unmarshal(c.Aud, &many) != nil || len(many) == 0 {
				return "", "", false
			}
			one = many[0]
		}
		return c.Sub, one, true
	}
	return "", "", false
}

type pageData struct {
	Request, LoginHint, Client, Action, Error string
	Users                                     []User
	LoggedOut                                 bool
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>oidctest provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{display:block;width:100%;margin:.4rem 0;padding:.6rem;font-size:1rem;text-align:left}
.err{color:#a00}</style></head><body>
<h1>Test identity provider</h1>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .LoggedOut}}<p>You are logged out.</p>{{end}}
{{if .Request}}<p>Sign in to <b>{{.Client}}</b> as:</p>
<form method="post" action="{{.Action}}" id="login">
<input type="hidden" name="request" value="{{.Request}}">
{{range .Users}}<button type="submit" name="user" value="{{.Subject}}" data-email="{{.Email}}">{{.Name}} &lt;{{.Email}}&gt;</button>
{{end}}</form>
<form method="post" action="{{.Action}}" id="login-email">
<input type="hidden" name="request" value="{{.Request}}">
<label>or email <input type="email" name="email" value="{{.LoginHint}}" autocomplete="username"></label>
<button type="submit">Sign in</button>
</form>{{end}}
</body></html>
`))

func renderPage(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = page.Execute(w, d)
}

// errNoRedirect is returned by LoginAs when the provider did not redirect.
var errNoRedirect = errors.New("oidctest: the provider did not redirect back")
