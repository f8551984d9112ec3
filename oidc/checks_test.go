package oidc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/ssotest"
)

// TestMisbehavingProvider runs a full login against a provider that breaks
// one rule at a time. Each case fails if the check that catches it is
// removed.
func TestMisbehavingProvider(t *testing.T) {
	tests := []struct {
		name   string
		mis    oidctest.Misbehavior
		mutate func(*oidc.Config)
		want   sso.Reason
		detail string // a substring of the error
	}{
		{name: "wrong iss", mis: oidctest.Misbehavior{WrongIssuer: true}, want: sso.ReasonIssuerMismatch},
		{name: "wrong aud", mis: oidctest.Misbehavior{WrongAudience: true}, want: sso.ReasonAudienceMismatch},
		{name: "untrusted extra aud", mis: oidctest.Misbehavior{ExtraAudience: "other-api"}, want: sso.ReasonAudienceMismatch, detail: "TrustedAudiences"},
		{name: "several aud without azp", mis: oidctest.Misbehavior{ExtraAudience: "other-api", OmitAZP: true},
			mutate: func(c *oidc.Config) { c.TrustedAudiences = []string{"other-api"} }, want: sso.ReasonAudienceMismatch, detail: "no azp"},
		{name: "only a trusted other audience", mis: oidctest.Misbehavior{WrongAudience: true},
			mutate: func(c *oidc.Config) { c.TrustedAudiences = []string{"another-client"} }, want: sso.ReasonAudienceMismatch, detail: "not meant for this client"},
		{name: "wrong azp", mis: oidctest.Misbehavior{WrongAZP: true}, want: sso.ReasonAudienceMismatch, detail: "azp"},
		{name: "expired", mis: oidctest.Misbehavior{Expired: true}, want: sso.ReasonExpired},
		{name: "issued in the future", mis: oidctest.Misbehavior{IssuedInFuture: true}, want: sso.ReasonNotYetValid},
		{name: "nonce mismatch", mis: oidctest.Misbehavior{NonceMismatch: true}, want: sso.ReasonNonceMismatch},
		{name: "wrong at_hash", mis: oidctest.Misbehavior{WrongAtHash: true}, want: sso.ReasonSignatureInvalid, detail: "at_hash"},
		{name: "alg none", mis: oidctest.Misbehavior{AlgNone: true}, want: sso.ReasonAlgorithmNotAllowed, detail: "unsigned"},
		{name: "HS256 with the public key", mis: oidctest.Misbehavior{HS256WithPublicKey: true}, want: sso.ReasonAlgorithmNotAllowed, detail: "HMAC"},
		{name: "bad signature", mis: oidctest.Misbehavior{BadSignature: true}, want: sso.ReasonSignatureInvalid},
		{name: "unknown key", mis: oidctest.Misbehavior{UnknownKeyID: true}, want: sso.ReasonUntrustedKey},
		{name: "encrypted ID token", mis: oidctest.Misbehavior{EncryptedIDToken: true}, want: sso.ReasonEncryptedNotSupported},
		{name: "no ID token", mis: oidctest.Misbehavior{OmitIDToken: true}, want: sso.ReasonTokenExchangeFailed, detail: "no id_token"},
		{name: "email not verified", mis: oidctest.Misbehavior{EmailNotVerified: true}, want: sso.ReasonEmailNotVerified, detail: "email_verified=false"},
		{name: "no email_verified", mis: oidctest.Misbehavior{OmitEmailVerified: true}, want: sso.ReasonEmailNotVerified, detail: "TrustEmail"},
		{name: "error on the callback", mis: oidctest.Misbehavior{CallbackError: "access_denied", CallbackErrorDescription: "User is not assigned to the app"},
			want: sso.ReasonIdPError, detail: `authorization endpoint answered error "access_denied": "User is not assigned to the app"`},
		{name: "interactive login required", mis: oidctest.Misbehavior{CallbackError: "interaction_required"},
			want: sso.ReasonAuthenticationRequired, detail: `"interaction_required"`},
		{name: "provider temporarily unavailable", mis: oidctest.Misbehavior{CallbackError: "temporarily_unavailable"},
			want: sso.ReasonUnavailable, detail: "try again later"},
		{name: "error on the callback from another provider", mis: oidctest.Misbehavior{CallbackError: "access_denied", CallbackWrongIss: true},
			want: sso.ReasonIssuerMismatch, detail: "RFC 9207"},
		{name: "callback iss of another provider", mis: oidctest.Misbehavior{CallbackWrongIss: true}, want: sso.ReasonIssuerMismatch, detail: "RFC 9207"},
		{name: "callback without advertised iss", mis: oidctest.Misbehavior{OmitCallbackIss: true}, want: sso.ReasonIssuerMismatch, detail: "no iss parameter"},
		{name: "token endpoint error", mis: oidctest.Misbehavior{TokenError: "invalid_grant"}, want: sso.ReasonTokenExchangeFailed,
			detail: `token endpoint answered error "invalid_grant": "misbehaving on purpose"`},
		{name: "token endpoint down", mis: oidctest.Misbehavior{Down: true, Endpoint: "/token"}, want: sso.ReasonUnavailable, detail: "HTTP 503"},
		{name: "userinfo refuses the access token", mis: oidctest.Misbehavior{EmailOnlyInUserinfo: true, UserinfoError: "invalid_token"},
			want: sso.ReasonIdPError, detail: `userinfo endpoint answered error "invalid_token"`},
		{name: "userinfo down", mis: oidctest.Misbehavior{EmailOnlyInUserinfo: true, Down: true, Endpoint: "/userinfo"},
			want: sso.ReasonUnavailable, detail: "503"},
		{name: "userinfo vouches for another address", mis: oidctest.Misbehavior{OmitEmailVerified: true,
			UserinfoClaims: map[string]any{"email": "mallory@example.com", "email_verified": true}},
			mutate: func(c *oidc.Config) { c.Userinfo = oidc.UserinfoAlways }, want: sso.ReasonEmailNotVerified},
		{name: "userinfo about someone else", mis: oidctest.Misbehavior{EmailOnlyInUserinfo: true, UserinfoWrongSubject: true}, want: sso.ReasonSubjectMismatch, detail: "another subject"},
		{name: "userinfo as a signed JWT", mis: oidctest.Misbehavior{EmailOnlyInUserinfo: true, UserinfoAsJWT: true}, want: sso.ReasonMalformed, detail: "plain JSON"},
		{name: "no email anywhere", mis: oidctest.Misbehavior{EmailOnlyInUserinfo: true},
			mutate: func(c *oidc.Config) { c.Userinfo = oidc.UserinfoNever }, want: sso.ReasonEmailMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oidctest.Config{}, tc.mutate)
			step := e.begin(sso.BeginRequest{})
			e.op.Misbehave(tc.mis)
			_, err := e.complete(e.callback(step, "alice-0001"))
			wantReason(t, err, tc.want)
			if !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("err = %v; want it to mention %q", err, tc.detail)
			}
			var se *sso.Error
			if !errors.As(err, &se) || se.Connection != "acme" || !strings.HasPrefix(se.Op, "oidc.") {
				t.Fatalf("err %#v is not an oidc *sso.Error for the connection", err)
			}
			if len(err.Error()) > 1000 {
				t.Fatalf("error message of %d bytes: %v", len(err.Error()), err)
			}
			// OAuth error answers are typed.
			var pe *oidc.ProviderError
			if code := tc.mis.CallbackError + tc.mis.TokenError + tc.mis.UserinfoError; code != "" && !tc.mis.CallbackWrongIss {
				if !errors.As(err, &pe) || pe.Code != code || pe.Description != tc.mis.CallbackErrorDescription && tc.mis.CallbackError != "" {
					t.Fatalf("err %v: ProviderError %+v; want code %q", err, pe, code)
				}
			}
		})
	}
}

