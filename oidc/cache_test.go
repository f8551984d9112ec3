package oidc_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
)

// discoveryServer serves the discovery document of an oidctest provider
// with a jwks_uri the test can change, and can be taken down.
type discoveryServer struct {
	mu      sync.Mutex
	jwksURI string
	down    bool
	fetches int
}

func (d *discoveryServer) set(jwksURI string, down bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.jwksURI, d.down = jwksURI, down
}

func (d *discoveryServer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fetches
}

// newDiscoveryEnv is newEnv with the discovery document served by a
// discoveryServer and refreshed after an hour.
func newDiscoveryEnv(t *testing.T) (*env, *discoveryServer) {
	d := &discoveryServer{}
	var op *oidctest.Server
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.fetches++
		if d.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		doc := op.Discovery()
		doc["jwks_uri"] = d.jwksURI
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	e := newEnv(t, oidctest.Config{}, func(c *oidc.Config) {
		c.DiscoveryURL = srv.URL + "/.well-known/openid-configuration"
		// Trust this server as well as the provider.
		c.CACertPEM = append(append([]byte(nil), c.CACertPEM...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})...)
		c.MetadataMaxAge = time.Hour
	})
	op = e.op
	d.set(op.Issuer()+"/jwks", false)
	return e, d
}

// A refreshed discovery document keeps the cached JWKS while jwks_uri
// stays the same, and a new jwks_uri is fetched before its keys are used.
func TestDiscoveryRefreshKeepsKeys(t *testing.T) {
	e, d := newDiscoveryEnv(t)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	if n, k := d.count(), e.op.Stats().JWKS; n != 2 || k != 1 {
		t.Fatalf("%d discovery fetches, %d JWKS fetches; want 2 and 1", n, k)
	}
	d.set(e.op.Issuer()+"/jwks?v=2", false)
	e.clock.Advance(time.Hour + time.Second)
	if _, err := e.login("alice-0001"); err != nil {
		t.Fatal(err)
	}
	if n, k := d.count(), e.op.Stats().JWKS; n != 3 || k != 2 {
		t.Fatalf("%d discovery fetches, %d JWKS fetches; want 3 and 2", n, k)
	}
}

// A failed discovery refresh keeps the document and is retried after
// JWKSMinRefetchInterval, not on every login; a failed first fetch is the
// login's error and no refresh event.
func TestDiscoveryRefreshRetry(t *testing.T) {
	e, d := newDiscoveryEnv(t)
	d.set(e.op.Issuer()+"/jwks", true)
	_, err := e.conn.Begin(context.Background(), sso.BeginRequest{Binding: e.binding})
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	if e.events.has(sso.EventMetadataRefreshError) {
		t.Fatal("a refresh event for the first fetch")
	}
	d.set(e.op.Issuer()+"/jwks", false)
	e.begin(sso.BeginRequest{}) // fetched again at once
	if n := d.count(); n != 2 {
		t.Fatalf("%d discovery fetches; want 2", n)
	}

	d.set(e.op.Issuer()+"/jwks", true)
	e.clock.Advance(time.Hour + time.Second)
	for range 3 {
		e.begin(sso.BeginRequest{}) // the cached document serves
	}
	if n := d.count(); n != 3 || !e.events.has(sso.EventMetadataRefreshError) {
		t.Fatalf("%d discovery fetches (want 3), refresh event %v", n, e.events.has(sso.EventMetadataRefreshError))
	}
	d.set(e.op.Issuer()+"/jwks", false)
	e.clock.Advance(oidc.DefaultJWKSMinRefetchInterval)
	e.begin(sso.BeginRequest{})
	if n := d.count(); n != 4 {
		t.Fatalf("%d discovery fetches after the retry interval; want 4", n)
	}
}

// A caller that gives up waiting for the discovery document does not
// cancel the shared fetch: the next login uses its result.
func TestDiscoveryWaitCancelled(t *testing.T) {
	e := newEnv(t, oidctest.Config{}, nil)
	e.op.Misbehave(oidctest.Misbehavior{Delay: 300 * time.Millisecond, Endpoint: "/.well-known/openid-configuration"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.conn.Begin(ctx, sso.BeginRequest{Binding: e.binding})
	wantReason(t, err, sso.ReasonUnavailable)
	e.begin(sso.BeginRequest{}) // joins or finds the first fetch
	if n := e.conn.DiscoveryFetches(); n != 1 {
		t.Fatalf("%d discovery fetches; want 1", n)
	}
}

// A refetch for an unknown key that fails fails the login and is reported;
// the cached keys stay in use.
func TestUnknownKeyRefetchFails(t *testing.T) {
	e, ctx := newFetchedEnv(t)
	e.clock.Advance(2 * oidc.DefaultJWKSMinRefetchInterval)
	e.op.Misbehave(oidctest.Misbehavior{Down: true, Endpoint: "/jwks"})
	e.op.RotateKey()
	_, err := e.conn.VerifyIDToken(ctx, e.op.Sign(e.op.Claims(clientID, "alice-0001", "n")), "n")
	wantReason(t, err, sso.ReasonMetadataFetchFailed)
	if !e.events.has(sso.EventMetadataRefreshError) {
		t.Fatal("no metadata_refresh_failed event")
	}
	// The refetch counts for the rate limit, failed or not.
	_, err = e.conn.VerifyIDToken(ctx, e.op.Sign(e.op.Claims(clientID, "alice-0001", "n")), "n")
	wantReason(t, err, sso.ReasonUntrustedKey)
	if n := e.conn.JWKSFetches(); n != 2 {
		t.Fatalf("JWKS fetched %d times; want 2", n)
	}
}
