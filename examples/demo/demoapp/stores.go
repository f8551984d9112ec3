package demoapp

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/store/redisstore"
	"github.com/ssokit/sso/store/sqlstore"
)

// Where the demo keeps its data. One process: an SQLite file (the
// default). Several replicas: one PostgreSQL database they share (-postgres)
// for users, identity links, events, sessions, the admin page's changes
// and, without Redis, the replay records and waiting identities; and
// optionally Redis (-redis) for the replay records and waiting identities.
// Pending logins themselves are sealed into the browser (login.Config.
// CookieKeys), so every replica must share the cookie keys; they are
// configured (cookie_keys) or else created once and kept in the database.

// storeTimeout bounds every state and replay operation: a store that hangs
// fails the login after this long, with sso.ReasonUnavailable, rather than
// holding the browser.
const storeTimeout = 3 * time.Second

// RoundTrips counts the requests the demo sent to its stores: SQL
// statements (BEGIN and COMMIT included) and Redis commands.
type RoundTrips struct {
	SQL, Redis int64
}

// counters are the round trips counted so far.
type counters struct{ sql, redis atomic.Int64 }

// sqlTracer counts the statements pgx sends.
type sqlTracer struct{ n *atomic.Int64 }

func (t sqlTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.n.Add(1)
	return ctx
}

func (sqlTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// redisCounter counts the commands go-redis sends.
type redisCounter struct{ n *atomic.Int64 }

func (redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// openStores opens the database (PostgreSQL or SQLite) and Redis, and sets
// a.store, a.state and a.replay.
func (a *App) openStores(ctx context.Context) error {
	cfg := a.cfg
	pgURL := firstNonEmpty(a.opts.Postgres, string(cfg.Postgres))
	redisURL := firstNonEmpty(a.opts.Redis, string(cfg.Redis))
	var err error
	if pgURL != "" {
		pc, perr := postgresConfig(pgURL)
		if perr != nil {
			return &ConfigError{Problems: []Problem{{Field: "postgres", Fix: perr.Error()}}}
		}
		pc.Tracer = sqlTracer{&a.trips.sql}
		db := stdlib.OpenDB(*pc)
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			db.Close()
			return fmt.Errorf("PostgreSQL at %s: cannot connect: %w (check -postgres and that the server runs)", redactURL(pgURL), err)
		}
		if a.store, err = sqlstore.New(pctx, sqlstore.Config{DB: db, Dialect: sqlstore.Postgres}); err != nil {
			db.Close()
			return fmt.Errorf("PostgreSQL at %s: %w", redactURL(pgURL), err)
		}
		a.sqlDB, a.pgURL, a.dbName = db, pgURL, "PostgreSQL at "+redactURL(pgURL)
	} else {
		dbPath := firstNonEmpty(a.opts.DB, cfg.Database)
		if dbPath == "" {
			if a.tmpDir, err = os.MkdirTemp("", "ssokit-demo-"); err != nil {
				return err
			}
			dbPath = filepath.Join(a.tmpDir, "demo.db")
		}
		if a.store, err = sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Config{}); err != nil {
			return fmt.Errorf("database %s: %w", dbPath, err)
		}
		a.dbPath, a.dbName = dbPath, dbPath
	}
	a.state, a.replay = a.store, a.store
	if redisURL != "" {
		ro, rerr := redis.ParseURL(redisURL)
		if rerr != nil {
			return &ConfigError{Problems: []Problem{{Field: "redis", Fix: "not a Redis URL (redis://[user:password@]host:6379/0): " + rerr.Error()}}}
		}
		// Fail fast when Redis is down or slow: a login waits at most
		// storeTimeout for it, then is refused.
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = 2*time.Second, 2*time.Second, 2*time.Second, 2*time.Second
		ro.MaxRetries = 1
		a.redis = redis.NewClient(ro)
		a.redis.AddHook(redisCounter{&a.trips.redis})
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rs, err := redisstore.New(rctx, redisstore.Config{Client: a.redis})
		if err != nil {
			return fmt.Errorf("Redis at %s: %w", redactURL(redisURL), err)
		}
		a.state, a.replay, a.redisName = rs, rs, "Redis at "+redactURL(redisURL)
	}
	a.state, a.replay = timeoutStore{a.state, a.replay}, timeoutStore{a.state, a.replay}
	return nil
}

