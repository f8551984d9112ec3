package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

func writeCA(t *testing.T, pem []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runOIDC(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"oidc", "discover"}, args...), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestOIDCDiscoverAgainstProvider(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{})
	ca := writeCA(t, op.CACertPEM())
	code, out, errs := runOIDC(t, op.Issuer(), "--ca", ca, "--allow-private-network")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	var r oidc.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Usable || !r.CodeFlow || !r.PKCE || !r.EmailScope || !r.Logout || !r.IssParameter || r.Keys != 1 ||
		r.Endpoints["token"] != op.Issuer()+"/token" || len(r.SupportedAuthMethods) != 3 || len(r.Missing) != 0 {
		t.Fatalf("report %+v", r)
	}
	// "--" ends the flags.
	if code, _, _ := runOIDC(t, "--allow-private-network", "--ca", ca, "--", op.Issuer()); code != exitOK {
		t.Fatalf("with --: exit %d", code)
	}
	// Flags may come first too.
	if code, _, _ := runOIDC(t, "--allow-private-network", "--ca", ca, op.Issuer()); code != exitOK {
		t.Fatalf("flags first: exit %d", code)
	}

	// The provider is on loopback: refused without the flag.
	code, out, errs = runOIDC(t, op.Issuer(), "--ca", ca)
	if code != exitFail || !strings.Contains(out, `"reason": "address_not_allowed"`) || !strings.Contains(errs, "--allow-private-network") {
		t.Fatalf("without --allow-private-network: exit %d %s %s", code, out, errs)
	}
	// Its certificate is not trusted without --ca.
	code, out, _ = runOIDC(t, op.Issuer(), "--allow-private-network")
	if code != exitFail || !strings.Contains(out, "metadata_fetch_failed") || !strings.Contains(out, "certificate") {
		t.Fatalf("without --ca: exit %d %s", code, out)
	}
	// Down.
	op.Misbehave(oidctest.Misbehavior{Down: true})
	code, out, _ = runOIDC(t, op.Issuer(), "--ca", ca, "--allow-private-network")
	if code != exitFail || !strings.Contains(out, "503") {
		t.Fatalf("provider down: exit %d %s", code, out)
	}
}

func TestOIDCDiscoverPlainHTTP(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{NoTLS: true, NoEndSession: true})
	code, out, _ := runOIDC(t, op.Issuer(), "--allow-private-network")
	if code != exitFail || !strings.Contains(out, "address_not_allowed") {
		t.Fatalf("http without --allow-http: exit %d %s", code, out)
	}
	code, out, _ = runOIDC(t, op.Issuer(), "--allow-private-network", "--allow-http")
	if code != exitOK || !strings.Contains(out, `"rp_initiated_logout": false`) {
		t.Fatalf("exit %d %s", code, out)
	}
}

func TestOIDCDiscoverProviderDocuments(t *testing.T) {
	tests := []struct {
		file, path string // path: the issuer's path on the server
		want       int
		finding    string
	}{
		{"entra-tenant.json", "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", exitOK, "code_challenge_methods_supported"},
		{"entra-common.json", "/common/v2.0", exitFail, "multi-tenant"},
		{"okta.json", "", exitOK, `"pkce_s256": true`},
		{"google.json", "", exitOK, "no end_session_endpoint"},
		{"google-legacy.json", "", exitFail, `differs from the URL it was fetched for`},
		{"keycloak.json", "/realms/acme", exitOK, `"iss_parameter": true`},
		{"auth0.json", "/", exitOK, `"jwks_signing_keys": 1`},
		{"auth0.json", "", exitFail, "trailing slash"},
	}
	for _, tc := range tests {
		t.Run(tc.file+tc.path, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "oidc", "testdata", "discovery", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d := oidctest.ServeDocument(t, b)
			code, out, errs := runOIDC(t, d.URL()+tc.path, "--ca", writeCA(t, d.CACertPEM()), "--allow-private-network")
			if code != tc.want || !strings.Contains(out, tc.finding) {
				t.Fatalf("exit %d (want %d); want %q in\n%s%s", code, tc.want, tc.finding, out, errs)
			}
		})
	}
}

func TestOIDCDiscoverUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"https://a.example", "https://b.example"},
		{"--nope", "https://a.example"},
		{"https://a.example", "--ca", filepath.Join(t.TempDir(), "missing.pem")},
		{"not a url"},
		{"https://a.example", "--timeout"},
		{"https://a.example", "--ca", writeCA(t, []byte("not a certificate"))},
		{"https://a.example", "--discovery-url", "ftp://a.example/doc"},
	} {
		code, _, errs := runOIDC(t, args...)
		if code != exitUsage || errs == "" {
			t.Errorf("args %q: exit %d, stderr %q; want %d with a message", args, code, errs, exitUsage)
		}
	}
	if code, _, errs := runOIDC(t, "-h"); code != exitOK || !strings.Contains(errs, "usage: ssocheck oidc discover") {
		t.Errorf("-h: exit %d %q", code, errs)
	}
	// The command is listed.
	var out, errb bytes.Buffer
	run([]string{"--help"}, nil, &out, &errb)
	if !strings.Contains(out.String(), "oidc discover") {
		t.Errorf("usage lacks oidc discover:\n%s", out.String())
	}
}
