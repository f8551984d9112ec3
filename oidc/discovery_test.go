package oidc_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

// providerDocs are discovery documents shaped like those of real
// providers, with the issuer each is fetched for.
var providerDocs = []struct {
	file, issuer string
	usable       bool
	pkce, logout bool
	methods      []string
	finding      string // a substring of Missing (unusable) or Warnings (usable)
}{
	{"entra-tenant.json", "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", true, false, true,
		[]string{"client_secret_post", "private_key_jwt", "client_secret_basic"}, "code_challenge_methods_supported is not advertised"},
	{"entra-common.json", "https://login.microsoftonline.com/common/v2.0", false, false, true,
		[]string{"client_secret_post", "private_key_jwt", "client_secret_basic"}, "multi-tenant"},
	{"okta.json", "https://dev-48213377.okta.com", true, true, true,
		[]string{"client_secret_basic", "client_secret_post", "private_key_jwt"}, ""},
	{"google.json", "https://accounts.google.com", true, true, false,
		[]string{"client_secret_post", "client_secret_basic"}, "no end_session_endpoint"},
	{"google-legacy.json", "https://accounts.google.com", false, false, false,
		[]string{"client_secret_post"}, "IssuerAliases"},
	{"keycloak.json", "https://sso.example.com/realms/acme", true, true, true,
		[]string{"private_key_jwt", "client_secret_basic", "client_secret_post"}, "encrypt ID tokens"},
	{"auth0.json", "https://acme.eu.auth0.com/", true, true, true,
		[]string{"client_secret_basic", "client_secret_post", "private_key_jwt"}, ""},
	{"auth0.json", "https://acme.eu.auth0.com", false, true, true,
		[]string{"client_secret_basic", "client_secret_post", "private_key_jwt"}, "trailing slash"},
}

