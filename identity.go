package sso

import (
	"context"
	"net/url"
	"sort"
	"time"
)

// Protocol names the protocol of a connection.
type Protocol string

// The protocols ssokit implements.
const (
	ProtocolSAML Protocol = "saml"
	ProtocolOIDC Protocol = "oidc"
	ProtocolLDAP Protocol = "ldap"
)

// Identity is what a connection proved about the person who logged in.
//
// Subject is the stable identifier the identity provider uses for the person:
// the SAML NameID or the configured identifier attribute, the OIDC "sub"
// (unique only together with Issuer), or the LDAP entry's DN. Hosts link their
// users to (Connection, Subject), never to the email alone.
type Identity struct {
	// Connection is the ID of the connection that authenticated the person.
	Connection string
	// Protocol is the connection's protocol.
	Protocol Protocol
	// Issuer is the SAML IdP entity ID, the OIDC issuer URL, or the LDAP URL
	// that answered.
	Issuer string
	// Subject is the stable identifier at the issuer (see above).
	Subject string
	// SubjectFormat is the SAML NameID Format or the name of the attribute
	// the subject came from; empty for OIDC and LDAP.
	SubjectFormat string
	// Email is normalised with [NormalizeEmail]: trimmed, domain lower-case
	// and in IDNA ASCII form. The local part keeps its case.
	Email string
	// EmailVerified reports that the issuer vouches for Email: an OIDC
	// email_verified claim, or a SAML or LDAP connection configured to trust
	// its directory's emails.
	EmailVerified bool
	// Names as the issuer sent them.
	GivenName, FamilyName, DisplayName string
	// Groups holds group or role names from the issuer, deduplicated, in
	// the order received. Comma-separated single values are split when the
	// connection says so.
	Groups []string
	// Attributes holds everything the issuer sent, by name, for mapping.
	Attributes map[string][]string
	// AuthTime is when the person authenticated at the issuer, if known.
	AuthTime time.Time
	// AuthnContext is how the person authenticated, as the issuer states
	// it: the SAML assertion's AuthnContextClassRef, the OpenID Connect acr
	// claim. Empty when not stated.
	AuthnContext string
	// AuthnMethods are the authentication methods the issuer names: the
	// OpenID Connect amr claim (RFC 8176), Entra ID's
	// authnmethodsreferences SAML attribute.
	AuthnMethods []string
	// MFA reports that the issuer's statement (AuthnContext or
	// AuthnMethods) shows more than one authentication factor, by the
	// connection's rules (see MultiFactor, saml.Config.MFAContexts,
	// oidc.Config.MFAACRValues). It is the identity provider's word, which
	// policy may count as the account's second factor.
	MFA bool
	// SignedBy names the key that signed what the issuer sent: for SAML
	// the SHA-256 fingerprint of the certificate that verified the
	// assertion (as saml.CertificateInfo.SHA256), for OpenID Connect the
	// key ID (kid) of the provider's key that verified the ID token.
	// Empty for LDAP. Administrators
	// use it during a key rollover to see which key the issuer uses.
	SignedBy string
	// SessionIndex is the SAML session index, needed for single logout
	// (the OIDC "sid" claim for OpenID Connect).
	SessionIndex string
	// IDToken is the raw OpenID Connect ID token, kept so that logout can
	// send it to the provider as id_token_hint. It redacts itself when
	// printed, logged or marshalled to JSON. Empty for SAML and LDAP.
	IDToken Secret
	// IdPInitiated reports a login the identity provider started (SAML
	// unsolicited response) rather than one this application requested.
	IdPInitiated bool
	// ReturnTo is the same-site relative path the login should land on, as
	// given to Begin or, for IdP-initiated logins, taken from a RelayState
	// that passed [SafeReturnPath]. Empty when none.
	ReturnTo string
	// FlowData is the host data given to Begin in [BeginRequest.FlowData].
	FlowData map[string]string
	// Warnings are non-fatal findings an administrator should see, e.g. a
	// response signed with an expired certificate the connection accepts.
	Warnings []Warning
}