// TestLoosenedChecks shows the opt-ins that accept what the strict
// defaults refuse.
func TestLoosenedChecks(t *testing.T) {
	tests := []struct {
		name   string
		mis    oidctest.Misbehavior
		mutate func(*oidc.Config)
		check  func(*testing.T, *sso.Identity)
	}{
		{"trusted extra audience", oidctest.Misbehavior{ExtraAudience: "other-api"},
			func(c *oidc.Config) { c.TrustedAudiences = []string{"other-api"} }, nil},
		{"no email_verified, trusted provider", oidctest.Misbehavior{OmitEmailVerified: true},
			func(c *oidc.Config) { c.TrustEmail = true },
			func(t *testing.T, id *sso.Identity) {
				if !id.EmailVerified || len(id.Warnings) != 0 {
					t.Errorf("EmailVerified %v warnings %v", id.EmailVerified, id.Warnings)
				}
			}},
		{"email_verified false, trusted provider", oidctest.Misbehavior{EmailNotVerified: true},
			func(c *oidc.Config) { c.TrustEmail = true },
			func(t *testing.T, id *sso.Identity) {
				if len(id.Warnings) != 1 || id.Warnings[0].Reason != sso.ReasonEmailNotVerified {
					t.Errorf("warnings %v", id.Warnings)
				}
			}},
		{"no email, allowed", oidctest.Misbehavior{EmailOnlyInUserinfo: true},
			func(c *oidc.Config) { c.Userinfo = oidc.UserinfoNever; c.AllowMissingEmail = true },
			func(t *testing.T, id *sso.Identity) {
				if id.Email != "" || id.Subject != "alice-0001" {
					t.Errorf("identity %+v", id)
				}
			}},
		{"provider without RFC 9207", oidctest.Misbehavior{}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, oidctest.Config{NoIssParameter: tc.name == "provider without RFC 9207"}, tc.mutate)
			e.op.Misbehave(tc.mis)
			id, err := e.login("alice-0001")
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, id)
			}
		})
	}
}

