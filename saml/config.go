package saml

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/safehttp"
)

// Defaults applied by New for zero Config fields.
const (
	// DefaultClockSkew is the tolerance for clock differences between the
	// IdP and this server when checking NotBefore, NotOnOrAfter and
	// IssueInstant.
	DefaultClockSkew = 3 * time.Minute
	// DefaultMaxResponseBytes caps a decoded SAMLResponse before parsing.
	DefaultMaxResponseBytes = 256 << 10
	// DefaultFlowLifetime is how long a login started with Begin may take.
	DefaultFlowLifetime = 15 * time.Minute
	// DefaultCertificateWarning is how long before a certificate's expiry
	// the certificate_expiring event starts.
	DefaultCertificateWarning = 30 * 24 * time.Hour
	// DefaultMetadataMaxAge is the refresh interval of metadata fetched
	// from a URL when it states no cacheDuration.
	DefaultMetadataMaxAge = 6 * time.Hour
	// DefaultMetadataMinRefetchInterval is the least time between two
	// metadata fetches caused by responses signed with a key the
	// connection does not know.
	DefaultMetadataMinRefetchInterval = time.Minute
	// DefaultMetadataMaxBytes caps fetched metadata.
	DefaultMetadataMaxBytes = 4 << 20
	// DefaultTimeout bounds each request to the IdP (a metadata fetch).
	DefaultTimeout = 20 * time.Second
)

