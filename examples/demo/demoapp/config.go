package demoapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// Config is the demo's setup: accounts with their domains, policies and
// connections, and the application's users. The built-in setup is a Config
// too (see builtinConfig); -config FILE reads one from JSON. Unknown fields
// are errors, so a typo never goes unnoticed. sample-config.json is the
// built-in setup as a file; CONFIG.md beside it describes every field.
type Config struct {
	// Comment is ignored (JSON has no comments); every object below may
	// have one too. The start page shows the comments of accounts and
	// users.
	Comment string `json:"comment,omitempty"`
	// BaseURL is the application's public URL, e.g. "https://sso.example.com";
	// redirect and ACS URLs are built from it. Default: the -addr listener,
	// as http://localhost:PORT. The -base-url flag overrides it.
	BaseURL string `json:"base_url,omitempty"`
	// Database is the SQLite file for users, links, login state and events.
	// Default: a fresh file in a temporary directory, removed at exit. The
	// -db flag overrides it.
	Database string `json:"database,omitempty"`
	// Postgres is the URL of a PostgreSQL database, in place of the SQLite
	// file: what several replicas of the application share (users, links,
	// events, sessions, the admin page's changes and, without Redis, the
	// replay records). The -postgres flag overrides it.
	Postgres Secret `json:"postgres,omitempty"`
	// Redis is a redis:// URL: the replay records and the identities
	// waiting on the login pages go there instead of the database. The
	// -redis flag overrides it.
	Redis Secret `json:"redis,omitempty"`
	// CookieKeys are base64 keys of 32 bytes that seal the pending logins
	// and login bindings kept in browsers; the first seals, all open. Every
	// replica needs the same. Default: one created at the first start and
	// kept in the database.
	CookieKeys []Secret `json:"cookie_keys,omitempty"`
	// AdminRole is the role that makes a member an account administrator;
	// "Administrator" when empty.
	AdminRole string `json:"admin_role,omitempty"`
	// MockIdPs starts the built-in mock SAML IdP, OpenID provider and LDAP
	// directory with their sample users, so that connections may point at
	// them. Remove it when every connection points at a real IdP.
	MockIdPs *MockIdPs `json:"mock_idps,omitempty"`
	// Accounts are the customer accounts.
	Accounts []AccountConfig `json:"accounts"`
	// Users are the application's users with their passwords and
	// memberships, created at start when the database does not have them.
	Users []UserConfig `json:"users,omitempty"`
	// TrustedProxies are the proxies in front of the application whose
	// X-Forwarded-For gives the client address (for networks).
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
}

// NetworksConfig is an allowed-networks list (login.Networks): address
// ranges ("10.0.0.0/8", "2001:db8::/32") or single addresses.
type NetworksConfig struct {
	Allow  []string `json:"allow"`
	DryRun bool     `json:"dry_run,omitempty"`
}

// MockIdPs are the loopback addresses of the built-in mock identity
// providers. The -saml-addr, -oidc-addr and -ldap-addr flags override them.
type MockIdPs struct {
	SAMLAddr string `json:"saml_addr,omitempty"` // default 127.0.0.1:8081
	OIDCAddr string `json:"oidc_addr,omitempty"` // default 127.0.0.1:8082
	LDAPAddr string `json:"ldap_addr,omitempty"` // default 127.0.0.1:8389
}

// AccountConfig is one customer account (tenant). CONFIG.md describes
// each field.
type AccountConfig struct {
	// Comment is shown on the start page.
	Comment string `json:"comment,omitempty"`
	// ID is the account's unique ID; Name is shown on the pages.
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Aliases are the SSO domains for /login/sso/{alias}.
	Aliases []string `json:"aliases,omitempty"`
	// Domains are the claimed email domains: "acme.example", or
	// {"name": "acme.example", "shared": true} for a domain several
	// accounts share (its people then pick an account).
	Domains []discovery.Domain `json:"domains,omitempty"`
	// Policy is the account's login policy.
	Policy PolicyConfig `json:"policy"`
	// Connections are the account's identity providers.
	Connections []ConnectionConfig `json:"connections,omitempty"`
	// Networks restricts every login to the account to client addresses.
	Networks *NetworksConfig `json:"networks,omitempty"`
}