func TestCodeReplay(t *testing.T) {
	// A provider that accepts a code twice, and a store that forgets to
	// consume pending logins: the replay cache stops the second login.
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.StateStore = &ssotest.LeakyStateStore{} })
	e.op.Misbehave(oidctest.Misbehavior{CodeReusable: true})
	first := e.callback(e.begin(sso.BeginRequest{}), "alice-0001")
	if _, err := e.complete(first); err != nil {
		t.Fatal(err)
	}
	_, err := e.complete(first)
	wantReason(t, err, sso.ReasonReplayed)
	if !strings.Contains(err.Error(), "code") {
		t.Fatalf("err = %v", err)
	}
	// The code, injected into another pending login of the same browser:
	// the token endpoint refuses it (another PKCE verifier).
	second := e.begin(sso.BeginRequest{})
	_, err = e.complete(url.Values{"code": {first.Get("code")}, "state": {second.State}, "iss": {e.op.Issuer()}})
	wantReason(t, err, sso.ReasonTokenExchangeFailed)
}

// TestJunkCallbacksRecordNothing: codes are recorded only once the token
// endpoint accepted them, so callbacks with made-up codes cannot fill the
// replay cache and push out records of real logins.
func TestJunkCallbacksRecordNothing(t *testing.T) {
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.ReplayCache = replay })
	for i := 0; i < 20; i++ {
		step := e.begin(sso.BeginRequest{})
		_, err := e.complete(url.Values{"code": {fmt.Sprintf("junk-%d", i)}, "state": {step.State}, "iss": {e.op.Issuer()}})
		wantReason(t, err, sso.ReasonTokenExchangeFailed)
	}
	if n := replay.Len(); n != 0 {
		t.Fatalf("junk callbacks left %d replay records", n)
	}
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	if n := replay.Len(); n != 2 {
		t.Fatalf("a login left %d replay records; want 2 (code and nonce)", n)
	}
}

// TestReplayCacheFailureRefuses: when the replay cache cannot record, the
// login is refused with the cache's Reason (fail closed).
func TestReplayCacheFailureRefuses(t *testing.T) {
	for _, reason := range []sso.Reason{sso.ReasonStoreFull, sso.ReasonUnavailable, sso.ReasonInternal} {
		e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.ReplayCache = ssotest.FailingReplayCache{Reason: reason} })
		_, err := e.login("alice-0001")
		wantReason(t, err, reason)
	}
}

func TestNonceReplay(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.StateStore = &ssotest.LeakyStateStore{} })
	step := e.begin(sso.BeginRequest{})
	// The same authorization request answered twice: two codes, one nonce.
	first, second := e.callback(step, "alice-0001"), e.callback(step, "alice-0001")
	if _, err := e.complete(first); err != nil {
		t.Fatal(err)
	}
	_, err := e.complete(second)
	wantReason(t, err, sso.ReasonReplayed)
	if !strings.Contains(err.Error(), "nonce") {
		t.Fatalf("err = %v", err)
	}
}

