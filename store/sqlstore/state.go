package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssokit/sso"
)

// Put implements sso.StateStore: it stores value under key until expires,
// replacing any value there. A new key beyond Config.MaxStateRecords is
// refused with sso.ReasonStoreFull; replacing a key works also then.
func (s *Store) Put(ctx context.Context, key string, value []byte, expires time.Time) error {
	key = s.dbKey(key)
	const op = "sqlstore.Put"
	if !s.now().Before(expires) {
		r, err := s.db.ExecContext(ctx, `DELETE FROM sso_state WHERE key = $1`, key)
		if err != nil {
			return dbError(op, "replace a state record", err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			s.state.release()
		}
		return nil
	}
	if value == nil {
		value = []byte{}
	}
	if err := s.admit(ctx, &s.state); err != nil {
		if !errors.Is(err, sso.ReasonStoreFull) {
			return err
		}
		// Full: a key already there is replaced in place, taking no room.
		r, uerr := s.db.ExecContext(ctx, `UPDATE sso_state SET value = $2, expires_us = $3 WHERE key = $1`, key, value, micros(expires))
		if uerr != nil {
			return dbError(op, "replace a state record", uerr)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return err
		}
		s.wrote(ctx)
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sso_state (key, value, expires_us) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_us = excluded.expires_us`, key, value, micros(expires)); err != nil {
		s.state.release()
		return dbError(op, "store a state record", err)
	}
	s.wrote(ctx)
	return nil
}

// Take implements sso.StateStore: it deletes the record under key and
// returns its value, in one statement, so that of concurrent Takes exactly
// one gets it. An absent or expired record is sso.ReasonStateMissing.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	key = s.dbKey(key)
	const op = "sqlstore.Take"
	var value []byte
	var expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM sso_state WHERE key = $1 RETURNING value, expires_us`, key).Scan(&value, &expires)
	if err == nil {
		s.state.release() // the row is gone, expired or not
	}
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !s.now().Before(fromMicros(expires))) {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonStateMissing, Detail: "no pending login under this state (expired, already used, or unknown)"}
	}
	if err != nil {
		return nil, dbError(op, "take a state record", err)
	}
	return value, nil
}

// Seen implements sso.ReplayCache: it records key until the given time and
// reports whether a live record existed, in one statement (an insert that,
// on a clash, replaces only an expired record). A new key beyond
// Config.MaxReplayRecords is refused with sso.ReasonStoreFull; a key
// recorded and unexpired is reported as seen also then.
func (s *Store) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	key = s.dbKey(key)
	const op = "sqlstore.Seen"
	if err := s.admit(ctx, &s.replay); err != nil {
		if !errors.Is(err, sso.ReasonStoreFull) {
			return false, err
		}
		var one int
		qerr := s.db.QueryRowContext(ctx, `SELECT 1 FROM sso_replay WHERE key = $1 AND expires_us > $2`, key, micros(s.now())).Scan(&one)
		switch {
		case qerr == nil:
			return true, nil
		case errors.Is(qerr, sql.ErrNoRows):
			return false, err
		default:
			return false, dbError(op, "look up a one-time value", qerr)
		}
	}
	r, err := s.db.ExecContext(ctx, `INSERT INTO sso_replay (key, expires_us) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_us = excluded.expires_us WHERE sso_replay.expires_us <= $3`,
		key, micros(until), micros(s.now()))
	if err != nil {
		s.replay.release()
		return false, dbError(op, "record a one-time value", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, dbError(op, "record a one-time value", err)
	}
	if n == 0 {
		s.replay.release() // a live record was there: no new row
		return true, nil
	}
	s.wrote(ctx)
	return false, nil
}

// dbKey returns the text the database keeps for key. Keys are byte
// strings (package saml joins the connection and the assertion ID with a
// NUL byte), but PostgreSQL's TEXT takes neither NUL nor invalid UTF-8:
// there a key with either, or one that begins with "~", is kept as "~" and
// its base64url encoding. The mapping is one-to-one (every kept key that
// begins with "~" is an encoded one), so distinct keys never meet; every
// other key is kept as it is. SQLite keeps keys as they are.
func (s *Store) dbKey(key string) string {
	if s.dialect != Postgres {
		return key
	}
	if utf8.ValidString(key) && !strings.ContainsRune(key, 0) && !strings.HasPrefix(key, "~") {
		return key
	}
	return "~" + base64.RawURLEncoding.EncodeToString([]byte(key))
}
