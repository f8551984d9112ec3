package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/provisioning/storetest"
	"github.com/ssokit/sso/ssotest"
	"github.com/ssokit/sso/store/sqlstore"
)

// opener returns a Store on a fresh, empty database of one dialect, with
// the given clock (time.Now when nil).
type opener func(t *testing.T, now func() time.Time) *sqlstore.Store

// testDialect runs every conformance suite and store test against the
// stores open makes.
func testDialect(t *testing.T, open opener) {
	t.Run("ProvisioningStore", func(t *testing.T) {
		storetest.TestStore(t, func(t *testing.T) provisioning.Store { return open(t, nil) })
	})
	t.Run("StateStore", func(t *testing.T) {
		ssotest.TestStateStore(t, func(t *testing.T, now func() time.Time) (sso.StateStore, bool) { return open(t, now), true })
	})
	t.Run("ReplayCache", func(t *testing.T) {
		ssotest.TestReplayCache(t, func(t *testing.T, now func() time.Time) (sso.ReplayCache, bool) { return open(t, now), true })
	})
	t.Run("Events", func(t *testing.T) { testEvents(t, open(t, nil)) })
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, open(t, nil)) })
	t.Run("Rekey", func(t *testing.T) { testRekey(t, open(t, nil)) })
	t.Run("Purge", func(t *testing.T) {
		clock := ssotest.NewClock(time.Now())
		testPurge(t, open(t, clock.Now), clock)
	})
}

func testEvents(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		acct := "acme"
		if i%2 == 1 {
			acct = "other"
		}
		e := sso.Event{Type: sso.EventLoginFailed, Time: t0.Add(time.Duration(i) * time.Minute), Account: acct, Connection: "c", User: fmt.Sprint("u", i),
			Subject: "s", Reason: sso.ReasonUserNotProvisioned, Detail: "d", Attrs: map[string]string{"i": fmt.Sprint(i)}}
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Recent(ctx, "acme", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].User != "u4" || got[1].User != "u2" {
		t.Fatalf("Recent(acme, 2) = %+v; want u4, u2 (newest first, this account only)", got)
	}
	e := got[0]
	if e.Type != sso.EventLoginFailed || e.Reason != sso.ReasonUserNotProvisioned || e.Connection != "c" || e.Subject != "s" || e.Detail != "d" ||
		e.Attrs["i"] != "4" || !e.Time.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("event = %+v", e)
	}
	all, _ := s.Recent(ctx, "", 100)
	if len(all) != 5 {
		t.Fatalf("Recent(all) = %d events; want 5", len(all))
	}
	// The EventFunc adapter appends.
	s.EventFunc(func(err error) { t.Error(err) })(ctx, sso.Event{Type: sso.EventUserCreated, Account: "acme", User: "new"})
	got, _ = s.Recent(ctx, "acme", 1)
	if len(got) != 1 || got[0].Type != sso.EventUserCreated || got[0].Time.IsZero() || got[0].Attrs != nil {
		t.Fatalf("after EventFunc: %+v", got)
	}
}

func testMigrate(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	ms, err := sqlstore.Migrations(s.Dialect())
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations = %v, %v", ms, err)
	}
	// Idempotent: running again applies nothing and keeps the data.
	if err := s.Put(ctx, "keep", []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	var n int
	if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+sqlstore.MigrationsTable).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("%s has %d rows (%v); want %d", sqlstore.MigrationsTable, n, err, len(ms))
	}
	if v, err := s.Take(ctx, "keep"); err != nil || string(v) != "v" {
		t.Fatalf("data lost by Migrate: %q, %v", v, err)
	}
	// Concurrent migrations of a fresh schema by several instances.
	// (Covered for PostgreSQL by the advisory lock; here a second New over
	// the same database must be a no-op.)
	if _, err := sqlstore.New(ctx, sqlstore.Config{DB: s.DB(), Dialect: s.Dialect()}); err != nil {
		t.Fatalf("second New: %v", err)
	}
}

func testPurge(t *testing.T, s *sqlstore.Store, clock *ssotest.Clock) {
	ctx := context.Background()
	_ = s.Put(ctx, "old", []byte("v"), clock.Now().Add(time.Second))
	_, _ = s.Seen(ctx, "old", clock.Now().Add(time.Second))
	_ = s.Put(ctx, "new", []byte("v"), clock.Now().Add(time.Hour))
	clock.Advance(time.Minute)
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = s.DB().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sso_state) + (SELECT COUNT(*) FROM sso_replay)`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d records after Purge; want 1 (the live one)", n)
	}
}