func TestFlowBinding(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	params := e.callback(e.begin(sso.BeginRequest{}), "alice-0001")
	_, err := e.conn.Complete(context.Background(), sso.CompleteRequest{Binding: sso.NewBinding(), Params: params})
	wantReason(t, err, sso.ReasonStateMismatch)

	// Parameter pollution, missing code, unknown state.
	params = e.callback(e.begin(sso.BeginRequest{}), "alice-0001")
	params.Add("code", "other")
	_, err = e.complete(params)
	wantReason(t, err, sso.ReasonInvalidRequest)
	step := e.begin(sso.BeginRequest{})
	_, err = e.complete(url.Values{"state": {step.State}, "iss": {e.op.Issuer()}})
	wantReason(t, err, sso.ReasonInvalidRequest)
	_, err = e.complete(url.Values{"state": {"forged"}, "code": {"x"}})
	wantReason(t, err, sso.ReasonStateMissing)

	// Begin refuses a missing binding and an unsafe return path.
	_, err = e.conn.Begin(context.Background(), sso.BeginRequest{})
	wantReason(t, err, sso.ReasonInvalidRequest)
	_, err = e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding, ReturnTo: "//evil.example/x"})
	wantReason(t, err, sso.ReasonInvalidRequest)

	// The flow expires.
	step = e.begin(sso.BeginRequest{})
	params = e.callback(step, "alice-0001")
	e.clock.Advance(oidc.DefaultFlowLifetime + time.Second)
	_, err = e.complete(params)
	wantReason(t, err, sso.ReasonStateMissing)
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	// A rotation right after a fetch: the refetch is rate limited.
	e.op.RotateKey()
	_, err := e.login("alice-0001")
	wantReason(t, err, sso.ReasonUntrustedKey)
	if !strings.Contains(err.Error(), "next refetch is allowed") {
		t.Fatalf("err = %v", err)
	}
	// Later, the unknown kid causes one refetch and the login works.
	e.clock.Advance(oidc.DefaultJWKSMinRefetchInterval + time.Second)
	e.op.RetireOldKeys()
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := e.op.Stats().JWKS; n != 2 {
		t.Fatalf("JWKS fetched %d times; want 2", n)
	}
}

func TestUnknownKeyRefetchIsRateLimited(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * oidc.DefaultJWKSMinRefetchInterval)
	e.op.Misbehave(oidctest.Misbehavior{UnknownKeyID: true})
	for i := 0; i < 5; i++ {
		_, err := e.login("alice-0001")
		wantReason(t, err, sso.ReasonUntrustedKey)
	}
	if n := e.op.Stats().JWKS; n != 2 {
		t.Fatalf("JWKS fetched %d times for 1 + 5 logins; want 2 (the first, one refetch)", n)
	}
}

func TestConcurrentUnknownKeyFetchesOnce(t *testing.T) {
	e, ctx := newFetchedEnv(t)
	e.clock.Advance(2 * oidc.DefaultJWKSMinRefetchInterval)
	e.op.RotateKey()
	tok := e.op.Sign(e.op.Claims(clientID, "alice-0001", "n"))
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.conn.VerifyIDToken(ctx, tok, "n")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.conn.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times; want 2 (Refresh, one coalesced refetch)", n)
	}
}

func TestMetadataAndKeysRefresh(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	// After a day both are fetched again.
	e.clock.Advance(oidc.DefaultMetadataMaxAge + time.Minute)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	if s := e.op.Stats(); s.Discovery != 2 || s.JWKS != 2 {
		t.Fatalf("stats %+v; want discovery and JWKS fetched twice", s)
	}
	// A failed refresh keeps the cached document: Begin still works.
	e.clock.Advance(oidc.DefaultMetadataMaxAge + time.Minute)
	e.op.Misbehave(oidctest.Misbehavior{Down: true})
	if _, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding}); err != nil {
		t.Fatalf("Begin with a stale document and the provider down: %v", err)
	}
	if !e.events.has(sso.EventMetadataRefreshError) {
		t.Fatal("no metadata_refresh_failed event")
	}
}

func TestProviderDownOrSlow(t *testing.T) {
	t.Run("down before discovery", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{}, nil)
		e.op.Misbehave(oidctest.Misbehavior{Down: true})
		_, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding})
		wantReason(t, err, sso.ReasonMetadataFetchFailed)
		// The status once or twice, and not more (a port may hold "503").
		if n := len(regexp.MustCompile(`\b503\b`).FindAllString(err.Error(), -1)); n == 0 || n > 2 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("down at the token endpoint", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{}, nil)
		params := e.callback(e.begin(sso.BeginRequest{}), "alice-0001")
		e.op.Misbehave(oidctest.Misbehavior{Down: true})
		_, err := e.complete(params)
		wantReason(t, err, sso.ReasonUnavailable)
	})
	// Every request to the provider is bounded by Config.Timeout, also
	// with an injected HTTP client that has no timeout of its own. The
	// provider waits far longer than the bound asserted.
	for _, endpoint := range []string{"/.well-known/openid-configuration", "/jwks", "/token", "/userinfo"} {
		for _, injected := range []bool{false, true} {
			t.Run(fmt.Sprintf("slow %s, injected client %v", endpoint, injected), func(t *testing.T) {
				e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
					c.Timeout = 100 * time.Millisecond
					if injected {
						c.HTTPClient = clientTrusting(t, c.CACertPEM) // no Timeout
					}
				})
				e.op.Misbehave(oidctest.Misbehavior{Delay: 10 * time.Second, Endpoint: endpoint, EmailOnlyInUserinfo: true})
				start := time.Now()
				var err error
				if step, berr := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding}); berr != nil {
					err = berr
				} else {
					_, err = e.complete(e.callback(step, "alice-0001"))
				}
				if r := sso.ReasonOf(err); r != sso.ReasonUnavailable && r != sso.ReasonMetadataFetchFailed {
					t.Fatalf("err = %v; want a timeout", err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("the login took %v with a 100ms timeout", d)
				}
			})
		}
	}
}