// PolicyConfig is policy.Policy without the parts the connections carry.
type PolicyConfig struct {
	// Mode is "password_only", "sso_optional" or "sso_required".
	Mode policy.Mode `json:"mode,omitempty"`
	// Scope limits sso_required: {"kind": "email_domains", "domains": [...]}
	// or {"kind": "roles", "roles": [...]}; all users when absent.
	Scope                    policy.Scope `json:"scope,omitzero"`
	AdminsMayUsePassword     bool         `json:"admins_may_use_password,omitempty"`
	DryRun                   bool         `json:"dry_run,omitempty"`
	SecondFactorRequired     bool         `json:"second_factor_required,omitempty"`
	SSOSatisfiesSecondFactor bool         `json:"sso_satisfies_second_factor,omitempty"`
}

// ConnectionConfig is one identity provider of an account. Exactly one of
// SAML, OIDC and LDAP is set, matching Protocol. CONFIG.md describes each
// field.
type ConnectionConfig struct {
	// Comment is a note for people.
	Comment string `json:"comment,omitempty"`
	// ID is unique across the application; it appears in the connection's
	// URLs (/saml/{id}/acs, /oidc/{id}/callback, /ldap/{id}/login).
	ID string `json:"id"`
	// Protocol is "saml", "oidc" or "ldap".
	Protocol sso.Protocol `json:"protocol"`
	// DisplayName is shown on the picker's button; LogoURL is handed to
	// the pages' data for templates that show a logo.
	DisplayName string `json:"display_name,omitempty"`
	LogoURL     string `json:"logo_url,omitempty"`
	// Stage is "draft", "testing" or "live"; TestUsers are the emails that
	// may use a testing connection.
	Stage     policy.Stage `json:"stage,omitempty"`
	TestUsers []string     `json:"test_users,omitempty"`
	// Module is the SSOModule value that picks this connection among the
	// account's connections in IdP-initiated SAML logins.
	Module string `json:"module,omitempty"`
	// Issuers are extra issuers for IdP-initiated routing; the SAML IdP's
	// entity ID or the OIDC issuer is always included.
	Issuers []string `json:"issuers,omitempty"`
	// Debug shows failure details on the error page.
	Debug bool `json:"debug,omitempty"`
	// LogoutRedirectURL is where logout sends the browser after a session
	// of this connection ends, when the identity provider does not end its
	// own session too (SAML without single logout, OpenID Connect without
	// post_logout_redirect_url): e.g. the identity provider's logout page
	// or a page of this application. An absolute URL or a path.
	LogoutRedirectURL string `json:"logout_redirect_url,omitempty"`
	// IdPEnforcesMFA states that the IdP always requires multi-factor
	// authentication (login.Connection.IdPEnforcesMFA).
	IdPEnforcesMFA bool `json:"idp_enforces_mfa,omitempty"`
	// LandingPage is where a login through this connection without a
	// return path lands: a path of this application.
	LandingPage string `json:"landing_page,omitempty"`
	// Networks restricts logins through this connection to client
	// addresses.
	Networks *NetworksConfig `json:"networks,omitempty"`

	// SAML, OIDC and LDAP are the protocol's settings: the one of Protocol.
	SAML *SAMLConfig `json:"saml,omitempty"`
	OIDC *OIDCConfig `json:"oidc,omitempty"`
	LDAP *LDAPConfig `json:"ldap,omitempty"`

	// Provisioning says how an identity becomes the application's user.
	Provisioning ProvisioningConfig `json:"provisioning,omitzero"`
}

