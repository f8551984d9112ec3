package login

import (
	"context"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// StoreUsers is the default Users, over the provisioning store that holds
// the application's users and memberships. It is safe for concurrent use
// when its Store is.
type StoreUsers struct {
	// Store holds the users and memberships. Required.
	Store provisioning.Store
	// AdminRoles are the role names that make a member an administrator of
	// the account, for the administrators' break-glass. They are compared
	// ignoring the case of ASCII letters only ([sso.EqualFoldASCII]): a
	// role spelt with a character that Unicode folds to an ASCII letter
	// (the long s U+017F folds to "s") is another role.
	AdminRoles []string
	// SSOLogins, when set, returns the connections through which the user
	// has completed a login, for policy.User.SSOLogins. Decisions at login
	// do not need it; lockout checks do.
	SSOLogins func(ctx context.Context, userID string) []string
}

// UserByEmail implements Users.
func (u StoreUsers) UserByEmail(ctx context.Context, email string) (string, error) {
	var id string
	err := u.Store.Tx(ctx, func(tx provisioning.Tx) error {
		usr, err := tx.FindUserByEmail(ctx, email)
		if err != nil {
			return err
		}
		id = usr.ID
		return nil
	})
	return id, err
}

// Accounts implements Users: the accounts of the user's memberships.
func (u StoreUsers) Accounts(ctx context.Context, userID string) ([]string, error) {
	var out []string
	err := u.Store.Tx(ctx, func(tx provisioning.Tx) error {
		ms, err := tx.ListMemberships(ctx, userID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			out = append(out, m.Account)
		}
		return nil
	})
	return out, err
}

// Facts implements Users. A user without a membership in the account gets
// facts without roles.
func (u StoreUsers) Facts(ctx context.Context, userID, account string) (policy.User, error) {
	f := policy.User{ID: userID}
	err := u.Store.Tx(ctx, func(tx provisioning.Tx) error {
		usr, err := tx.FindUser(ctx, userID)
		if err != nil {
			return err
		}
		f.Email = usr.Email
		m, err := tx.FindMembership(ctx, userID, account)
		if err != nil {
			if sso.ReasonOf(err) == sso.ReasonNotFound {
				return nil
			}
			return err
		}
		f.Roles = m.RoleNames()
		f.Admin = u.admin(f.Roles)
		return nil
	})
	if err != nil {
		return policy.User{}, err
	}
	if u.SSOLogins != nil {
		f.SSOLogins = u.SSOLogins(ctx, userID)
	}
	return f, nil
}

// FactsOf implements Users: the facts of res's user and membership, as the
// login would leave them.
func (u StoreUsers) FactsOf(ctx context.Context, res *provisioning.Result) (policy.User, error) {
	roles := res.Roles()
	f := policy.User{ID: res.User.ID, Email: res.User.Email, Roles: roles, Admin: u.admin(roles)}
	if u.SSOLogins != nil && !res.Created {
		f.SSOLogins = u.SSOLogins(ctx, res.User.ID)
	}
	return f, nil
}

// admin reports whether one of roles is one of AdminRoles.
func (u StoreUsers) admin(roles []string) bool {
	for _, r := range roles {
		for _, a := range u.AdminRoles {
			if sso.EqualFoldASCII(r, a) {
				return true
			}
		}
	}
	return false
}
