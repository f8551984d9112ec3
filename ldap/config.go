package ldap

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
)

// Defaults for the zero values of [Config]'s limits.
const (
	DefaultDialTimeout      = 5 * time.Second
	DefaultOpTimeout        = 10 * time.Second
	DefaultMaxConns         = 8
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultHealthCheckAfter = 15 * time.Second
	DefaultRetryDownAfter   = 30 * time.Second

	DefaultMailAttribute      = "mail"
	DefaultUPNAttribute       = "userPrincipalName"
	DefaultGroupNameAttribute = "cn"

	// DefaultGroupFilter finds the static groups (groupOfNames,
	// groupOfUniqueNames) that list the user's DN as a member.
	DefaultGroupFilter = "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))"
)

// Config configures one LDAP connection: the directory servers, how an
// email address becomes a DN, what is read into the [sso.Identity], and the
// limits of the connection pool. Exactly one of Search, Templates and UPN
// must be set.
//
// A Config is read by [New] and not used afterwards.
type Config struct {
	// ID is the connection's ID, copied into [sso.Identity.Connection].
	ID string

	// URLs lists the directory servers, tried in order:
	// "ldaps://host[:port]", or "ldap://host[:port]", on which StartTLS is
	// sent at once. A server that fails is skipped for RetryDownAfter while
	// another answers.
	URLs []string

	// CACertPEM holds the PEM certificates of the authorities trusted to
	// sign the servers' certificates. Empty means the system roots.
	CACertPEM []byte
	// ServerName is the name verified in the servers' certificates, when it
	// differs from the host in the URLs.
	ServerName string
	// InsecureNoTLS talks plain LDAP on ldap:// URLs, without StartTLS, so
	// passwords cross the network in clear text. It exists for tests against
	// a local directory and MUST NOT be set otherwise. ldaps:// URLs still
	// use TLS.
	InsecureNoTLS bool

	// Search resolves an email by searching the directory.
	Search *Search
	// Templates resolves an email by inserting its DN-escaped local part
	// into the template of its domain, e.g.
	// {"example.com": "uid={},ou=users,dc=example,dc=com"}. Each template
	// must contain {} once, as a whole attribute value. Domains are
	// normalised with [sso.NormalizeDomain].
	Templates map[string]string
	// UPN binds with the email itself as the bind name (Active Directory's
	// userPrincipalName), then looks the entry up as that user.
	UPN *UPN

	// Attributes names the entry's attributes that fill the Identity, each
	// a list tried in order (for Groups, every listed attribute's values);
	// nil fields take DefaultAttributes. Of the email attribute's values,
	// one equal to the login email (ignoring the case of ASCII letters
	// only) is preferred, else the first valid one. Groups are read unless
	// GroupSearch is set.
	Attributes sso.AttributeMap
	// ExtraAttributes lists further attributes of the entry copied into
	// [sso.Identity.Attributes].
	ExtraAttributes []string
	// GroupSearch, when set, finds the user's groups by a search instead of
	// the memberOf attribute.
	GroupSearch *GroupSearch
	// GroupsAsDN puts the groups' full DNs into [sso.Identity.Groups]
	// instead of the value of their first RDN (usually the cn).
	GroupsAsDN bool
	// TrustEmail sets [sso.Identity.EmailVerified] for an email read from
	// the entry's email attribute (Attributes.Email): the directory's mail
	// attribute is managed by the organisation and may be trusted. An
	// entry without a usable mail value gets the login email, which the
	// directory did not state as an address (a UPN, or the address a DN
	// template was filled from); TrustEmail does not vouch for it.
	TrustEmail bool
	// TrustUPNAsEmail, with UPN and TrustEmail, also marks as verified the
	// email of a user whose entry has no usable mail value: the
	// userPrincipalName she logged in with, when the entry's UPN attribute
	// holds it. It loosens the rule above. A UPN is an account name, not a
	// mailbox: any domain administrator can add a UPN suffix to the forest
	// and give a user any UPN under it, including in a domain whose mail
	// goes elsewhere. Set it only when every UPN suffix of the forest is a
	// mail domain of the organisation and every UPN is its holder's own
	// address.
	TrustUPNAsEmail bool

	// DialTimeout bounds connecting to one server: TCP, TLS handshake or
	// StartTLS, and the service account's bind. Default 5s.
	DialTimeout time.Duration
	// OpTimeout bounds one LDAP operation (search or bind). Default 10s.
	OpTimeout time.Duration
	// MaxConns bounds the connections each of the two pools (service
	// searches, user binds) holds open at once; a login waits for a free
	// one. Default 8.
	MaxConns int
	// IdleTimeout closes pooled connections unused for this long.
	// Default 2m.
	IdleTimeout time.Duration
	// HealthCheckAfter makes a pooled connection idle for longer than this
	// answer a root DSE read before it is reused. Default 15s.
	HealthCheckAfter time.Duration
	// RetryDownAfter is how long a server that failed is skipped while
	// another answers. Default 30s.
	RetryDownAfter time.Duration
	// DisablePooling dials a new connection for each login and closes it
	// afterwards.
	DisablePooling bool

	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Events receives warnings, e.g. when a server fails and another takes
	// over. Nil drops them.
	Events sso.EventFunc
	// Debug turns on the connection's debug mode (see
	// sso.ConnectionInfo): package login then explains failures in full
	// on the page and logs identities. It never loosens a check. Turn it
	// on only while setting a connection up.
	Debug bool
}

