package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ssokit/sso"
)

// Put implements sso.StateStore: it stores value under key until expires,
// replacing any value there.
func (s *Store) Put(ctx context.Context, key string, value []byte, expires time.Time) error {
	const op = "sqlstore.Put"
	if !s.now().Before(expires) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sso_state WHERE key = $1`, key); err != nil {
			return dbError(op, "replace a state record", err)
		}
		return nil
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO sso_state (key, value, expires_us) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_us = excluded.expires_us`, key, value, micros(expires)); err != nil {
		return dbError(op, "store a state record", err)
	}
	s.wrote(ctx)
	return nil
}

// Take implements sso.StateStore: it deletes the record under key and
// returns its value, in one statement, so that of concurrent Takes exactly
// one gets it. An absent or expired record is sso.ReasonStateMissing.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	const op = "sqlstore.Take"
	var value []byte
	var expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM sso_state WHERE key = $1 RETURNING value, expires_us`, key).Scan(&value, &expires)
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
// on a clash, replaces only an expired record).
func (s *Store) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	r, err := s.db.ExecContext(ctx, `INSERT INTO sso_replay (key, expires_us) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_us = excluded.expires_us WHERE sso_replay.expires_us <= $3`,
		key, micros(until), micros(s.now()))
	if err != nil {
		return false, dbError("sqlstore.Seen", "record a one-time value", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, dbError("sqlstore.Seen", "record a one-time value", err)
	}
	s.wrote(ctx)
	return n == 0, nil
}