// Config configures one SAML connection: this application as a service
// provider (SP) towards one identity provider (IdP). New reads it once; the
// Config is not used after New returns.
//
// The IdP is described by exactly one of IdPMetadataXML, IdPMetadataURL, or
// the IdP* fields set by hand (IdPEntityID, IdPSSOURL, IdPCertificates).
// With metadata, IdPCertificates may add certificates to trust beyond those
// the metadata lists (e.g. an announced successor).
type Config struct {
	// ID is the connection ID, unique across the application. Required.
	ID string
	// Account is the account (tenant) the connection belongs to; it only
	// labels events.
	Account string

	// EntityID is this service provider's entity ID, the Audience the IdP
	// must address. Required.
	EntityID string
	// ACSURL is the absolute URL of this connection's Assertion Consumer
	// Service, where the IdP POSTs responses. Responses must name it as
	// Destination and Recipient. Required.
	ACSURL string
	// SLOURL is the absolute URL where the IdP sends LogoutResponses, and
	// its own LogoutRequests (see FinishLogout). Published in the SP metadata
	// when set.
	SLOURL string

	// IdPMetadataXML is the IdP's metadata document.
	IdPMetadataXML []byte
	// IdPMetadataURL is where to fetch the IdP's metadata. It is fetched by
	// New and refreshed in the background (see the Metadata* fields).
	IdPMetadataURL string
	// IdPEntityID is the IdP's entity ID, the expected Issuer. With
	// metadata that describes several IdPs it picks one.
	IdPEntityID string
	// IdPSSOURL is the IdP's single sign-on URL. Optional for connections
	// that only accept IdP-initiated logins.
	IdPSSOURL string
	// IdPSSOBinding is the binding of IdPSSOURL: BindingHTTPRedirect
	// (default) or BindingHTTPPost.
	IdPSSOBinding string
	// IdPSLOURL is the IdP's single logout URL (HTTP-Redirect binding).
	IdPSLOURL string
	// IdPCertificates are the IdP's signing certificates, each in any form
	// ParseCertificates reads (PEM, bare base64 on one or many lines, DER);
	// an element may hold several. Two certificates allow a rollover.
	IdPCertificates [][]byte

	// HTTPClient replaces the guarded client that fetches IdPMetadataURL.
	// Tests only: the address and scheme guards are then the client's
	// business (the size cap still applies).
	HTTPClient *http.Client
	// CACertPEM holds PEM certificates trusted instead of the system roots
	// for the metadata server's TLS certificate (e.g. an internal CA of an
	// on-premises ADFS).
	CACertPEM []byte
	// InsecureAllowHTTP allows an http:// metadata URL. Without TLS the
	// metadata, and so the trusted certificates, can be replaced in transit:
	// use only for tests and private networks.
	InsecureAllowHTTP bool
	// InsecureAllowPrivateNetwork allows metadata URLs that resolve to
	// loopback, private or link-local addresses (refused by default so that
	// a tenant cannot make the server fetch from its internal network).
	InsecureAllowPrivateNetwork bool
	// MetadataMaxBytes caps fetched metadata; DefaultMetadataMaxBytes when 0.
	MetadataMaxBytes int64
	// Timeout bounds each request to the IdP (a metadata fetch);
	// DefaultTimeout when 0.
	Timeout time.Duration
	// MetadataMaxAge is the refresh interval when the metadata states no
	// cacheDuration; DefaultMetadataMaxAge when 0.
	MetadataMaxAge time.Duration
	// MetadataMinRefetchInterval is the least time between two fetches of
	// the metadata URL caused by a response signed with a key the
	// connection does not trust: such a response makes the connection
	// fetch the metadata once before refusing it, so that an IdP that
	// switches to a certificate it has just published is followed at the
	// first login rather than at the next scheduled refresh.
	// DefaultMetadataMinRefetchInterval when 0.
	MetadataMinRefetchInterval time.Duration

	// SPKeys are the service provider's keys. The first is current: it
	// signs requests and its certificate is published for encryption. All
	// of them decrypt, so during a key change the old key stays listed
	// until the IdP uses the new certificate.
	SPKeys []KeyPair
	// SignAuthnRequests signs AuthnRequests with SPKeys[0] (RSA-SHA256).
	// LogoutRequests are signed whenever an SP key is configured.
	SignAuthnRequests bool

	// RequestBinding is the binding for AuthnRequests: BindingHTTPRedirect
	// or BindingHTTPPost. When empty, Redirect is used if the IdP offers it.
	RequestBinding string
	// NameIDFormat is the NameIDPolicy Format to request, e.g.
	// NameIDFormatEmailAddress. Empty lets the IdP choose.
	NameIDFormat string
	// RequestedAuthnContext, when set, asks the IdP for these
	// authentication context classes (RequestedAuthnContext in the
	// AuthnRequest), e.g. "https://refeds.org/profile/mfa" to ask for
	// multi-factor authentication; RequestedAuthnComparison is "exact" (the
	// default), "minimum", "maximum" or "better". What the IdP did comes
	// back as Identity.AuthnContext whether or not it honoured the request.
	RequestedAuthnContext    []string
	RequestedAuthnComparison string
	// MFAContexts are the AuthnContextClassRef values that show
	// multi-factor authentication (Identity.MFA); DefaultMFAContexts when
	// nil. Entra ID's authnmethodsreferences attribute counts too (see
	// sso.MultiFactor).
	MFAContexts []string
	// SendLoginHint puts BeginRequest.LoginHint into the AuthnRequest's
	// Subject. Some IdPs use it to pre-fill their login page; some reject
	// requests that carry a Subject, hence opt-in.
	SendLoginHint bool
	// SubjectAttribute names the attribute that holds the stable user
	// identifier (e.g. "UID"); the NameID is used when empty.
	SubjectAttribute string
	// Attributes names the attributes that fill the Identity's fields,
	// each a list tried in order (Groups: all of them, and values holding
	// commas are split); nil fields take DefaultAttributes.
	Attributes sso.AttributeMap
	// TrustEmail marks Identity.Email as verified: set it when the IdP is
	// authoritative for the emails it sends.
	TrustEmail bool

	// AllowIdPInitiated accepts unsolicited responses (IdP-initiated login).
	// Their RelayState is used only as a same-site relative return path.
	AllowIdPInitiated bool
	// AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests. Off by
	// default: SHA-1 is broken for collision resistance.
	AllowSHA1 bool
	// RejectExpiredCertificates rejects responses signed with an IdP
	// certificate outside its validity dates. By default they are accepted
	// with a warning on the Identity and an event, because many IdPs keep
	// signing with expired certificates and the certificate is pinned.
	RejectExpiredCertificates bool
	// SkipIssuerCheck accepts any Issuer. It exists for ssocheck, which may
	// be given certificates without an entity ID; applications MUST NOT set
	// it.
	SkipIssuerCheck bool
	// ClockSkew is the tolerance for time checks; DefaultClockSkew when 0.
	ClockSkew time.Duration
	// MaxResponseBytes caps the decoded response; DefaultMaxResponseBytes
	// when 0.
	MaxResponseBytes int64
	// FlowLifetime is how long a login may take between Begin and
	// Complete; DefaultFlowLifetime when 0.
	FlowLifetime time.Duration
	// AllowUnsignedLogoutRequests accepts LogoutRequests from the IdP that
	// carry no signature (HandleLogoutRequest, FinishLogout). Off by default:
	// SLOURL is public, so without a signature any web page could send the
	// browser there and end its sessions at will, e.g. to push people
	// through a login page again. Set it only for an IdP that cannot sign
	// its logout requests. A request that is signed must still verify, and
	// every other check still applies.
	AllowUnsignedLogoutRequests bool
	// CertificateWarning is how long before expiry certificate_expiring
	// events start; DefaultCertificateWarning when 0.
	CertificateWarning time.Duration

	// Debug logs each decoded message and the exact failing check to
	// Logger, for administrators setting up a connection. It never loosens
	// a check. Messages contain personal data: do not leave it on.
	Debug bool
	// Logger receives debug output; slog.Default() when nil.
	Logger *slog.Logger
	// Events receives certificate, metadata and warning events.
	Events sso.EventFunc
	// StateStore keeps pending logins; an in-memory store when nil (one
	// instance only; use a shared store behind a load balancer).
	StateStore sso.StateStore
	// ReplayCache remembers used assertion IDs; an in-memory cache when nil.
	ReplayCache sso.ReplayCache
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand is the source for state handles; crypto/rand when nil.
	Rand io.Reader
}

