package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ssokit/sso/internal/slapdtest"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// ldapFiles writes the CA, the user's password and the service password to
// files and returns their paths.
func ldapFiles(t *testing.T, ca []byte, password, servicePassword string) (caFile, pwFile, svcFile string) {
	t.Helper()
	dir := t.TempDir()
	caFile = filepath.Join(dir, "ca.pem")
	pwFile = filepath.Join(dir, "password")
	svcFile = filepath.Join(dir, "service-password")
	for path, data := range map[string]string{caFile: string(ca), pwFile: password + "\n", svcFile: servicePassword + "\r\n"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, pwFile, svcFile
}

type ldapResult struct {
	code   int
	out    ldapLoginJSON
	errOut errorJSON
	stdout string
	stderr string
}

func runLDAP(t *testing.T, args ...string) ldapResult {
	t.Helper()
	var out, errb bytes.Buffer
	r := ldapResult{code: run(append([]string{"ldap", "login"}, args...), nil, &out, &errb), stdout: out.String(), stderr: errb.String()}
	switch r.code {
	case exitOK:
		if err := json.Unmarshal(out.Bytes(), &r.out); err != nil {
			t.Fatalf("stdout is not the identity JSON: %v\n%s", err, out.String())
		}
	case exitFail:
		if err := json.Unmarshal(out.Bytes(), &r.errOut); err != nil || r.errOut.Error.Reason == "" {
			t.Fatalf("stdout is not the error JSON: %v\n%s", err, out.String())
		}
	}
	return r
}

func TestLDAPLoginWithLdaptest(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	srv := ldaptest.Start(t, cfg)
	ca, pw, svc := ldapFiles(t, srv.CACertPEM(), "alice-password", ldaptest.SampleServicePassword)
	_, wrong, _ := ldapFiles(t, nil, "Wr0ng-Passw0rd-Secret", "")
	search := []string{"--search-base", "dc=example,dc=com", "--object-class", "inetOrgPerson"}
	service := append(append([]string{}, search...), "--bind-dn", ldaptest.SampleServiceDN, "--bind-password-file", svc)

	for _, tc := range []struct {
		name   string
		method []string
		url    string
	}{
		{"search as service account", service, srv.URL()},
		{"anonymous search", search, srv.LDAPSURL()},
		{"template", []string{"--dn-template", "uid={},ou=people,dc=example,dc=com"}, srv.URL()},
		{"upn", []string{"--upn"}, srv.LDAPSURL()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--url", tc.url, "--ca", ca, "--email", "alice@example.com", "--password-file", pw}, tc.method...)
			r := runLDAP(t, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
			}
			id := r.out.Identity
			if r.out.DN != "uid=alice,ou=people,dc=example,dc=com" || id.Subject != r.out.DN || id.Issuer != tc.url ||
				id.Email != "alice@example.com" || id.DisplayName != "Alice Liddell" || !reflect.DeepEqual(id.Groups, []string{"admins", "staff"}) ||
				id.Attributes["mail"][0] != "alice@example.com" {
				t.Fatalf("output = %s", r.stdout)
			}

			args = append([]string{"--url", tc.url, "--ca", ca, "--email", "alice@example.com", "--password-file", wrong}, tc.method...)
			r = runLDAP(t, args...)
			if r.code != exitFail || r.errOut.Error.Reason != "ldap_invalid_credentials" || r.errOut.Error.Connection != "ssocheck" {
				t.Fatalf("wrong password: exit %d: %s %s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, "Wr0ng") {
				t.Fatalf("the password was printed: %s %s", r.stdout, r.stderr)
			}
		})
	}

	t.Run("failover and typed errors", func(t *testing.T) {
		dead := "ldap://127.0.0.1:1"
		r := runLDAP(t, "--url", dead, "--url", srv.URL(), "--ca", ca, "--email", "bob@example.com", "--password-file", pw, "--upn")
		if r.code != exitFail || r.errOut.Error.Reason != "ldap_invalid_credentials" || !strings.Contains(r.errOut.Error.Detail, "data 52e") {
			t.Fatalf("exit %d: %s", r.code, r.stdout)
		}
		r = runLDAP(t, "--url", srv.URL(), "--email", "alice@example.com", "--password-file", pw, "--upn")
		if r.code != exitFail || r.errOut.Error.Reason != "ldap_tls_required" {
			t.Fatalf("without --ca: exit %d: %s", r.code, r.stdout)
		}
		r = runLDAP(t, append([]string{"--url", srv.URL(), "--ca", ca, "--email", "nobody@example.com", "--password-file", pw}, service...)...)
		if r.code != exitFail || r.errOut.Error.Reason != "ldap_user_not_found" {
			t.Fatalf("unknown user: exit %d: %s", r.code, r.stdout)
		}
		_, _, badSvc := ldapFiles(t, nil, "", "Svc-Secret-Wr0ng")
		r = runLDAP(t, "--url", srv.URL(), "--ca", ca, "--email", "alice@example.com", "--password-file", pw,
			"--search-base", "dc=example,dc=com", "--object-class", "inetOrgPerson", "--bind-dn", ldaptest.SampleServiceDN, "--bind-password-file", badSvc)
		if r.code != exitFail || r.errOut.Error.Reason != "invalid_config" || !strings.Contains(r.errOut.Error.Detail, "service account") ||
			strings.Contains(r.stdout+r.stderr, "Svc-Secret") {
			t.Fatalf("wrong service password: exit %d: %s %s", r.code, r.stdout, r.stderr)
		}
		r = runLDAP(t, "--url", srv.URL(), "--ca", ca, "--email", "alice)(uid=*@example.com", "--password-file", pw, "--dn-template", "uid={},dc=example,dc=com")
		if r.code != exitFail || r.errOut.Error.Reason != "invalid_email" {
			t.Fatalf("bad email: exit %d: %s", r.code, r.stdout)
		}
	})
}

func TestLDAPLoginUsage(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--url", "ldaps://ldap.example.com", "--email", "a@example.com", "--password-file", pw}
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no url", []string{"--email", "a@example.com", "--password-file", pw, "--upn"}, "--url is required"},
		{"no method", base, "exactly one of"},
		{"two methods", append(append([]string{}, base...), "--upn", "--dn-template", "uid={},dc=x"), "exactly one of"},
		{"search without class", append(append([]string{}, base...), "--search-base", "dc=x"), "go together"},
		{"bind dn with template", append(append([]string{}, base...), "--dn-template", "uid={},dc=x", "--bind-dn", "cn=s", "--bind-password-file", pw), "apply to --search-base only"},
		{"bind dn without password", append(append([]string{}, base...), "--search-base", "dc=x", "--object-class", "c", "--bind-dn", "cn=s,dc=x"), "go together"},
		{"no email", []string{"--url", "ldaps://h", "--password-file", pw, "--upn"}, "--email is required"},
		{"no password file", []string{"--url", "ldaps://h", "--email", "a@example.com", "--upn"}, "--password-file is required"},
		{"missing password file", []string{"--url", "ldaps://h", "--email", "a@example.com", "--password-file", filepath.Join(dir, "none"), "--upn"}, "--password-file"},
		{"missing ca", append(append([]string{}, base...), "--upn", "--ca", filepath.Join(dir, "none")), "--ca"},
		{"ca without certificate", append(append([]string{}, base...), "--upn", "--ca", pw), "--ca: " + pw + " holds no PEM certificate"},
		{"bad template", append(append([]string{}, base...), "--dn-template", "uid=x,dc=x"), "placeholder {}"},
		{"bad url", []string{"--url", "http://h", "--email", "a@example.com", "--password-file", pw, "--upn"}, "scheme must be ldaps or ldap"},
		{"bad base", append(append([]string{}, base...), "--search-base", "nonsense", "--object-class", "c"), "not a valid DN"},
		{"positional", append(append([]string{}, base...), "--upn", "extra"), "unexpected argument"},
		{"unknown flag", append(append([]string{}, base...), "--nope"), "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"ldap", "login"}, tc.args...), nil, &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), tc.msg) || out.Len() != 0 {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 2 and %q", code, errb.String(), out.String(), tc.msg)
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run([]string{"ldap", "login", "-h"}, nil, &out, &errb); code != exitOK || !strings.Contains(errb.String(), "usage: ssocheck ldap login") {
		t.Fatalf("-h: exit %d, %q", code, errb.String())
	}
}

func TestLDAPLoginWithSlapd(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{})
	ca, pw, svc := ldapFiles(t, srv.CACertPEM, "alice-password", slapdtest.ServicePassword)
	r := runLDAP(t, "--url", "ldap://127.0.0.1:1", "--url", srv.URL, "--ca", ca, "--email", "alice@example.com", "--password-file", pw,
		"--search-base", slapdtest.BaseDN, "--object-class", "inetOrgPerson", "--bind-dn", slapdtest.ServiceDN, "--bind-password-file", svc)
	if r.code != exitOK || r.out.DN != "uid=alice,ou=people,dc=example,dc=com" || r.out.Identity.Issuer != srv.URL ||
		!reflect.DeepEqual(r.out.Identity.Groups, []string{"admins", "staff"}) {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	r = runLDAP(t, "--url", srv.LDAPSURL, "--ca", ca, "--email", "alice@example.com", "--password-file", pw,
		"--dn-template", "uid={},ou=people,dc=example,dc=com")
	if r.code != exitOK || r.out.DN != "uid=alice,ou=people,dc=example,dc=com" {
		t.Fatalf("template: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	_, carol, _ := ldapFiles(t, nil, "carol-password", "")
	r = runLDAP(t, "--url", srv.URL, "--ca", ca, "--email", "carol@example.com", "--password-file", carol,
		"--search-base", slapdtest.BaseDN, "--object-class", "inetOrgPerson")
	if r.code != exitFail || r.errOut.Error.Reason != "ldap_password_must_change" {
		t.Fatalf("carol: exit %d: %s", r.code, r.stdout)
	}
	r = runLDAP(t, "--url", srv.URL, "--ca", ca, "--email", "alice@example.com", "--password-file", pw, "--upn")
	if r.code != exitFail || r.errOut.Error.Reason != "invalid_config" {
		t.Fatalf("upn on slapd: exit %d: %s", r.code, r.stdout)
	}
}