// clientTrusting returns an HTTP client without timeouts that trusts the
// PEM certificates.
func clientTrusting(t testing.TB, caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestTLSRoots(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.CACertPEM = nil })
	_, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding})
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v; want a certificate error", err)
	}
}

func TestIssuerMismatchInDiscovery(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.Issuer += "/" })
	_, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding})
	wantReason(t, err, sso.ReasonIssuerMismatch)
	if !strings.Contains(err.Error(), "trailing slash") {
		t.Fatalf("err = %v", err)
	}
}

func TestSigningAlgorithms(t *testing.T) {
	t.Run("ES256 provider", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{Algorithm: "ES256"}, nil)
		if _, err := e.login("alice-0001"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("provider algorithm not allowed", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{Algorithm: "ES256"}, func(c *oidc.Config) { c.SigningAlgorithms = []string{"RS256"} })
		_, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding})
		wantReason(t, err, sso.ReasonMetadataInvalid)
	})
	t.Run("token algorithm outside the allow-list", func(t *testing.T) {
		// Hand-configured endpoints: no discovery list to refuse earlier.
		e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
			c.SigningAlgorithms = []string{"ES256"}
			c.Endpoints = oidc.Endpoints{Authorization: c.Issuer + "/authorize", Token: c.Issuer + "/token", JWKS: c.Issuer + "/jwks"}
		})
		_, err := e.conn.VerifyIDToken(context.Background(), e.op.Sign(e.op.Claims(clientID, "alice-0001", "n")), "n")
		wantReason(t, err, sso.ReasonAlgorithmNotAllowed)
		if !strings.Contains(err.Error(), "allow-list") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("token algorithm not allowed", func(t *testing.T) {
		e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.SigningAlgorithms = []string{"ES256", "RS256"} })
		tok := e.op.Sign(e.op.Claims(clientID, "alice-0001", "n"))
		if _, err := e.conn.VerifyIDToken(context.Background(), tok, "n"); err != nil {
			t.Fatal(err)
		}
		e2 := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.SigningAlgorithms = []string{"PS256"} })
		// The discovery document lists RS256 only, so the connection is
		// unusable before any token is looked at.
		_, err := e2.conn.VerifyIDToken(context.Background(), tok, "n")
		wantReason(t, err, sso.ReasonMetadataInvalid)
	})
}

func TestClockSkew(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	ctx := context.Background()
	claims := e.op.Claims(clientID, "alice-0001", "n")
	// Issued 30 seconds "in the future": within the default skew.
	claims["iat"] = e.clock.Now().Add(30 * time.Second).Unix()
	if _, err := e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n"); err != nil {
		t.Fatalf("30s skew: %v", err)
	}
	claims["iat"] = e.clock.Now().Add(2 * time.Minute).Unix()
	_, err := e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonNotYetValid)
	// nbf alone in the future.
	claims["iat"] = e.clock.Now().Unix()
	claims["nbf"] = e.clock.Now().Add(2 * time.Minute).Unix()
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonNotYetValid)
	delete(claims, "nbf")
	// Expired 30 seconds ago: within the skew; 2 minutes: not.
	claims["iat"] = e.clock.Now().Add(-time.Hour).Unix()
	claims["exp"] = e.clock.Now().Add(-30 * time.Second).Unix()
	if _, err := e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n"); err != nil {
		t.Fatalf("expired 30s ago: %v", err)
	}
	claims["exp"] = e.clock.Now().Add(-2 * time.Minute).Unix()
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonExpired)
	// No exp or iat at all.
	delete(claims, "exp")
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonMalformed)
	claims["exp"] = e.clock.Now().Add(time.Hour).Unix()
	delete(claims, "iat")
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonMalformed)
}

