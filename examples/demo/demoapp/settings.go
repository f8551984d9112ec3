package demoapp

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/store/sqlstore"
)

// The admin page's changes (an account's policy with its connections'
// stages, a SAML connection's IdP metadata) are kept in a table of the
// demo's own in its database (SQLite, or the PostgreSQL the replicas
// share), so that a restart with the same database keeps them: they take
// the place of the configuration's values. Each change is one row,
// written with the settings' version in one transaction, so a crash leaves
// the old value or the new one, never half of either. The version counts
// the changes: replicas compare it with the one they applied (see
// sync.go), and on PostgreSQL the transaction also notifies them
// (pg_notify on settingsChannel), delivered when it commits.

// settingsSchema creates the tables; %s is the binary type of the dialect.
const settingsSchema = `CREATE TABLE IF NOT EXISTS demo_settings (
	key TEXT PRIMARY KEY,
	value %[1]s NOT NULL,
	updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS demo_settings_version (
	id INTEGER PRIMARY KEY,
	version BIGINT NOT NULL
);
INSERT INTO demo_settings_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS demo_sessions (
	id TEXT PRIMARY KEY,
	connection TEXT NOT NULL,
	record %[1]s NOT NULL,
	expires_us BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS demo_logins (
	user_id TEXT NOT NULL,
	account TEXT NOT NULL,
	connection TEXT NOT NULL,
	PRIMARY KEY (user_id, account, connection)
)`

// settingsChannel is the PostgreSQL notification channel of changes.
const settingsChannel = "ssokit_demo_settings"

// Keys of the demo_settings table.
const (
	policyKeyPrefix   = "policy/"       // + account ID: the policy as JSON
	metadataKeyPrefix = "idp_metadata/" // + connection ID: the IdP's metadata XML
)

// settings reads and writes the demo_settings table.
type settings struct {
	db       *sql.DB
	postgres bool
	now      func() time.Time
}

func openSettings(ctx context.Context, db *sql.DB, dialect sqlstore.Dialect) (*settings, error) {
	s := &settings{db: db, postgres: dialect == sqlstore.Postgres, now: time.Now}
	blob := "BLOB"
	if s.postgres {
		blob = "BYTEA"
	}
	for _, stmt := range strings.Split(fmt.Sprintf(settingsSchema, blob), ";\n") {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("creating the demo's tables: %w", err)
		}
	}
	return s, nil
}

// version returns the settings' version: the number of changes made.
func (s *settings) version(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM demo_settings_version WHERE id = 1`).Scan(&v)
	return v, err
}

// put writes value under key, or deletes the key when value is nil.
func (s *settings) put(ctx context.Context, key string, value []byte) error {
	return s.write(ctx, key, value, nil, false)
}

// errSettingChanged: putIf found another value under the key than the one
// the change was based on.
var errSettingChanged = errors.New("the setting was changed meanwhile")

// putIf is put when the key still holds expect (nil: when it is absent), so
// that two administrators changing the same setting on two replicas at
// once cannot silently undo each other's change: the second gets
// errSettingChanged and nothing is written.
func (s *settings) putIf(ctx context.Context, key string, value, expect []byte) error {
	return s.write(ctx, key, value, expect, true)
}

func (s *settings) write(ctx context.Context, key string, value, expect []byte, check bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The version row first: concurrent writers queue on it, so a check
	// below sees the value the previous writer committed.
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE demo_settings_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		return err
	}
	if check {
		var cur []byte
		err := tx.QueryRowContext(ctx, `SELECT value FROM demo_settings WHERE key = $1`, key).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if expect != nil {
				return errSettingChanged
			}
		case err != nil:
			return err
		case expect == nil || !bytes.Equal(cur, expect):
			return errSettingChanged
		}
	}
	if value == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM demo_settings WHERE key = $1`, key)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO demo_settings (key, value, updated) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
			key, value, s.now().UTC().Format(time.RFC3339Nano))
	}
	if err != nil {
		return err
	}
	if s.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, settingsChannel, fmt.Sprint(v)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// get returns the value under key, or nil.
func (s *settings) get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM demo_settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// all returns every value whose key starts with prefix, by the rest of
// the key.
func (s *settings) all(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM demo_settings`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out, rows.Err()
}

// putPolicy keeps an account's policy.
func (s *settings) putPolicy(ctx context.Context, p policy.Policy) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.put(ctx, policyKeyPrefix+p.Account, b)
}

// policies returns the kept policies by account.
func (s *settings) policies(ctx context.Context) (map[string]policy.Policy, error) {
	raw, err := s.all(ctx, policyKeyPrefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]policy.Policy, len(raw))
	for acct, b := range raw {
		var p policy.Policy
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("the kept policy of account %q is not valid JSON: %w", acct, err)
		}
		out[acct] = p
	}
	return out, nil
}

// mergePolicy applies the kept policy to the configured one: the kept
// mode, scope and switches, and the kept stage and test users of each
// connection that the configuration still has. Connections the
// configuration added keep their configured values.
func mergePolicy(configured, kept policy.Policy) policy.Policy {
	out := kept
	out.Account = configured.Account
	out.Connections = nil
	for _, c := range configured.Connections {
		if k, ok := kept.Connection(c.ID); ok {
			c = k
		}
		out.Connections = append(out.Connections, c)
	}
	return out
}
