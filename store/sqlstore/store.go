package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/token"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Defaults of [Config].
const (
	// DefaultPurgeEvery is how many writes of state, replay and
	// event records pass between two runs of [Store.Purge].
	DefaultPurgeEvery = 256
	// DefaultPurgeInterval is how often a Store runs [Store.Purge] in the
	// background, with or without writes.
	DefaultPurgeInterval = time.Minute
	// DefaultMaxStateRecords bounds the unexpired pending logins in
	// sso_state. A pending login lives for its flow lifetime (10 to 15
	// minutes by default in packages oidc and saml), so 100,000 leaves room
	// for more than 100 logins started every second, far above the login
	// rate of most applications, while a flood of anonymous login starts
	// stops at about 100 MB (a pending login is well under 1 KiB). It equals
	// sso.DefaultMemoryStateCapacity, so moving from the in-memory store
	// does not change when logins are refused.
	DefaultMaxStateRecords = 100_000
	// DefaultMaxReplayRecords bounds the unexpired replay records in
	// sso_replay. A login writes one or two, each kept for the lifetime of
	// its assertion or ID token (minutes to an hour), so 1,000,000 leaves
	// room for several hundred logins a second over an hour; a record is a
	// short key, about 100 to 200 bytes with its index. Replay records are
	// written only for a response whose pending login was found, so their
	// number also follows the state bound. It equals
	// sso.DefaultMemoryReplayCapacity.
	DefaultMaxReplayRecords = 1_000_000
	// DefaultMaxEvents bounds the audit event log in sso_events: at a few
	// hundred bytes an event, 1,000,000 events stay within a few hundred
	// MB. Every failed login writes one, so the bound is what keeps a flood
	// of failing anonymous requests from filling the disk.
	DefaultMaxEvents = 1_000_000
	// DefaultEventRetention is how long events are kept: 90 days covers
	// the troubleshooting the log serves (see [Store.Recent]); forward
	// events to a log archive for longer audit retention.
	DefaultEventRetention = 90 * 24 * time.Hour
)

// recountInterval is the shortest time between two counts of a full table
// (by the store's clock): while a table stays full, a flood of refused
// writes costs at most one count a second.
const recountInterval = time.Second

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
	// PurgeEvery is how many writes pass between runs of [Store.Purge];
	// DefaultPurgeEvery when zero, never when negative.
	PurgeEvery int
	// PurgeInterval is how often a background goroutine runs
	// [Store.Purge], so that expired records go and the bounds are
	// recounted even when no writes come; DefaultPurgeInterval when zero,
	// never when negative (call Purge yourself). [Store.Close] stops it.
	PurgeInterval time.Duration
	// MaxStateRecords bounds the pending logins in sso_state;
	// DefaultMaxStateRecords when zero. A Put of a new key beyond it is
	// refused with sso.ReasonStoreFull (an unexpired pending login is never
	// deleted to make room); replacing a key and taking one still work, and
	// Puts succeed again as records expire or are taken.
	//
	// The Store does not count the table on every insert: each Purge counts
	// what remains, and the Store adds its own inserts (less its Takes)
	// since. So one Store keeps the bound (to within the Takes that run
	// during a count), while several application instances sharing a
	// database may together exceed it by at most what each inserts between
	// two of its purges (PurgeEvery writes, or a PurgeInterval's worth)
	// times the number of instances. A full table is counted again when a
	// write finds it full, at most once a second.
	MaxStateRecords int
	// MaxReplayRecords bounds the replay records in sso_replay, in the
	// same way as MaxStateRecords; DefaultMaxReplayRecords when zero. A
	// Seen of a new key beyond it is refused with sso.ReasonStoreFull (an
	// unexpired record is never deleted early, as that would let its
	// assertion be replayed); a key already recorded is still reported as
	// seen.
	MaxReplayRecords int
	// MaxEvents bounds the audit event log: each Purge deletes the oldest
	// events beyond it; DefaultMaxEvents when zero. Appending never fails
	// because the log is full, so logging never blocks a login; between two
	// purges the log may exceed the bound by the events appended meanwhile.
	MaxEvents int
	// EventRetention is how long events are kept: each Purge deletes
	// events older than this; DefaultEventRetention when zero, no age limit
	// (only MaxEvents) when negative.
	EventRetention time.Duration
	// SkipMigrate leaves the schema alone in New; call Migrate before use.
	SkipMigrate bool
}

