// Package metrics turns ssokit's events into Prometheus metrics, so that a
// host counts logins, refusals and refresh failures from the events the
// packages already report instead of by hand.
//
// Chain [Metrics.Event] into the EventFunc the packages report to (the
// login handler's, each connection's and the provisioner's Events), wrap
// the login handler with [Metrics.Handler] for its latency, and serve the
// registry, e.g. with promhttp.HandlerFor:
//
//	m, _ := metrics.New(metrics.Config{Registerer: reg})
//	events := m.Event // or a function calling it and the audit log
//	mux.Handle("/auth/", m.Handler(loginHandler))
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metrics, all prefixed ssokit_:
//
//   - logins_total{account, connection, protocol, result, reason}: each
//     login that succeeded (result "success", reason empty) or was refused
//     ("failure" with its Reason); protocol is saml, oidc, ldap, or
//     password for the application's own password check;
//   - login_request_duration_seconds{protocol, step}: how long the
//     handler took to answer a request that begins ("begin") or completes
//     ("complete") a login, the identity provider's time excluded;
//   - metadata_refresh_failures_total{connection}: failed refreshes of
//     IdP metadata, discovery documents and JWKS;
//   - store_errors_total{reason}: logins refused because a store was full
//     or unavailable;
//   - warnings_total{connection, reason}: warning events;
//   - certificate_expiry_days{connection, role}: days until the
//     earliest-expiring certificate of each connection and role that
//     Config.Certificates reports expires (negative once expired), read at
//     each scrape.
//
// Labels hold account and connection IDs: with very many accounts, set
// Config.NoAccountLabel to keep the series count bounded by connections.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssokit/sso"
)

// Certificate is a certificate whose expiry Config.Certificates reports.
type Certificate struct {
	// Connection is the connection ID; Role says whose certificate it is,
	// e.g. "idp_signing" or "sp".
	Connection, Role string
	// NotAfter is when it expires.
	NotAfter time.Time
}

// Config configures [New].
type Config struct {
	// Registerer receives the metrics; prometheus.DefaultRegisterer when
	// nil.
	Registerer prometheus.Registerer
	// NoAccountLabel leaves the account label out of logins_total (it is
	// then empty), for hosts with very many accounts.
	NoAccountLabel bool
	// Certificates, when set, reports the connections' certificates at
	// each scrape (e.g. from saml.ServiceProvider.IdP().Certificates).
	Certificates func() []Certificate
	// Buckets are the latency histogram's buckets in seconds;
	// DefaultBuckets when nil.
	Buckets []float64
	// Now is the clock for certificate_expiry_days; time.Now when nil.
	Now func() time.Time
}

// DefaultBuckets suit a handler that answers in about a millisecond to a
// few hundred (a provider's token endpoint or a directory on the way).
var DefaultBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Validate reports a Config that cannot work.
func (c *Config) Validate() error {
	for i := 1; i < len(c.Buckets); i++ {
		if c.Buckets[i] <= c.Buckets[i-1] {
			return &sso.Error{Op: "metrics.Config", Reason: sso.ReasonInvalidConfig, Detail: "Buckets must increase"}
		}
	}
	return nil
}

// Metrics counts events. It is safe for concurrent use.
type Metrics struct {
	cfg      Config
	logins   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	refresh  *prometheus.CounterVec
	store    *prometheus.CounterVec
	warnings *prometheus.CounterVec
}

// New registers the metrics with cfg.Registerer.
func New(cfg Config) (*Metrics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.DefaultRegisterer
	}
	if cfg.Buckets == nil {
		cfg.Buckets = DefaultBuckets
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Metrics{
		cfg: cfg,
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ssokit", Name: "logins_total",
			Help: "Logins by account, connection, protocol, result (success or failure) and Reason."},
			[]string{"account", "connection", "protocol", "result", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "ssokit", Name: "login_request_duration_seconds",
			Help: "Time the login handler took to answer a request that begins or completes a login.", Buckets: cfg.Buckets},
			[]string{"protocol", "step"}),
		refresh: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ssokit", Name: "metadata_refresh_failures_total",
			Help: "Failed refreshes of IdP metadata, discovery documents and JWKS."}, []string{"connection"}),
		store: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ssokit", Name: "store_errors_total",
			Help: "Logins refused because a store was full or unavailable."}, []string{"reason"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ssokit", Name: "warnings_total",
			Help: "Warning events by connection and Reason."}, []string{"connection", "reason"}),
	}
	cs := []prometheus.Collector{m.logins, m.latency, m.refresh, m.store, m.warnings}
	if cfg.Certificates != nil {
		cs = append(cs, certCollector{m})
	}
	for _, c := range cs {
		if err := cfg.Registerer.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, &sso.Error{Op: "metrics.New", Reason: sso.ReasonInvalidConfig, Detail: "the ssokit metrics are registered already; make one Metrics per Registerer", Err: err}
			}
			return nil, &sso.Error{Op: "metrics.New", Reason: sso.ReasonInvalidConfig, Detail: "registering the metrics failed", Err: err}
		}
	}
	return m, nil
}

