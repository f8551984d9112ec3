package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/mockserver"
	"github.com/ssokit/sso/saml"
)

// SignMode says which elements the IdP signs.
type SignMode int

// Sign modes.
const (
	signNone SignMode = -1
	// SignAssertion signs the assertion only (the default; what Entra ID
	// and most IdPs do by default).
	SignAssertion SignMode = iota
	// SignResponse signs the Response only.
	SignResponse
	// SignBoth signs the assertion, then the Response around it.
	SignBoth
)

// DefaultPassword is the password of users configured without one.
const DefaultPassword = "password"

// User is a person who can log in at the IdP.
type User struct {
	// Email is the login name and the email attribute. Required.
	Email string
	// Password defaults to DefaultPassword.
	Password string
	// NameID defaults to Email; NameIDFormat to the IdP's format.
	NameID, NameIDFormat string
	// Names and directory data sent as attributes.
	GivenName, FamilyName, DisplayName, Department string
	// Groups are sent as the multi-valued "groups" attribute.
	Groups []string
	// Attributes are sent as they are, in addition.
	Attributes map[string][]string
	// AuthnContext is the AuthnContextClassRef the IdP states for this
	// user's logins, e.g. "https://refeds.org/profile/mfa" for a user who
	// signs in with a second factor; AuthnContextPassword when empty.
	AuthnContext string
}

func (u User) attributes() map[string][]string {
	m := map[string][]string{}
	set := func(k, v string) {
		if v != "" {
			m[k] = []string{v}
		}
	}
	set("email", u.Email)
	set("givenName", u.GivenName)
	set("sn", u.FamilyName)
	set("displayName", u.DisplayName)
	set("department", u.Department)
	if len(u.Groups) > 0 {
		m["groups"] = append([]string(nil), u.Groups...)
	}
	for k, v := range u.Attributes {
		m[k] = append([]string(nil), v...)
	}
	return m
}