// postgresConfig parses a PostgreSQL URL, with a connect timeout of
// three seconds unless it sets one, so that a database that does not
// answer fails a login fast.
func postgresConfig(u string) (*pgx.ConnConfig, error) {
	if !strings.Contains(u, "connect_timeout") {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
			u += sep + "connect_timeout=3"
		} else {
			u += " connect_timeout=3"
		}
	}
	pc, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("not a PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=verify-full): %v", err)
	}
	return pc, nil
}

// redactURL drops the password from a URL, for messages.
func redactURL(u string) string {
	i := strings.Index(u, "://")
	at := strings.LastIndex(u, "@")
	if i < 0 || at < i {
		return u
	}
	user := u[i+3 : at]
	if name, _, ok := strings.Cut(user, ":"); ok {
		return u[:i+3] + name + ":[redacted]" + u[at:]
	}
	return u
}

// timeoutStore bounds each state and replay operation by storeTimeout.
type timeoutStore struct {
	state  sso.StateStore
	replay sso.ReplayCache
}

func (s timeoutStore) Put(ctx context.Context, key string, value []byte, expires time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return s.state.Put(ctx, key, value, expires)
}

func (s timeoutStore) Take(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return s.state.Take(ctx, key)
}

func (s timeoutStore) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return s.replay.Seen(ctx, key, until)
}

// RoundTrips returns the requests sent to the stores since the start.
func (a *App) RoundTrips() RoundTrips {
	return RoundTrips{SQL: a.trips.sql.Load(), Redis: a.trips.redis.Load()}
}

// dependency is one store /healthz checks.
type dependency struct {
	name string // "postgres", "sqlite", "redis"
	desc string
	ping func(context.Context) error
}

// dependencies returns the stores the application needs.
func (a *App) dependencies() []dependency {
	var out []dependency
	if a.sqlDB != nil {
		out = append(out, dependency{"postgres", a.dbName, a.sqlDB.PingContext})
	} else if a.store != nil {
		out = append(out, dependency{"sqlite", a.dbName, a.store.DB().PingContext})
	}
	if a.redis != nil {
		out = append(out, dependency{"redis", a.redisName, func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }})
	}
	return out
}

// checkStores checks postgres, redis and cookie_keys.
func (c *Config) checkStores(p *problems) {
	if c.Postgres != "" {
		if c.Database != "" {
			p.add("database", "set both with postgres: keep one (postgres for several replicas, database for one process)")
		}
		if _, err := postgresConfig(string(c.Postgres)); err != nil {
			p.add("postgres", "%v", err)
		}
	}
	if c.Redis != "" {
		if _, err := redis.ParseURL(string(c.Redis)); err != nil {
			p.add("redis", "not a Redis URL (redis://[user:password@]host:6379/0): %v", err)
		}
	}
	for i, k := range c.CookieKeys {
		if b, err := base64.StdEncoding.DecodeString(string(k)); err != nil || len(b) != sso.SealKeySize {
			p.add(fmt.Sprintf("cookie_keys[%d]", i), "must be %d random bytes in base64, e.g. from: openssl rand -base64 %d", sso.SealKeySize, sso.SealKeySize)
		}
	}
}

// cookieKeyKey is the demo_settings key of the cookie key created at the
// first start when the configuration has none.
const cookieKeyKey = "cookie_key"

// loadCookieKeys returns the configured cookie keys or else the one kept
// in the database, created by the first replica to start (the others read
// it: INSERT ... ON CONFLICT DO NOTHING, then SELECT).
func (a *App) loadCookieKeys(ctx context.Context) ([][]byte, error) {
	var keys [][]byte
	for _, k := range a.cfg.CookieKeys {
		b, _ := base64.StdEncoding.DecodeString(string(k)) // checked
		keys = append(keys, b)
	}
	if len(keys) > 0 {
		return keys, nil
	}
	if _, err := a.store.DB().ExecContext(ctx, `INSERT INTO demo_settings (key, value, updated) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		cookieKeyKey, sso.NewSealKey(), time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return nil, err
	}
	k, err := a.settings.get(ctx, cookieKeyKey)
	if err != nil || len(k) != sso.SealKeySize {
		return nil, fmt.Errorf("reading the cookie key: %v (%d bytes)", err, len(k))
	}
	return [][]byte{k}, nil
}
