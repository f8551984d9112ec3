// Package testenv helps integration tests find the servers they need. A test
// that needs a missing program skips with a message, except when the
// environment variable CI is "true", where it fails: CI installs everything.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Eventually polls cond every 10 ms until it holds, and fails the test
// naming what did not happen when within passes first. It returns how
// long cond took to hold.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// CI reports whether the tests run under CI (CI=true).
func CI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Missing skips the test with msg, or fails it under CI.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if CI() {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg + " (install it, or run ./scripts/test.sh, which installs it)")
}

// LookPath returns the path of the first program found among names, looking
// in PATH and then in each absolute name given. It calls Missing when none
// exists.
func LookPath(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		if st, err := os.Stat(n); err == nil && !st.IsDir() {
			return n
		}
	}
	Missing(t, "none of "+strconv.Quote(names[0])+"... is installed")
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