// DefaultUsers are the users of an IdP configured without any.
var DefaultUsers = []User{
	{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Admin", DisplayName: "Alice Admin", Department: "Engineering", Groups: []string{"admins", "staff"}},
	{Email: "bob@example.com", GivenName: "Bob", FamilyName: "Builder", DisplayName: "Bob Builder", Department: "Sales", Groups: []string{"staff"}},
	{Email: "carol@example.com", GivenName: "Carol", FamilyName: "Clerk", DisplayName: "Carol Clerk", Department: "Shipping", Groups: []string{"clerks"}},
}

// ServiceProvider is a service provider the IdP knows.
type ServiceProvider struct {
	// EntityID is the SP's entity ID (the Audience). Required.
	EntityID string
	// ACSURL is where responses are posted. Required.
	ACSURL string
	// SLOURL receives LogoutResponses, and the IdP's own LogoutRequests
	// (Server.LogoutRequest).
	SLOURL string
	// EncryptionCertificate, when set, makes the IdP encrypt assertions
	// for this SP.
	EncryptionCertificate *x509.Certificate
	// SigningCertificate verifies the SP's signed logout requests.
	SigningCertificate *x509.Certificate
}

// Config configures a Server. Zero fields get defaults.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:8081"; a free port of
	// 127.0.0.1 when empty.
	Addr string
	// Path, e.g. "/idp", puts the endpoints below that path, as a real
	// IdP's often are; URL then ends with it. Empty: the root.
	Path string
	// NoTLS serves plain http instead of https with the server's own CA.
	// Demos set it: a person's browser would reject the certificate.
	NoTLS bool
	// EntityID defaults to URL() + "/metadata".
	EntityID string
	// Users defaults to DefaultUsers.
	Users []User
	// Key signs responses. When nil, a generated RSA-2048 key is used
	// (shared by all IdPs of the process, so tests stay fast; use
	// GenerateKeyPair for distinct keys).
	Key *rsa.PrivateKey
	// Certificate is Key's certificate, published in the metadata.
	Certificate *x509.Certificate
	// SignatureAlgorithm defaults to RSA-SHA256.
	SignatureAlgorithm string
	// Sign defaults to SignAssertion.
	Sign SignMode
	// NameIDFormat defaults to emailAddress.
	NameIDFormat string
	// AssertionLifetime defaults to 5 minutes.
	AssertionLifetime time.Duration
	// ServiceProviders lists known SPs. With none, the IdP answers any SP
	// at the ACS URL its AuthnRequest names.
	ServiceProviders []ServiceProvider
	// Misbehavior applies to responses of the browser flow.
	Misbehavior Misbehavior
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is an in-process SAML identity provider for tests, examples and
// demos, listening on a loopback port: metadata, a login page,
// IdP-initiated login, single logout started by the SP or by the IdP
// (LogoutRequest), and signed messages that can be told to misbehave.
//
// It serves below URL:
//
//	GET  /metadata   IdP metadata
//	GET  /sso        AuthnRequest, HTTP-Redirect binding -> login page
//	POST /sso        AuthnRequest, HTTP-POST binding -> login page
//	POST /login      login form -> auto-POST of the signed response to the ACS
//	GET  /start      IdP-initiated login (?sp=entityID&RelayState=...)
//	GET  /logout     IdP-initiated logout (?sp=entityID&user=email)
//	GET|POST /slo    LogoutRequest -> LogoutResponse to the SP's SLO URL;
//	                 LogoutResponse to an IdP-initiated logout -> recorded
//
// Its methods that build messages (Metadata, Response, EncodedResponse,
// RespondTo, LogoutRequest) make no request to the listener, and keep
// working after Close. A Server is safe for concurrent use.
type Server struct {
	cfg  Config
	key  *rsa.PrivateKey
	cert *x509.Certificate
	base string // URL: the listener's URL and Config.Path
	srv  *mockserver.HTTP

	mu      sync.Mutex
	sps     map[string]ServiceProvider
	mis     Misbehavior
	pending map[string]*pendingLogin
	last    map[string]string
	logouts []LogoutRecord

	sentLogouts     map[string]string     // IdP-initiated LogoutRequest ID -> SP entity ID, until answered
	lastLogout      map[string]sentLogout // by SP entity ID
	logoutResponses []LogoutResponseRecord
}

// Start starts a Server for cfg and closes it when the test ends. It
// fails the test if the server cannot start.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a Server for cfg on a loopback port: https with a
// certificate of its own CA (see Client and CACertPEM), or plain http with
// cfg.NoTLS. The caller must Close it.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Path != "" && (!strings.HasPrefix(cfg.Path, "/") || strings.ContainsAny(cfg.Path, "?#")) {
		return nil, fmt.Errorf("samltest: Path %q must be a path starting with /", cfg.Path)
	}
	cfg.Path = strings.TrimRight(cfg.Path, "/")
	if cfg.Users == nil {
		cfg.Users = DefaultUsers
	}
	if cfg.SignatureAlgorithm == "" {
		cfg.SignatureAlgorithm = dsig.RSASHA256SignatureMethod
	}
	if cfg.Sign == 0 {
		cfg.Sign = SignAssertion
	}
	if cfg.NameIDFormat == "" {
		cfg.NameIDFormat = saml.NameIDFormatEmailAddress
	}
	if cfg.AssertionLifetime == 0 {
		cfg.AssertionLifetime = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	idp := &Server{cfg: cfg, key: cfg.Key, cert: cfg.Certificate, sps: map[string]ServiceProvider{},
		mis: cfg.Misbehavior, pending: map[string]*pendingLogin{}, last: map[string]string{}}
	if (idp.key == nil) != (idp.cert == nil) {
		return nil, errors.New("samltest: set both Key and Certificate, or neither")
	}
	if idp.key == nil {
		idp.key, idp.cert = sharedKey(0)
	}
	for _, sp := range cfg.ServiceProviders {
		if err := idp.AddServiceProvider(sp); err != nil {
			return nil, err
		}
	}
	h, err := mockserver.NewHTTP("samltest", cfg.Addr, cfg.NoTLS)
	if err != nil {
		return nil, fmt.Errorf("samltest: %w", err)
	}
	idp.srv = h
	idp.base = h.URL() + cfg.Path
	if idp.cfg.EntityID == "" {
		idp.cfg.EntityID = idp.base + "/metadata"
	}
	h.Serve(http.HandlerFunc(idp.serveHTTP))
	return idp, nil
}

