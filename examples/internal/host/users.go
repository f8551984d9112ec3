package host

import (
	"context"
	"fmt"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// User is a user of the host application, created before anyone logs in
// (an administrator's "add user", or an import).
type User struct {
	Email      string
	Password   string // "" for none
	GivenName  string
	FamilyName string
	Members    []Member
}

// Member makes a User a member of an account.
type Member struct {
	Account string
	// Roles are granted by an administrator (provisioning.RoleSourceAdmin),
	// so attribute updates from the identity provider never remove them.
	Roles []string
	// SSOIdentifier is what the identity provider must send for this
	// member (compared case-sensitively); "" means the user's email.
	SSOIdentifier string
	// Organisation names the member's organisation in the account; it is
	// created when missing.
	Organisation string
}

// addUsers creates the users with their memberships and passwords. A user
// whose email exists already (a database kept from an earlier run) is left
// as it is.
func addUsers(ctx context.Context, store provisioning.Store, pw *Passwords, users ...User) error {
	for _, nu := range users {
		err := store.Tx(ctx, func(tx provisioning.Tx) error {
			if _, err := tx.FindUserByEmail(ctx, nu.Email); err == nil {
				return nil
			} else if sso.ReasonOf(err) != sso.ReasonNotFound {
				return err
			}
			u := &provisioning.User{Email: nu.Email, GivenName: nu.GivenName, FamilyName: nu.FamilyName}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			for _, mb := range nu.Members {
				m := &provisioning.Membership{User: u.ID, Account: mb.Account, SSOIdentifier: mb.SSOIdentifier, Status: provisioning.StatusActive}
				for _, r := range mb.Roles {
					m.Roles = append(m.Roles, provisioning.RoleGrant{Role: r, Source: provisioning.RoleSourceAdmin})
				}
				if mb.Organisation != "" {
					o, err := tx.FindOrganisationByName(ctx, mb.Account, mb.Organisation)
					if sso.ReasonOf(err) == sso.ReasonNotFound {
						o = &provisioning.Organisation{Account: mb.Account, Name: mb.Organisation, Status: "active"}
						err = tx.CreateOrganisation(ctx, o)
					}
					if err != nil {
						return err
					}
					m.Organisation = o.ID
				}
				if err := tx.PutMembership(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("adding user %s: %w", nu.Email, err)
		}
		if nu.Password != "" {
			pw.Set(nu.Email, nu.Password)
		}
	}
	return nil
}

// Organisations creates organisations of an account that do not exist yet.
func Organisations(ctx context.Context, store provisioning.Store, account string, names ...string) error {
	return store.Tx(ctx, func(tx provisioning.Tx) error {
		for _, n := range names {
			_, err := tx.FindOrganisationByName(ctx, account, n)
			if sso.ReasonOf(err) == sso.ReasonNotFound {
				err = tx.CreateOrganisation(ctx, &provisioning.Organisation{Account: account, Name: n, Status: "active"})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
