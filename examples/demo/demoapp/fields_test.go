package demoapp

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// configPaths returns the JSON path of every field of t, e.g.
// "accounts[].connections[].saml.idp_metadata_url".
func configPaths(t reflect.Type, prefix string, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[Config]().PkgPath() {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		*out = append(*out, p)
		configPaths(f.Type, p, out)
	}
}

// TestConfigReferenceComplete keeps CONFIG.md, the reference of the
// -config file, listing every field of Config.
func TestConfigReferenceComplete(t *testing.T) {
	doc, err := os.ReadFile("../CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	configPaths(reflect.TypeFor[Config](), "", &paths)
	if len(paths) < 60 {
		t.Fatalf("found only %d fields: %v", len(paths), paths)
	}
	for _, p := range paths {
		if !strings.Contains(string(doc), "`"+p+"`") {
			t.Errorf("CONFIG.md does not document `%s`", p)
		}
	}
}