// Event counts e. Its signature is sso.EventFunc's.
func (m *Metrics) Event(_ context.Context, e sso.Event) {
	switch e.Type {
	case sso.EventLoginSucceeded, sso.EventLoginFailed, sso.EventPasswordRefused:
		result := "success"
		if e.Type != sso.EventLoginSucceeded {
			result = "failure"
		}
		proto := string(e.Protocol)
		if proto == "" && (e.Attrs["method"] == "password" || e.Type == sso.EventPasswordRefused) {
			proto = "password"
		}
		acct := e.Account
		if m.cfg.NoAccountLabel {
			acct = ""
		}
		m.logins.WithLabelValues(acct, e.Connection, proto, result, string(e.Reason)).Inc()
		if e.Reason == sso.ReasonStoreFull || e.Reason == sso.ReasonUnavailable {
			m.store.WithLabelValues(string(e.Reason)).Inc()
		}
	case sso.EventMetadataRefreshError:
		m.refresh.WithLabelValues(e.Connection).Inc()
	case sso.EventWarning:
		m.warnings.WithLabelValues(e.Connection, string(e.Reason)).Inc()
	}
}

// Handler wraps the login handler h, observing how long it takes to answer
// the requests that begin or complete a login (see the package doc). It
// finds them by the handler's routes, wherever h is mounted.
func (m *Metrics) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto, step := classify(r)
		if step == "" {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		h.ServeHTTP(w, r)
		m.latency.WithLabelValues(proto, step).Observe(time.Since(start).Seconds())
	})
}

// classify names the protocol and step of a login handler request, or ""
// for the other routes.
func classify(r *http.Request) (proto, step string) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	n := len(parts)
	switch {
	case n >= 3 && parts[n-3] == "saml" && parts[n-1] == "acs":
		return "saml", "complete"
	case n >= 3 && parts[n-3] == "oidc" && parts[n-1] == "callback":
		return "oidc", "complete"
	case n >= 3 && parts[n-3] == "ldap" && parts[n-1] == "login" && r.Method == http.MethodPost:
		return "ldap", "complete"
	case n >= 2 && parts[n-2] == "login" && parts[n-1] == "start" && r.Method == http.MethodPost,
		n >= 3 && parts[n-3] == "login" && (parts[n-2] == "sso" || parts[n-2] == "test"):
		return "sso", "begin"
	case n >= 1 && parts[n-1] == "login" && r.Method == http.MethodPost:
		return "email", "begin"
	}
	return "", ""
}

// certCollector reports certificate_expiry_days at each scrape.
type certCollector struct{ m *Metrics }

var certDesc = prometheus.NewDesc("ssokit_certificate_expiry_days", "Days until the certificate expires; negative once expired.",
	[]string{"connection", "role"}, nil)

func (c certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certDesc }

func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.m.cfg.Now()
	// The earliest expiry per connection and role: what needs attention.
	type key struct{ conn, role string }
	soonest := map[key]time.Time{}
	for _, cert := range c.m.cfg.Certificates() {
		k := key{cert.Connection, cert.Role}
		if t, ok := soonest[k]; !ok || cert.NotAfter.Before(t) {
			soonest[k] = cert.NotAfter
		}
	}
	for k, t := range soonest {
		ch <- prometheus.MustNewConstMetric(certDesc, prometheus.GaugeValue, t.Sub(now).Hours()/24, k.conn, k.role)
	}
}
