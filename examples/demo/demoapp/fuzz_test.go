package demoapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseConfig feeds JSON to the configuration parser and its checks
// (parseConfig, Config.check and checkMockRefs, what -config and Check
// run). Properties: no panic; a refusal is a *ConfigError whose problems
// each name a field and a fix; and an accepted configuration, written back
// as JSON, parses and checks again without problems, and its JSON is
// stable from then on.
//
// The seeds are small configurations, one per protocol and feature, and
// only the first kilobyte of an input is read: Go's fuzzer spends time
// quadratic in an input's length minimising each new one, so
// sample-config.json (16 KB) would stall it.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"accounts":[{"id":"a","domains":["a.example"],"policy":{"mode":"sso_required","scope":{"kind":"email_domains","domains":["a.example"]}},` +
			`"connections":[{"id":"a-oidc","protocol":"oidc","stage":"live","oidc":{"issuer":"https://login.example/a","client_id":"c","client_secret":"s",` +
			`"post_logout_redirect_url":"/?out=1"}}]}],"users":[{"email":"x@a.example","password":"p","memberships":[{"account":"a","roles":["Administrator"]}]}]}`,
		`{"base_url":"https://sso.example.com","mock_idps":{},"accounts":[{"id":"b","aliases":["b"],"domains":[{"name":"b.example","shared":true}],` +
			`"connections":[{"id":"b-saml","protocol":"saml","module":"SAML2","saml":{"idp_metadata_url":"{mock_saml}/metadata","allow_idp_initiated":true},` +
			`"provisioning":{"identifier":"attribute","identifier_attribute":"uid","jit":{"default_roles":["User"]},"roles_map":{"g":["R"]}}}]}]}`,
		`{"accounts":[{"id":"c","connections":[{"id":"c-ldap","protocol":"ldap","logout_redirect_url":"https://idp.example/logout",` +
			`"ldap":{"urls":["ldaps://ldap.example"],"templates":{"c.example":"uid={},ou=people,dc=c,dc=example"}}}]}]}`,
		`{"accounts":[{"id":"d","connections":[{"id":"d-ldap","protocol":"ldap","ldap":{"urls":["ldap://x"],"search":{"base_dn":"dc=x","object_class":"person"},"upn":{}}}]}]}`,
		`{"accounts":[{"id":"e","policy":{"mode":"sso_always"}}],"users":[{"email":"not an email"},{"email":"X@E.example"},{"email":"x@e.example"}]}`,
		`{"accounts":[]} {}`,
		`{"accounts":[{"id":1}]}`,
		`{"accounts":[{"id":"f","unknown":true}]}`,
		"{\n\"accounts\": [\n{\"id\": \"g\", \"connections\": [{\"id\": \"g\", \"protocol\": \"oidc\", \"oidc\": {\"issuer\": \"{mock_oidc}\"}}]}\n]\n}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = b[:min(len(b), 1024)]
		cfg, err := parseConfig(b)
		if err != nil {
			wantConfigError(t, err)
			return
		}
		if err := checked(cfg); err != nil {
			wantConfigError(t, err)
			return
		}
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("an accepted configuration does not encode: %v", err)
		}
		again, err := parseConfig(out)
		if err != nil {
			t.Fatalf("an accepted configuration, written back, does not parse: %v\n%s", err, out)
		}
		if err := checked(again); err != nil {
			t.Fatalf("an accepted configuration, written back, has problems: %v\n%s", err, out)
		}
		// Written once, the JSON is stable: an empty list may vanish in
		// the first round (omitempty), nothing may change after it.
		out2, _ := json.Marshal(again)
		third, err := parseConfig(out2)
		if err != nil {
			t.Fatalf("the configuration, written back twice, does not parse: %v\n%s", err, out2)
		}
		if out3, _ := json.Marshal(third); !bytes.Equal(out2, out3) {
			t.Fatalf("the configuration changed in a round trip:\n%s\n%s", out2, out3)
		}
	})
}

// checked runs the checks -config and Check run.
func checked(cfg *Config) error {
	var p problems
	cfg.check(&p)
	checkMockRefs(cfg, &p)
	return p.err()
}

func wantConfigError(t *testing.T, err error) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) == 0 {
		t.Fatalf("error %#v; want a *ConfigError with problems", err)
	}
	for _, p := range ce.Problems {
		if p.Field == "" || p.Fix == "" {
			t.Fatalf("problem %+v without field or fix", p)
		}
	}
}
