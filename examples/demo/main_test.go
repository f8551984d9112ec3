package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleFile = "sample-config.json"

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"-check", "-config", sampleFile}, &out, &errb); code != 0 || !strings.Contains(out.String(), "configuration OK") {
		t.Fatalf("-check sample: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	bad := writeConfig(t, `{"accounts": [{"id": "a", "policy": {"mode": "sometimes"}}]}`)
	if code := realMain([]string{"-check", "-config", bad}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "accounts[0].policy.mode") {
		t.Fatalf("-check bad: %d %q", code, errb.String())
	}
	if code := realMain([]string{"-nosuchflag"}, &out, &errb); code != 2 {
		t.Fatalf("bad flag: %d", code)
	}
	// A bad file refuses to start, saying nothing was started.
	errb.Reset()
	if code := realMain([]string{"-config", bad, "-addr", "localhost:0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nothing was started") {
		t.Fatalf("start bad: %d %q", code, errb.String())
	}
}

// TestStoreFlags: -postgres and -redis are used, and a database that
// cannot be reached, or a bad URL, starts nothing.
func TestStoreFlags(t *testing.T) {
	free := []string{"-addr", "localhost:0", "-saml-addr", "127.0.0.1:0", "-oidc-addr", "127.0.0.1:0", "-ldap-addr", "127.0.0.1:0"}
	var out, errb bytes.Buffer
	args := append([]string{"-postgres", "postgres://demo:pw@127.0.0.1:1/demo?connect_timeout=1"}, free...)
	if code := realMain(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "PostgreSQL at postgres://demo:[redacted]@127.0.0.1:1/demo") ||
		strings.Contains(errb.String(), ":pw@") {
		t.Fatalf("-postgres unreachable: %d %q", code, errb.String())
	}
	errb.Reset()
	args = append([]string{"-redis", "http://not-redis"}, free...)
	if code := realMain(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), "redis: not a Redis URL") || !strings.Contains(errb.String(), "nothing was started") {
		t.Fatalf("-redis bad: %d %q", code, errb.String())
	}
}
