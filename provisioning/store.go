package provisioning

import "context"

// Store is the application's user store as provisioning needs it. A host
// implements it over its own users table, or uses [MemoryStore] or package
// store/sqlstore. Package provisioning/storetest holds a conformance test any
// implementation can run.
//
// Implementations must be safe for concurrent use.
type Store interface {
	// Tx runs fn in one transaction. When fn returns an error or panics,
	// every change fn made is undone and Tx returns fn's error (or
	// re-panics); otherwise the changes are committed together. Concurrent
	// transactions must not see each other's uncommitted changes, and a
	// change that would break a uniqueness rule fails with an error
	// matching sso.ReasonConflict (at the latest when committing), so that
	// the caller may retry.
	//
	// fn must not call Tx again, and must not keep tx after it returns.
	Tx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx reads and changes the store inside one transaction of [Store.Tx].
//
// Lookups that find nothing return an error matching sso.ReasonNotFound.
// Values returned are copies: changing them does not change the store.
// Changes that break a uniqueness rule return an error matching
// sso.ReasonConflict.
type Tx interface {
	// FindLink returns the link of (connection, subject), compared exactly.
	FindLink(ctx context.Context, connection, subject string) (*Link, error)
	// CreateLink stores a new link. (Connection, Subject) is unique.
	CreateLink(ctx context.Context, l *Link) error

	// FindUser returns the user with the given ID.
	FindUser(ctx context.Context, id string) (*User, error)
	// FindUserByEmail returns the user whose email has the same [EmailKey].
	// An empty email finds nothing.
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	// CreateUser stores a new user. When u.ID is empty the store assigns
	// one and sets u.ID. A non-empty email must be unique by EmailKey.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser replaces the stored user with u's ID by u.
	UpdateUser(ctx context.Context, u *User) error

	// FindMembership returns user's membership in account.
	FindMembership(ctx context.Context, user, account string) (*Membership, error)
	// FindMembershipBySSOIdentifier returns the membership in account whose
	// SSOIdentifier equals identifier exactly (case-sensitive). Memberships
	// without an SSOIdentifier never match; an empty identifier finds
	// nothing.
	FindMembershipBySSOIdentifier(ctx context.Context, account, identifier string) (*Membership, error)
	// ListMemberships returns the user's memberships, sorted by account.
	ListMemberships(ctx context.Context, user string) ([]Membership, error)
	// PutMembership creates or replaces the membership of (m.User,
	// m.Account). A non-empty SSOIdentifier must be unique within the
	// account. The user must exist.
	PutMembership(ctx context.Context, m *Membership) error

	// FindOrganisation returns the organisation with the given ID.
	FindOrganisation(ctx context.Context, id string) (*Organisation, error)
	// FindOrganisationByName returns the organisation of account whose name
	// has the same [NameKey] as name.
	FindOrganisationByName(ctx context.Context, account, name string) (*Organisation, error)
	// CreateOrganisation stores a new organisation. When o.ID is empty the
	// store assigns one and sets o.ID. (Account, NameKey(Name)) is unique.
	CreateOrganisation(ctx context.Context, o *Organisation) error
}
