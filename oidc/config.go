package oidc

import (
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// AuthMethod is how the connection authenticates to the token endpoint.
type AuthMethod string

// The token endpoint authentication methods.
const (
	// AuthClientSecretBasic sends the client ID and secret in an HTTP Basic
	// Authorization header (RFC 6749 section 2.3.1). The default.
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	// AuthClientSecretPost sends the client ID and secret in the form body.
	AuthClientSecretPost AuthMethod = "client_secret_post"
	// AuthPrivateKeyJWT sends a JWT signed with [Config.PrivateKeyPEM]
	// (RFC 7523, OpenID Connect Core section 9).
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
)

// UserinfoMode says when the userinfo endpoint is called and whose claims
// win when the ID token and userinfo disagree.
type UserinfoMode string

// The userinfo modes.
const (
	// UserinfoWhenNeeded (the default) calls userinfo only when the ID
	// token lacks the email claim or all of the name claims. ID token
	// claims win; userinfo adds what the ID token lacks. Many providers put
	// the email only in userinfo.
	UserinfoWhenNeeded UserinfoMode = "when_needed"
	// UserinfoAlways calls userinfo on every login; ID token claims win.
	UserinfoAlways UserinfoMode = "always"
	// UserinfoPreferred calls userinfo on every login; userinfo claims win,
	// for providers whose userinfo is more complete or more current.
	UserinfoPreferred UserinfoMode = "preferred"
	// UserinfoNever uses the ID token alone.
	UserinfoNever UserinfoMode = "never"
)

// Defaults applied by [New] to zero Config fields.
const (
	DefaultClockSkew              = time.Minute
	DefaultFlowLifetime           = 10 * time.Minute
	DefaultTimeout                = 10 * time.Second
	DefaultMetadataMaxAge         = 24 * time.Hour
	DefaultJWKSMaxAge             = 24 * time.Hour
	DefaultJWKSMinRefetchInterval = 5 * time.Second
	DefaultMaxResponseBytes       = 1 << 20
)

// defaultAlgs is the allow-list used when Config.SigningAlgorithms is empty.
var defaultAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// DefaultSigningAlgorithms returns the allow-list of ID token signature
// algorithms used when [Config.SigningAlgorithms] is empty: asymmetric
// algorithms only.
func DefaultSigningAlgorithms() []string { return slices.Clone(defaultAlgs) }

// asymmetricAlgs is every algorithm Config.SigningAlgorithms may name.
var asymmetricAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true,
}

// Endpoints configures a provider by hand. When Authorization, Token and
// JWKS are all set, no discovery document is fetched; Userinfo and
// EndSession are then optional.
type Endpoints struct {
	// Authorization, Token and JWKS are required: the authorization
	// endpoint, the token endpoint and the JWKS URL.
	Authorization string
	Token         string
	JWKS          string
	// Userinfo is the userinfo endpoint; without it the email must be in
	// the ID token.
	Userinfo string
	// EndSession is the end_session_endpoint for RP-initiated logout.
	EndSession string
}

func (e Endpoints) manual() bool {
	return e.Authorization != "" || e.Token != "" || e.JWKS != "" || e.Userinfo != "" || e.EndSession != ""
}

// DefaultMFAACRValues are the acr values that show multi-factor
// authentication: OpenID PAPE's multi-factor policy, the REFEDS MFA
// profile and Okta's two-factor classes.
var DefaultMFAACRValues = []string{
	"http://schemas.openid.net/pape/policies/2007/06/multi-factor",
	"https://refeds.org/profile/mfa",
	"urn:okta:loa:2fa:any",
	"phr", "phrh",
}

// DefaultAttributes are the claims that fill an [sso.Identity] where
// Config.Attributes names none: the standard claims of OpenID Connect Core
// 5.1, and "groups" and "roles" for groups.
var DefaultAttributes = sso.AttributeMap{
	Email:       []string{"email"},
	GivenName:   []string{"given_name"},
	FamilyName:  []string{"family_name"},
	DisplayName: []string{"name"},
	Groups:      []string{"groups", "roles"},
}

