package sqlstore

import (
	"context"
	"database/sql"

	"github.com/ssokit/sso/provisioning"
)

// afterMigration lists work in Go that a migration needs besides its SQL,
// run in the same transaction right after it.
var afterMigration = map[int]func(ctx context.Context, tx *sql.Tx, d Dialect) error{
	3: rekeyFolded,
}

// rekeyFolded recomputes email_key and name_key with provisioning.EmailKey
// and NameKey, which lower-case ASCII letters only. Earlier versions
// lower-cased with Unicode rules, so that an address spelt with the Kelvin
// sign U+212A was stored under the key of the ASCII address and would be
// found for it. Only values with a non-ASCII character can change: on ASCII
// text both foldings agree.
//
// The new keys cannot collide: two values with the same new key differ in
// the case of ASCII letters only, so they had the same old key too, which
// the unique constraints did not allow.
func rekeyFolded(ctx context.Context, tx *sql.Tx, d Dialect) error {
	nonASCII := func(col string) string {
		if d == Postgres {
			return "octet_length(" + col + ") <> char_length(" + col + ")"
		}
		// SQLite: length() counts characters of text, bytes of a blob.
		return "length(CAST(" + col + " AS BLOB)) <> length(" + col + ")"
	}
	for _, t := range []struct {
		table, value, key string
		fold              func(string) string
	}{
		{"sso_users", "email", "email_key", provisioning.EmailKey},
		{"sso_organisations", "name", "name_key", provisioning.NameKey},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT id, `+t.value+`, COALESCE(`+t.key+`, '') FROM `+t.table+` WHERE `+nonASCII(t.value))
		if err != nil {
			return err
		}
		type change struct{ id, key string }
		var changes []change
		for rows.Next() {
			var id, value, key string
			if err := rows.Scan(&id, &value, &key); err != nil {
				rows.Close()
				return err
			}
			if k := t.fold(value); k != key {
				changes = append(changes, change{id, k})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET `+t.key+` = $1 WHERE id = $2`, nullable(c.key), c.id); err != nil {
				return err
			}
		}
	}
	return nil
}
