package saml

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/ssokit/sso"
)

// certCheckInterval is how often Complete re-runs the certificate expiry
// check (New and every metadata change run it too).
const certCheckInterval = 24 * time.Hour

func (sp *ServiceProvider) emit(ctx context.Context, e sso.Event) {
	if sp.cfg.Events == nil {
		return
	}
	e.Account, e.Connection = sp.cfg.Account, sp.cfg.ID
	if e.Time.IsZero() {
		e.Time = sp.cfg.Now()
	}
	sp.cfg.Events.Emit(ctx, e)
}

// maybeCheckCertificates runs checkCertificates at most once per
// certCheckInterval.
func (sp *ServiceProvider) maybeCheckCertificates(ctx context.Context, now time.Time) {
	last := sp.lastCertCheck.Load()
	if now.Unix()-last < int64(certCheckInterval/time.Second) {
		return
	}
	if sp.lastCertCheck.CompareAndSwap(last, now.Unix()) {
		sp.checkCertificates(ctx, sp.state(), now, false)
	}
}

// CheckCertificates checks the IdP signing certificates and the SP
// certificates at the current time: for each one that expires within
// CertificateWarning it emits a certificate_expiring event, for each one
// already expired a certificate_expired event, and it returns the same
// findings as warnings. New, every metadata refresh and the first Complete
// of each day run this check already; a host whose connections can go
// days without a login calls it from a daily job, so that administrators
// still hear of an expiry ahead of it.
func (sp *ServiceProvider) CheckCertificates(ctx context.Context) []sso.Warning {
	return sp.checkCertificates(ctx, sp.state(), sp.cfg.Now(), false)
}

// checkCertificates is CheckCertificates for the IdP state st at now.
func (sp *ServiceProvider) checkCertificates(ctx context.Context, st *idpState, now time.Time, first bool) []sso.Warning {
	if first {
		sp.lastCertCheck.Store(now.Unix())
	}
	var found []sso.Warning
	check := func(role string, c *x509.Certificate) {
		var typ sso.EventType
		var detail string
		info := DescribeCertificate(c)
		days := fmt.Sprint(int(c.NotAfter.Sub(now).Hours() / 24))
		switch {
		case now.After(c.NotAfter):
			typ = sso.EventCertificateExpired
			detail = fmt.Sprintf("the %s certificate %s expired on %s", roleName(role), info, fmtTime(c.NotAfter))
		case c.NotAfter.Sub(now) < sp.cfg.CertificateWarning:
			typ = sso.EventCertificateExpiring
			detail = fmt.Sprintf("the %s certificate %s expires on %s (in %s days); plan the rotation", roleName(role), info, fmtTime(c.NotAfter), days)
		default:
			return
		}
		found = append(found, sso.Warning{Reason: sso.ReasonCertificateExpired, Detail: detail})
		sp.emit(ctx, sso.Event{Type: typ, Time: now, Reason: sso.ReasonCertificateExpired, Detail: detail, Attrs: map[string]string{
			"role":        role,
			"subject":     info.Subject,
			"sha256":      info.SHA256,
			"not_after":   fmtTime(c.NotAfter),
			"days_left":   days,
			"certificate": info.String(),
		}})
	}
	for _, tc := range st.certs {
		check("idp_signing", tc.cert)
	}
	for _, k := range sp.keys {
		if k.cert != nil {
			check("sp", k.cert)
		}
	}
	return found
}

func roleName(role string) string {
	if role == "sp" {
		return "service provider"
	}
	return "IdP signing"
}

// warn emits a warning event for a successful login; warnings about a
// certificate are rate-limited to one per certificate and hour.
func (sp *ServiceProvider) warn(ctx context.Context, w sso.Warning, now time.Time) {
	if sp.cfg.Events == nil {
		return
	}
	sp.warnedMu.Lock()
	last, ok := sp.warned[w.Detail]
	if ok && now.Sub(last) < time.Hour {
		sp.warnedMu.Unlock()
		return
	}
	if len(sp.warned) > 1000 {
		clear(sp.warned)
	}
	sp.warned[w.Detail] = now
	sp.warnedMu.Unlock()
	sp.emit(ctx, sso.Event{Type: sso.EventWarning, Time: now, Reason: w.Reason, Detail: w.Detail})
}
