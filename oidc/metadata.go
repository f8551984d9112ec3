package oidc

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ssokit/sso"
)

// Metadata is an OpenID provider's configuration: a parsed discovery
// document, or the endpoints of a hand-configured connection.
type Metadata struct {
	// Issuer and the endpoints, as the document names them.
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string `json:"token_endpoint,omitempty"`
	UserinfoEndpoint      string `json:"userinfo_endpoint,omitempty"`
	JWKSURI               string `json:"jwks_uri,omitempty"`
	EndSessionEndpoint    string `json:"end_session_endpoint,omitempty"`

	// What the provider says it supports (OpenID Connect Discovery 3).
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported,omitempty"`
	ResponseModesSupported            []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported,omitempty"`
	IDTokenEncryptionAlgValues        []string `json:"id_token_encryption_alg_values_supported,omitempty"`
	ClaimsSupported                   []string `json:"claims_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported is RFC 9207's flag: the
	// provider adds iss to every authorization response, so a response
	// without it is refused.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`

	// DiscoveryURL is where the document was fetched from; empty for a
	// hand-configured connection.
	DiscoveryURL string `json:"-"`
	// Fetched is when the document was fetched.
	Fetched time.Time `json:"-"`
}

// ParseMetadata parses a discovery document. It checks only that the
// document is a JSON object with an issuer; [Metadata.Compatibility] tells
// whether the provider is usable.
func ParseMetadata(b []byte) (*Metadata, error) {
	const op = "oidc.ParseMetadata"
	// zitadel's DiscoveryConfiguration reads the standard fields; the
	// RFC 9207 flag is read separately.
	var dc zoidc.DiscoveryConfiguration
	if err := json.Unmarshal(b, &dc); err != nil {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Detail: "the discovery document is not a valid JSON object: " + err.Error(), Err: err}
	}
	var extra struct {
		IssParam bool `json:"authorization_response_iss_parameter_supported"`
	}
	_ = json.Unmarshal(b, &extra) // the first Unmarshal accepted the JSON
	if dc.Issuer == "" {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Detail: "the discovery document has no issuer"}
	}
	m := &Metadata{
		Issuer:                           dc.Issuer,
		AuthorizationEndpoint:            dc.AuthorizationEndpoint,
		TokenEndpoint:                    dc.TokenEndpoint,
		UserinfoEndpoint:                 dc.UserinfoEndpoint,
		JWKSURI:                          dc.JwksURI,
		EndSessionEndpoint:               dc.EndSessionEndpoint,
		ScopesSupported:                  dc.ScopesSupported,
		ResponseTypesSupported:           dc.ResponseTypesSupported,
		ResponseModesSupported:           dc.ResponseModesSupported,
		IDTokenSigningAlgValuesSupported: dc.IDTokenSigningAlgValuesSupported,
		IDTokenEncryptionAlgValues:       dc.IDTokenEncryptionAlgValuesSupported,
		ClaimsSupported:                  dc.ClaimsSupported,
		AuthorizationResponseIssParameterSupported: extra.IssParam,
	}
	for _, g := range dc.GrantTypesSupported {
		m.GrantTypesSupported = append(m.GrantTypesSupported, string(g))
	}
	for _, c := range dc.CodeChallengeMethodsSupported {
		m.CodeChallengeMethodsSupported = append(m.CodeChallengeMethodsSupported, string(c))
	}
	for _, a := range dc.TokenEndpointAuthMethodsSupported {
		m.TokenEndpointAuthMethodsSupported = append(m.TokenEndpointAuthMethodsSupported, string(a))
	}
	return m, nil
}

// DiscoveryURLFor returns issuer + "/.well-known/openid-configuration".
func DiscoveryURLFor(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + zoidc.DiscoveryEndpoint
}