// SAMLConfig connects to a SAML IdP. Exactly one of IdPMetadataURL,
// IdPMetadataXML and IdPMetadataFile is set.
type SAMLConfig struct {
	IdPMetadataURL  string `json:"idp_metadata_url,omitempty"`
	IdPMetadataXML  string `json:"idp_metadata_xml,omitempty"`
	IdPMetadataFile string `json:"idp_metadata_file,omitempty"` // relative to the config file
	// IdPEntityID picks one IdP from metadata that lists several.
	IdPEntityID string `json:"idp_entity_id,omitempty"`
	// InsecureAllowHTTP and InsecureAllowPrivateNetwork allow a metadata
	// URL over plain http or on a private address (the built-in mock IdP).
	InsecureAllowHTTP           bool `json:"insecure_allow_http,omitempty"`
	InsecureAllowPrivateNetwork bool `json:"insecure_allow_private_network,omitempty"`
	// AllowIdPInitiated accepts logins the IdP starts.
	AllowIdPInitiated bool `json:"allow_idp_initiated,omitempty"`
	// SubjectAttribute names the attribute with the user identifier ("UID");
	// the NameID when empty.
	SubjectAttribute string `json:"subject_attribute,omitempty"`
	// NameIDFormat is requested in AuthnRequests.
	NameIDFormat string `json:"name_id_format,omitempty"`
	// TrustEmail marks the IdP's emails as verified.
	TrustEmail bool `json:"trust_email,omitempty"`
	// AllowSHA1 accepts RSA-SHA1 signatures.
	AllowSHA1 bool `json:"allow_sha1,omitempty"`
	// RequestedAuthnContext asks the IdP for these authentication context
	// classes; MFAContexts are the classes that show multi-factor
	// authentication (saml.DefaultMFAContexts when absent).
	RequestedAuthnContext []string `json:"requested_authn_context,omitempty"`
	MFAContexts           []string `json:"mfa_contexts,omitempty"`
	// SPKeys are the service provider's keys, the current one first: it
	// signs requests and its certificate is published for encryption; all
	// decrypt. SignAuthnRequests signs AuthnRequests with the first.
	SPKeys            []SPKeyConfig `json:"sp_keys,omitempty"`
	SignAuthnRequests bool          `json:"sign_authn_requests,omitempty"`
}

// SPKeyConfig is one service provider key: a PEM private key and its
// certificate, in files (relative to the config file) or inline.
type SPKeyConfig struct {
	KeyFile  string `json:"key_file,omitempty"`
	CertFile string `json:"cert_file,omitempty"`
	KeyPEM   Secret `json:"key_pem,omitempty"`
	CertPEM  string `json:"cert_pem,omitempty"`
	// UseFrom (RFC 3339) is when this key takes over from the current
	// one (saml.KeyPair.UseFrom); until then it is published and decrypts.
	UseFrom string `json:"use_from,omitempty"`
}

// OIDCConfig connects to an OpenID provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer, exactly as in its tokens.
	Issuer string `json:"issuer"`
	// ClientID and ClientSecret are registered at the provider.
	ClientID     string `json:"client_id"`
	ClientSecret Secret `json:"client_secret"`
	// AuthMethod is "client_secret_basic" (default) or "client_secret_post".
	AuthMethod string `json:"auth_method,omitempty"`
	// Scopes are asked for besides "openid email profile".
	Scopes []string `json:"scopes,omitempty"`
	// PostLogoutRedirectURL turns on logout at the provider (OpenID
	// Connect RP-initiated logout): after the application's session ends,
	// the browser goes to the provider's end_session_endpoint, which ends
	// the provider's session and returns it here. An absolute URL or a
	// path of this application ("/?logged_out=1"); register it at the
	// provider as a post-logout redirect URI. Empty: logout ends only the
	// application's session (then logout_redirect_url applies).
	PostLogoutRedirectURL string `json:"post_logout_redirect_url,omitempty"`
	// TrustEmail trusts emails without email_verified (Entra ID).
	TrustEmail bool `json:"trust_email,omitempty"`
	// CACertFile holds PEM certificates to trust for the provider's TLS.
	CACertFile string `json:"ca_cert_file,omitempty"`
	// InsecureAllowHTTP and InsecureAllowPrivateNetwork allow a plain http issuer
	// on a private address (the built-in mock provider).
	InsecureAllowHTTP           bool `json:"insecure_allow_http,omitempty"`
	InsecureAllowPrivateNetwork bool `json:"insecure_allow_private_network,omitempty"`
	// ACRValues asks the provider for these acr values; MFAACRValues are
	// the acr values that show multi-factor authentication
	// (oidc.DefaultMFAACRValues when absent).
	ACRValues    []string `json:"acr_values,omitempty"`
	MFAACRValues []string `json:"mfa_acr_values,omitempty"`
}

