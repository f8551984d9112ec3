package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"nope", "verb"}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("unknown command exit = %d; want %d", code, exitUsage)
	}
	if !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("stderr = %q", errb.String())
	}
	if code := run(nil, nil, &out, &errb); code != exitUsage {
		t.Fatalf("no args exit = %d", code)
	}
	out.Reset()
	if code := run([]string{"--help"}, nil, &out, &errb); code != exitOK || !strings.Contains(out.String(), "usage: ssocheck") {
		t.Fatalf("--help exit = %d, out %q", code, out.String())
	}
}