// Config configures one OpenID Connect connection. The zero value of every
// optional field means a safe default; every field that loosens a check is
// named for what it loosens.
type Config struct {
	// ID is the connection ID, unique across the application. Required.
	ID string
	// Issuer is the provider's issuer URL, exactly as it appears in its
	// tokens (mind a trailing slash). Required.
	Issuer string
	// DiscoveryURL overrides Issuer + "/.well-known/openid-configuration".
	DiscoveryURL string
	// Endpoints configures the provider by hand instead of discovery.
	Endpoints Endpoints
	// IssuerAliases are other iss values accepted in ID tokens and callback
	// iss parameters, e.g. "accounts.google.com" for Google, which issues
	// tokens with and without the scheme. Empty by default.
	IssuerAliases []string

	// ClientID is the client registered at the provider. Required.
	ClientID string
	// ClientSecret is required for the client_secret methods.
	ClientSecret sso.Secret
	// AuthMethod is the token endpoint authentication method;
	// AuthClientSecretBasic when empty.
	AuthMethod AuthMethod
	// PrivateKeyPEM is the PEM private key (RSA, ECDSA P-256/384/521 or
	// Ed25519; PKCS#1, SEC 1 or PKCS#8) for AuthPrivateKeyJWT.
	PrivateKeyPEM sso.Secret
	// PrivateKeyID is the key ID (kid) of PrivateKeyPEM as registered at the
	// provider; the RFC 7638 thumbprint when empty.
	PrivateKeyID string
	// AssertionAudience is the aud of private_key_jwt assertions; the token
	// endpoint URL when empty.
	AssertionAudience string

	// RedirectURL is this connection's callback URL, registered at the
	// provider. Required; https unless the host is loopback or
	// InsecureAllowHTTP is set.
	RedirectURL string
	// Scopes are requested in addition to "openid email profile".
	Scopes []string
	// PostLogoutRedirectURL is where the provider sends the browser after
	// an RP-initiated logout, if the provider allows one.
	PostLogoutRedirectURL string

	// SigningAlgorithms is the allow-list of ID token algorithms;
	// DefaultSigningAlgorithms() when empty. "none" and HMAC algorithms are
	// refused.
	SigningAlgorithms []string
	// TrustedAudiences are audiences other than ClientID that an ID token
	// may list. By default an ID token with any other audience is refused.
	TrustedAudiences []string
	// ClockSkew is the tolerance for exp, iat and nbf; DefaultClockSkew
	// when zero.
	ClockSkew time.Duration

	// Userinfo says when userinfo is called; UserinfoWhenNeeded when empty.
	Userinfo UserinfoMode
	// TrustEmail trusts the provider's email claim without
	// email_verified=true (e.g. Entra ID, which sends no such claim). The
	// Identity then reports EmailVerified true.
	TrustEmail bool
	// AllowMissingEmail accepts logins whose claims carry no email.
	AllowMissingEmail bool
	// Attributes names the claims that fill the Identity's fields, each a
	// list tried in order; nil fields take DefaultAttributes. Every claim
	// is in Identity.Attributes either way.
	Attributes sso.AttributeMap
	// SplitGroups splits string group values on commas ("admin, editors"
	// becomes two groups). Array values are never split.
	SplitGroups bool
	// ACRValues, when set, asks the provider for these authentication
	// context classes (the acr_values parameter), e.g. one that requires
	// multi-factor authentication. What the provider did comes back as
	// Identity.AuthnContext (acr) and Identity.AuthnMethods (amr).
	ACRValues []string
	// MFAACRValues are the acr values that show multi-factor
	// authentication (Identity.MFA); DefaultMFAACRValues when nil. An amr
	// claim that shows more than one factor counts too (sso.MultiFactor).
	MFAACRValues []string

	// CACertPEM holds PEM certificates trusted instead of the system roots
	// for the provider's TLS certificates.
	CACertPEM []byte
	// InsecureAllowHTTP permits http:// provider URLs. For tests and
	// on-premises providers on trusted networks only.
	InsecureAllowHTTP bool
	// InsecureAllowPrivateNetwork permits provider URLs that resolve to loopback,
	// private or link-local addresses, refused by default so that an issuer
	// URL typed by a tenant cannot reach internal services.
	InsecureAllowPrivateNetwork bool
	// HTTPClient replaces the connection's HTTP client. Tests only: the
	// guards above and the size cap are then the client's business;
	// Timeout still bounds every request.
	HTTPClient *http.Client
	// Timeout bounds every request to the provider; DefaultTimeout when
	// zero.
	Timeout time.Duration
	// MaxResponseBytes caps provider responses; DefaultMaxResponseBytes
	// when zero.
	MaxResponseBytes int64

	// MetadataMaxAge is how long a discovery document is used before it is
	// fetched again; DefaultMetadataMaxAge when zero. A failed refresh keeps
	// the old document and is retried after JWKSMinRefetchInterval.
	MetadataMaxAge time.Duration
	// JWKSMaxAge is how long keys are used before the JWKS is fetched
	// again; DefaultJWKSMaxAge when zero.
	JWKSMaxAge time.Duration
	// JWKSMinRefetchInterval is the least time between two JWKS fetches
	// caused by unknown key IDs (counted from the last fetch of any kind),
	// and the wait before a failed discovery or JWKS refresh is tried
	// again; DefaultJWKSMinRefetchInterval (5 seconds) when zero.
	//
	// It is the longest a key rotation can break logins: a provider that
	// starts signing with a new key just after the connection fetched the
	// JWKS has its tokens refused (ReasonUntrustedKey, saying when the
	// next refetch is allowed) until this much time has passed since that
	// fetch; the first login after it refetches and succeeds. The bound
	// can be short because ID tokens reach Complete only from the token
	// endpoint, over TLS, in answer to this client's authenticated
	// request: a browser cannot hand the connection tokens with made-up
	// key IDs. Even so, a flood of unknown key IDs (a misbehaving
	// provider, or a host that verifies tokens from elsewhere with
	// VerifyIDToken) costs the provider at most one JWKS fetch per
	// interval, shared by all the logins waiting for it.
	JWKSMinRefetchInterval time.Duration

	// FlowLifetime bounds the time between Begin and Complete;
	// DefaultFlowLifetime when zero.
	FlowLifetime time.Duration
	// StateStore keeps pending logins begun without sso.BeginRequest.Flows
	// (under the request's Binding); a bounded per-connection
	// sso.MemoryStateStore when nil (use a shared one when the application
	// runs several instances). Package login seals pending logins into the
	// browser instead and needs none.
	StateStore sso.StateStore
	// Replay records used codes and nonces; a per-connection
	// sso.MemoryReplayCache when nil (use a shared one when the application
	// runs several instances).
	ReplayCache sso.ReplayCache
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand is the source of state, nonce and PKCE values; crypto/rand when
	// nil.
	Rand io.Reader
	// Debug turns on the connection's debug mode (see
	// sso.ConnectionInfo): package login then explains failures in full
	// on the page and logs identities. It never loosens a check. Turn it
	// on only while setting a connection up.
	Debug bool
	// Events receives metadata refresh and warning events; may be nil.
	Events sso.EventFunc
}