func TestClockSkewConfigured(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.ClockSkew = 5 * time.Second })
	ctx := context.Background()
	claims := e.op.Claims(clientID, "alice-0001", "n")
	claims["iat"] = e.clock.Now().Add(-time.Hour).Unix()
	claims["exp"] = e.clock.Now().Add(-3 * time.Second).Unix()
	if _, err := e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n"); err != nil {
		t.Fatalf("expired 3s ago, 5s skew: %v", err)
	}
	claims["exp"] = e.clock.Now().Add(-30 * time.Second).Unix()
	_, err := e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonExpired)
	if !strings.Contains(err.Error(), "clock skew allowed: 5s") {
		t.Fatalf("err = %v", err)
	}
	claims["exp"] = e.clock.Now().Add(time.Hour).Unix()
	claims["iat"] = e.clock.Now().Add(30 * time.Second).Unix()
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonNotYetValid)
}

func TestIDTokenSizeCap(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.MaxResponseBytes = 4096 })
	claims := e.op.Claims(clientID, "alice-0001", "n")
	claims["padding"] = strings.Repeat("x", 5000)
	_, err := e.conn.VerifyIDToken(context.Background(), e.op.Sign(claims), "n")
	wantReason(t, err, sso.ReasonRequestTooLarge)
}

func TestVerifyIDTokenMalformed(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	ctx := context.Background()
	for _, tok := range []string{"", "a.b", "a.b.c.d", "!!!.e30.x", "e30.e30.x"} {
		_, err := e.conn.VerifyIDToken(ctx, tok, "")
		if r := sso.ReasonOf(err); r != sso.ReasonMalformed && r != sso.ReasonAlgorithmNotAllowed {
			t.Errorf("VerifyIDToken(%q) = %v", tok, err)
		}
	}
	claims := e.op.Claims(clientID, "", "")
	_, err := e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "")
	wantReason(t, err, sso.ReasonSubjectMissing)
	// An issuer alias is accepted only when configured.
	claims = e.op.Claims(clientID, "alice-0001", "")
	claims["iss"] = "accounts.google.com"
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(claims), "")
	wantReason(t, err, sso.ReasonIssuerMismatch)
	e2 := newEnv(t, oidctest.Config{}, func(c *oidc.Config) { c.IssuerAliases = []string{"accounts.google.com"} })
	claims = e2.op.Claims(clientID, "alice-0001", "")
	claims["iss"] = "accounts.google.com"
	if _, err := e2.conn.VerifyIDToken(ctx, e2.op.Sign(claims), ""); err != nil {
		t.Fatal(err)
	}
}

