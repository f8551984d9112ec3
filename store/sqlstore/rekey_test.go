package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
)

// testRekey: migration 3 recomputes the keys that version 1 folded with
// Unicode rules (strings.ToLower turns the Kelvin sign U+212A into "k"), and
// a key of the old kind written afterwards finds nobody.
func testRekey(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.DB().ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	addUser := func(id, email string) {
		t.Helper()
		exec(`INSERT INTO sso_users (id, email, email_key) VALUES ($1, $2, $3)`, id, email, strings.ToLower(email))
	}
	addOrg := func(id, name string) {
		t.Helper()
		exec(`INSERT INTO sso_organisations (id, account, name, name_key) VALUES ($1, 'acct', $2, $3)`, id, name, strings.ToLower(strings.Join(strings.Fields(name), " ")))
	}
	// Rows as version 1 wrote them; then migration 3 runs again.
	addUser("u-kelvin", "ali\u212Ae@example.com")
	addUser("u-umlaut", "J\u00DCRGEN@example.com")
	addUser("u-ascii", "Olly@Example.com")
	addOrg("o-kelvin", "\u212Aey  Accounts")
	addOrg("o-ascii", "Shipping")
	exec(`DELETE FROM ` + sqlstore.MigrationsTable + ` WHERE version = 3`)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	findUser := func(tx provisioning.Tx, email, want string) {
		t.Helper()
		u, err := tx.FindUserByEmail(ctx, email)
		switch {
		case want == "" && err == nil:
			t.Errorf("FindUserByEmail(%q) = %s (%q); want not found", email, u.ID, u.Email)
		case want == "" && !errors.Is(err, sso.ReasonNotFound):
			t.Errorf("FindUserByEmail(%q): %v; want not found", email, err)
		case want != "" && (err != nil || u.ID != want):
			t.Errorf("FindUserByEmail(%q) = %v, %v; want %s", email, u, err, want)
		}
	}
	findOrg := func(tx provisioning.Tx, name, want string) {
		t.Helper()
		o, err := tx.FindOrganisationByName(ctx, "acct", name)
		switch {
		case want == "" && err == nil:
			t.Errorf("FindOrganisationByName(%q) = %s (%q); want not found", name, o.ID, o.Name)
		case want == "" && !errors.Is(err, sso.ReasonNotFound):
			t.Errorf("FindOrganisationByName(%q): %v; want not found", name, err)
		case want != "" && (err != nil || o.ID != want):
			t.Errorf("FindOrganisationByName(%q) = %v, %v; want %s", name, o, err, want)
		}
	}
	if err := s.Tx(ctx, func(tx provisioning.Tx) error {
		findUser(tx, "alike@example.com", "")
		findUser(tx, "ALI\u212AE@example.com", "u-kelvin")
		findUser(tx, "j\u00DCrgen@example.com", "u-umlaut")
		findUser(tx, "j\u00FCrgen@example.com", "")
		findUser(tx, "olly@example.com", "u-ascii")
		findOrg(tx, "key accounts", "")
		findOrg(tx, "\u212AEY ACCOUNTS", "o-kelvin")
		findOrg(tx, "SHIPPING", "o-ascii")
		// The ASCII address and name are free now.
		if err := tx.CreateUser(ctx, &provisioning.User{Email: "alike@example.com"}); err != nil {
			return err
		}
		return tx.CreateOrganisation(ctx, &provisioning.Organisation{Account: "acct", Name: "Key Accounts"})
	}); err != nil {
		t.Fatalf("after rekeying: %v", err)
	}

	// An old binary still running during an upgrade writes an old key; the
	// lookup of the ASCII address must not find that row.
	addUser("u-stale", "bo\u212A@example.com")
	addOrg("o-stale", "\u212Aiosk")
	if err := s.Tx(ctx, func(tx provisioning.Tx) error {
		findUser(tx, "bok@example.com", "")
		findOrg(tx, "kiosk", "")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
