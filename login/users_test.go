package login_test

import (
	"context"
	"testing"

	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/provisioning"
)

// TestStoreUsersAdminRolesFoldASCIIOnly: administrator roles compare
// ignoring the case of ASCII letters only. A role spelt with the Kelvin
// sign U+212A or the long s U+017F, which Unicode folds to "k" and "s", is
// another role and does not make its holder an administrator (and so
// eligible for the password break-glass).
func TestStoreUsersAdminRolesFoldASCIIOnly(t *testing.T) {
	ctx := context.Background()
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	users := login.StoreUsers{Store: store, AdminRoles: []string{"sysadmin", "Kiosk Admin"}}
	tests := []struct {
		role  string
		admin bool
	}{
		{"sysadmin", true},
		{"SysAdmin", true},
		{"KIOSK ADMIN", true},
		{"\u017Fysadmin", false},    // long s
		{"\u212Aiosk Admin", false}, // Kelvin sign
		{"\uFF53ysadmin", false},    // fullwidth s
		{"staff", false},
	}
	for _, tc := range tests {
		var id string
		err := store.Tx(ctx, func(tx provisioning.Tx) error {
			u := &provisioning.User{}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			id = u.ID
			return tx.PutMembership(ctx, &provisioning.Membership{User: u.ID, Account: "acme", Status: provisioning.StatusActive,
				Roles: []provisioning.RoleGrant{{Role: tc.role, Source: provisioning.RoleSourceAdmin}}})
		})
		if err != nil {
			t.Fatal(err)
		}
		f, err := users.Facts(ctx, id, "acme")
		if err != nil {
			t.Fatalf("Facts: %v", err)
		}
		if f.Admin != tc.admin {
			t.Errorf("role %q: Admin = %v; want %v", tc.role, f.Admin, tc.admin)
		}
	}
}
