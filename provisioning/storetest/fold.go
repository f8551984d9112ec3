package storetest

import (
	"context"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// testConfusableKeys: emails and organisation names compare by
// provisioning.EmailKey and NameKey, which lower-case ASCII letters only.
// A store that folds in the database instead (a Unicode-aware lower() or a
// case-insensitive collation) would find the user of "alike@example.com"
// for an address spelt with the Kelvin sign U+212A, and let an identity
// provider's confusable address take over her account.
func testConfusableKeys(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	pairs := []struct{ ascii, spelt string }{
		{"alike@example.com", "ali\u212Ae@example.com"}, // Kelvin sign
		{"sam@example.com", "\u017Fam@example.com"},     // long s
		{"ivan@example.com", "\u0130van@example.com"},   // capital I with dot
		{"ivo@example.com", "\u0131vo@example.com"},     // dotless i
		{"alice@example.com", "\uFF41lice@example.com"}, // fullwidth a
	}
	ids := map[string]string{}
	for _, p := range pairs {
		u := &provisioning.User{Email: p.ascii, Created: base, Updated: base}
		tx(t, s, func(tx provisioning.Tx) error { return tx.CreateUser(ctx, u) })
		ids[p.ascii] = u.ID
	}
	tx(t, s, func(tx provisioning.Tx) error {
		for _, p := range pairs {
			got, err := tx.FindUserByEmail(ctx, p.spelt)
			if err == nil {
				t.Errorf("FindUserByEmail(%q) = user %s (%q); want not found: only ASCII letters compare without case", p.spelt, got.ID, got.Email)
			} else {
				wantReason(t, "FindUserByEmail("+p.spelt+")", err, sso.ReasonNotFound)
			}
		}
		return nil
	})
	// The confusable addresses are addresses of their own.
	for _, p := range pairs {
		u := &provisioning.User{Email: p.spelt, Created: base, Updated: base}
		if err := s.Tx(ctx, func(tx provisioning.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
			t.Fatalf("CreateUser(%q) next to %q: %v; want a separate user", p.spelt, p.ascii, err)
		}
		ids[p.spelt] = u.ID
	}
	tx(t, s, func(tx provisioning.Tx) error {
		for _, p := range pairs {
			for _, e := range []string{p.ascii, p.spelt, upperASCII(p.ascii), upperASCII(p.spelt)} {
				want := ids[p.ascii]
				if e == p.spelt || e == upperASCII(p.spelt) {
					want = ids[p.spelt]
				}
				got, err := tx.FindUserByEmail(ctx, e)
				if err != nil || got.ID != want {
					t.Errorf("FindUserByEmail(%q) = %v, %v; want user %s", e, got, err, want)
				}
			}
		}
		return nil
	})

	key := &provisioning.Organisation{Account: "acct-k", Name: "Key Accounts", Created: base}
	tx(t, s, func(tx provisioning.Tx) error { return tx.CreateOrganisation(ctx, key) })
	tx(t, s, func(tx provisioning.Tx) error {
		_, err := tx.FindOrganisationByName(ctx, "acct-k", "\u212Aey Accounts")
		wantReason(t, "FindOrganisationByName(Kelvin sign)", err, sso.ReasonNotFound)
		got, err := tx.FindOrganisationByName(ctx, "acct-k", "KEY ACCOUNTS")
		if err != nil || got.ID != key.ID {
			t.Errorf("FindOrganisationByName(KEY ACCOUNTS) = %v, %v; want %s", got, err, key.ID)
		}
		return tx.CreateOrganisation(ctx, &provisioning.Organisation{Account: "acct-k", Name: "\u212Aey Accounts", Created: base})
	})
}

// upperASCII upper-cases the ASCII letters of s only.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
