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

// checkCertificates emits certificate_expiring for IdP signing and SP
// certificates that expire within CertificateWarning, and
// certificate_expired for those already expired.
func (sp *ServiceProvider) checkCertificates(ctx context.Context, st *idpState, now time.Time, first bool) {
	if first {
		sp.lastCertCheck.Store(now.Unix())
	}
	if sp.cfg.Events == nil {
		return
	}
	check := func(role string, c *x509.Certificate) {
		info := DescribeCertificate(c)
		attrs := map[string]string{
			"role":        role,
			"subject":     info.Subject,
			"sha256":      info.SHA256,
			"not_after":   fmtTime(c.NotAfter),
			"days_left":   fmt.Sprint(int(c.NotAfter.Sub(now).Hours() / 24)),
			"certificate": info.String(),
		}
		switch {
		case now.After(c.NotAfter):
			sp.emit(ctx, sso.Event{Type: sso.EventCertificateExpired, Time: now, Reason: sso.ReasonCertificateExpired, Attrs: attrs,
				Detail: fmt.Sprintf("the %s certificate %s expired on %s", roleName(role), info, fmtTime(c.NotAfter))})
		case c.NotAfter.Sub(now) < sp.cfg.CertificateWarning:
			sp.emit(ctx, sso.Event{Type: sso.EventCertificateExpiring, Time: now, Reason: sso.ReasonCertificateExpired, Attrs: attrs,
				Detail: fmt.Sprintf("the %s certificate %s expires on %s (in %s days); plan the rotation", roleName(role), info, fmtTime(c.NotAfter), attrs["days_left"])})
		}
	}
	for _, tc := range st.certs {
		check("idp_signing", tc.cert)
	}
	for _, k := range sp.keys {
		if k.cert != nil {
			check("sp", k.cert)
		}
	}
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