// Validate reports a missing database, an unknown dialect or a negative
// bound.
func (c *Config) Validate() error {
	fail := func(d string) error {
		return &sso.Error{Op: "sqlstore.New", Reason: sso.ReasonInvalidConfig, Detail: d}
	}
	switch {
	case c.DB == nil:
		return fail("Config.DB is nil")
	case c.Dialect != SQLite && c.Dialect != Postgres:
		return fail(fmt.Sprintf("Config.Dialect %q is not %q or %q", c.Dialect, SQLite, Postgres))
	case c.MaxStateRecords < 0:
		return fail(fmt.Sprintf("Config.MaxStateRecords is %d; set a positive bound, or 0 for the default of %d", c.MaxStateRecords, DefaultMaxStateRecords))
	case c.MaxReplayRecords < 0:
		return fail(fmt.Sprintf("Config.MaxReplayRecords is %d; set a positive bound, or 0 for the default of %d", c.MaxReplayRecords, DefaultMaxReplayRecords))
	case c.MaxEvents < 0:
		return fail(fmt.Sprintf("Config.MaxEvents is %d; set a positive bound, or 0 for the default of %d", c.MaxEvents, DefaultMaxEvents))
	}
	return nil
}

// Store keeps provisioning's users, SSO login state, replay records and the
// audit event log in an SQL database. It implements provisioning.Store,
// sso.StateStore and sso.ReplayCache. It is safe for concurrent use, also by
// several application instances sharing one PostgreSQL database.
//
// Every table an anonymous client can make grow is bounded: pending logins
// and replay records by MaxStateRecords and MaxReplayRecords (beyond which
// writes are refused with sso.ReasonStoreFull), the event log by MaxEvents
// and EventRetention (beyond which the oldest events go). A database that
// cannot be reached is reported as sso.ReasonUnavailable; the Store works
// again as soon as it is back.
type Store struct {
	db             *sql.DB
	dialect        Dialect
	now            func() time.Time
	newID          func() (string, error)
	purgeEvery     int64
	writes         atomic.Int64
	ownsDB         bool
	state, replay  bound
	maxEvents      int64
	eventRetention time.Duration
	purging        sync.Mutex // one Purge at a time

	stopSweep context.CancelFunc // ends the background purge
	swept     chan struct{}      // closed when it has ended
	closeOnce sync.Once
}

// New returns a Store over cfg.DB and, unless cfg.SkipMigrate, brings the
// schema up to date with [Store.Migrate]. Unless cfg.PurgeInterval is
// negative, it starts the background purge, which [Store.Close] stops: close
// the Store when done with it, also when the database is the application's.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{db: cfg.DB, dialect: cfg.Dialect, now: cfg.Now, newID: cfg.NewID, purgeEvery: int64(cfg.PurgeEvery),
		maxEvents: int64(cmp.Or(cfg.MaxEvents, DefaultMaxEvents)), eventRetention: cmp.Or(cfg.EventRetention, DefaultEventRetention)}
	s.state = bound{table: "sso_state", max: int64(cmp.Or(cfg.MaxStateRecords, DefaultMaxStateRecords)),
		op: "sqlstore.Put", what: "pending logins", field: "MaxStateRecords"}
	s.replay = bound{table: "sso_replay", max: int64(cmp.Or(cfg.MaxReplayRecords, DefaultMaxReplayRecords)),
		op: "sqlstore.Seen", what: "replay records", field: "MaxReplayRecords"}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() (string, error) { return token.Random(nil, 16) }
	}
	if s.purgeEvery == 0 {
		s.purgeEvery = DefaultPurgeEvery
	}
	if !cfg.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	if interval := cmp.Or(cfg.PurgeInterval, DefaultPurgeInterval); interval > 0 {
		sweepCtx, stop := context.WithCancel(context.Background())
		s.stopSweep, s.swept = stop, make(chan struct{})
		go s.sweep(sweepCtx, interval)
	}
	return s, nil
}

// sweep runs Purge every interval until ctx ends. It runs in the
// background rather than lazily on the next write so that, after a flood
// stops, the expired records go and the bounds are recounted without
// waiting for traffic, and the first login after the flood finds room
// without paying for the cleanup. Failures are ignored: the next round
// tries again.
func (s *Store) sweep(ctx context.Context, interval time.Duration) {
	defer close(s.swept)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, max(interval, 30*time.Second))
			_ = s.Purge(pctx)
			cancel()
		}
	}
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