const claims = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"

// DefaultMFAContexts are the authentication context classes that show
// multi-factor authentication: the REFEDS MFA profile, SAML 2.0's
// two-factor and smartcard-with-PIN classes, and the class AD FS and Entra
// ID name after a multi-factor sign-in.
var DefaultMFAContexts = []string{
	"https://refeds.org/profile/mfa",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
	"http://schemas.microsoft.com/claims/multipleauthn",
}

// AttributeAuthnMethods is the attribute in which Entra ID and AD FS name
// the authentication methods used (Identity.AuthnMethods).
const AttributeAuthnMethods = "http://schemas.microsoft.com/claims/authnmethodsreferences"

// DefaultAttributes are the attributes that fill an [sso.Identity] where
// Config.Attributes names none: the names Entra ID, ADFS, Okta, Google,
// OneLogin, Keycloak and Shibboleth send by default (friendly names and
// URIs), tried in order. Every attribute is in Identity.Attributes either
// way.
var DefaultAttributes = sso.AttributeMap{
	Email: []string{"email", "Email", "mail", "emailAddress", "EmailAddress", "User.email",
		claims + "emailaddress", claims + "emailAddress", "urn:oid:0.9.2342.19200300.100.1.3"},
	GivenName: []string{"givenName", "firstName", "FirstName", "first_name", "First name", "User.FirstName",
		claims + "givenname", "urn:oid:2.5.4.42"},
	FamilyName: []string{"sn", "surname", "lastName", "LastName", "last_name", "Last name", "User.LastName",
		claims + "surname", "urn:oid:2.5.4.4"},
	DisplayName: []string{"displayName", "DisplayName", "name", "cn",
		"http://schemas.microsoft.com/identity/claims/displayname", "urn:oid:2.16.840.1.113730.3.1.241", "urn:oid:2.5.4.3"},
	Groups: []string{"groups", "Groups", "memberOf", "roles", "Roles", "role", "Role",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
		"urn:oid:1.3.6.1.4.1.5923.1.5.1.1"},
}