func TestProviderDocuments(t *testing.T) {
	for _, tc := range providerDocs {
		t.Run(tc.file+" "+tc.issuer, func(t *testing.T) {
			b, err := os.ReadFile("testdata/discovery/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := oidc.ParseMetadata(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" || m.JWKSURI == "" {
				t.Fatalf("endpoints missing: %+v", m)
			}
			r := m.Compatibility(tc.issuer)
			if r.Usable != tc.usable || r.PKCE != tc.pkce || r.Logout != tc.logout || !r.CodeFlow {
				t.Fatalf("report %+v", r)
			}
			if !slices.Equal(r.SupportedAuthMethods, tc.methods) {
				t.Errorf("supported methods %v; want %v", r.SupportedAuthMethods, tc.methods)
			}
			if !slices.Contains(r.SigningAlgorithms, "RS256") {
				t.Errorf("algorithms %v", r.SigningAlgorithms)
			}
			findings := r.Warnings
			if !tc.usable {
				findings = r.Missing
			}
			if !strings.Contains(strings.Join(findings, "\n"), tc.finding) {
				t.Errorf("findings %q; want one mentioning %q", findings, tc.finding)
			}
		})
	}
	if _, err := oidc.ParseMetadata([]byte(`{"authorization_endpoint":"x"}`)); err == nil {
		t.Fatal("document without issuer accepted")
	}
	if _, err := oidc.ParseMetadata([]byte(`[1,2]`)); err == nil {
		t.Fatal("JSON array accepted")
	}
}

// TestProviderDocumentsOverTheNetwork fetches each document through a
// connection, as a login would.
func TestProviderDocumentsOverTheNetwork(t *testing.T) {
	for _, tc := range providerDocs {
		if !tc.usable {
			continue
		}
		t.Run(tc.file, func(t *testing.T) {
			b, _ := os.ReadFile("testdata/discovery/" + tc.file)
			d := oidctest.ServeDocument(t, b)
			conn, err := oidc.New(oidc.Config{ID: "c", Issuer: d.Issuer(), ClientID: "id", ClientSecret: "s", RedirectURL: redirectURL,
				CACertPEM: d.CACertPEM(), InsecureAllowPrivateNetwork: true, StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})})
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			step, err := conn.Begin(context.Background(), sso.BeginRequest{Binding: "b"})
			if err != nil || !strings.HasPrefix(step.URL, d.URL()) {
				t.Fatalf("Begin: %v %v", step, err)
			}
			r, err := oidc.Check(context.Background(), d.Issuer(), oidc.DiscoverOptions{CACertPEM: d.CACertPEM(), InsecureAllowPrivateNetwork: true})
			if err != nil || !r.Usable || r.Keys != 1 {
				t.Fatalf("Check: %+v %v", r, err)
			}
		})
	}
	t.Run("legacy Google issuer with an alias", func(t *testing.T) {
		b, _ := os.ReadFile("testdata/discovery/google-legacy.json")
		d := oidctest.ServeDocument(t, b)
		cfg := oidc.Config{ID: "g", Issuer: d.URL(), ClientID: "id", ClientSecret: "s", RedirectURL: redirectURL,
			CACertPEM: d.CACertPEM(), InsecureAllowPrivateNetwork: true, StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})}
		conn, _ := oidc.New(cfg)
		_, err := conn.Begin(context.Background(), sso.BeginRequest{Binding: "b"})
		wantReason(t, err, sso.ReasonIssuerMismatch)
		cfg.IssuerAliases = []string{"accounts.google.com"}
		conn, _ = oidc.New(cfg)
		if _, err := conn.Begin(context.Background(), sso.BeginRequest{Binding: "b"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDiscover(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{})
	ctx := context.Background()
	m, err := oidc.Discover(ctx, op.Issuer(), oidc.DiscoverOptions{CACertPEM: op.CACertPEM(), InsecureAllowPrivateNetwork: true})
	if err != nil || m.Issuer != op.Issuer() || m.DiscoveryURL != oidc.DiscoveryURLFor(op.Issuer()) || m.Fetched.IsZero() ||
		!slices.Contains(m.CodeChallengeMethodsSupported, "S256") || m.UserinfoEndpoint != op.Issuer()+"/userinfo" {
		t.Fatalf("Discover: %+v %v", m, err)
	}
	// An explicit discovery URL.
	if _, err := oidc.Discover(ctx, op.Issuer(), oidc.DiscoverOptions{DiscoveryURL: op.Issuer() + "/.well-known/openid-configuration?x=1",
		HTTPClient: op.Client()}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		issuer string
		opts   oidc.DiscoverOptions
		want   sso.Reason
	}{
		"loopback":    {op.Issuer(), oidc.DiscoverOptions{CACertPEM: op.CACertPEM()}, sso.ReasonAddressNotAllowed},
		"bad CA":      {op.Issuer(), oidc.DiscoverOptions{CACertPEM: []byte("junk"), InsecureAllowPrivateNetwork: true}, sso.ReasonInvalidConfig},
		"untrusted":   {op.Issuer(), oidc.DiscoverOptions{InsecureAllowPrivateNetwork: true}, sso.ReasonMetadataFetchFailed},
		"not a URL":   {"acme", oidc.DiscoverOptions{HTTPClient: op.Client()}, sso.ReasonInvalidConfig},
		"http issuer": {"http://idp.example", oidc.DiscoverOptions{HTTPClient: op.Client()}, sso.ReasonInvalidConfig},
		"not JSON":    {op.Issuer(), oidc.DiscoverOptions{DiscoveryURL: op.Issuer() + "/jwks?x", HTTPClient: op.Client()}, sso.ReasonMetadataInvalid},
	} {
		_, err := oidc.Discover(ctx, tc.issuer, tc.opts)
		if sso.ReasonOf(err) != tc.want {
			t.Errorf("%s: %v; want %s", name, err, tc.want)
		}
	}
	if algs := oidc.DefaultSigningAlgorithms(); slices.ContainsFunc(algs, func(a string) bool { return a == "none" || strings.HasPrefix(a, "HS") }) {
		t.Fatalf("default algorithms %v", algs)
	}
}

func TestDiscoverTimeout(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{})
	ctx := context.Background()
	for _, endpoint := range []string{"/.well-known/openid-configuration", "/jwks"} {
		op.Misbehave(oidctest.Misbehavior{Delay: 10 * time.Second, Endpoint: endpoint})
		// An injected client without a timeout of its own.
		opts := oidc.DiscoverOptions{HTTPClient: clientTrusting(t, op.CACertPEM()), Timeout: 100 * time.Millisecond}
		start := time.Now()
		r, err := oidc.Check(ctx, op.Issuer(), opts)
		if endpoint == "/jwks" {
			if err != nil || r.Usable || !strings.Contains(strings.Join(r.Missing, " "), "JWKS") {
				t.Errorf("%s slow: %+v %v", endpoint, r, err)
			}
		} else if sso.ReasonOf(err) != sso.ReasonMetadataFetchFailed {
			t.Errorf("%s slow: %v", endpoint, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s slow: Check took %v with a 100ms timeout", endpoint, d)
		}
	}
}