// URL returns the base URL the endpoints are below, e.g.
// "https://127.0.0.1:41234" or, with Config.Path "/idp",
// "https://127.0.0.1:41234/idp"; "http://..." with Config.NoTLS.
func (idp *Server) URL() string { return idp.base }

// Client returns a new HTTP client that trusts the server's TLS
// certificate. Close closes its idle connections.
func (idp *Server) Client() *http.Client { return idp.srv.Client() }

// CACertPEM returns the certificate of the CA that signed the server's
// TLS certificate, in PEM form, for a client of the caller's own (such as
// saml.Config.CACertPEM for a metadata URL); nil with Config.NoTLS. It is
// not the SAML signing certificate: see Certificate.
func (idp *Server) CACertPEM() []byte { return idp.srv.CACertPEM() }

// Close shuts the server down, blocking until the requests in flight are
// answered.
func (idp *Server) Close() { idp.srv.Close() }

// EntityID returns the IdP's entity ID.
func (idp *Server) EntityID() string { return idp.cfg.EntityID }

// MetadataURL returns the metadata endpoint.
func (idp *Server) MetadataURL() string { return idp.base + "/metadata" }

// SSOURL returns the single sign-on endpoint.
func (idp *Server) SSOURL() string { return idp.base + "/sso" }

// SLOURL returns the single logout endpoint.
func (idp *Server) SLOURL() string { return idp.base + "/slo" }

// StartURL returns the URL that starts an IdP-initiated login at the SP
// with the given entity ID, carrying relayState.
func (idp *Server) StartURL(spEntityID, relayState string) string {
	q := url.Values{}
	if spEntityID != "" {
		q.Set("sp", spEntityID)
	}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return idp.base + "/start?" + q.Encode()
}

// LogoutURL returns the URL that starts an IdP-initiated single logout of
// the configured user with the given email at the SP with the given
// entity ID, as if the user had logged out at the IdP: the browser is
// sent to the SP's SLOURL with a signed LogoutRequest (see
// LogoutRequest), and the SP's answer comes back to SLOURL.
func (idp *Server) LogoutURL(spEntityID, user string) string {
	q := url.Values{"user": {user}}
	if spEntityID != "" {
		q.Set("sp", spEntityID)
	}
	return idp.base + "/logout?" + q.Encode()
}

// Certificate returns the signing certificate.
func (idp *Server) Certificate() *x509.Certificate { return idp.cert }

// CertificatePEM returns the signing certificate in PEM form.
func (idp *Server) CertificatePEM() []byte { return CertificatePEM(idp.cert) }

// Users returns the configured users.
func (idp *Server) Users() []User { return append([]User(nil), idp.cfg.Users...) }

// AddServiceProvider registers (or replaces) a service provider.
func (idp *Server) AddServiceProvider(sp ServiceProvider) error {
	if sp.EntityID == "" || sp.ACSURL == "" {
		return errors.New("samltest: ServiceProvider needs EntityID and ACSURL")
	}
	idp.mu.Lock()
	idp.sps[sp.EntityID] = sp
	idp.mu.Unlock()
	return nil
}

// Misbehave sets the switches applied to responses of the browser flow
// from now on; Misbehave(Misbehavior{}) makes the IdP correct again.
func (idp *Server) Misbehave(m Misbehavior) {
	idp.mu.Lock()
	idp.mis = m
	idp.mu.Unlock()
}