// DiscoverOptions configures [Discover]. The zero value fetches over https
// from public addresses with the system roots.
type DiscoverOptions struct {
	// DiscoveryURL overrides the well-known URL derived from the issuer.
	DiscoveryURL string
	// CACertPEM, InsecureAllowHTTP, InsecureAllowPrivateNetwork, HTTPClient,
	// Timeout and MaxResponseBytes work as in [Config].
	CACertPEM                   []byte
	InsecureAllowHTTP           bool
	InsecureAllowPrivateNetwork bool
	HTTPClient                  *http.Client
	Timeout                     time.Duration
	MaxResponseBytes            int64
	// Now is the clock for Metadata.Fetched; time.Now when nil.
	Now func() time.Time
}

// Discover fetches and parses the discovery document of issuer. It does not
// judge the provider; see [Metadata.Compatibility] and [Check].
func Discover(ctx context.Context, issuer string, opts DiscoverOptions) (*Metadata, error) {
	m, _, _, err := opts.discover(ctx, issuer)
	return m, err
}

func (o *DiscoverOptions) discover(ctx context.Context, issuer string) (*Metadata, *http.Client, netConfig, error) {
	n, err := o.netConfig()
	if err != nil {
		return nil, nil, n, err
	}
	for _, u := range []string{issuer, o.DiscoveryURL} {
		if u == "" {
			continue
		}
		if err := n.checkFetchURL(u); err != nil {
			return nil, nil, n, fetchFailed("oidc.Discover", "", "discovery document", err)
		}
	}
	client := newHTTPClient(n)
	ctx, cancel := context.WithTimeout(ctx, n.timeout) // also for an injected client
	defer cancel()
	m, err := discover(ctx, client, issuer, o.DiscoveryURL, o.InsecureAllowHTTP, n.maxBytes, o.now())
	return m, client, n, err
}

// Check fetches the discovery document of issuer and its JWKS and reports
// whether an ssokit connection can use the provider. An error means the
// discovery document could not be fetched or parsed; everything else is in
// the Report.
func Check(ctx context.Context, issuer string, opts DiscoverOptions) (*Report, error) {
	m, client, n, err := opts.discover(ctx, issuer)
	if err != nil {
		return nil, err
	}
	r := m.Compatibility(issuer)
	if m.JWKSURI != "" {
		ctx, cancel := context.WithTimeout(ctx, n.timeout)
		defer cancel()
		keys, err := fetchJWKS(ctx, client, m.JWKSURI, n.maxBytes)
		if r.Keys = len(keys); err != nil {
			r.Missing = append(r.Missing, err.Detail)
		}
	}
	r.Usable = len(r.Missing) == 0
	return r, nil
}

func (o *DiscoverOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *DiscoverOptions) netConfig() (netConfig, error) {
	n := netConfig{allowHTTP: o.InsecureAllowHTTP, allowPrivate: o.InsecureAllowPrivateNetwork, timeout: o.Timeout, maxBytes: o.MaxResponseBytes, client: o.HTTPClient}
	if n.timeout <= 0 {
		n.timeout = DefaultTimeout
	}
	if n.maxBytes <= 0 {
		n.maxBytes = DefaultMaxResponseBytes
	}
	if len(o.CACertPEM) > 0 {
		n.roots = x509.NewCertPool()
		if !n.roots.AppendCertsFromPEM(o.CACertPEM) {
			return n, &sso.Error{Op: "oidc.Discover", Reason: sso.ReasonInvalidConfig, Detail: "CACertPEM holds no PEM certificate"}
		}
	}
	return n, nil
}

func discover(ctx context.Context, client *http.Client, issuer, discoveryURL string, allowHTTP bool, maxBytes int64, now time.Time) (*Metadata, error) {
	const op = "oidc.Discover"
	if msg := checkURL(issuer, allowHTTP, false); msg != "" {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig, Detail: "issuer " + quote(issuer) + " " + msg}
	}
	if discoveryURL == "" {
		discoveryURL = DiscoveryURLFor(issuer)
	} else if msg := checkURL(discoveryURL, allowHTTP, true); msg != "" {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig, Detail: "discovery URL " + quote(discoveryURL) + " " + msg}
	}
	b, err := get(ctx, client, discoveryURL, maxBytes)
	if err != nil {
		return nil, fetchFailed(op, "", "discovery document "+discoveryURL, err)
	}
	m, err := ParseMetadata(b)
	if err != nil {
		e := err.(*sso.Error)
		e.Op, e.Detail = op, e.Detail+" (fetched from "+discoveryURL+")"
		return nil, e
	}
	m.DiscoveryURL = discoveryURL
	m.Fetched = now
	return m, nil
}