// Attribute returns the first value of the named attribute, or "".
func (id *Identity) Attribute(name string) string {
	if v := id.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// FirstAttribute returns the first non-empty value of the first of names
// the identity carries, comparing names exactly first and then ignoring the
// case of ASCII letters, or "". Hosts and the other packages read the values
// no Identity field holds this way (a department, a language, SmartSimple's
// SSOModule), from the attribute or claim names a connection is configured
// with.
func (id *Identity) FirstAttribute(names ...string) string {
	for _, n := range names {
		for _, v := range id.Attributes[n] {
			if v != "" {
				return v
			}
		}
	}
	var keys []string
	for k := range id.Attributes {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same answer whichever spellings were sent
	for _, n := range names {
		for _, k := range keys {
			if EqualFoldASCII(k, n) {
				for _, v := range id.Attributes[k] {
					if v != "" {
						return v
					}
				}
			}
		}
	}
	return ""
}

// AttributeMap names the attributes (SAML), claims (OpenID Connect) or
// directory attributes (LDAP) that fill an [Identity]'s fields. Each field
// lists names tried in order; the first the identity provider sent wins
// (Groups reads every name listed). A nil field means the protocol
// package's default names, an empty non-nil one none at all. Everything the
// provider sent is in Identity.Attributes either way.
type AttributeMap struct {
	Email, GivenName, FamilyName, DisplayName []string
	Groups                                    []string
}

// Or returns m with each nil field taken from def: a protocol package's
// defaults under a connection's own names.
func (m AttributeMap) Or(def AttributeMap) AttributeMap {
	pick := func(a, d []string) []string {
		if a == nil {
			return d
		}
		return a
	}
	return AttributeMap{Email: pick(m.Email, def.Email), GivenName: pick(m.GivenName, def.GivenName),
		FamilyName: pick(m.FamilyName, def.FamilyName), DisplayName: pick(m.DisplayName, def.DisplayName), Groups: pick(m.Groups, def.Groups)}
}

// Warning is a non-fatal finding about a successful login or a configuration.
type Warning struct {
	// Reason is the stable code of the finding, e.g. ReasonCertificateExpired.
	Reason Reason
	// Detail explains it for administrators.
	Detail string
}

// String returns "reason: detail".
func (w Warning) String() string { return string(w.Reason) + ": " + w.Detail }

// Authenticator is one configured connection of one protocol.
//
// Redirect protocols (SAML, OIDC) Begin with a [Step] that sends the browser
// to the identity provider, and Complete from the browser's return. LDAP
// Begins with a password prompt and Completes from the submitted credentials.
//
// Implementations are safe for concurrent use.
type Authenticator interface {
	// ID returns the connection ID.
	ID() string
	// Protocol returns the connection's protocol.
	Protocol() Protocol
	// Begin starts a login.
	Begin(ctx context.Context, req BeginRequest) (*Step, error)
	// Complete finishes a login and returns the proven identity, or an
	// error that is or wraps an *Error.
	Complete(ctx context.Context, req CompleteRequest) (*Identity, error)
}

// BeginRequest starts a login.
type BeginRequest struct {
	// Flows keeps the pending login until Complete, bound to the browser
	// that starts it. Package login passes [Cookies.Flows], which seals it
	// into a cookie. When nil, redirect protocols keep it in their
	// connection's StateStore under Binding.
	Flows Flows
	// Binding ties the login to the browser that starts it when Flows is
	// nil: a random value the host keeps in a cookie (see [NewBinding])
	// and passes again to Complete.
	Binding string
	// ReturnTo is the same-site relative path to land on after the login.
	// It is checked with [SafeReturnPath]; an unsafe value is an error.
	ReturnTo string
	// LoginHint is the email the person entered, passed to the identity
	// provider where the protocol allows (OIDC login_hint, SAML Subject).
	LoginHint string
	// ForceAuthn asks the identity provider to authenticate the person again
	// even if it has a session (SAML ForceAuthn, OIDC prompt=login).
	ForceAuthn bool
	// FlowData is host data kept with the pending login and returned in
	// [Identity.FlowData]. Sealed into a cookie it travels with the
	// browser, which can neither read nor change it; keep it small.
	FlowData map[string]string
}

// CompleteRequest finishes a login.
type CompleteRequest struct {
	// Flows holds the pending logins of the browser, as given to Begin.
	// When nil, the connection's StateStore under Binding.
	Flows Flows
	// Binding is the value from the browser's cookie given to Begin when
	// Flows is nil. It is empty for an IdP-initiated SAML login when the
	// browser has none.
	Binding string
	// Params holds the parameters the browser returned: the POST form of a
	// SAML ACS (SAMLResponse, RelayState), the query of an OIDC callback
	// (code, state, iss, error...).
	Params url.Values
	// RawQuery is the query string exactly as received (r.URL.RawQuery)
	// when the answer came by GET. The SAML HTTP-Redirect binding signs the
	// URL-encoded octets as the identity provider sent them, which
	// re-encoding Params does not always reproduce.
	RawQuery string
	// Email and Password are the credentials of a password protocol (LDAP).
	Email    string
	Password Secret
}

// StepKind says what the host must do with a [Step].
type StepKind int

// The kinds of Step.
const (
	// StepRedirect: send the browser to URL (HTTP 303).
	StepRedirect StepKind = iota + 1
	// StepPostForm: render an auto-submitting HTML form that POSTs Form to URL.
	StepPostForm
	// StepPasswordPrompt: ask for the email and password, then call Complete.
	StepPasswordPrompt
)

// String returns "redirect", "post_form" or "password_prompt".
func (k StepKind) String() string {
	switch k {
	case StepRedirect:
		return "redirect"
	case StepPostForm:
		return "post_form"
	case StepPasswordPrompt:
		return "password_prompt"
	}
	return "unknown"
}

// Step is what Begin asks the host to do next.
type Step struct {
	// Kind says what the host must do.
	Kind StepKind
	// URL is the redirect target or the form's action.
	URL string
	// Form holds the fields of a StepPostForm.
	Form url.Values
	// State is the handle of the pending login (SAML RelayState, OIDC
	// state). Hosts need not use it; it helps correlate logs.
	State string
	// Expires is when the pending login stops being accepted.
	Expires time.Time
}

// Endpoints are the application's URLs that one connection's identity
// provider calls or names. Package login serves them below its base URL
// (see login.EndpointsOf) and checks that a connection is configured with
// the ones it serves.
type Endpoints struct {
	// EntityID is the SAML service provider's entity ID (by convention the
	// metadata URL).
	EntityID string
	// Metadata is where the SAML SP metadata is served.
	Metadata string
	// ACS is the SAML assertion consumer service URL.
	ACS string
	// SLO is the SAML single logout URL.
	SLO string
	// Callback is the OpenID Connect redirect URI.
	Callback string
}

// ConnectionInfo is implemented by Authenticators that can say more about
// their connection than ID and Protocol. Package login reads it to route
// IdP-initiated logins, to check URLs and to explain failures.
type ConnectionInfo interface {
	// Issuer returns the identity provider's SAML entity ID or OpenID
	// issuer: what its logins carry; "" for a directory.
	Issuer() string
	// Endpoints returns the application URLs the connection is configured
	// with (empty fields for the URLs its protocol does not use).
	Endpoints() Endpoints
	// Debug reports the connection's debug mode: failures are explained in
	// full on the page and identities are logged. It never loosens a
	// check.
	Debug() bool
}