// LDAPConfig connects to an LDAP directory. Exactly one of Search,
// Templates and UPN is set.
type LDAPConfig struct {
	// URLs are ldaps:// or ldap:// (StartTLS) URLs, tried in order.
	URLs []string `json:"urls"`
	// CACertFile or CACertPEM holds the directory's CA certificates; the
	// system roots when both are empty.
	CACertFile string `json:"ca_cert_file,omitempty"`
	CACertPEM  string `json:"ca_cert_pem,omitempty"`
	// ServerName is the TLS server name when it differs from the URLs'.
	ServerName string `json:"server_name,omitempty"`
	// Search finds the user by email.
	Search *LDAPSearch `json:"search,omitempty"`
	// Templates builds the DN from the email, per domain:
	// {"example.com": "uid={},ou=people,dc=example,dc=com"}.
	Templates map[string]string `json:"templates,omitempty"`
	// UPN binds with the email as userPrincipalName (Active Directory).
	UPN *LDAPUPN `json:"upn,omitempty"`
	// TrustEmail marks the directory's mail attribute as verified.
	TrustEmail bool `json:"trust_email,omitempty"`
}

// LDAPSearch is ldap.Search.
type LDAPSearch struct {
	// BaseDN is where to search; ObjectClass the users' object class.
	BaseDN      string `json:"base_dn"`
	ObjectClass string `json:"object_class"`
	// BindDN and BindPassword are the service account that searches;
	// anonymous when empty.
	BindDN       string `json:"bind_dn,omitempty"`
	BindPassword Secret `json:"bind_password,omitempty"`
}

// LDAPUPN is ldap.UPN.
type LDAPUPN struct {
	BaseDN string `json:"base_dn,omitempty"`
}

// ProvisioningConfig is provisioning.Connection in JSON.
type ProvisioningConfig struct {
	// Identifier is "email" (default), "subject" or "attribute"; the value
	// is matched against members' sso_identifier.
	Identifier          string `json:"identifier,omitempty"`
	IdentifierAttribute string `json:"identifier_attribute,omitempty"`
	// AllowEmailOutsideDomains lets emails outside the account's domains in.
	AllowEmailOutsideDomains bool `json:"allow_email_outside_domains,omitempty"`
	// JIT creates unknown users at their first login.
	JIT *JITConfig `json:"jit,omitempty"`
	// LoginBinding binds an unknown identity to the user who logs in with a
	// password in the same browser and confirms.
	LoginBinding bool `json:"login_binding,omitempty"`
	// LoginBindingIdPInitiated lets identities of IdP-initiated logins be
	// bound too (after the password and the confirmation).
	LoginBindingIdPInitiated bool `json:"login_binding_idp_initiated,omitempty"`
	// Updates keeps names, roles and organisation up to date.
	UpdateNames        bool `json:"update_names,omitempty"`
	UpdateRoles        bool `json:"update_roles,omitempty"`
	UpdateOrganisation bool `json:"update_organisation,omitempty"`
	// Roles maps the IdP's groups or roles to application roles.
	RolesAttribute   string              `json:"roles_attribute,omitempty"`
	RolesSplitCommas bool                `json:"roles_split_commas,omitempty"`
	RolesMap         map[string][]string `json:"roles_map,omitempty"`
	RolesPassThrough bool                `json:"roles_pass_through,omitempty"`
}

// JITConfig is provisioning.JIT.
type JITConfig struct {
	DefaultRoles        []string `json:"default_roles,omitempty"`
	DefaultOrganisation string   `json:"default_organisation,omitempty"`
	CreateOrganisation  bool     `json:"create_organisation,omitempty"`
}

// UserConfig is one application user.
type UserConfig struct {
	Comment string `json:"comment,omitempty"`
	Email   string `json:"email"`
	// Password is the application's own password; empty: none.
	Password    Secret             `json:"password,omitempty"`
	GivenName   string             `json:"given_name,omitempty"`
	FamilyName  string             `json:"family_name,omitempty"`
	Memberships []MembershipConfig `json:"memberships,omitempty"`
}

// MembershipConfig makes a user a member of an account.
type MembershipConfig struct {
	Account string `json:"account"`
	// Roles are granted by an administrator; IdPRoles as if the IdP had
	// granted them (a later login replaces them).
	Roles    []string `json:"roles,omitempty"`
	IdPRoles []string `json:"idp_roles,omitempty"`
	// SSOIdentifier is matched against the identity's identifier.
	SSOIdentifier string `json:"sso_identifier,omitempty"`
	// Organisation is the member's organisation, created when missing.
	Organisation string `json:"organisation,omitempty"`
}