// fetchFailed wraps a failed metadata or JWKS fetch, keeping the guard's
// reason (ReasonAddressNotAllowed or ReasonMetadataFetchFailed).
func fetchFailed(op, conn, what string, err error) *sso.Error {
	e := &sso.Error{Op: op, Reason: sso.ReasonMetadataFetchFailed, Connection: conn, Detail: "cannot fetch the " + what, Err: err}
	var se *sso.Error
	if errors.As(err, &se) {
		// Take over the guard's reason and detail, and its cause, so the
		// message does not repeat itself.
		e.Reason, e.Expected, e.Actual, e.Err = se.Reason, se.Expected, se.Actual, se.Err
		if se.Detail != "" {
			e.Detail += ": " + guardDetail(se.Detail)
		}
	}
	return e
}

// usable checks that m can serve a connection to issuer: the issuer is
// identical, the endpoints a login needs are present and allowed, the code
// flow is offered and at least one allowed algorithm is supported.
func (m *Metadata) usable(issuer string, aliases []string, allowHTTP bool, algs []string) error {
	fail := func(detail string) error {
		return &sso.Error{Op: "oidc.Connection", Reason: sso.ReasonMetadataInvalid, Detail: detail + " (from " + m.DiscoveryURL + ")"}
	}
	if m.Issuer != issuer && !slices.Contains(aliases, m.Issuer) {
		e := &sso.Error{Op: "oidc.Connection", Reason: sso.ReasonIssuerMismatch, Expected: issuer, Actual: m.Issuer,
			Detail: "the discovery document names another issuer (OpenID Connect Discovery 4.3 requires them identical)" + issuerHint(issuer, m.Issuer)}
		return e
	}
	for _, ep := range []struct{ name, v string }{{"authorization_endpoint", m.AuthorizationEndpoint}, {"token_endpoint", m.TokenEndpoint}, {"jwks_uri", m.JWKSURI}} {
		if ep.v == "" {
			return fail("the discovery document has no " + ep.name)
		}
	}
	for _, ep := range []struct{ name, v string }{{"authorization_endpoint", m.AuthorizationEndpoint}, {"token_endpoint", m.TokenEndpoint}, {"jwks_uri", m.JWKSURI}, {"userinfo_endpoint", m.UserinfoEndpoint}, {"end_session_endpoint", m.EndSessionEndpoint}} {
		if ep.v == "" {
			continue
		}
		if msg := checkURL(ep.v, allowHTTP, true); msg != "" {
			return fail(ep.name + " " + quote(ep.v) + " " + msg)
		}
	}
	if len(m.ResponseTypesSupported) > 0 && !slices.Contains(m.ResponseTypesSupported, "code") {
		return fail("the provider does not offer the authorization code flow (response_types_supported lacks \"code\")")
	}
	if len(m.IDTokenSigningAlgValuesSupported) > 0 && !slices.ContainsFunc(m.IDTokenSigningAlgValuesSupported, func(a string) bool { return slices.Contains(algs, a) }) {
		return fail("none of the provider's ID token algorithms " + strings.Join(m.IDTokenSigningAlgValuesSupported, ", ") + " is allowed (allowed: " + strings.Join(algs, ", ") + ")")
	}
	return nil
}

