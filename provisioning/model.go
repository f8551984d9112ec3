package provisioning

import (
	"slices"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Status is a membership's status in an account. Provisioning refuses a
// login only for [StatusDisabled]; any other value (the host's own, such as
// "pending") is stored, passed through in the [Result], and left to the host.
type Status string

// Statuses known to provisioning.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// RoleSource records who granted a role, so that a sync from the identity
// provider only ever removes the roles the identity provider granted.
type RoleSource string

// Role sources.
const (
	// RoleSourceAdmin: granted by hand by an administrator. Never removed
	// by a sync.
	RoleSourceAdmin RoleSource = "admin"
	// RoleSourceDefault: granted at just-in-time creation as the
	// connection's default role. Never removed by a sync.
	RoleSourceDefault RoleSource = "default"
	// RoleSourceIdP: granted from the identity provider's groups or roles.
	// Replaced by every sync that carries the role attribute.
	RoleSourceIdP RoleSource = "idp"
)

// RoleGrant is one role given to a member of an account by one source. The
// same role may be granted by several sources; it is held while any grant
// remains.
type RoleGrant struct {
	// Role is the application's role name.
	Role string
	// Source is who granted it.
	Source RoleSource
}

// User is the application's user as provisioning sees it: one person, who
// may be a member of several accounts. Stores keep at most one user per email
// address, compared ignoring the case of ASCII letters only (see
// [EmailKey]); users without an email are allowed.
type User struct {
	// ID is assigned by the store on creation.
	ID string
	// Email is the user's address as stored. Matching by email ignores the
	// case of ASCII letters; every other character must match exactly.
	Email string
	// Names as last set by an administrator or the identity provider.
	GivenName, FamilyName, DisplayName string
	// Language is the user's preferred language, set at creation from the
	// identity when present.
	Language string
	// Disabled refuses every login of the user, in every account.
	Disabled bool
	// Created and Updated are set by the Provisioner, or by the host for
	// users it creates itself.
	Created, Updated time.Time
}

// Membership makes a user a member of an account, with the roles, status and
// organisation the user has there.
type Membership struct {
	// User is the member's user ID.
	User string
	// Account is the account's ID.
	Account string
	// SSOIdentifier is the identifier an administrator set for this member's
	// identity provider login (SmartRecruiters' ssoIdentifier, SmartSimple's
	// UID). It is compared case-sensitively. Empty means "the user's email".
	SSOIdentifier string
	// Status is the member's status; StatusDisabled refuses logins.
	Status Status
	// Organisation is the ID of the member's organisation in the account,
	// or "".
	Organisation string
	// Roles are the member's role grants, each with its source.
	Roles []RoleGrant
	// Created and Updated are set by the Provisioner or the host.
	Created, Updated time.Time
}

// RoleNames returns the distinct roles the member holds from any source,
// sorted.
func (m *Membership) RoleNames() []string {
	out := make([]string, 0, len(m.Roles))
	for _, g := range m.Roles {
		out = append(out, g.Role)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// HasRole reports whether the member holds role from any source.
func (m *Membership) HasRole(role string) bool {
	for _, g := range m.Roles {
		if g.Role == role {
			return true
		}
	}
	return false
}

// Organisation is a group of users inside one account (a company, a
// division, a department), matched by name ignoring the case of ASCII
// letters and runs of white space (see [NameKey]).
type Organisation struct {
	// ID is assigned by the store on creation.
	ID string
	// Account is the ID of the account the organisation belongs to.
	Account string
	// Name is the organisation's name, unique in the account by [NameKey].
	Name string
	// Status is the host's status for the organisation (SmartSimple's
	// "default new organisation status"); provisioning does not interpret it.
	Status string
	// Created is when the organisation was created.
	Created time.Time
}

// Link ties an identity provider's identifier for a person (the subject at
// one connection) to the application's user. Once linked, later logins
// through the connection find the user by the link alone.
type Link struct {
	// Connection and Subject are the connection ID and the identity's
	// subject there, compared exactly; together they are unique.
	Connection string
	Subject    string
	// User is the linked user's ID.
	User string
	// Issuer is the identity's issuer at the time of linking, for the
	// administrator's information.
	Issuer string
	// Created is when the link was made.
	Created time.Time
}

// EmailKey returns the form under which stores compare email addresses:
// trimmed, with the ASCII letters lower-cased ([sso.LowerASCII]). Every
// other character is kept as it is, so an address spelt with a character
// that Unicode lower-casing would turn into an ASCII letter (the Kelvin
// sign U+212A becomes "k") has its own key and never finds the user of the
// ASCII address. Two users may not share an EmailKey.
func EmailKey(email string) string {
	return sso.LowerASCII(strings.TrimSpace(email))
}

// NameKey returns the form under which stores compare organisation names:
// runs of white space collapsed to one space, trimmed, with the ASCII
// letters lower-cased ([sso.LowerASCII]). Other letters keep their case,
// for the same reason as in [EmailKey]: "Key Accounts" and the same name
// spelt with the Kelvin sign U+212A are two organisations.
func NameKey(name string) string {
	return sso.LowerASCII(strings.Join(strings.Fields(name), " "))
}
