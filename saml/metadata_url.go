package saml

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/refresh"
	"github.com/ssokit/sso/internal/safehttp"
)

// Bounds of the metadata refresh schedule. cacheDuration, validUntil and
// HTTP caching headers propose when to refresh; the result is kept within
// these bounds so that a document cannot ask to be fetched constantly, and
// a change is seen within a day whatever the document claims.
const (
	minMetadataRefresh = 5 * time.Minute
	maxMetadataRefresh = 24 * time.Hour
)

// metadataSource keeps the metadata fetched from Config.IdPMetadataURL.
type metadataSource struct {
	src      *refresh.Source[*idpState]
	force    atomic.Bool // the next refresh applies even without overlap
	heldBack atomic.Pointer[heldBack]
}

// heldBack is fetched metadata the hold-back rule kept out.
type heldBack struct {
	st     *idpState
	at     time.Time
	detail string
}

func (c *Config) safeOptions() (safehttp.Options, error) {
	roots, err := safehttp.RootsFromPEM(c.CACertPEM)
	if err != nil {
		return safehttp.Options{}, &sso.Error{Op: "saml.New", Reason: sso.ReasonInvalidConfig, Connection: c.ID, Detail: "CACertPEM holds no PEM certificate"}
	}
	return safehttp.Options{
		InsecureAllowHTTP:           c.InsecureAllowHTTP,
		InsecureAllowPrivateNetwork: c.InsecureAllowPrivateNetwork,
		MaxBytes:                    c.MetadataMaxBytes,
		Timeout:                     c.Timeout,
		RootCAs:                     roots,
		HTTPOptionName:              "InsecureAllowHTTP",
		PrivateNetworkOptionName:    "InsecureAllowPrivateNetwork",
	}, nil
}

// startMetadataURL fetches the IdP metadata from cfg.IdPMetadataURL and
// starts its background refresh.
func (sp *ServiceProvider) startMetadataURL(ctx context.Context) (*idpState, error) {
	c := &sp.cfg
	client := c.HTTPClient
	if client == nil {
		opts, err := c.safeOptions()
		if err != nil {
			return nil, err
		}
		client = safehttp.NewClient(opts)
	}
	ms := &metadataSource{}
	fetch := func(ctx context.Context) (*idpState, time.Time, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.IdPMetadataURL, nil)
		if err != nil {
			return nil, time.Time{}, sp.errorf("saml.New", sso.ReasonInvalidConfig, fmt.Sprintf("IdPMetadataURL %q is not a valid URL", c.IdPMetadataURL), err)
		}
		req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
		resp, err := safehttp.Do(client, req, c.MetadataMaxBytes)
		if err != nil {
			return nil, time.Time{}, withConn(err, c.ID)
		}
		st, err := sp.stateFromMetadata(resp.Body)
		if err != nil {
			var e *sso.Error
			if errors.As(err, &e) {
				e.Detail = "the metadata at " + c.IdPMetadataURL + " is unusable: " + e.Detail
			}
			return nil, time.Time{}, withConn(err, c.ID)
		}
		now := c.Now()
		md := st.md
		if !md.ValidUntil.IsZero() && !now.Before(md.ValidUntil) {
			return nil, time.Time{}, sp.errorf("saml.New", sso.ReasonMetadataInvalid, "the metadata at "+c.IdPMetadataURL+" expired at "+fmtTime(md.ValidUntil)+" (validUntil); the IdP publishes a stale document", nil)
		}
		var at time.Time
		switch {
		case md.CacheDuration > 0:
			at = now.Add(md.CacheDuration)
		default:
			at = resp.CacheUntil(now)
		}
		if !md.ValidUntil.IsZero() {
			// Refresh well before the document expires.
			early := md.ValidUntil.Add(-md.ValidUntil.Sub(now) / 4)
			if at.IsZero() || early.Before(at) {
				at = early
			}
		}
		return st, at, nil
	}
	src, err := refresh.New(ctx, refresh.Config[*idpState]{
		Fetch:        fetch,
		Accept:       func(old, new *idpState) error { return sp.acceptMetadata(ms, old, new) },
		Interval:     c.MetadataMaxAge,
		MinInterval:  min(minMetadataRefresh, c.MetadataMaxAge),
		MaxInterval:  max(maxMetadataRefresh, c.MetadataMaxAge),
		FetchTimeout: c.Timeout,
		Now:          c.Now,
		OnEvent:      func(ev refresh.Event) { sp.metadataEvent(ms, ev) },
	})
	if err != nil {
		return nil, err
	}
	ms.src = src
	sp.meta = ms
	sp.stop = func() { src.Close() }
	return src.Current(), nil
}