func TestResponseSizeCap(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"` + strings.Repeat("x", 4096) + `"}`))
	}))
	defer srv.Close()
	conn, err := oidc.New(oidc.Config{ID: "big", Issuer: srv.URL, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/cb",
		CACertPEM: (pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})), InsecureAllowPrivateNetwork: true,
		MaxResponseBytes: 1024, StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Begin(context.Background(), sso.BeginRequest{Binding: "b"})
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	if !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestPrivateNetworkRefused(t *testing.T) {
	op := oidctest.Start(t, oidctest.Config{})
	cfg := oidc.Config{ID: "x", Issuer: op.Issuer(), ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL, CACertPEM: op.CACertPEM(),
		StateStore: sso.NewMemoryStateStore(sso.MemoryOptions{})}
	// A literal loopback issuer is refused by Validate already.
	err := cfg.Validate()
	wantReason(t, err, sso.ReasonInvalidConfig)
	wantReason(t, err, sso.ReasonAddressNotAllowed)
	cfg.Issuer = "https://169.254.169.254/latest"
	wantReason(t, cfg.Validate(), sso.ReasonAddressNotAllowed)

	// A name that resolves to loopback passes Validate and is refused when
	// the connection is made.
	name, _ := os.Hostname()
	addrs, _ := net.LookupHost(name)
	if len(addrs) == 0 || !net.ParseIP(addrs[0]).IsLoopback() {
		t.Skipf("host name %q does not resolve to loopback here", name)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(op.Issuer(), "https://"))
	cfg.Issuer = "https://" + net.JoinHostPort(name, port)
	conn, err := oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Begin(context.Background(), sso.BeginRequest{Binding: "b"})
	wantReason(t, err, sso.ReasonAddressNotAllowed)
	if op.Stats().Discovery != 0 {
		t.Fatal("the provider was reached")
	}
}

// TestIDTokenDecoding: the token's parts are decoded once, by ssokit; a
// validly signed token whose header or claims are odd is still refused as
// go-jose and zitadel refused it, and standard claims of the wrong type
// are refused rather than read as absent.
func TestIDTokenDecoding(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	ctx := context.Background()
	claims := func(mut func(map[string]any)) []byte {
		c := e.op.Claims(clientID, "alice-0001", "n")
		if mut != nil {
			mut(c)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := claims(nil)
	if _, err := e.conn.VerifyIDToken(ctx, e.op.SignRaw(good, nil), "n"); err != nil {
		t.Fatalf("plain token: %v", err)
	}
	// A header without a key ID: the key that verified names itself
	// (Identity.SignedBy).
	if idt, err := e.conn.VerifyIDToken(ctx, e.op.SignRaw(good, map[string]any{"kid": ""}), "n"); err != nil {
		t.Fatalf("token without kid: %v", err)
	} else if idt.KeyID != e.op.KeyID() {
		t.Fatalf("token without kid: KeyID %q; want %q", idt.KeyID, e.op.KeyID())
	}
	// Providers that send NumericDates as RFC 3339 strings (Auth0 once
	// did) are read as before.
	now := e.clock.Now()
	tok := e.op.SignRaw(claims(func(c map[string]any) { c["exp"] = now.Add(time.Hour).UTC().Format(time.RFC3339) }), nil)
	if idt, err := e.conn.VerifyIDToken(ctx, tok, "n"); err != nil || idt.Expiry.Unix() != now.Add(time.Hour).Unix() {
		t.Fatalf("RFC 3339 exp: %v", err)
	}
	for name, tc := range map[string]struct {
		payload []byte
		header  map[string]any
		want    sso.Reason
	}{
		"critical header extension":  {good, map[string]any{"crit": []string{"exp"}, "exp": 1}, sso.ReasonMalformed},
		"b64 false":                  {good, map[string]any{"crit": []string{"b64"}, "b64": false}, sso.ReasonMalformed},
		"data after the claims":      {append(slices.Clone(good), " {}"...), nil, sso.ReasonMalformed},
		"claims are an array":        {[]byte(`[1,2]`), nil, sso.ReasonMalformed},
		"claims are null":            {[]byte(`null`), nil, sso.ReasonMalformed},
		"iss is a number":            {claims(func(c map[string]any) { c["iss"] = 1 }), nil, sso.ReasonMalformed},
		"sub is an object":           {claims(func(c map[string]any) { c["sub"] = map[string]any{"id": "alice-0001"} }), nil, sso.ReasonMalformed},
		"aud is a number":            {claims(func(c map[string]any) { c["aud"] = 7 }), nil, sso.ReasonMalformed},
		"aud holds a number":         {claims(func(c map[string]any) { c["aud"] = []any{clientID, 7} }), nil, sso.ReasonMalformed},
		"aud missing":                {claims(func(c map[string]any) { delete(c, "aud") }), nil, sso.ReasonAudienceMismatch},
		"azp is a boolean":           {claims(func(c map[string]any) { c["azp"] = true }), nil, sso.ReasonMalformed},
		"nonce is a number":          {claims(func(c map[string]any) { c["nonce"] = 1 }), nil, sso.ReasonMalformed},
		"exp is a boolean":           {claims(func(c map[string]any) { c["exp"] = true }), nil, sso.ReasonMalformed},
		"exp is out of range":        {claims(func(c map[string]any) { c["exp"] = 1e300 }), nil, sso.ReasonMalformed},
		"exp is not a date":          {claims(func(c map[string]any) { c["exp"] = "tomorrow" }), nil, sso.ReasonMalformed},
		"exp is null":                {claims(func(c map[string]any) { c["exp"] = nil }), nil, sso.ReasonMalformed},
		"nbf is a string in future":  {claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Format(time.RFC3339) }), nil, sso.ReasonNotYetValid},
		"iat is an array":            {claims(func(c map[string]any) { c["iat"] = []int{1} }), nil, sso.ReasonMalformed},
		"at_hash is a number":        {claims(func(c map[string]any) { c["at_hash"] = 5 }), nil, sso.ReasonMalformed},
		"several audiences, no azp":  {claims(func(c map[string]any) { c["aud"] = []string{clientID, clientID} }), nil, sso.ReasonAudienceMismatch},
		"azp names another client":   {claims(func(c map[string]any) { c["azp"] = "other" }), nil, sso.ReasonAudienceMismatch},
		"issuer alias not allowed":   {claims(func(c map[string]any) { c["iss"] = e.op.Issuer() + "/" }), nil, sso.ReasonIssuerMismatch},
		"unsigned in disguise (enc)": {good, map[string]any{"enc": "A256GCM"}, sso.ReasonEncryptedNotSupported},
	} {
		_, err := e.conn.VerifyIDToken(ctx, e.op.SignRaw(tc.payload, tc.header), "n")
		if sso.ReasonOf(err) != tc.want {
			t.Errorf("%s: %v; want %s", name, err, tc.want)
		}
	}
	// An empty or undecodable signature never reaches a key.
	g := e.op.SignRaw(good, nil)
	for _, bad := range []string{g[:strings.LastIndexByte(g, '.')+1], g + "!"} {
		if _, err := e.conn.VerifyIDToken(ctx, bad, "n"); sso.ReasonOf(err) != sso.ReasonMalformed {
			t.Errorf("signature %q: %v", bad[strings.LastIndexByte(bad, '.'):], err)
		}
	}
}

// TestKeyRotationSoonAfterFetch: a provider that rotates its signing key
// one second after the connection fetched its JWKS breaks logins for at
// most JWKSMinRefetchInterval (5 seconds by default): the
// first login after that refetches and succeeds.
func TestKeyRotationSoonAfterFetch(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	first, err := e.login("alice-0001") // fetches the JWKS now
	if err != nil {
		t.Fatal(err)
	}
	if first.SignedBy != e.op.KeyID() {
		t.Fatalf("SignedBy = %q; want the provider's key ID %q", first.SignedBy, e.op.KeyID())
	}
	if oidc.DefaultJWKSMinRefetchInterval > 5*time.Second {
		t.Fatalf("DefaultJWKSMinRefetchInterval is %v; a rotation would break logins that long", oidc.DefaultJWKSMinRefetchInterval)
	}
	e.clock.Advance(time.Second)
	newKid := e.op.RotateKey()
	e.clock.Advance(time.Second)
	_, err = e.login("alice-0001")
	wantReason(t, err, sso.ReasonUntrustedKey) // 2 s after the fetch: within the bound
	e.clock.Advance(oidc.DefaultJWKSMinRefetchInterval - 2*time.Second)
	id, err := e.login("alice-0001")
	if err != nil {
		t.Fatalf("login %v after the fetch: %v", oidc.DefaultJWKSMinRefetchInterval, err)
	}
	if id.SignedBy != newKid || newKid == first.SignedBy {
		t.Fatalf("after the rotation SignedBy = %q; want the new key ID %q", id.SignedBy, newKid)
	}
	if n := e.op.Stats().JWKS; n != 2 {
		t.Fatalf("JWKS fetched %d times; want 2", n)
	}
}

// TestUnknownKeyFloodFetchesOncePerInterval: tokens with random key IDs,
// 8 at a time every quarter second for a minute, make the connection
// fetch the provider's JWKS at most once per JWKSMinRefetchInterval.
func TestUnknownKeyFloodFetchesOncePerInterval(t *testing.T) {
	e, ctx := newFetchedEnv(t)
	payload, err := json.Marshal(e.op.Claims(clientID, "alice-0001", "n"))
	if err != nil {
		t.Fatal(err)
	}
	// A token is signed before the flood: signing is the slow part.
	toks := make([]string, 8)
	for i := range toks {
		kid := sso.NewBinding()
		toks[i] = e.op.SignRaw(payload, map[string]any{"kid": kid})
		if h, _ := base64.RawURLEncoding.DecodeString(toks[i][:strings.IndexByte(toks[i], '.')]); !strings.Contains(string(h), kid) {
			t.Fatalf("header %s lacks the random kid", h)
		}
	}
	const (
		step     = 250 * time.Millisecond
		duration = time.Minute
	)
	start := e.op.Stats().JWKS
	for elapsed := time.Duration(0); elapsed < duration; elapsed += step {
		var wg sync.WaitGroup
		for _, tok := range toks {
			wg.Go(func() {
				_, err := e.conn.VerifyIDToken(ctx, tok, "n")
				if sso.ReasonOf(err) != sso.ReasonUntrustedKey {
					t.Errorf("unknown kid: %v", err)
				}
			})
		}
		wg.Wait()
		e.clock.Advance(step)
	}
	n := e.op.Stats().JWKS - start
	most := int(duration / oidc.DefaultJWKSMinRefetchInterval)
	if n > most || n < 1 {
		t.Fatalf("%d unknown-kid tokens over %v made %d JWKS fetches; want 1 to %d (one per %v)",
			len(toks)*int(duration/step), duration, n, most, oidc.DefaultJWKSMinRefetchInterval)
	}
	t.Logf("%d tokens with unknown key IDs, %d JWKS fetches in %v", len(toks)*int(duration/step), n, duration)
}