// issuerHint explains the usual causes of an issuer mismatch.
func issuerHint(want, got string) string {
	switch {
	case strings.TrimSuffix(want, "/") == strings.TrimSuffix(got, "/"):
		return "; they differ only by a trailing slash: configure the issuer as " + quote(got)
	case strings.Contains(got, "{tenantid}") || strings.Contains(got, "{tenant}"):
		return "; this is a multi-tenant endpoint: configure the tenant-specific issuer, e.g. https://login.microsoftonline.com/<tenant-id>/v2.0"
	case !strings.Contains(got, "://") && strings.TrimPrefix(want, "https://") == got:
		return "; the document names the issuer without its scheme (older Google documents do): add " + quote(got) + " to IssuerAliases"
	}
	return ""
}

// Report is the compatibility of an OpenID provider with ssokit, as
// printed by "ssocheck oidc discover".
type Report struct {
	// Issuer is the document's issuer; DiscoveryURL where it came from.
	Issuer       string `json:"issuer"`
	DiscoveryURL string `json:"discovery_url,omitempty"`
	// Usable is true when a connection can log in with this provider.
	Usable bool `json:"usable"`
	// Endpoints are the endpoints found, by short name: authorization,
	// token, jwks, userinfo, end_session.
	Endpoints map[string]string `json:"endpoints"`
	// AuthMethods are the provider's token endpoint authentication
	// methods; Supported are those ssokit can use.
	AuthMethods          []string `json:"token_endpoint_auth_methods"`
	SupportedAuthMethods []string `json:"supported_auth_methods"`
	// SigningAlgorithms are the provider's ID token algorithms.
	SigningAlgorithms []string `json:"id_token_signing_algorithms"`
	// CodeFlow: the authorization code flow is offered. PKCE: S256 is
	// advertised (ssokit sends it anyway). EmailScope: the email scope is
	// offered, or scopes_supported is not advertised.
	CodeFlow   bool `json:"code_flow"`
	PKCE       bool `json:"pkce_s256"`
	EmailScope bool `json:"email_scope"`
	// Userinfo, Logout and IssParameter: the provider has a userinfo
	// endpoint, an end_session_endpoint, and sends RFC 9207's iss.
	Userinfo     bool `json:"userinfo"`
	Logout       bool `json:"rp_initiated_logout"`
	IssParameter bool `json:"iss_parameter"`
	// Keys is the number of usable signing keys in the JWKS (set by
	// [Check]); -1 when not fetched.
	Keys int `json:"jwks_signing_keys"`
	// Missing lists what makes the provider unusable; Warnings what works
	// but deserves attention.
	Missing  []string `json:"missing"`
	Warnings []string `json:"warnings"`
}

