package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
)

func openSQLite(t *testing.T, now func() time.Time) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "sso.db"), sqlstore.Config{Now: now})
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
	s := openSQLite(t, nil)
	if _, err := sqlstore.New(context.Background(), sqlstore.Config{DB: s.DB(), Dialect: "mysql"}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Errorf("unknown dialect: %v", err)
	}
}