// LogoutRecord describes a LogoutRequest the IdP received.
type LogoutRecord struct {
	// ID and Issuer identify the request and the SP that sent it.
	ID, Issuer string
	// NameID, NameIDFormat and SessionIndex name the session to end.
	NameID, NameIDFormat, SessionIndex string
	// Binding is saml.BindingHTTPRedirect or saml.BindingHTTPPost.
	Binding string
	// Signed reports a signature; Verified that it verified with the
	// registered SP's SigningCertificate.
	Signed, Verified bool
}

// LogoutRequests returns the logout requests received so far.
func (idp *Server) LogoutRequests() []LogoutRecord {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return append([]LogoutRecord(nil), idp.logouts...)
}

// ConnectionConfig returns a saml.Config for a connection to this IdP with
// the metadata embedded: connection ID id, SP entity ID and ACS URL as
// given. The SP is registered with the IdP. Callers add stores, keys and
// options.
func (idp *Server) ConnectionConfig(id, spEntityID, acsURL string) saml.Config {
	_ = idp.AddServiceProvider(ServiceProvider{EntityID: spEntityID, ACSURL: acsURL})
	return saml.Config{ID: id, EntityID: spEntityID, ACSURL: acsURL, IdPMetadataXML: idp.Metadata(), Now: idp.cfg.Now}
}

func (idp *Server) now() time.Time { return idp.cfg.Now() }

func (idp *Server) userFor(opts ResponseOptions) (User, error) {
	var u User
	if opts.User != "" {
		found := false
		for _, c := range idp.cfg.Users {
			if strings.EqualFold(c.Email, opts.User) {
				u, found = c, true
				break
			}
		}
		if !found && opts.NameID == "" {
			return User{}, fmt.Errorf("samltest: no user %q", opts.User)
		}
	} else if opts.NameID == "" {
		return User{}, errors.New("samltest: ResponseOptions needs User or NameID")
	}
	if opts.NameID != "" {
		u.NameID = opts.NameID
	}
	if u.NameID == "" {
		u.NameID = u.Email
	}
	return u, nil
}

func (idp *Server) spFor(entityID string) (ServiceProvider, error) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if entityID == "" {
		if len(idp.sps) == 1 {
			for _, sp := range idp.sps {
				return sp, nil
			}
		}
		return ServiceProvider{}, errors.New("samltest: set ResponseOptions.Audience (the SP entity ID); the IdP knows " + fmt.Sprint(len(idp.sps)) + " service providers")
	}
	if sp, ok := idp.sps[entityID]; ok {
		return sp, nil
	}
	return ServiceProvider{EntityID: entityID}, nil
}

// Key material.

var (
	keysMu sync.Mutex
	keys   = map[int]keyPair{}
)

type keyPair struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// sharedKey returns process-wide generated key n: 0 signs by default, 1 is
// the "wrong" key.
func sharedKey(n int) (*rsa.PrivateKey, *x509.Certificate) {
	keysMu.Lock()
	defer keysMu.Unlock()
	if kp, ok := keys[n]; ok {
		return kp.key, kp.cert
	}
	now := time.Now()
	k, c, err := GenerateKeyPair(fmt.Sprintf("samltest IdP %d", n), now.Add(-24*time.Hour), now.Add(10*365*24*time.Hour))
	if err != nil {
		panic(err)
	}
	keys[n] = keyPair{k, c}
	return k, c
}

func (idp *Server) otherKey() (*rsa.PrivateKey, *x509.Certificate) { return sharedKey(1) }

// GenerateKeyPair returns a new RSA-2048 key and a self-signed certificate
// for it with the given common name and validity.
func GenerateKeyPair(commonName string, notBefore, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// CertificatePEM encodes c as PEM.
func CertificatePEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM encodes k as PKCS#8 PEM.
func KeyPEM(k *rsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// KeyPair returns k and c as a saml.KeyPair for saml.Config.SPKeys.
func KeyPair(k *rsa.PrivateKey, c *x509.Certificate) saml.KeyPair {
	return saml.KeyPair{Key: sso.Secret(KeyPEM(k)), Certificate: CertificatePEM(c)}
}