// Search resolves an email by a subtree search under BaseDN with the filter
// (&(objectClass={ObjectClass})({MailAttribute}={email})), both values
// escaped. Exactly one entry must match.
type Search struct {
	// BaseDN is where the search starts, e.g. "ou=people,dc=example,dc=com".
	BaseDN string
	// ObjectClass is the users' object class, e.g. "inetOrgPerson" or "user".
	ObjectClass string
	// MailAttribute is the attribute holding the email; default "mail".
	MailAttribute string
	// BindDN and BindPassword are the service account the search binds as.
	// Both empty means an anonymous search.
	BindDN       string
	BindPassword sso.Secret
}

// UPN configures the Active Directory login with the email as bind name.
// After the bind, the entry is found as the user with
// (userPrincipalName={email}).
type UPN struct {
	// BaseDN is where the entry is looked up; empty means the root DSE's
	// defaultNamingContext.
	BaseDN string
	// Attribute holds the UPN; default "userPrincipalName".
	Attribute string
}

// DefaultAttributes are the attributes that fill an [sso.Identity] where
// Config.Attributes names none: inetOrgPerson's and Active Directory's.
// The cn stands in for an empty displayName.
var DefaultAttributes = sso.AttributeMap{
	Email:       []string{"mail"},
	GivenName:   []string{"givenName"},
	FamilyName:  []string{"sn"},
	DisplayName: []string{"displayName", "cn"},
	Groups:      []string{"memberOf"},
}

// GroupSearch finds the user's groups with a subtree search.
type GroupSearch struct {
	// BaseDN is where the search starts, e.g. "ou=groups,dc=example,dc=com".
	BaseDN string
	// Filter selects the groups; {dn} and {email} are replaced by the
	// user's DN and email, filter-escaped. Default [DefaultGroupFilter].
	Filter string
	// NameAttribute holds the group's name; default "cn". Ignored with
	// Config.GroupsAsDN.
	NameAttribute string
}

// method says how an email becomes a DN.
type method int

const (
	methodSearch method = iota + 1
	methodTemplate
	methodUPN
)

// settings is a validated Config with its defaults filled in.
type settings struct {
	Config
	method    method
	roots     *x509.CertPool
	urls      []*url.URL
	templates map[string]string // normalised domain -> template
	attrs     sso.AttributeMap
	readAttrs []string // attributes requested from the user's entry
	// userFilter is the search filter up to the escaped email:
	// "(&(objectClass=C)(mail=".
	userFilter string
}

func configError(detail string) error {
	return &sso.Error{Op: "ldap.New", Reason: sso.ReasonInvalidConfig, Detail: detail}
}

// Validate reports the first problem with c as an error matching
// [sso.ReasonInvalidConfig], with a Detail naming the field to fix.
func (c *Config) Validate() error {
	_, err := c.settings()
	return err
}

