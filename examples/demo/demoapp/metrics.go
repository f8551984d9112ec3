package demoapp

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/metrics"
	"github.com/ssokit/sso/saml"
)

// startMetrics builds the demo's Prometheus registry: ssokit's metrics fed
// by the same events the audit log gets, the certificates of the SAML
// connections, and the Go runtime's.
func (a *App) startMetrics() error {
	a.promReg = prometheus.NewRegistry()
	a.promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(metrics.Config{Registerer: a.promReg, Certificates: a.certificates})
	if err != nil {
		return err
	}
	a.metrics = m
	audit := a.events
	a.events = func(ctx context.Context, e sso.Event) {
		audit(ctx, e)
		m.Event(ctx, e)
	}
	return nil
}

// certificates lists the SAML connections' IdP and SP certificates.
func (a *App) certificates() []metrics.Certificate {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []metrics.Certificate
	for id, ci := range a.connOf {
		sp, ok := ci.auth.(*saml.ServiceProvider)
		if !ok {
			continue
		}
		for _, c := range sp.IdP().Certificates {
			out = append(out, metrics.Certificate{Connection: id, Role: "idp_signing", NotAfter: c.NotAfter})
		}
	}
	return out
}

// metricsHandler serves GET /metrics in the Prometheus text format.
func (a *App) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.promReg, promhttp.HandlerOpts{})
}
