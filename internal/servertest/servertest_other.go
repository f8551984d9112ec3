//go:build !unix

package servertest

import (
	"testing"

	"github.com/ssokit/sso/internal/testenv"
)

// Stop does nothing on this platform.
func Stop() {}

// Postgres skips the test (fails under CI): the servers are started only on
// Unix systems.
func Postgres(t testing.TB) string {
	testenv.Missing(t, "the PostgreSQL test server runs only on Unix")
	return ""
}

// PostgresSchema skips the test, as Postgres does.
func PostgresSchema(t testing.TB) string { return Postgres(t) }

// Redis skips the test (fails under CI): the servers are started only on
// Unix systems.
func Redis(t testing.TB) string {
	testenv.Missing(t, "the Redis test server runs only on Unix")
	return ""
}

// StartRedis skips the test (fails under CI), as Redis does.
func StartRedis(t testing.TB, args ...string) string { return Redis(t) }