// Validate reports the first problem of the configuration as an *sso.Error
// with ReasonInvalidConfig whose Detail names the field and the fix. It does
// no network I/O.
func (c *Config) Validate() error {
	_, err := c.validate()
	return err
}

// parsed holds what validate parsed, so New does not parse twice.
type parsed struct {
	key   *clientKey
	roots *x509.CertPool
	algs  []string
}

func (c *Config) validate() (*parsed, error) {
	fail := func(format string, args ...any) (*parsed, error) {
		return nil, &sso.Error{Op: "oidc.Config.Validate", Reason: sso.ReasonInvalidConfig, Connection: c.ID, Detail: sprintf(format, args...)}
	}
	p := new(parsed)
	if strings.TrimSpace(c.ID) == "" {
		return fail("ID is empty: set the connection ID")
	}
	n := c.netConfig(nil)
	guarded := func(field, u string, err string) (*parsed, error) {
		if err != "" {
			return fail("%s %q %s", field, u, err)
		}
		if gerr := n.checkFetchURL(u); gerr != nil {
			e := &sso.Error{Op: "oidc.Config.Validate", Reason: sso.ReasonInvalidConfig, Connection: c.ID,
				Detail: field + " " + quote(u) + " is refused by the fetch guard", Err: gerr}
			if se, ok := gerr.(*sso.Error); ok {
				e.Detail += ": " + guardDetail(se.Detail)
				e.Err = se.Reason // errors.Is(err, sso.ReasonAddressNotAllowed) holds
			}
			return nil, e
		}
		return nil, nil
	}
	if _, err := guarded("Issuer", c.Issuer, checkURL(c.Issuer, c.InsecureAllowHTTP, false)); err != nil {
		return nil, err
	}
	if c.DiscoveryURL != "" {
		if _, err := guarded("DiscoveryURL", c.DiscoveryURL, checkURL(c.DiscoveryURL, c.InsecureAllowHTTP, true)); err != nil {
			return nil, err
		}
	}
	if e := c.Endpoints; e.manual() {
		if e.Authorization == "" || e.Token == "" || e.JWKS == "" {
			return fail("Endpoints is partly set: set Authorization, Token and JWKS (Userinfo and EndSession optional), or none to use discovery")
		}
		for _, u := range []struct {
			name, v string
			fetched bool
		}{{"Authorization", e.Authorization, false}, {"Token", e.Token, true}, {"JWKS", e.JWKS, true}, {"Userinfo", e.Userinfo, true}, {"EndSession", e.EndSession, false}} {
			if u.v == "" {
				continue
			}
			msg := checkURL(u.v, c.InsecureAllowHTTP, true)
			if !u.fetched {
				// The browser follows these, not the server.
				if msg != "" {
					return fail("Endpoints.%s %q %s", u.name, u.v, msg)
				}
				continue
			}
			if _, err := guarded("Endpoints."+u.name, u.v, msg); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range c.IssuerAliases {
		if strings.TrimSpace(a) == "" {
			return fail("IssuerAliases has an empty entry")
		}
	}
	if strings.TrimSpace(c.ClientID) == "" {
		return fail("ClientID is empty: set the client ID registered at the provider")
	}
	switch c.AuthMethod {
	case "", AuthClientSecretBasic, AuthClientSecretPost:
		if c.ClientSecret == "" {
			return fail("ClientSecret is empty: %s needs the client secret issued by the provider", c.authMethod())
		}
	case AuthPrivateKeyJWT:
		if c.PrivateKeyPEM == "" {
			return fail("PrivateKeyPEM is empty: private_key_jwt needs the client's private key")
		}
		k, err := parseClientKey([]byte(c.PrivateKeyPEM.Reveal()), c.PrivateKeyID)
		if err != nil {
			return fail("PrivateKeyPEM: %s", err.Error())
		}
		p.key = k
		if c.AssertionAudience != "" {
			if err := checkURL(c.AssertionAudience, true, true); err != "" {
				return fail("AssertionAudience %q %s", c.AssertionAudience, err)
			}
		}
	default:
		return fail("AuthMethod %q is unknown: use client_secret_basic, client_secret_post or private_key_jwt", c.AuthMethod)
	}
	if c.RedirectURL == "" {
		return fail("RedirectURL is empty: set this connection's callback URL as registered at the provider")
	}
	if u, err := url.Parse(c.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return fail("RedirectURL %q is not an absolute URL without fragment", c.RedirectURL)
	} else if u.Scheme != "https" && !(u.Scheme == "http" && (c.InsecureAllowHTTP || isLoopbackHost(u.Hostname()))) {
		return fail("RedirectURL %q must use https (http is accepted for loopback hosts or with InsecureAllowHTTP)", c.RedirectURL)
	}
	if c.PostLogoutRedirectURL != "" {
		if u, err := url.Parse(c.PostLogoutRedirectURL); err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") {
			return fail("PostLogoutRedirectURL %q is not an absolute http(s) URL", c.PostLogoutRedirectURL)
		}
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return fail("Scopes entry %q is empty or contains a space, quote or backslash", s)
		}
	}
	p.algs = defaultAlgs
	if len(c.SigningAlgorithms) > 0 {
		p.algs = nil
		for _, a := range c.SigningAlgorithms {
			switch {
			case strings.EqualFold(a, "none"):
				return fail("SigningAlgorithms lists %q: unsigned ID tokens are never accepted", a)
			case strings.HasPrefix(strings.ToUpper(a), "HS"):
				return fail("SigningAlgorithms lists %q: HMAC ID tokens are not accepted (the secret is shared with every client)", a)
			case !asymmetricAlgs[a]:
				return fail("SigningAlgorithms lists %q, which is not one of RS256..RS512, PS256..PS512, ES256..ES512, EdDSA", a)
			}
			p.algs = append(p.algs, a)
		}
	}
	for _, a := range c.TrustedAudiences {
		if a == "" {
			return fail("TrustedAudiences has an empty entry")
		}
	}
	switch c.Userinfo {
	case "", UserinfoWhenNeeded, UserinfoAlways, UserinfoPreferred, UserinfoNever:
	default:
		return fail("Userinfo %q is unknown: use when_needed, always, preferred or never", c.Userinfo)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ClockSkew", c.ClockSkew}, {"Timeout", c.Timeout}, {"MetadataMaxAge", c.MetadataMaxAge}, {"JWKSMaxAge", c.JWKSMaxAge}, {"JWKSMinRefetchInterval", c.JWKSMinRefetchInterval}, {"FlowLifetime", c.FlowLifetime}} {
		if d.v < 0 {
			return fail("%s is negative", d.name)
		}
	}
	if c.ClockSkew > 10*time.Minute {
		return fail("ClockSkew %v is more than 10 minutes; fix the clocks instead", c.ClockSkew)
	}
	if c.MaxResponseBytes < 0 {
		return fail("MaxResponseBytes is negative")
	}
	if len(c.CACertPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CACertPEM) {
			return fail("CACertPEM holds no PEM certificate")
		}
		p.roots = pool
	}
	return p, nil
}

// netConfig returns the HTTP client settings of c.
func (c *Config) netConfig(roots *x509.CertPool) netConfig {
	n := netConfig{roots: roots, allowHTTP: c.InsecureAllowHTTP, allowPrivate: c.InsecureAllowPrivateNetwork,
		timeout: c.Timeout, maxBytes: c.MaxResponseBytes, client: c.HTTPClient}
	if n.timeout <= 0 {
		n.timeout = DefaultTimeout
	}
	if n.maxBytes <= 0 {
		n.maxBytes = DefaultMaxResponseBytes
	}
	return n
}

func (c *Config) authMethod() AuthMethod {
	if c.AuthMethod == "" {
		return AuthClientSecretBasic
	}
	return c.AuthMethod
}

// checkURL returns "" when s is an absolute http(s) URL allowed by the
// scheme policy, or what is wrong with it.
func checkURL(s string, allowHTTP, allowQuery bool) string {
	if s == "" {
		return "is empty"
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "is not an absolute URL"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	if u.Fragment != "" || (!allowQuery && u.RawQuery != "") {
		return "must not contain a query or fragment"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return "must use https (set InsecureAllowHTTP only for tests and trusted networks)"
		}
	default:
		return "must use https"
	}
	return ""
}

func isLoopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
