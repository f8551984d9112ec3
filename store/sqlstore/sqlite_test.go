package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
)

func openSQLite(t *testing.T, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sso.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSQLite runs the conformance suites on SQLite.
func TestSQLite(t *testing.T) { testDialect(t, openSQLite) }

func TestSQLiteMemory(t *testing.T) {
	s, err := sqlstore.OpenSQLite(context.Background(), ":memory:", sqlstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(context.Background(), "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Take(context.Background(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("Take = %q, %v", v, err)
	}
}

func TestSQLiteReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sso.db")
	s, err := sqlstore.OpenSQLite(ctx, path, sqlstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.CreateUser(ctx, &provisioning.User{ID: "u1", Email: "a@example.com"})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.OpenSQLite(ctx, path, sqlstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Tx(ctx, func(tx provisioning.Tx) error {
		_, err := tx.FindUserByEmail(ctx, "A@example.com")
		return err
	}); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []sqlstore.Config{{}, {DB: nil, Dialect: sqlstore.SQLite}} {
		if _, err := sqlstore.New(context.Background(), c); !errors.Is(err, sso.ReasonInvalidConfig) {
			t.Errorf("New(%+v) err = %v; want invalid_config", c, err)
		}
	}
	s := openSQLite(t, sqlstore.Config{})
	tests := []struct {
		name  string
		cfg   sqlstore.Config
		field string // named in the Detail; "" when valid
	}{
		{"defaults", sqlstore.Config{}, ""},
		{"unknown dialect", sqlstore.Config{Dialect: "mysql"}, "Dialect"},
		{"negative MaxStateRecords", sqlstore.Config{MaxStateRecords: -1}, "MaxStateRecords"},
		{"negative MaxReplayRecords", sqlstore.Config{MaxReplayRecords: -1}, "MaxReplayRecords"},
		{"negative MaxEvents", sqlstore.Config{MaxEvents: -1}, "MaxEvents"},
		{"no age limit", sqlstore.Config{EventRetention: -1, PurgeInterval: -1, PurgeEvery: -1}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DB = s.DB()
			if tc.cfg.Dialect == "" {
				tc.cfg.Dialect = sqlstore.SQLite
			}
			st, err := sqlstore.New(context.Background(), tc.cfg)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				return
			}
			var e *sso.Error
			if !errors.Is(err, sso.ReasonInvalidConfig) || !errors.As(err, &e) || !strings.Contains(e.Detail, tc.field) {
				t.Fatalf("err = %v; want invalid_config naming %s", err, tc.field)
			}
		})
	}
}

// A database out of space refuses writes with store_full, and takes them
// again once there is room. SQLite's max_page_count stands in for a full
// disk; ":memory:" has one connection, so the pragma covers every statement.
func TestSQLiteDiskFull(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, ":memory:", sqlstore.Config{PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages int
	if err := s.DB().QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+8)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	var full error
	for i := 0; i < 10 && full == nil; i++ {
		full = s.Put(ctx, fmt.Sprint("k", i), big, time.Now().Add(time.Hour))
	}
	var e *sso.Error
	if !errors.Is(full, sso.ReasonStoreFull) || !errors.As(full, &e) || !strings.Contains(e.Detail, "out of space") {
		t.Fatalf("Put into a full database: %v; want store_full saying it is out of space", full)
	}
	if _, err := s.DB().ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "after", big, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Put once there is room again: %v", err)
	}
}
