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
