package sso_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestThreatsNameRealTests: every test THREATS.md cites as the proof of a
// defence exists, so that the threat model cannot point at a test that was
// renamed or removed.
func TestThreatsNameRealTests(t *testing.T) {
	doc, err := os.ReadFile("THREATS.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	reFunc := regexp.MustCompile(`(?m)^func (Test\w+|Fuzz\w+)\(`)
	reRun := regexp.MustCompile(`t\.Run\("(\w+)"`)
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") && !strings.HasSuffix(path, "storetest.go") && !strings.HasSuffix(filepath.Dir(path), "ssotest") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range reFunc.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
		for _, m := range reRun.FindAllSubmatch(b, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cited tests: `pkg.TestName`, `TestName`, and subtests in backquotes
	// after a package name (`storetest` `Name`).
	cited := regexp.MustCompile("`(?:[a-z]+\\.)?((?:Test|Fuzz)[A-Z]\\w*)`|`[a-z]+` `([A-Z]\\w*)`").FindAllStringSubmatch(string(doc), -1)
	if len(cited) < 50 {
		t.Fatalf("THREATS.md cites only %d tests", len(cited))
	}
	for _, m := range cited {
		name := m[1] + m[2]
		if !defined[name] {
			t.Errorf("THREATS.md cites %s, which no test defines", name)
		}
	}
}
