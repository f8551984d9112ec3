package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/ssokit/sso"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultPurgeEvery is how many writes of state, replay and binding records
// pass between two deletions of expired records.
const DefaultPurgeEvery = 256

// Config configures a [Store]. DB and Dialect are required.
type Config struct {
	// DB is the database. For SQLite it should be opened with foreign keys
	// on, a busy timeout and immediate transactions, as [OpenSQLite] does.
	DB *sql.DB
	// Dialect is the database's dialect.
	Dialect Dialect
	// Now is the clock for expiry; time.Now when nil.
	Now func() time.Time
	// NewID returns IDs for users and organisations created without one;
	// 16 random bytes in base64url when nil.
	NewID func() (string, error)
	// PurgeEvery is how many writes pass between deletions of expired
	// records; DefaultPurgeEvery when zero, never when negative (call
	// Purge yourself).
	PurgeEvery int
	// SkipMigrate leaves the schema alone in New; call Migrate before use.
	SkipMigrate bool
}

// Validate reports a missing database or an unknown dialect.
func (c *Config) Validate() error {
	fail := func(d string) error {
		return &sso.Error{Op: "sqlstore.New", Reason: sso.ReasonInvalidConfig, Detail: d}
	}
	switch {
	case c.DB == nil:
		return fail("Config.DB is nil")
	case c.Dialect != SQLite && c.Dialect != Postgres:
		return fail(fmt.Sprintf("Config.Dialect %q is not %q or %q", c.Dialect, SQLite, Postgres))
	}
	return nil
}

// Store keeps provisioning's users, SSO login state, replay records and the
// audit event log in an SQL database. It implements provisioning.Store,
// sso.StateStore and sso.ReplayCache. It is safe for concurrent use, also by
// several application instances sharing one PostgreSQL database.
type Store struct {
	db         *sql.DB
	dialect    Dialect
	now        func() time.Time
	newID      func() (string, error)
	purgeEvery int64
	writes     atomic.Int64
	ownsDB     bool
}

// New returns a Store over cfg.DB and, unless cfg.SkipMigrate, brings the
// schema up to date with [Store.Migrate].
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{db: cfg.DB, dialect: cfg.Dialect, now: cfg.Now, newID: cfg.NewID, purgeEvery: int64(cfg.PurgeEvery)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() (string, error) { return sso.RandomToken(nil, 16) }
	}
	if s.purgeEvery == 0 {
		s.purgeEvery = DefaultPurgeEvery
	}
	if !cfg.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// OpenSQLite opens (creating if needed) the SQLite database file at path
// with write-ahead logging, a five-second busy timeout, foreign keys on and
// immediate transactions, and returns a migrated Store that closes the
// database on Close. path ":memory:" opens a private in-memory database on
// one connection. cfg.DB and cfg.Dialect are ignored.
func OpenSQLite(ctx context.Context, path string, cfg Config) (*Store, error) {
	memory := path == ":memory:"
	dsn := path
	if memory {
		dsn = "file::memory:"
	}
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	dsn += sep + "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if !memory {
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, &sso.Error{Op: "sqlstore.OpenSQLite", Reason: sso.ReasonInvalidConfig, Detail: "cannot open the SQLite database " + path, Err: err}
	}
	if memory {
		db.SetMaxOpenConns(1)
	}
	cfg.DB, cfg.Dialect = db, SQLite
	return open(ctx, "sqlstore.OpenSQLite", db, cfg)
}

// OpenPostgres connects to PostgreSQL with the pgx driver (dsn as pgx
// accepts it, e.g. "postgres://user@host:5432/db?sslmode=verify-full") and
// returns a migrated Store that closes the connection pool on Close.
// cfg.DB and cfg.Dialect are ignored.
func OpenPostgres(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, &sso.Error{Op: "sqlstore.OpenPostgres", Reason: sso.ReasonInvalidConfig, Detail: "cannot parse the PostgreSQL connection string", Err: err}
	}
	cfg.DB, cfg.Dialect = db, Postgres
	return open(ctx, "sqlstore.OpenPostgres", db, cfg)
}

func open(ctx context.Context, op string, db *sql.DB, cfg Config) (*Store, error) {
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, &sso.Error{Op: op, Reason: sso.ReasonUnavailable, Detail: "cannot reach the database", Err: err}
	}
	s, err := New(ctx, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// DB returns the underlying database.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database if the Store opened it (OpenSQLite,
// OpenPostgres); a database given in Config is left open.
func (s *Store) Close() error {
	if s.ownsDB {
		return s.db.Close()
	}
	return nil
}

// Purge deletes expired state, replay and binding records.
func (s *Store) Purge(ctx context.Context) error {
	now := micros(s.now())
	for _, q := range []string{
		`DELETE FROM sso_state WHERE expires_us <= $1`,
		`DELETE FROM sso_replay WHERE expires_us <= $1`,
		`DELETE FROM sso_bindings WHERE expires_us <= $1`,
	} {
		if _, err := s.db.ExecContext(ctx, q, now); err != nil {
			return dbError("sqlstore.Purge", "delete expired records", err)
		}
	}
	return nil
}

// wrote counts a write and purges expired records every purgeEvery writes.
func (s *Store) wrote(ctx context.Context) {
	if s.purgeEvery > 0 && s.writes.Add(1)%s.purgeEvery == 0 {
		_ = s.Purge(ctx) // best effort; the next round tries again
	}
}

// micros returns t as microseconds since the epoch, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// dbError wraps a database error in an *sso.Error with a Reason: a
// uniqueness violation, serialisation failure, deadlock or busy database is
// sso.ReasonConflict (retry), a missing referenced row sso.ReasonNotFound,
// anything else sso.ReasonInternal.
func dbError(op, what string, err error) error {
	var e *sso.Error
	if errors.As(err, &e) {
		return err
	}
	return &sso.Error{Op: op, Reason: classify(err), Detail: "the database failed to " + what, Err: err}
}

func classify(err error) sso.Reason {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		switch pg.SQLState() {
		case "23505", "40001", "40P01":
			return sso.ReasonConflict
		case "23503":
			return sso.ReasonNotFound
		}
		return sso.ReasonInternal
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		switch code := lite.Code(); {
		case code == 2067 || code == 1555: // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
			return sso.ReasonConflict
		case code == 787: // SQLITE_CONSTRAINT_FOREIGNKEY
			return sso.ReasonNotFound
		case code&0xff == 5 || code&0xff == 6: // SQLITE_BUSY, SQLITE_LOCKED
			return sso.ReasonConflict
		}
	}
	return sso.ReasonInternal
}
