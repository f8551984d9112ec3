package sqlstore_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.Stop()
	os.Exit(code)
}

// openPostgres returns a Store on a fresh schema of the test binary's
// PostgreSQL server.
func openPostgres(t *testing.T, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	dsn := servertest.PostgresSchema(t)
	s, err := sqlstore.OpenPostgres(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPostgres runs the conformance suites on PostgreSQL.
func TestPostgres(t *testing.T) { testDialect(t, openPostgres) }

// Several instances starting at once on an empty schema: the advisory lock
// lets one migrate, the others find the work done.
func TestPostgresConcurrentMigrate(t *testing.T) {
	dsn := servertest.PostgresSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Config{})
			errs[i] = err
			if err == nil {
				s.Close()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
}

// A database that goes down is sso.ReasonUnavailable for every operation,
// never a missing state or an unseen replay key, and the Store works again
// when it comes back. A proxy in front of the server stands in for the
// outage.
func TestPostgresUnavailable(t *testing.T) {
	ctx := context.Background()
	dsn, err := url.Parse(servertest.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := servertest.NewProxy(t, dsn.Host)
	dsn.Host = proxy.Addr()
	q := dsn.Query()
	q.Set("connect_timeout", "2")
	dsn.RawQuery = q.Encode()
	s, err := sqlstore.OpenPostgres(ctx, dsn.String(), sqlstore.Config{PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, "before", []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	proxy.Down()
	ops := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"Put", func(ctx context.Context) error { return s.Put(ctx, "k", []byte("v"), time.Now().Add(time.Hour)) }},
		{"Take", func(ctx context.Context) error { _, err := s.Take(ctx, "before"); return err }},
		{"Seen", func(ctx context.Context) error {
			seen, err := s.Seen(ctx, "r", time.Now().Add(time.Hour))
			if seen {
				return errors.New("Seen reported a key as seen")
			}
			return err
		}},
		{"Append", func(ctx context.Context) error { return s.Append(ctx, sso.Event{Type: sso.EventLoginFailed}) }},
		{"Purge", func(ctx context.Context) error { return s.Purge(ctx) }},
		{"Tx", func(ctx context.Context) error {
			return s.Tx(ctx, func(provisioning.Tx) error { return nil })
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			err := op.run(ctx)
			var e *sso.Error
			if !errors.Is(err, sso.ReasonUnavailable) || !errors.As(err, &e) || !strings.Contains(e.Detail, "cannot reach the database") {
				t.Fatalf("%s with the database down: %v; want unavailable", op.name, err)
			}
		})
	}
	if _, err := sqlstore.OpenPostgres(ctx, dsn.String(), sqlstore.Config{}); !errors.Is(err, sso.ReasonUnavailable) {
		t.Fatalf("OpenPostgres with the database down: %v; want unavailable", err)
	}

	proxy.Up(t)
	// The pool may hold connections cut by the outage; the Store works
	// again within a few attempts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Put(ctx, "after", []byte("v"), time.Now().Add(time.Hour))
		if err == nil {
			break
		}
		if !errors.Is(err, sso.ReasonUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Put after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, k := range []string{"before", "after"} {
		if v, err := s.Take(ctx, k); err != nil || string(v) != "v" {
			t.Fatalf("Take(%s) after the outage = %q, %v", k, v, err)
		}
	}
	if seen, err := s.Seen(ctx, "r", time.Now().Add(time.Hour)); err != nil || seen {
		t.Fatalf("Seen after the outage = %v, %v", seen, err)
	}
}