// acceptMetadata is the hold-back rule: refreshed metadata that shares no
// signing certificate with the metadata in use would make every response
// signed as today fail. That is what a broken or hijacked metadata URL
// looks like, and a correct rotation publishes the next certificate next to
// the current one first. Such metadata is held back (and reported) until
// an administrator applies it with ForceMetadataRefresh.
func (sp *ServiceProvider) acceptMetadata(ms *metadataSource, old, new *idpState) error {
	if ms.force.Load() {
		ms.heldBack.Store(nil)
		return nil
	}
	for _, a := range old.fromMetadata {
		for _, b := range new.fromMetadata {
			if a.Equal(b) {
				ms.heldBack.Store(nil)
				return nil
			}
		}
	}
	err := &sso.Error{Op: "saml.RefreshMetadata", Reason: sso.ReasonMetadataInvalid, Connection: sp.cfg.ID,
		Detail: "the refreshed metadata replaces every signing certificate in use (" + describeAll(old.fromMetadata) + ") with " + describeAll(new.fromMetadata) +
			" and keeps none of them, so logins signed as today would fail: it is held back and the current metadata stays in use. " +
			"If the IdP really rotated its certificate, apply it with ForceMetadataRefresh; otherwise check the metadata URL",
		Expected: fingerprints(old.fromMetadata), Actual: fingerprints(new.fromMetadata)}
	ms.heldBack.Store(&heldBack{st: new, at: sp.cfg.Now(), detail: err.Detail})
	return err
}

func describeAll(cs []*x509.Certificate) string {
	var s []string
	for _, c := range cs {
		s = append(s, DescribeCertificate(c).String())
	}
	if len(s) == 0 {
		return "no certificate"
	}
	return strings.Join(s, ", ")
}

func fingerprints(cs []*x509.Certificate) string {
	var s []string
	for _, c := range cs {
		s = append(s, DescribeCertificate(c).SHA256)
	}
	return strings.Join(s, " ")
}

func (sp *ServiceProvider) metadataEvent(ms *metadataSource, ev refresh.Event) {
	ctx := context.Background()
	attrs := map[string]string{"url": sp.cfg.IdPMetadataURL, "next": fmtTime(ev.Next), "failures": fmt.Sprint(ev.Failures)}
	switch ev.Kind {
	case refresh.EventRefreshed:
		st := ms.src.Current()
		attrs["certificates"] = fingerprints(st.fromMetadata)
		sp.emit(ctx, sso.Event{Type: sso.EventMetadataRefreshed, Time: ev.Time, Attrs: attrs,
			Detail: "IdP metadata refreshed from " + sp.cfg.IdPMetadataURL})
		sp.checkCertificates(ctx, st, ev.Time, false)
	case refresh.EventHeldBack:
		sp.emit(ctx, sso.Event{Type: sso.EventMetadataHeldBack, Time: ev.Time, Reason: sso.ReasonOf(ev.Err), Attrs: attrs, Detail: errDetail(ev.Err)})
		// Also where operators look first: only an administrator can
		// resolve it (ForceMetadataRefresh).
		sp.log.Warn("saml: IdP metadata held back", "connection", sp.cfg.ID, "url", sp.cfg.IdPMetadataURL, "reason", string(sso.ReasonOf(ev.Err)), "detail", errDetail(ev.Err))
	case refresh.EventFailed:
		detail := "refreshing the IdP metadata failed; the last good copy stays in use: " + errDetail(ev.Err)
		sp.emit(ctx, sso.Event{Type: sso.EventMetadataRefreshError, Time: ev.Time, Reason: sso.ReasonOf(ev.Err), Attrs: attrs, Detail: detail})
		sp.log.Warn("saml: IdP metadata refresh failed", "connection", sp.cfg.ID, "url", sp.cfg.IdPMetadataURL, "reason", string(sso.ReasonOf(ev.Err)), "failures", ev.Failures, "detail", detail)
	}
}

func errDetail(err error) string {
	var e *sso.Error
	if errors.As(err, &e) {
		return e.Detail
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// RefreshMetadata fetches the IdP metadata from its URL now (joining a
// refresh already running) and applies it, unless it is held back: then
// the error matches sso.ReasonMetadataInvalid and says why. It returns an
// error matching sso.ReasonInvalidConfig when the connection has no
// metadata URL.
func (sp *ServiceProvider) RefreshMetadata(ctx context.Context) error {
	if sp.meta == nil {
		return sp.errorf("saml.RefreshMetadata", sso.ReasonInvalidConfig, "the connection has no IdPMetadataURL", nil)
	}
	return sp.meta.src.Refresh(ctx)
}

// ForceMetadataRefresh is RefreshMetadata without the hold-back rule: for
// an administrator who confirmed that the IdP replaced all its signing
// certificates at once.
func (sp *ServiceProvider) ForceMetadataRefresh(ctx context.Context) error {
	if sp.meta == nil {
		return sp.errorf("saml.ForceMetadataRefresh", sso.ReasonInvalidConfig, "the connection has no IdPMetadataURL", nil)
	}
	sp.meta.force.Store(true)
	defer sp.meta.force.Store(false)
	return sp.meta.src.Refresh(ctx)
}
