package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const discoveryConfig = `{
  "accounts": [
    {"id": "acme", "name": "Acme", "aliases": ["acme"],
     "domains": ["acme.example", {"name": "proof.example", "proof_token": "0123456789abcdefghij"}],
     "connections": [
       {"id": "acme-entra", "protocol": "saml", "display_name": "Acme staff", "issuers": ["https://sts.windows.net/acme/"], "module": "SAML2"},
       {"id": "acme-partners", "protocol": "saml", "issuers": ["https://sts.windows.net/acme/"], "module": "Partners"}
     ]},
    {"id": "lab", "name": "Lab", "connections": [{"id": "lab-ldap", "protocol": "ldap"}]}
  ]
}`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "discovery.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiscoveryLookup(t *testing.T) {
	cfg := writeConfig(t, discoveryConfig)
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout
	}{
		{"email", []string{"--config", cfg, "Olly@ACME.example"}, exitOK, []string{`"key": "acme.example"`, `"connection": "acme-entra"`, `"display_name": "Acme staff"`}},
		{"flags after the query", []string{"olly@acme.example", "--config", cfg}, exitOK, []string{`"connection": "acme-partners"`}},
		{"unclaimed", []string{"--config", cfg, "olly@gmail.com"}, exitFail, []string{`"reason": "no_sso"`}},
		{"malformed", []string{"--config", cfg, "olly"}, exitFail, []string{`"reason": "invalid_email"`}},
		{"unproven domain", []string{"--config", cfg, "x@proof.example"}, exitFail, []string{`"reason": "no_sso"`}},
		{"alias", []string{"--config", cfg, "--alias", "ACME"}, exitOK, []string{`"key": "acme"`}},
		{"unknown alias", []string{"--config", cfg, "--alias", "nope"}, exitFail, []string{`"reason": "account_not_found"`}},
		{"issuer", []string{"--config", cfg, "--issuer", "https://sts.windows.net/acme/"}, exitOK, []string{`"issuer": "https://sts.windows.net/acme/"`, "acme-partners"}},
		{"unknown issuer", []string{"--config", cfg, "--issuer", "https://evil.example"}, exitFail, []string{`"reason": "unknown_issuer"`}},
		{"module", []string{"--config", cfg, "--module", "acme", "partners"}, exitOK, []string{`"connection": "acme-partners"`}},
		{"accounts", []string{"--config", cfg, "--accounts", "lab,acme"}, exitOK, []string{"lab-ldap", "acme-entra"}},
		{"connection", []string{"--config", cfg, "--connection", "lab-ldap"}, exitOK, []string{`"protocol": "ldap"`}},
		{"no config", []string{"olly@acme.example"}, exitUsage, nil},
		{"no query", []string{"--config", cfg}, exitUsage, nil},
		{"two kinds", []string{"--config", cfg, "--alias", "--issuer", "x"}, exitUsage, nil},
		{"bad flag", []string{"--nope"}, exitUsage, nil},
		{"missing file", []string{"--config", cfg + ".missing", "a@b.example"}, exitFail, []string{`"reason": "invalid_config"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"discovery", "lookup"}, tc.args...), nil, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d; want %d\nstdout %s\nstderr %s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if tc.code != exitUsage && !json.Valid(out.Bytes()) {
				t.Errorf("stdout is not one JSON document:\n%s", out.String())
			}
		})
	}
}

func TestDiscoveryLookupStdin(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"discovery", "lookup", "--config", "-", "kim@acme.example"}, strings.NewReader(discoveryConfig), &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), "acme-entra") {
		t.Fatalf("exit %d, %s %s", code, out.String(), errb.String())
	}
}

func TestDiscoveryValidate(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"discovery", "validate", "--config", writeConfig(t, discoveryConfig)}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), `"valid": true`) || !strings.Contains(out.String(), `"domains": 1`) || !strings.Contains(out.String(), `"unproven_domains": 1`) {
		t.Fatalf("stdout %s", out.String())
	}
	bad := `{"accounts": [{"id": "a", "domains": ["x.example"]}, {"id": "b", "domains": ["x.example"], "aliases": ["bad alias"]}]}`
	out.Reset()
	if code := run([]string{"discovery", "validate", "--config", writeConfig(t, bad)}, nil, &out, &errb); code != exitFail {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	for _, w := range []string{`"valid": false`, `alias \"bad alias\"`, `domain \"x.example\" is claimed by accounts`, `"reason": "invalid_config"`} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("stdout lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"discovery", "validate", "--config", writeConfig(t, "{not json")}, nil, &out, &errb); code != exitFail ||
		!strings.Contains(out.String(), "invalid_config") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if code := run([]string{"discovery", "validate"}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("no config: exit %d", code)
	}
}

type mapResolver map[string][]string

func (m mapResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func TestDiscoveryProve(t *testing.T) {
	cfg := writeConfig(t, discoveryConfig)
	old := proofResolver
	t.Cleanup(func() { proofResolver = old })
	proofResolver = mapResolver{}

	var out, errb bytes.Buffer
	code := run([]string{"discovery", "prove", "--config", cfg, "proof.example"}, nil, &out, &errb)
	if code != exitFail || !strings.Contains(out.String(), `"reason": "domain_not_proven"`) ||
		!strings.Contains(out.String(), "_ssokit.proof.example") || !strings.Contains(out.String(), "ssokit-verification=0123456789abcdefghij") {
		t.Fatalf("exit %d: %s", code, out.String())
	}

	proofResolver = mapResolver{"_ssokit.proof.example": {"ssokit-verification=0123456789abcdefghij"}}
	out.Reset()
	code = run([]string{"discovery", "prove", "--config", cfg, "PROOF.example"}, nil, &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), `"proven": true`) || !strings.Contains(out.String(), `"account": "acme"`) {
		t.Fatalf("exit %d: %s", code, out.String())
	}

	out.Reset()
	if code := run([]string{"discovery", "prove", "--config", cfg, "acme.example"}, nil, &out, &errb); code != exitFail ||
		!strings.Contains(out.String(), "with a proof_token") {
		t.Fatalf("domain without token: exit %d: %s", code, out.String())
	}
	if code := run([]string{"discovery", "prove", "--config", cfg}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("no domain: exit %d", code)
	}
}
