package sso_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ssokit/sso/internal/testenv"
)

// recorder stands in for a test so that testenv's skip and failure can be
// observed without ending the real test. Like the real ones, Skip and
// Fatalf end the goroutine that calls them.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skip(args ...any)          { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...); runtime.Goexit() }

// lookPath runs testenv.LookPath with a recorder in its own goroutine.
func lookPath(t *testing.T, names ...string) (path string, r *recorder) {
	r = &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path = testenv.LookPath(r, names...)
	}()
	<-done
	return path, r
}

// TestIntegrationServerMissing: a test whose server is missing skips with a
// message locally and fails under CI=true, where everything is installed.
func TestIntegrationServerMissing(t *testing.T) {
	t.Setenv("CI", "")
	_, r := lookPath(t, "ssokit-no-such-server", "/nonexistent/ssokit-no-such-server")
	if r.skipped == "" || r.failed != "" {
		t.Fatalf("locally: skipped %q, failed %q; want a skip", r.skipped, r.failed)
	}

	t.Setenv("CI", "true")
	_, r = lookPath(t, "ssokit-no-such-server")
	if r.failed == "" || r.skipped != "" {
		t.Fatalf("under CI=true: skipped %q, failed %q; want a failure", r.skipped, r.failed)
	}

	// A program that exists is found, under CI or not.
	if p, r := lookPath(t, "ssokit-no-such-server", "go"); p == "" || r.failed != "" || r.skipped != "" {
		t.Fatalf("LookPath(go) = %q (skipped %q, failed %q)", p, r.skipped, r.failed)
	}
	if p := testenv.FreePort(t); p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
}