// Compatibility judges m for use by an ssokit connection configured with
// issuer (the URL the document was fetched for).
func (m *Metadata) Compatibility(issuer string) *Report {
	r := &Report{Issuer: m.Issuer, DiscoveryURL: m.DiscoveryURL, Keys: -1, Endpoints: map[string]string{},
		Missing: []string{}, Warnings: []string{}}
	missing := func(s string) { r.Missing = append(r.Missing, s) }
	warn := func(s string) { r.Warnings = append(r.Warnings, s) }

	if issuer != "" && m.Issuer != issuer {
		missing("issuer " + quote(m.Issuer) + " differs from the URL it was fetched for, " + quote(issuer) + issuerHint(issuer, m.Issuer))
	} else if strings.Contains(m.Issuer, "{tenantid}") || strings.Contains(m.Issuer, "{tenant}") {
		missing("issuer " + quote(m.Issuer) + " is a multi-tenant template; use the tenant-specific issuer")
	}
	if u, err := url.Parse(m.Issuer); err != nil || u.Scheme != "https" {
		warn("issuer " + quote(m.Issuer) + " is not an https URL; ID tokens must carry exactly this iss")
	}
	eps := []struct{ key, name, v string }{
		{"authorization", "authorization_endpoint", m.AuthorizationEndpoint},
		{"token", "token_endpoint", m.TokenEndpoint},
		{"jwks", "jwks_uri", m.JWKSURI},
		{"userinfo", "userinfo_endpoint", m.UserinfoEndpoint},
		{"end_session", "end_session_endpoint", m.EndSessionEndpoint},
	}
	for i, ep := range eps {
		if ep.v == "" {
			if i < 3 {
				missing(ep.name + " is missing")
			}
			continue
		}
		r.Endpoints[ep.key] = ep.v
		if u, err := url.Parse(ep.v); err != nil || !u.IsAbs() {
			missing(ep.name + " " + quote(ep.v) + " is not an absolute URL")
		} else if u.Scheme != "https" {
			warn(ep.name + " " + quote(ep.v) + " is not https (needs InsecureAllowHTTP)")
		}
	}
	r.Userinfo = m.UserinfoEndpoint != ""
	if !r.Userinfo {
		warn("no userinfo_endpoint: the email must be in the ID token")
	}
	r.Logout = m.EndSessionEndpoint != ""
	r.IssParameter = m.AuthorizationResponseIssParameterSupported

	r.CodeFlow = slices.Contains(m.ResponseTypesSupported, "code")
	if len(m.ResponseTypesSupported) == 0 {
		missing("response_types_supported is missing (required by OpenID Connect Discovery)")
	} else if !r.CodeFlow {
		missing("the authorization code flow is not offered (response_types_supported lacks \"code\")")
	}
	if len(m.GrantTypesSupported) > 0 && !slices.Contains(m.GrantTypesSupported, "authorization_code") {
		r.CodeFlow = false
		missing("grant_types_supported lacks authorization_code")
	}

	r.PKCE = slices.Contains(m.CodeChallengeMethodsSupported, "S256")
	switch {
	case len(m.CodeChallengeMethodsSupported) == 0:
		warn("code_challenge_methods_supported is not advertised; PKCE S256 is sent anyway and most providers accept it")
	case !r.PKCE:
		warn("PKCE S256 is not offered (only " + strings.Join(m.CodeChallengeMethodsSupported, ", ") + "); PKCE is sent anyway")
	}

	r.EmailScope = slices.Contains(m.ScopesSupported, "email")
	switch {
	case len(m.ScopesSupported) == 0:
		r.EmailScope = true
		warn("scopes_supported is not advertised; assuming the email scope is offered")
	case !r.EmailScope:
		missing("the email scope is not offered (scopes_supported lacks \"email\")")
	}
	if len(m.ScopesSupported) > 0 && !slices.Contains(m.ScopesSupported, "openid") {
		warn("scopes_supported lacks \"openid\"")
	}

	r.AuthMethods = m.TokenEndpointAuthMethodsSupported
	if len(r.AuthMethods) == 0 {
		r.AuthMethods = []string{string(AuthClientSecretBasic)} // the default per OpenID Connect Discovery
	}
	for _, a := range r.AuthMethods {
		switch AuthMethod(a) {
		case AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT:
			r.SupportedAuthMethods = append(r.SupportedAuthMethods, a)
		}
	}
	if len(r.SupportedAuthMethods) == 0 {
		missing("no supported token endpoint authentication method (provider offers " + strings.Join(r.AuthMethods, ", ") + "; ssokit uses client_secret_basic, client_secret_post, private_key_jwt)")
	}

	r.SigningAlgorithms = m.IDTokenSigningAlgValuesSupported
	if len(r.SigningAlgorithms) == 0 {
		missing("id_token_signing_alg_values_supported is missing")
	} else if !slices.ContainsFunc(r.SigningAlgorithms, func(a string) bool { return slices.Contains(defaultAlgs, a) }) {
		missing("no allowed ID token signing algorithm (provider offers " + strings.Join(r.SigningAlgorithms, ", ") + "; ssokit accepts asymmetric algorithms only)")
	}
	if len(m.IDTokenEncryptionAlgValues) > 0 {
		warn("the provider can encrypt ID tokens; register the client without ID token encryption (encrypted ID tokens are not supported)")
	}
	if !r.Logout {
		warn("no end_session_endpoint: logout ends the application's session only")
	}
	r.Usable = len(r.Missing) == 0
	return r
}
