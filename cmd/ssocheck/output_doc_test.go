package main

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"sort"
	"strings"
	"testing"

	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/saml"
)

// TestOutputDocumented: every key the subcommands print is named in the
// package documentation's Output section, so that scripts can rely on it.
func TestOutputDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	i := strings.Index(doc, "Output")
	if i < 0 {
		t.Fatal("the package documentation has no Output section")
	}
	doc = doc[i:]
	var e errorJSON
	e.Error.Connection, e.Error.Expected, e.Error.Actual = "c", "e", "a"
	outputs := map[string]any{
		"error":            e,
		"saml response":    samlIdentityJSON{Issuer: "i", Warnings: []string{"w"}},
		"saml metadata":    saml.Report{SSO: []saml.Endpoint{{ResponseLocation: "r"}}, Problems: []saml.Problem{{}}, CacheDuration: "PT1H", SigningCertificates: []saml.CertificateInfo{{}}},
		"oidc discover":    oidc.Report{DiscoveryURL: "d"},
		"ldap login":       ldapLoginJSON{Identity: ldapIdentityJSON{GivenName: "g", FamilyName: "f", DisplayName: "d", Warnings: []string{"w"}}},
		"discovery choice": discovery.Choice{AccountName: "n", LogoURL: "l", Module: "m"},
	}
	for name, v := range outputs {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		collectKeys(b, &keys)
		sort.Strings(keys)
		for _, k := range keys {
			if !strings.Contains(doc, `"`+k+`"`) {
				t.Errorf("%s: key %q is not in the Output section of the package documentation", name, k)
			}
		}
	}
}

// collectKeys appends the object keys of the JSON document b, at any depth.
func collectKeys(b []byte, keys *[]string) {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				*keys = append(*keys, k)
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
}
