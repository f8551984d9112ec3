package sqlstore_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso/store/internal/servertest"
	"github.com/ssokit/sso/store/sqlstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.Stop()
	os.Exit(code)
}

// openPostgres returns a Store on a fresh schema of the test binary's
// PostgreSQL server.
func openPostgres(t *testing.T, now func() time.Time) *sqlstore.Store {
	t.Helper()
	dsn := servertest.PostgresSchema(t)
	s, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Config{Now: now})
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
