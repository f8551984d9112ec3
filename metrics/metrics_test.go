package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/metrics"
)

// scrape returns the registry's exposition in the text format, as
// Prometheus reads it.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func wantLines(t *testing.T, got string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(got, l+"\n") {
			t.Errorf("no line %q in:\n%s", l, got)
		}
	}
}

func TestEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Config{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		m.Event(ctx, sso.Event{Type: sso.EventLoginSucceeded, Account: "acme", Connection: "acme-saml", Protocol: sso.ProtocolSAML})
	}
	m.Event(ctx, sso.Event{Type: sso.EventLoginFailed, Account: "acme", Connection: "acme-saml", Protocol: sso.ProtocolSAML, Reason: sso.ReasonSignatureInvalid})
	m.Event(ctx, sso.Event{Type: sso.EventLoginFailed, Account: "acme", Connection: "acme-oidc", Protocol: sso.ProtocolOIDC, Reason: sso.ReasonUnavailable})
	m.Event(ctx, sso.Event{Type: sso.EventLoginSucceeded, Account: "acme", Attrs: map[string]string{"method": "password"}})
	m.Event(ctx, sso.Event{Type: sso.EventPasswordRefused, Reason: sso.ReasonSSORequired})
	m.Event(ctx, sso.Event{Type: sso.EventMetadataRefreshError, Connection: "acme-saml"})
	m.Event(ctx, sso.Event{Type: sso.EventWarning, Connection: "acme-saml", Reason: sso.ReasonEmailMismatch})
	m.Event(ctx, sso.Event{Type: sso.EventPolicyChanged, Account: "acme"}) // not counted
	wantLines(t, scrape(t, reg),
		`ssokit_logins_total{account="acme",connection="acme-saml",protocol="saml",reason="",result="success"} 2`,
		`ssokit_logins_total{account="acme",connection="acme-saml",protocol="saml",reason="signature_invalid",result="failure"} 1`,
		`ssokit_logins_total{account="acme",connection="acme-oidc",protocol="oidc",reason="unavailable",result="failure"} 1`,
		`ssokit_logins_total{account="acme",connection="",protocol="password",reason="",result="success"} 1`,
		`ssokit_logins_total{account="",connection="",protocol="password",reason="sso_required",result="failure"} 1`,
		`ssokit_store_errors_total{reason="unavailable"} 1`,
		`ssokit_metadata_refresh_failures_total{connection="acme-saml"} 1`,
		`ssokit_warnings_total{connection="acme-saml",reason="email_mismatch"} 1`,
	)
	if _, err := metrics.New(metrics.Config{Registerer: reg}); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("a second Metrics on one registry: %v", err)
	}
}

func TestNoAccountLabel(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := metrics.New(metrics.Config{Registerer: reg, NoAccountLabel: true})
	m.Event(context.Background(), sso.Event{Type: sso.EventLoginSucceeded, Account: "acme", Connection: "c", Protocol: sso.ProtocolLDAP})
	wantLines(t, scrape(t, reg), `ssokit_logins_total{account="",connection="c",protocol="ldap",reason="",result="success"} 1`)
}

func TestHandlerLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, _ := metrics.New(metrics.Config{Registerer: reg})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, req := range []struct{ method, path string }{
		{"POST", "/auth/saml/acme-saml/acs"},
		{"GET", "/auth/oidc/acme-oidc/callback"},
		{"POST", "/auth/ldap/dir/login"},
		{"GET", "/auth/ldap/dir/login"}, // the form: not counted
		{"POST", "/auth/login"},
		{"POST", "/login/start"},
		{"GET", "/login/sso/acme"},
		{"GET", "/auth/login"}, // the page: not counted
		{"GET", "/me"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	wantLines(t, scrape(t, reg),
		`ssokit_login_request_duration_seconds_count{protocol="saml",step="complete"} 1`,
		`ssokit_login_request_duration_seconds_count{protocol="oidc",step="complete"} 1`,
		`ssokit_login_request_duration_seconds_count{protocol="ldap",step="complete"} 1`,
		`ssokit_login_request_duration_seconds_count{protocol="email",step="begin"} 1`,
		`ssokit_login_request_duration_seconds_count{protocol="sso",step="begin"} 2`,
	)
}

func TestCertificateExpiry(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	_, err := metrics.New(metrics.Config{Registerer: reg, Now: func() time.Time { return now }, Certificates: func() []metrics.Certificate {
		return []metrics.Certificate{
			{Connection: "acme-saml", Role: "idp_signing", NotAfter: now.AddDate(0, 0, 30)},
			{Connection: "acme-saml", Role: "idp_signing", NotAfter: now.AddDate(0, 0, 10)}, // the rollover's old one
			{Connection: "old-saml", Role: "idp_signing", NotAfter: now.AddDate(0, 0, -2)},
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, scrape(t, reg),
		`ssokit_certificate_expiry_days{connection="acme-saml",role="idp_signing"} 10`,
		`ssokit_certificate_expiry_days{connection="old-saml",role="idp_signing"} -2`,
	)
	if _, err := metrics.New(metrics.Config{Registerer: prometheus.NewRegistry(), Buckets: []float64{1, 1}}); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("buckets that do not increase: %v", err)
	}
}