// Secret is a password or client secret in the configuration. It keeps its
// value in JSON (the file is where it comes from) but redacts itself when
// printed or logged.
type Secret string

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return sso.Secret(s).String() }

// GoString is String for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// References to the mock identity providers, replaced by their URLs (and
// the directory's CA certificate) once they run: the built-in setup and
// sample-config.json use them so that the mocks may run on any port.
const (
	mockSAMLRef   = "{mock_saml}"    // base URL of the SAML IdP; its metadata is {mock_saml}/metadata
	mockOIDCRef   = "{mock_oidc}"    // issuer of the OpenID provider
	mockLDAPRef   = "{mock_ldap}"    // ldap:// URL of the directory
	mockLDAPCARef = "{mock_ldap_ca}" // PEM CA certificate of the directory
)

// ConfigError lists every problem of a configuration, each naming the field
// and the fix. The demo starts only from a configuration without problems.
type ConfigError struct {
	Problems []Problem
}

// Problem is one problem of a configuration.
type Problem struct {
	Field string // e.g. accounts[0].connections[1].saml.idp_metadata_url
	Fix   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the configuration has %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// problems collects configuration problems.
type problems struct{ list []Problem }

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, Problem{Field: field, Fix: fmt.Sprintf(format, args...)})
}

// addErr adds err under field, using the Detail of each *sso.Error it
// holds (errors joined by errors.Join are listed one by one).
func (p *problems) addErr(field string, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			p.addErr(field, e)
		}
		return
	}
	var se *sso.Error
	if errors.As(err, &se) && se.Detail != "" {
		p.add(field, "%s", se.Detail)
		return
	}
	p.add(field, "%v", err)
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ConfigError{Problems: p.list}
}

// LoadConfig reads a configuration file. Relative file names in it
// (idp_metadata_file, ca_cert_file, sp_keys' files) are resolved against the file's
// directory. Syntax errors name the line; unknown fields are errors.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Problems: []Problem{{Field: "-config", Fix: fmt.Sprintf("cannot read %s: %v", path, err)}}}
	}
	cfg, err := parseConfig(b)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range cfg.Accounts {
		for j := range cfg.Accounts[i].Connections {
			c := &cfg.Accounts[i].Connections[j]
			rel := func(p *string) {
				if *p != "" && !filepath.IsAbs(*p) {
					*p = filepath.Join(dir, *p)
				}
			}
			if c.SAML != nil {
				rel(&c.SAML.IdPMetadataFile)
				for k := range c.SAML.SPKeys {
					rel(&c.SAML.SPKeys[k].KeyFile)
					rel(&c.SAML.SPKeys[k].CertFile)
				}
			}
			if c.OIDC != nil {
				rel(&c.OIDC.CACertFile)
			}
			if c.LDAP != nil {
				rel(&c.LDAP.CACertFile)
			}
		}
	}
	return cfg, nil
}

func parseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	cfg := new(Config)
	if err := dec.Decode(cfg); err != nil {
		field, fix := "config", err.Error()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			fix = fmt.Sprintf("JSON syntax error at line %d: %v", lineOf(b, se.Offset), err)
		case errors.As(err, &te):
			if te.Field != "" { // empty when the whole file has the wrong type
				field = te.Field
			}
			fix = fmt.Sprintf("expected %s at line %d, not a JSON %s", te.Type, lineOf(b, te.Offset), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			fix = fmt.Sprintf("%s at line %d: remove it or fix its spelling (every field is listed in examples/demo/CONFIG.md)",
				strings.TrimPrefix(err.Error(), "json: "), lineOf(b, dec.InputOffset()))
		}
		return nil, &ConfigError{Problems: []Problem{{Field: field, Fix: fix}}}
	}
	if dec.More() {
		return nil, &ConfigError{Problems: []Problem{{Field: "config", Fix: "the file holds more than one JSON value"}}}
	}
	return cfg, nil
}

func lineOf(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return bytes.Count(b[:off], []byte("\n")) + 1
}

