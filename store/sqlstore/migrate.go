package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

//go:embed migrations
var migrationFS embed.FS

// MigrationsTable is the table that records which migrations were applied.
// It carries the sso_ prefix of all the store's tables, so it does not clash
// with the host's own migration tool.
const MigrationsTable = "sso_schema_migrations"

// pgLockKey is the PostgreSQL advisory lock that serialises concurrent
// migrations of several application instances.
const pgLockKey = 0x550_c0de

// Migration is one embedded schema change.
type Migration struct {
	// Version orders migrations; it is the number the file name starts with.
	Version int
	// Name is the file name.
	Name string
	// SQL is the change.
	SQL string
}

// Migrations returns the embedded migrations for dialect, in order. Some
// also need Go code after their SQL (version 3 recomputes the email and
// organisation-name keys), which only [Store.Migrate] runs: apply them with
// it, not by replaying their SQL in another tool.
func Migrations(dialect Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, &sso.Error{Op: "sqlstore.Migrations", Reason: sso.ReasonInvalidConfig, Detail: fmt.Sprintf("no migrations for dialect %q", dialect), Err: err}
	}
	var out []Migration
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".sql") {
			continue
		}
		num, _, _ := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, &sso.Error{Op: "sqlstore.Migrations", Reason: sso.ReasonInternal, Detail: "migration file " + n + " does not start with a version number"}
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, n))
		if err != nil {
			return nil, &sso.Error{Op: "sqlstore.Migrations", Reason: sso.ReasonInternal, Detail: "cannot read the embedded migration " + n, Err: err}
		}
		out = append(out, Migration{Version: v, Name: n, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies the embedded migrations not yet recorded in
// MigrationsTable, all in one transaction: either every pending migration is
// applied and recorded, or none. It is idempotent, and safe to run from
// several application instances at once (PostgreSQL serialises them with an
// advisory lock, SQLite with its write lock). A migration's Go step runs in
// the same transaction, right after its SQL.
func (s *Store) Migrate(ctx context.Context) error {
	_, err := s.migrate(ctx)
	return err
}

func (s *Store) migrate(ctx context.Context) ([]int, error) {
	const op = "sqlstore.Migrate"
	ms, err := Migrations(s.dialect)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, dbError(op, "begin the migration", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, pgLockKey); err != nil {
			return nil, dbError(op, "take the migration lock", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+MigrationsTable+` (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_us BIGINT NOT NULL
	)`); err != nil {
		return nil, dbError(op, "create "+MigrationsTable, err)
	}
	applied := make(map[int]bool)
	rows, err := tx.QueryContext(ctx, `SELECT version FROM `+MigrationsTable)
	if err != nil {
		return nil, dbError(op, "read "+MigrationsTable, err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, dbError(op, "read "+MigrationsTable, err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbError(op, "read "+MigrationsTable, err)
	}
	var done []int
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return nil, dbError(op, "apply migration "+m.Name, err)
		}
		if step := afterMigration[m.Version]; step != nil {
			if err := step(ctx, tx, s.dialect); err != nil {
				return nil, dbError(op, "complete migration "+m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+MigrationsTable+` (version, name, applied_us) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return nil, dbError(op, "record migration "+m.Name, err)
		}
		done = append(done, m.Version)
	}
	if err := tx.Commit(); err != nil {
		return nil, dbError(op, "commit the migrations", err)
	}
	return done, nil
}