// Close stops the background purge and waits for it to end, then closes
// the database if the Store opened it (OpenSQLite, OpenPostgres); a
// database given in Config is left open.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopSweep != nil {
			s.stopSweep()
			<-s.swept
		}
	})
	if s.ownsDB {
		return s.db.Close()
	}
	return nil
}

// Purge deletes expired state and replay records, deletes the
// events older than Config.EventRetention and the oldest beyond
// Config.MaxEvents, and counts the state and replay records that remain for
// their bounds. The Store runs it every Config.PurgeEvery writes and every
// Config.PurgeInterval; call it yourself when both are negative.
func (s *Store) Purge(ctx context.Context) error {
	s.purging.Lock()
	defer s.purging.Unlock()
	return s.purge(ctx)
}

// purge does Purge's work; the caller holds s.purging.
func (s *Store) purge(ctx context.Context) error {
	const op = "sqlstore.Purge"
	now := s.now()
	if s.eventRetention > 0 {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sso_events WHERE time_us < $1`, micros(now.Add(-s.eventRetention))); err != nil {
			return dbError(op, "delete events older than Config.EventRetention", err)
		}
	}
	// IDs only grow, so the MaxEvents newest events have IDs above
	// MAX(id) - MaxEvents; both sides of the comparison use the primary key.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sso_events WHERE id <= (SELECT MAX(id) FROM sso_events) - $1`, s.maxEvents); err != nil {
		return dbError(op, "delete the events beyond Config.MaxEvents", err)
	}
	for _, b := range []*bound{&s.state, &s.replay} {
		if err := s.recount(ctx, b, now); err != nil {
			return err
		}
	}
	return nil
}

// wrote counts a write and runs Purge every purgeEvery writes, unless one
// is running already.
func (s *Store) wrote(ctx context.Context) {
	if s.purgeEvery > 0 && s.writes.Add(1)%s.purgeEvery == 0 && s.purging.TryLock() {
		defer s.purging.Unlock()
		_ = s.purge(ctx) // best effort; the next round tries again
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
// sso.ReasonConflict (retry), a missing referenced row sso.ReasonNotFound, a
// database that cannot be reached, is shutting down or refuses connections
// sso.ReasonUnavailable (try again later), a full disk sso.ReasonStoreFull,
// anything else sso.ReasonInternal.
func dbError(op, what string, err error) error {
	var e *sso.Error
	if errors.As(err, &e) {
		return err
	}
	r := classify(err)
	detail := "the database failed to " + what
	switch r {
	case sso.ReasonUnavailable:
		detail = "cannot reach the database to " + what + "; check that it is running and reachable (the store works again as soon as it is back)"
	case sso.ReasonStoreFull:
		detail = "the database is out of space to " + what + "; free disk space or raise the database's size limit"
	}
	return &sso.Error{Op: op, Reason: r, Detail: detail, Err: err}
}

// Classify returns the Reason a Store gives a database error (see
// dbError's rules: unavailable, conflict, not found, store full,
// internal), for an application's own statements on the same database.
func Classify(err error) sso.Reason { return classify(err) }

func classify(err error) sso.Reason {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		switch code := pg.SQLState(); {
		case code == "23505" || code == "40001" || code == "40P01":
			return sso.ReasonConflict
		case code == "23503":
			return sso.ReasonNotFound
		case code == "53100": // disk_full
			return sso.ReasonStoreFull
		case strings.HasPrefix(code, "08"), // connection_exception
			code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now
			code == "53300", // too_many_connections
			code == "25006": // read_only_sql_transaction: a standby, e.g. during failover
			return sso.ReasonUnavailable
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
		case code&0xff == 13: // SQLITE_FULL
			return sso.ReasonStoreFull
		case code&0xff == 14: // SQLITE_CANTOPEN
			return sso.ReasonUnavailable
		}
		return sso.ReasonInternal
	}
	if unreachable(err) {
		return sso.ReasonUnavailable
	}
	return sso.ReasonInternal
}

// unreachable reports a failure to reach the database: a network error
// (refused, reset, timed out), a connection closed in the middle of a
// statement or found closed (pgx's "conn closed", when the database went
// away under a pooled connection), a broken connection or a deadline that
// passed.
func unreachable(err error) bool {
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &ce) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded)
}
