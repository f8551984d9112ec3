package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/provisioning/storetest"
	"github.com/ssokit/sso/ssotest"
	"github.com/ssokit/sso/store/sqlstore"
)

// opener returns a Store with cfg (DB and Dialect set by the opener) on a
// fresh, empty database of one dialect, closed when the test ends.
type opener func(t *testing.T, cfg sqlstore.Config) *sqlstore.Store

// testDialect runs every conformance suite and store test against the
// stores open makes.
func testDialect(t *testing.T, open opener) {
	withClock := func(now func() time.Time) sqlstore.Config { return sqlstore.Config{Now: now} }
	bounded := func(now func() time.Time, n int) sqlstore.Config {
		return sqlstore.Config{Now: now, MaxStateRecords: n, MaxReplayRecords: n}
	}
	t.Run("ProvisioningStore", func(t *testing.T) {
		storetest.TestStore(t, func(t *testing.T) provisioning.Store { return open(t, sqlstore.Config{}) })
	})
	t.Run("StateStore", func(t *testing.T) {
		ssotest.TestStateStore(t, func(t *testing.T, now func() time.Time) (sso.StateStore, bool) {
			return open(t, withClock(now)), true
		}, ssotest.WithCapacity(func(t *testing.T, now func() time.Time, n int) (sso.StateStore, bool) {
			return open(t, bounded(now, n)), true
		}))
	})
	t.Run("ReplayCache", func(t *testing.T) {
		ssotest.TestReplayCache(t, func(t *testing.T, now func() time.Time) (sso.ReplayCache, bool) {
			return open(t, withClock(now)), true
		}, ssotest.WithCapacity(func(t *testing.T, now func() time.Time, n int) (sso.ReplayCache, bool) {
			return open(t, bounded(now, n)), true
		}))
	})
	t.Run("Events", func(t *testing.T) { testEvents(t, open(t, sqlstore.Config{})) })
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, open(t, sqlstore.Config{})) })
	t.Run("Rekey", func(t *testing.T) { testRekey(t, open(t, sqlstore.Config{})) })
	t.Run("Purge", func(t *testing.T) {
		clock := ssotest.NewClock(time.Now())
		testPurge(t, open(t, withClock(clock.Now)), clock)
	})
	t.Run("BoundCountsExistingRows", func(t *testing.T) { testBoundCountsExisting(t, open) })
	t.Run("BoundAcrossStores", func(t *testing.T) { testBoundAcrossStores(t, open) })
	t.Run("EventBounds", func(t *testing.T) { testEventBounds(t, open) })
	t.Run("LoginCounts", func(t *testing.T) { testLoginCounts(t, open(t, sqlstore.Config{})) })
	t.Run("BackgroundPurge", func(t *testing.T) { testBackgroundPurge(t, open) })
}