func (c *Config) settings() (*settings, error) {
	s := &settings{Config: *c}
	fail := func(format string, args ...any) (*settings, error) {
		e := configError(fmt.Sprintf(format, args...)).(*sso.Error)
		e.Connection = c.ID
		return nil, e
	}
	if strings.TrimSpace(c.ID) == "" {
		return fail("ID is empty: set the connection's ID")
	}
	if len(c.URLs) == 0 {
		return fail("URLs is empty: list at least one ldaps:// or ldap:// server")
	}
	for _, raw := range c.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return fail("URL %q does not parse: %v", raw, err)
		}
		if u.Scheme != "ldap" && u.Scheme != "ldaps" {
			return fail("URL %q: the scheme must be ldaps or ldap (ldap uses StartTLS)", raw)
		}
		if u.Hostname() == "" {
			return fail("URL %q has no host", raw)
		}
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return fail("URL %q: give only scheme, host and port; the base DN and options are separate fields", raw)
		}
		if p := u.Port(); p != "" {
			if _, err := net.LookupPort("tcp", p); err != nil {
				return fail("URL %q has an invalid port", raw)
			}
		}
		s.urls = append(s.urls, &url.URL{Scheme: u.Scheme, Host: u.Host})
	}
	if len(c.CACertPEM) > 0 {
		s.roots = x509.NewCertPool()
		if !s.roots.AppendCertsFromPEM(c.CACertPEM) {
			return fail("CACertPEM holds no PEM certificate")
		}
	}

	n := 0
	if c.Search != nil {
		n++
		s.method = methodSearch
	}
	if len(c.Templates) > 0 {
		n++
		s.method = methodTemplate
	}
	if c.UPN != nil {
		n++
		s.method = methodUPN
	}
	if n != 1 {
		return fail("set exactly one of Search, Templates and UPN (got %d)", n)
	}

	switch s.method {
	case methodSearch:
		sr := *c.Search
		if err := checkDN(sr.BaseDN); err != nil {
			return fail("Search.BaseDN %q: %v", sr.BaseDN, err)
		}
		if strings.TrimSpace(sr.ObjectClass) == "" {
			return fail("Search.ObjectClass is empty: set the users' object class, e.g. inetOrgPerson or user")
		}
		if sr.MailAttribute == "" {
			sr.MailAttribute = DefaultMailAttribute
		}
		if !validAttributeName(sr.MailAttribute) {
			return fail("Search.MailAttribute %q is not an attribute name", sr.MailAttribute)
		}
		if sr.BindDN == "" && sr.BindPassword != "" {
			return fail("Search.BindPassword is set without Search.BindDN")
		}
		if sr.BindDN != "" {
			if err := checkDN(sr.BindDN); err != nil {
				return fail("Search.BindDN %q: %v", sr.BindDN, err)
			}
			if sr.BindPassword == "" {
				// An empty password makes a simple bind unauthenticated,
				// which servers accept as anonymous.
				return fail("Search.BindPassword is empty: a bind with an empty password is anonymous; set the service account's password")
			}
		}
		s.Search = &sr
		s.userFilter = "(&(objectClass=" + EscapeFilterValue(sr.ObjectClass) + ")(" + sr.MailAttribute + "="
	case methodTemplate:
		s.templates = make(map[string]string, len(c.Templates))
		domains := make([]string, 0, len(c.Templates))
		for d := range c.Templates {
			domains = append(domains, d)
		}
		sort.Strings(domains)
		for _, d := range domains {
			t := c.Templates[d]
			nd, err := sso.NormalizeDomain(d)
			if err != nil {
				return fail("Templates: domain %q is not a valid domain", d)
			}
			if err := checkTemplate(t); err != nil {
				return fail("Templates[%q] = %q: %v", d, t, err)
			}
			if _, dup := s.templates[nd]; dup {
				return fail("Templates: domain %q is listed twice", nd)
			}
			s.templates[nd] = t
		}
	case methodUPN:
		up := *c.UPN
		if up.BaseDN != "" {
			if err := checkDN(up.BaseDN); err != nil {
				return fail("UPN.BaseDN %q: %v", up.BaseDN, err)
			}
		}
		if up.Attribute == "" {
			up.Attribute = DefaultUPNAttribute
		}
		if !validAttributeName(up.Attribute) {
			return fail("UPN.Attribute %q is not an attribute name", up.Attribute)
		}
		s.UPN = &up
	}
	if c.TrustUPNAsEmail {
		if s.method != methodUPN {
			return fail("TrustUPNAsEmail is set, but the connection does not log in by UPN; unset it, or use UPN")
		}
		if !c.TrustEmail {
			return fail("TrustUPNAsEmail is set without TrustEmail: a UPN may stand for a verified email only where the directory's mail attribute is trusted; set TrustEmail too, or unset TrustUPNAsEmail")
		}
	}

	a := c.Attributes.Or(DefaultAttributes)
	names := slices.Concat(a.Email, a.GivenName, a.FamilyName, a.DisplayName, a.Groups, c.ExtraAttributes)
	for _, name := range names {
		if !validAttributeName(name) {
			return fail("Attributes: %q is not an attribute name", name)
		}
		if strings.EqualFold(name, "userPassword") || strings.EqualFold(name, "unicodePwd") {
			return fail("Attributes: %q would read password hashes; remove it", name)
		}
	}
	s.attrs = a
	s.readAttrs = dedupFold(names)
	if c.TrustUPNAsEmail {
		s.readAttrs = dedupFold(append(s.readAttrs, s.UPN.Attribute))
	}

	if c.GroupSearch != nil {
		g := *c.GroupSearch
		if err := checkDN(g.BaseDN); err != nil {
			return fail("GroupSearch.BaseDN %q: %v", g.BaseDN, err)
		}
		if g.Filter == "" {
			g.Filter = DefaultGroupFilter
		}
		if !strings.Contains(g.Filter, "{dn}") && !strings.Contains(g.Filter, "{email}") {
			return fail("GroupSearch.Filter %q uses neither {dn} nor {email}, so it would find the same groups for everyone", g.Filter)
		}
		probe := expandGroupFilter(g.Filter, "uid=x,dc=example,dc=com", "x@example.com")
		if _, err := goldap.CompileFilter(probe); err != nil {
			return fail("GroupSearch.Filter %q is not a valid LDAP filter: %v", g.Filter, err)
		}
		if g.NameAttribute == "" {
			g.NameAttribute = DefaultGroupNameAttribute
		}
		if !validAttributeName(g.NameAttribute) {
			return fail("GroupSearch.NameAttribute %q is not an attribute name", g.NameAttribute)
		}
		s.GroupSearch = &g
	}

	for _, d := range []struct {
		v    *time.Duration
		def  time.Duration
		name string
	}{
		{&s.DialTimeout, DefaultDialTimeout, "DialTimeout"},
		{&s.OpTimeout, DefaultOpTimeout, "OpTimeout"},
		{&s.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"},
		{&s.HealthCheckAfter, DefaultHealthCheckAfter, "HealthCheckAfter"},
		{&s.RetryDownAfter, DefaultRetryDownAfter, "RetryDownAfter"},
	} {
		if *d.v < 0 {
			return fail("%s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.MaxConns < 0 {
		return fail("MaxConns is negative")
	}
	if s.MaxConns == 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s, nil
}

// checkDN reports whether dn is a non-empty, well-formed DN.
func checkDN(dn string) error {
	if strings.TrimSpace(dn) == "" {
		return fmt.Errorf("empty; set a DN such as dc=example,dc=com")
	}
	if _, err := NormalizeDN(dn); err != nil {
		return fmt.Errorf("not a valid DN: %v", err)
	}
	return nil
}

// checkTemplate requires exactly one {} standing for a whole attribute
// value (right after '=', followed by ',', '+' or the end), and a valid DN
// once it is filled in.
func checkTemplate(t string) error {
	if strings.Count(t, "{}") != 1 {
		return fmt.Errorf("the template must contain the placeholder {} exactly once")
	}
	i := strings.Index(t, "{}")
	if i == 0 || t[i-1] != '=' {
		return fmt.Errorf("{} must be a whole attribute value, right after '=' (e.g. uid={},ou=users,dc=example,dc=com)")
	}
	if rest := t[i+2:]; rest != "" && rest[0] != ',' && rest[0] != '+' {
		return fmt.Errorf("{} must be a whole attribute value, followed by ',' or the end")
	}
	if err := checkDN(strings.Replace(t, "{}", "x", 1)); err != nil {
		return err
	}
	return nil
}

// expandGroupFilter fills a group filter's placeholders with escaped values.
func expandGroupFilter(filter, dn, email string) string {
	return strings.NewReplacer("{dn}", EscapeFilterValue(dn), "{email}", EscapeFilterValue(email)).Replace(filter)
}

func dedupFold(in []string) []string {
	out := in[:0:0]
	for _, s := range in {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, s) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}
