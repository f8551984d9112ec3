// Package sqlstore keeps ssokit's durable data in an SQL database through
// database/sql: SQLite (modernc.org/sqlite, pure Go, the embedded default)
// or PostgreSQL (jackc/pgx).
//
// One [Store] implements:
//
//   - provisioning.Store: users, memberships with role grants, organisations,
//     IdP links, one database transaction per login;
//   - sso.StateStore: pending logins kept server-side (sso.StoreFlows) and
//     the login handler's waiting identities, taken once;
//   - sso.ReplayCache: one-time values (assertion IDs, codes) until expiry;
//   - an audit event log: [Store.Append], [Store.Recent], and
//     [Store.EventFunc] to plug into the other packages' Config.Events.
//
// The schema comes with the package as embedded, versioned migrations,
// applied by [New] (or [Store.Migrate]) in one transaction and recorded in
// the sso_schema_migrations table. All tables carry the sso_ prefix, so the
// store can share the application's database. Times are stored as
// microseconds since the Unix epoch.
//
//	store, err := sqlstore.OpenSQLite(ctx, "app.db", sqlstore.Config{})
//	store, err := sqlstore.OpenPostgres(ctx, "postgres://app@db/app", sqlstore.Config{})
//
// Or over a *sql.DB the application opened:
//
//	store, err := sqlstore.New(ctx, sqlstore.Config{DB: db, Dialect: sqlstore.Postgres})
//
// # Bounds and outages
//
// Nothing an anonymous client sends makes the database grow without limit.
// Pending logins and replay records are bounded by Config.MaxStateRecords
// and Config.MaxReplayRecords: beyond them a new record is refused with
// sso.ReasonStoreFull, and no unexpired record is ever deleted to make room
// (that would drop a legitimate pending login, or let a captured assertion
// be replayed). The event log is bounded by Config.MaxEvents and
// Config.EventRetention, by deleting its oldest events, so logging never
// blocks a login. Expired records are deleted every Config.PurgeEvery
// writes and, by a background goroutine that [Store.Close] stops, every
// Config.PurgeInterval; a full store recovers by itself as records expire.
//
// A database that cannot be reached is reported as sso.ReasonUnavailable
// (show "try again later", alert on it), a database out of disk space as
// sso.ReasonStoreFull; the Store needs no restart when the database is back.
//
// A Store is safe for concurrent use.
package sqlstore
