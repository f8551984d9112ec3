package provisioning

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Defaults.
const (
	// DefaultBindingWindow is how long one half of a login binding waits for
	// the other (an unknown identity for the password, a password login
	// for the single sign-on that follows) when a connection sets no
	// window.
	DefaultBindingWindow = 10 * time.Minute
	// MaxBindingWindow bounds LoginBinding.Window: a binding is meant to
	// join two logins of one sitting, not of one day.
	MaxBindingWindow = time.Hour
	// DefaultConflictRetries is how often a login is retried after a
	// concurrent change (two first logins of one person at once).
	DefaultConflictRetries = 3
)

// Config configures a [Provisioner]. Only Store is required.
type Config struct {
	// Store holds users, memberships, organisations and links.
	Store Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Events receives audit events: login succeeded or failed (with the
	// Reason), user created, linked and updated, organisation created.
	// Events are reported after the login's transaction committed.
	Events sso.EventFunc
	// ConflictRetries bounds the retries after sso.ReasonConflict;
	// DefaultConflictRetries when zero, none when negative.
	ConflictRetries int
}

// Validate reports a missing store or an out-of-range setting.
func (c *Config) Validate() error {
	switch {
	case c.Store == nil:
		return configError("Config.Store is nil: give a provisioning.MemoryStore, a store/sqlstore Store or the application's own")
	}
	return nil
}

func configError(detail string) error {
	return &sso.Error{Op: "provisioning.New", Reason: sso.ReasonInvalidConfig, Detail: detail}
}

// Request is one SSO login to provision.
type Request struct {
	// Account is the account whose connection authenticated the person.
	Account Account
	// Connection holds the connection's provisioning settings.
	Connection Connection
	// Identity is what the connection proved. Identity.Connection, when
	// set, must equal Connection.ID.
	Identity *sso.Identity
	// BindTo is the user a login binding links the identity to when no
	// earlier step of the match order finds a user: the user who proved
	// to be the person at this browser with the host's password and
	// confirmed the link on a page that named both sides. Package login
	// runs that exchange; see [LoginBinding]. The user must be a member of
	// the account. Empty: no binding.
	BindTo string
	// Authorize, when set, decides whether the login may go on with the
	// user it reached, as the login would leave them (created, joined,
	// linked, roles and organisation updated; see Result). It runs inside
	// the login's store transaction, before anything is committed: an
	// error refuses the login, the transaction is rolled back and nothing
	// is written. Package login decides the account's policy here, so that
	// a refused login never creates, links or updates a user. It may run
	// more than once when a transaction is retried.
	Authorize func(ctx context.Context, res *Result) error
	// EventAttrs are added to the Attrs of every event the request
	// reports: its refusal, or what it created, linked and updated and its
	// login_succeeded. Package login puts the login's reference here
	// (sso.AttrReference), the one its error page shows, so that an
	// administrator finds the event a person quotes. The map is not
	// changed.
	EventAttrs map[string]string
}

// Account is what provisioning needs to know about the account (tenant).
type Account struct {
	// ID is the account's ID.
	ID string
	// Domains are the email domains the account has claimed, normalised as
	// by sso.NormalizeDomain. Subdomains are not included: claim each.
	Domains []string
}

// Claims reports whether domain is one of the account's claimed domains,
// ignoring the case of ASCII letters (domains are compared in the IDNA
// ASCII form [sso.NormalizeDomain] gives).
func (a *Account) Claims(domain string) bool {
	if domain == "" {
		return false
	}
	for _, d := range a.Domains {
		if sso.EqualFoldASCII(strings.TrimSuffix(d, "."), domain) {
			return true
		}
	}
	return false
}

// IdentifierSource names the identity field matched against a member's
// SSOIdentifier.
type IdentifierSource string

// Identifier sources.
const (
	// IdentifierEmail: the identity's email (the default). Being an
	// email, it links a member only when the account claims its domain and
	// the identity provider vouches for it (Identity.EmailVerified).
	IdentifierEmail IdentifierSource = "email"
	// IdentifierSubject: the identity's subject (SAML NameID, OIDC sub,
	// LDAP DN).
	IdentifierSubject IdentifierSource = "subject"
	// IdentifierAttribute: the first value of the attribute named by
	// Connection.IdentifierAttribute (SmartSimple's "UID").
	IdentifierAttribute IdentifierSource = "attribute"
)

// Connection holds one connection's provisioning settings. The zero value
// (besides ID) is the strictest: only users already linked or pre-provisioned
// in the account, with an email in the account's claimed domains, may log in,
// and nothing is changed from attributes.
type Connection struct {
	// ID is the connection ID.
	ID string
	// Identifier says which identity field is matched against members'
	// SSOIdentifier; IdentifierEmail when empty.
	Identifier IdentifierSource
	// IdentifierAttribute names the attribute for IdentifierAttribute.
	IdentifierAttribute string
	// AllowEmailOutsideDomains lets identities with an email outside the
	// account's claimed domains log in. Off, they are refused with
	// sso.ReasonEmailDomainNotAllowed. It never allows automatic linking
	// by such an email.
	AllowEmailOutsideDomains bool
	// RequireEmail refuses identities without an email
	// (sso.ReasonEmailMissing).
	RequireEmail bool
	// JIT configures just-in-time creation of users.
	JIT JIT
	// LoginBinding configures binding an unknown identity to the user who
	// logs in with a password in the same browser.
	LoginBinding LoginBinding
	// Updates says which of the user's values the identity provider's
	// attributes update at each login.
	Updates Updates
	// Roles maps the identity provider's groups or roles to application
	// roles, for JIT creation and role updates.
	Roles RoleMapping
	// OrganisationAttributes names the attributes or claims that hold the
	// organisation a member belongs to (SmartSimple's Department), tried
	// in order, ignoring the case of ASCII letters; nil means
	// DefaultOrganisationAttributes. Used by Updates.Organisation and JIT.
	OrganisationAttributes []string
	// LanguageAttributes names the attributes or claims that hold a new
	// user's language; nil means DefaultLanguageAttributes.
	LanguageAttributes []string
}

// Default attribute names of [Connection].
var (
	DefaultOrganisationAttributes = []string{"department", "ou", "urn:oid:2.5.4.11"}
	DefaultLanguageAttributes     = []string{"language", "preferredLanguage", "locale", "urn:oid:2.16.840.1.113730.3.1.39"}
)

func (c *Connection) organisationAttributes() []string {
	if c.OrganisationAttributes == nil {
		return DefaultOrganisationAttributes
	}
	return c.OrganisationAttributes
}

func (c *Connection) languageAttributes() []string {
	if c.LanguageAttributes == nil {
		return DefaultLanguageAttributes
	}
	return c.LanguageAttributes
}

// JIT configures just-in-time creation: a user the store does not know is
// created at the first login and made a member of the account.
type JIT struct {
	// Enabled turns just-in-time creation on.
	Enabled bool
	// DefaultRoles are granted to new members (RoleSourceDefault).
	DefaultRoles []string
	// DefaultStatus is the new member's status; StatusActive when empty.
	// It may not be StatusDisabled.
	DefaultStatus Status
	// DefaultOrganisation names the organisation new members join when the
	// identity names none (or Updates.Organisation is off). Empty: none.
	DefaultOrganisation string
	// CreateOrganisation creates the organisation a new member should join
	// when no organisation of the account has that name. Off, a missing
	// department organisation falls back to DefaultOrganisation, and a
	// missing DefaultOrganisation refuses the login as misconfigured.
	CreateOrganisation bool
	// OrganisationStatus is the status given to organisations created here.
	OrganisationStatus string
}

// LoginBinding configures login binding: an identity that matches no user
// is linked to a user who proves, with the host's password, to be the
// person at the same browser, and confirms the link on a page that names
// both sides. Provision refuses such an identity with an error that also
// matches [ErrBindingPossible]; package login then asks for the password
// (or uses a password login made in the same browser just before an
// SP-initiated login it started), shows the confirmation, and provisions
// again with Request.BindTo.
//
// Caveat (as SmartRecruiters documents for its own binding): the identity
// is linked to whoever logs in with a password, who need not be the person
// who authenticated at the identity provider. If alice starts the SSO
// login and her colleague bob then types his password in the same browser
// and confirms, alice's identity provider account is linked to bob's user
// from then on. Keep the window short, and enable binding only where the
// identity provider's identifiers cannot be set up in advance.
type LoginBinding struct {
	// Enabled turns login binding on.
	Enabled bool
	// Window is how long one half waits for the other;
	// DefaultBindingWindow when zero, at most MaxBindingWindow.
	Window time.Duration
	// AllowIdPInitiated lets an identity from an IdP-initiated login be
	// bound (SSO first only, after the password and the confirmation).
	// Nothing in this application asked for such a login: another site
	// can post a validly signed unsolicited response of the attacker's own
	// identity into a victim's browser, and the confirmation page, which
	// names that identity, is then all that keeps her from binding it to
	// her account. Leave it off unless the identity provider only starts
	// logins from its own portal and people must be able to bind from
	// there.
	AllowIdPInitiated bool
}

// Updates says which values the identity provider keeps up to date. A
// missing attribute leaves its value alone.
type Updates struct {
	// Names updates given, family and display names from the identity's
	// non-empty names.
	Names bool
	// Roles replaces the member's identity-provider-granted roles with the
	// mapped roles at each login that carries the role attribute. Present
	// but empty removes them all; grants by an administrator or as a JIT
	// default are never removed.
	Roles bool
	// Organisation moves the member to the account's organisation named by
	// the identity's Department, when one with that name exists.
	Organisation bool
}

// RoleMapping turns identity provider groups or roles into application
// roles.
type RoleMapping struct {
	// Attribute names the identity attribute holding the groups or roles.
	// Empty: Identity.Groups, where nil means "not sent" and an empty
	// non-nil slice means "sent, empty".
	Attribute string
	// SplitCommas splits each value on commas (SmartSimple sends "Roles"
	// as one comma-delimited value). Leave off for LDAP DNs.
	SplitCommas bool
	// Map maps an identity provider group or role name (exactly) to
	// application roles. Names not in Map are ignored unless PassThrough.
	Map map[string][]string
	// PassThrough uses identity provider names not in Map as application
	// role names unchanged. Only for identity providers trusted to name
	// the application's roles, since it lets them grant any role.
	PassThrough bool
}

// Validate reports contradictory or incomplete settings.
func (c *Connection) Validate() error {
	fail := func(detail string) error {
		return &sso.Error{Op: "provisioning.Connection.Validate", Reason: sso.ReasonInvalidConfig, Connection: c.ID, Detail: detail}
	}
	switch c.Identifier {
	case "", IdentifierEmail, IdentifierSubject:
	case IdentifierAttribute:
		if c.IdentifierAttribute == "" {
			return fail("Identifier is \"attribute\" but IdentifierAttribute names no attribute")
		}
	default:
		return fail(fmt.Sprintf("Identifier %q is not one of email, subject, attribute", c.Identifier))
	}
	if c.ID == "" {
		return fail("the connection ID is empty")
	}
	if c.JIT.DefaultStatus == StatusDisabled {
		return fail("JIT.DefaultStatus is \"disabled\": created users could never log in")
	}
	for _, r := range c.JIT.DefaultRoles {
		if strings.TrimSpace(r) == "" {
			return fail("JIT.DefaultRoles holds an empty role")
		}
	}
	if w := c.LoginBinding.Window; w < 0 || w > MaxBindingWindow {
		return fail(fmt.Sprintf("LoginBinding.Window %v is outside 0..%v", w, MaxBindingWindow))
	}
	if c.Updates.Roles && len(c.Roles.Map) == 0 && !c.Roles.PassThrough {
		return fail("Updates.Roles is on but Roles.Map is empty and PassThrough off: no identity provider group would ever grant a role")
	}
	for k, v := range c.Roles.Map {
		for _, r := range v {
			if strings.TrimSpace(r) == "" {
				return fail(fmt.Sprintf("Roles.Map[%q] holds an empty role", k))
			}
		}
	}
	return nil
}

// BindingWindow returns LoginBinding.Window, or DefaultBindingWindow when
// it is zero.
func (c *Connection) BindingWindow() time.Duration {
	if c.LoginBinding.Window > 0 {
		return c.LoginBinding.Window
	}
	return DefaultBindingWindow
}

// identifier returns the identity's value for the member SSOIdentifier match.
func (c *Connection) identifier(id *sso.Identity, email string) string {
	switch c.Identifier {
	case IdentifierSubject:
		return id.Subject
	case IdentifierAttribute:
		return strings.TrimSpace(id.Attribute(c.IdentifierAttribute))
	default:
		return email
	}
}

// roles returns the application roles the identity's groups map to, and
// whether the identity carried the role attribute at all.
func (c *Connection) roles(id *sso.Identity) (roles []string, present bool) {
	var names []string
	if c.Roles.Attribute != "" {
		names, present = id.Attributes[c.Roles.Attribute]
	} else {
		names, present = id.Groups, id.Groups != nil
	}
	if !present {
		return nil, false
	}
	seen := make(map[string]bool)
	add := func(r string) {
		if r = strings.TrimSpace(r); r != "" && !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	for _, v := range names {
		parts := []string{v}
		if c.Roles.SplitCommas {
			parts = strings.Split(v, ",")
		}
		for _, n := range parts {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			if mapped, ok := c.Roles.Map[n]; ok {
				for _, r := range mapped {
					add(r)
				}
			} else if c.Roles.PassThrough {
				add(n)
			}
		}
	}
	return roles, true
}