// check finds the problems that need no network: missing and contradictory
// fields, bad URLs, unknown references. build finds the rest (unparsable
// metadata, certificates) while constructing the connections.
func (c *Config) check(p *problems) {
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			p.add("base_url", "%q must be an absolute http(s) URL without a path, e.g. \"https://sso.example.com\"", c.BaseURL)
		}
	}
	if len(c.Accounts) == 0 {
		p.add("accounts", "no accounts: add at least one (see sample-config.json)")
	}
	c.checkStores(p)
	accounts := map[string]bool{}
	conns := map[string]string{}
	for i, v := range c.TrustedProxies {
		if _, ok := parsePrefix(v); !ok {
			p.add(fmt.Sprintf("trusted_proxies[%d]", i), "%q is neither an address range nor an address", v)
		}
	}
	for i, a := range c.Accounts {
		af := fmt.Sprintf("accounts[%d]", i)
		if a.ID == "" {
			p.add(af+".id", "missing: give the account an ID")
		} else if accounts[a.ID] {
			p.add(af+".id", "account ID %q is used twice", a.ID)
		}
		accounts[a.ID] = true
		a.Networks.networks(p, af+".networks")
		switch a.Policy.Mode {
		case "", policy.ModePasswordOnly, policy.ModeSSOOptional, policy.ModeSSORequired:
		default:
			p.add(af+".policy.mode", "%q is not a mode: use \"password_only\", \"sso_optional\" or \"sso_required\"", a.Policy.Mode)
		}
		for j, cc := range a.Connections {
			cf := fmt.Sprintf("%s.connections[%d]", af, j)
			if cc.ID == "" {
				p.add(cf+".id", "missing: give the connection an ID, unique across all accounts")
			} else if prev, dup := conns[cc.ID]; dup {
				p.add(cf+".id", "connection ID %q is also used at %s; IDs are unique across all accounts", cc.ID, prev)
			} else {
				conns[cc.ID] = cf
			}
			checkRedirect(p, cf+".logout_redirect_url", cc.LogoutRedirectURL)
			if lp := cc.LandingPage; lp != "" {
				if _, ok := sso.SafeReturnPath(lp); !ok {
					p.add(cf+".landing_page", "%q is not a path of this application starting with / (e.g. \"/dashboard\")", lp)
				}
			}
			cc.Networks.networks(p, cf+".networks")
			switch cc.Stage {
			case "", policy.StageDraft, policy.StageTesting, policy.StageLive:
			default:
				p.add(cf+".stage", "%q is not a stage: use \"draft\", \"testing\" or \"live\"", cc.Stage)
			}
			set := 0
			for _, b := range []bool{cc.SAML != nil, cc.OIDC != nil, cc.LDAP != nil} {
				if b {
					set++
				}
			}
			want := map[sso.Protocol]bool{sso.ProtocolSAML: cc.SAML != nil, sso.ProtocolOIDC: cc.OIDC != nil, sso.ProtocolLDAP: cc.LDAP != nil}
			switch {
			case cc.Protocol != sso.ProtocolSAML && cc.Protocol != sso.ProtocolOIDC && cc.Protocol != sso.ProtocolLDAP:
				p.add(cf+".protocol", "%q is not a protocol: use \"saml\", \"oidc\" or \"ldap\"", cc.Protocol)
			case set != 1 || !want[cc.Protocol]:
				p.add(cf, "a %s connection needs exactly one settings object, %q", cc.Protocol, string(cc.Protocol))
			}
			if cc.SAML != nil {
				s := cc.SAML
				n := 0
				for _, v := range []string{s.IdPMetadataURL, s.IdPMetadataXML, s.IdPMetadataFile} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					p.add(cf+".saml", "set exactly one of idp_metadata_url, idp_metadata_xml and idp_metadata_file (the IdP's metadata)")
				}
				for k, key := range s.SPKeys {
					kf := fmt.Sprintf("%s.saml.sp_keys[%d]", cf, k)
					if (key.KeyFile == "") == (key.KeyPEM == "") {
						p.add(kf, "set one of key_file and key_pem (the PEM private key)")
					}
					if key.CertFile != "" && key.CertPEM != "" {
						p.add(kf, "set at most one of cert_file and cert_pem")
					}
					if key.UseFrom != "" {
						if _, err := time.Parse(time.RFC3339, key.UseFrom); err != nil {
							p.add(kf+".use_from", "%q is not an RFC 3339 time, e.g. \"2027-03-01T00:00:00Z\"", key.UseFrom)
						}
					}
				}
				if s.SignAuthnRequests && len(s.SPKeys) == 0 {
					p.add(cf+".saml.sign_authn_requests", "needs a key in sp_keys")
				}
				if s.IdPMetadataURL != "" && !strings.Contains(s.IdPMetadataURL, "{mock_") {
					if u, err := url.Parse(s.IdPMetadataURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
						p.add(cf+".saml.idp_metadata_url", "%q is not an absolute https URL", s.IdPMetadataURL)
					}
				}
			}
			if cc.OIDC != nil {
				o := cc.OIDC
				if u, err := url.Parse(o.Issuer); o.Issuer == "" || (!strings.Contains(o.Issuer, "{mock_") && (err != nil || u.Host == "")) {
					p.add(cf+".oidc.issuer", "%q is not an issuer URL: use the provider's issuer exactly as in its tokens, e.g. \"https://login.microsoftonline.com/TENANT/v2.0\"", o.Issuer)
				}
				if o.ClientID == "" {
					p.add(cf+".oidc.client_id", "missing: the client ID registered at the provider")
				}
				if o.ClientSecret == "" {
					p.add(cf+".oidc.client_secret", "missing: the client secret registered at the provider")
				}
				checkRedirect(p, cf+".oidc.post_logout_redirect_url", o.PostLogoutRedirectURL)
			}
			if cc.LDAP != nil {
				l := cc.LDAP
				if len(l.URLs) == 0 {
					p.add(cf+".ldap.urls", "missing: the directory's URLs, e.g. [\"ldaps://ldap.example.com\"]")
				}
				n := 0
				if l.Search != nil {
					n++
				}
				if len(l.Templates) > 0 {
					n++
				}
				if l.UPN != nil {
					n++
				}
				if n != 1 {
					p.add(cf+".ldap", "set exactly one of search, templates and upn (how an email becomes a DN)")
				}
			}
		}
	}
	emails := map[string]bool{}
	for i, u := range c.Users {
		uf := fmt.Sprintf("users[%d]", i)
		e, err := sso.NormalizeEmail(u.Email)
		if err != nil {
			p.add(uf+".email", "%q is not an email address", u.Email)
			continue
		}
		if emails[provisioning.EmailKey(e)] {
			p.add(uf+".email", "%q is listed twice", u.Email)
		}
		emails[provisioning.EmailKey(e)] = true
		for j, m := range u.Memberships {
			if !accounts[m.Account] {
				p.add(fmt.Sprintf("%s.memberships[%d].account", uf, j), "no account %q: use one of %s", m.Account, strings.Join(sortedKeys(accounts), ", "))
			}
		}
	}
}