// second returns another Store over s's database, as a second application
// instance would have, closed when the test ends.
func second(t *testing.T, s *sqlstore.Store, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	cfg.DB, cfg.Dialect = s.DB(), s.Dialect()
	s2, err := sqlstore.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// count returns the number of rows of table.
func count(t *testing.T, s *sqlstore.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A Store that starts on a full table (an application restarted during a
// flood) counts the table before its first insert, rather than assuming it
// empty.
func testBoundCountsExisting(t *testing.T, open opener) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Now())
	cfg := sqlstore.Config{Now: clock.Now, MaxStateRecords: 3, MaxReplayRecords: 3}
	s := open(t, cfg)
	for i := 0; i < 3; i++ {
		if err := s.Put(ctx, fmt.Sprint("k", i), []byte("v"), clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Seen(ctx, fmt.Sprint("r", i), clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	restarted := second(t, s, cfg)
	if err := restarted.Put(ctx, "new", []byte("v"), clock.Now().Add(time.Hour)); !errors.Is(err, sso.ReasonStoreFull) {
		t.Fatalf("Put by a new Store on a full sso_state: %v; want store_full", err)
	}
	if _, err := restarted.Seen(ctx, "new", clock.Now().Add(time.Hour)); !errors.Is(err, sso.ReasonStoreFull) {
		t.Fatalf("Seen by a new Store on a full sso_replay: %v; want store_full", err)
	}
	if n := count(t, s, "sso_state"); n != 3 {
		t.Fatalf("sso_state has %d rows; want 3", n)
	}
}

// Two Stores on one database each count their own inserts between purges,
// so together they may exceed the bound by what one inserted since the
// other counted, and no more once a purge has counted again.
func testBoundAcrossStores(t *testing.T, open opener) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Now())
	cfg := sqlstore.Config{Now: clock.Now, MaxStateRecords: 4, PurgeEvery: -1, PurgeInterval: -1}
	a := open(t, cfg)
	b := second(t, a, cfg)
	put := func(s *sqlstore.Store, key string) error {
		return s.Put(ctx, key, []byte("v"), clock.Now().Add(time.Hour))
	}
	// a counts the empty table at its first insert, b counts a's row at
	// its own; then each inserts up to the bound by its own count.
	for _, k := range []string{"a0", "b0", "a1", "a2", "a3", "b1", "b2"} {
		s := a
		if k[0] == 'b' {
			s = b
		}
		if err := put(s, k); err != nil {
			t.Fatalf("Put(%s): %v", k, err)
		}
	}
	if err := put(a, "a4"); !errors.Is(err, sso.ReasonStoreFull) {
		t.Fatalf("a past the bound by its own count: %v; want store_full", err)
	}
	// 7 rows for a bound of 4: the overshoot is b's 3 inserts since its
	// count, as the Config documents.
	if n := count(t, a, "sso_state"); n != 7 {
		t.Fatalf("%d rows; want 7", n)
	}
	// A purge counts again: both see the table full.
	if err := b.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*sqlstore.Store{a, b} {
		if err := put(s, "late"); !errors.Is(err, sso.ReasonStoreFull) {
			t.Fatalf("Put after the purges counted 7 of 4: %v; want store_full", err)
		}
	}
}

// LoginCounts counts an account's logins per connection, hour and
// outcome, failures per Reason, from the given time on.
func testLoginCounts(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return since.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	for _, e := range []sso.Event{
		{Type: sso.EventLoginSucceeded, Account: "acme", Connection: "saml", Time: at(0, 5)},
		{Type: sso.EventLoginSucceeded, Account: "acme", Connection: "saml", Time: at(0, 55)},
		{Type: sso.EventLoginFailed, Account: "acme", Connection: "saml", Reason: sso.ReasonExpired, Time: at(0, 30)},
		{Type: sso.EventLoginFailed, Account: "acme", Connection: "saml", Reason: sso.ReasonUntrustedKey, Time: at(2, 0)},
		{Type: sso.EventLoginFailed, Account: "acme", Connection: "saml", Reason: sso.ReasonUntrustedKey, Time: at(2, 59)},
		{Type: sso.EventLoginSucceeded, Account: "acme", Connection: "oidc", Time: at(1, 0)},
		{Type: sso.EventLoginSucceeded, Account: "acme", Connection: "saml", Time: since.Add(-time.Minute)},             // before
		{Type: sso.EventLoginSucceeded, Account: "globex", Connection: "other", Time: at(0, 10)},                        // another account
		{Type: sso.EventWarning, Account: "acme", Connection: "saml", Reason: sso.ReasonEmailMismatch, Time: at(0, 10)}, // not a login
	} {
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LoginCounts(ctx, "acme", since, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		conn   string
		hour   int
		ok     bool
		reason sso.Reason
	}
	have := map[key]int{}
	for _, c := range got {
		have[key{c.Connection, int(c.Start.Sub(since) / time.Hour), c.Succeeded, c.Reason}] += c.Count
	}
	want := map[key]int{
		{"saml", 0, true, ""}: 2, {"saml", 0, false, sso.ReasonExpired}: 1, {"saml", 2, false, sso.ReasonUntrustedKey}: 2, {"oidc", 1, true, ""}: 1,
	}
	if len(have) != len(want) {
		t.Fatalf("LoginCounts = %+v", got)
	}
	for k, n := range want {
		if have[k] != n {
			t.Errorf("%+v: %d; want %d (all: %+v)", k, have[k], n, got)
		}
	}
}

// The event log keeps the newest MaxEvents events and none older than
// EventRetention, and appending never fails because it is full.
func testEventBounds(t *testing.T, open opener) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	s := open(t, sqlstore.Config{Now: clock.Now, MaxEvents: 5, EventRetention: time.Hour, PurgeEvery: 1, PurgeInterval: -1})
	for i := 0; i < 20; i++ {
		if err := s.Append(ctx, sso.Event{Type: sso.EventLoginFailed, User: fmt.Sprint("u", i), Reason: sso.ReasonSignatureInvalid}); err != nil {
			t.Fatalf("Append %d to a full log: %v", i, err)
		}
	}
	if n := count(t, s, "sso_events"); n > 5 {
		t.Fatalf("sso_events has %d rows; want at most MaxEvents = 5", n)
	}
	got, err := s.Recent(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].User != "u19" || got[4].User != "u15" {
		t.Fatalf("Recent = %+v; want the newest five, u19 to u15", got)
	}
	// Retention: an event older than an hour goes at the next purge.
	clock.Advance(2 * time.Hour)
	if err := s.Append(ctx, sso.Event{Type: sso.EventLoginSucceeded, User: "fresh"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Recent(ctx, "", 100)
	if len(got) != 1 || got[0].User != "fresh" {
		t.Fatalf("after EventRetention passed: %+v; want only the fresh event", got)
	}
}

// Expired records go, and a full table empties, without any write: the
// background purge runs every PurgeInterval until Close.
func testBackgroundPurge(t *testing.T, open opener) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Now())
	s := open(t, sqlstore.Config{Now: clock.Now, PurgeEvery: -1, PurgeInterval: 10 * time.Millisecond})
	_ = s.Put(ctx, "k", []byte("v"), clock.Now().Add(time.Second))
	_, _ = s.Seen(ctx, "r", clock.Now().Add(time.Second))
	_ = s.Append(ctx, sso.Event{Type: sso.EventLoginFailed, Time: clock.Now().Add(-sqlstore.DefaultEventRetention - time.Hour)})
	clock.Advance(time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s, "sso_state")+count(t, s, "sso_replay")+count(t, s, "sso_events") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("expired records still there: the background purge did not run")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Close stops it: a record expired after Close stays.
	base := open(t, sqlstore.Config{PurgeEvery: -1, PurgeInterval: -1})
	s2 := second(t, base, sqlstore.Config{Now: clock.Now, PurgeEvery: -1, PurgeInterval: 10 * time.Millisecond})
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := base.DB().ExecContext(ctx, `INSERT INTO sso_replay (key, expires_us) VALUES ('old', 1)`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := count(t, base, "sso_replay"); n != 1 {
		t.Fatalf("after Close: %d replay rows; want 1 (the background purge kept running)", n)
	}
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
	s2, err := sqlstore.New(ctx, sqlstore.Config{DB: s.DB(), Dialect: s.Dialect()})
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	s2.Close()
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