// Validate checks the configuration without parsing certificates or
// metadata (New does that). Errors match sso.ReasonInvalidConfig and name
// the field to fix.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return &sso.Error{Op: "saml.Config.Validate", Reason: sso.ReasonInvalidConfig, Connection: c.ID, Detail: fmt.Sprintf(format, a...)}
	}
	if c.ID == "" {
		return bad("ID is required")
	}
	if c.EntityID == "" {
		return bad("EntityID (the service provider's entity ID) is required")
	}
	if err := absURL(c.ACSURL); err != nil {
		return bad("ACSURL: %v", err)
	}
	if c.SLOURL != "" {
		if err := absURL(c.SLOURL); err != nil {
			return bad("SLOURL: %v", err)
		}
	}
	sources := 0
	if len(c.IdPMetadataXML) > 0 {
		sources++
	}
	if c.IdPMetadataURL != "" {
		sources++
		if c.HTTPClient == nil {
			opts, err := c.safeOptions()
			if err == nil {
				err = safehttp.CheckURL(c.IdPMetadataURL, opts)
			}
			if err != nil {
				var e *sso.Error
				if errors.As(err, &e) {
					return &sso.Error{Op: "saml.Config.Validate", Reason: e.Reason, Connection: c.ID, Detail: "IdPMetadataURL: " + e.Detail,
						Expected: e.Expected, Actual: e.Actual, Err: e.Err}
				}
				return bad("IdPMetadataURL: %v", err)
			}
		} else if err := absURL(c.IdPMetadataURL); err != nil {
			return bad("IdPMetadataURL: %v", err)
		}
	}
	switch {
	case sources > 1:
		return bad("set only one of IdPMetadataXML and IdPMetadataURL")
	case sources == 0 && len(c.IdPCertificates) == 0:
		return bad("describe the IdP: set IdPMetadataXML, IdPMetadataURL, or IdPEntityID, IdPSSOURL and IdPCertificates")
	case sources == 0 && c.IdPEntityID == "" && !c.SkipIssuerCheck:
		return bad("IdPEntityID (the IdP's entity ID, the expected Issuer) is required when the IdP is configured by hand")
	}
	if c.IdPSSOURL != "" {
		if err := absURL(c.IdPSSOURL); err != nil {
			return bad("IdPSSOURL: %v", err)
		}
	}
	if c.IdPSLOURL != "" {
		if err := absURL(c.IdPSLOURL); err != nil {
			return bad("IdPSLOURL: %v", err)
		}
	}
	switch c.IdPSSOBinding {
	case "", BindingHTTPRedirect, BindingHTTPPost:
	default:
		return bad("IdPSSOBinding %q is not %s or %s", c.IdPSSOBinding, BindingHTTPRedirect, BindingHTTPPost)
	}
	switch c.RequestedAuthnComparison {
	case "", "exact", "minimum", "maximum", "better":
	default:
		return bad("RequestedAuthnComparison %q is not exact, minimum, maximum or better", c.RequestedAuthnComparison)
	}
	if c.RequestedAuthnComparison != "" && len(c.RequestedAuthnContext) == 0 {
		return bad("RequestedAuthnComparison is set without RequestedAuthnContext")
	}
	switch c.RequestBinding {
	case "", BindingHTTPRedirect, BindingHTTPPost:
	default:
		return bad("RequestBinding %q is not %s or %s", c.RequestBinding, BindingHTTPRedirect, BindingHTTPPost)
	}
	if c.SignAuthnRequests && len(c.SPKeys) == 0 {
		return bad("SignAuthnRequests needs a key in SPKeys")
	}
	if c.ClockSkew < 0 || c.ClockSkew > time.Hour {
		return bad("ClockSkew %v is outside 0..1h", c.ClockSkew)
	}
	if c.MaxResponseBytes < 0 || c.FlowLifetime < 0 || c.MetadataMaxBytes < 0 || c.Timeout < 0 || c.MetadataMaxAge < 0 || c.MetadataMinRefetchInterval < 0 || c.CertificateWarning < 0 {
		return bad("sizes and durations must not be negative")
	}
	return nil
}

func absURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q does not parse: %v", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
