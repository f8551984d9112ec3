package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
)

// One SQLite file holds the users, the pending logins, the replay records
// and the audit log.
func ExampleOpenSQLite() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sqlstore-example")
	defer os.RemoveAll(dir)

	store, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "app.db"), sqlstore.Config{})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	p, err := provisioning.New(provisioning.Config{Store: store, Events: store.EventFunc(nil)})
	if err != nil {
		panic(err)
	}
	res, err := p.Provision(ctx, provisioning.Request{
		Account:    provisioning.Account{ID: "acme", Domains: []string{"acme.example"}},
		Connection: provisioning.Connection{ID: "acme-oidc", JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"Member"}}},
		Identity:   &sso.Identity{Connection: "acme-oidc", Subject: "00u1", Email: "kim@acme.example"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Match, res.User.Email, res.Roles())

	events, _ := store.Recent(ctx, "acme", 10)
	for _, e := range events {
		fmt.Println(e.Type)
	}
	// Output:
	// created kim@acme.example [Member]
	// login_succeeded
	// user_linked
	// user_created
}