// networks converts an allowed-networks list, adding a problem for each
// entry that is neither a range nor an address.
func (n *NetworksConfig) networks(p *problems, field string) login.Networks {
	if n == nil {
		return login.Networks{}
	}
	out := login.Networks{DryRun: n.DryRun}
	for i, v := range n.Allow {
		if pr, ok := parsePrefix(v); ok {
			out.Allow = append(out.Allow, pr)
		} else {
			p.add(fmt.Sprintf("%s.allow[%d]", field, i), "%q is neither an address range (\"10.0.0.0/8\", \"2001:db8::/32\") nor an address", v)
		}
	}
	if len(n.Allow) == 0 {
		p.add(field+".allow", "empty: list the address ranges logins may come from, or remove %s", field)
	}
	return out
}

// parsePrefix parses a range, or an address as the range of that address
// alone; a range with host bits set is refused.
func parsePrefix(v string) (netip.Prefix, bool) {
	if pr, err := netip.ParsePrefix(v); err == nil {
		return pr, pr == pr.Masked()
	}
	if a, err := netip.ParseAddr(v); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkRedirect reports a redirect URL that is neither an absolute http(s)
// URL nor a path of this application.
func checkRedirect(p *problems, field, v string) {
	if v == "" {
		return
	}
	if _, ok := sso.SafeReturnPath(v); ok {
		return
	}
	if u, err := url.Parse(v); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return
	}
	p.add(field, "%q is neither an absolute http(s) URL nor a path of this application starting with / (e.g. \"/?logged_out=1\")", v)
}
