package saml

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/defaults"
	"github.com/ssokit/sso/internal/flowstate"
	"github.com/ssokit/sso/internal/token"
)

// ServiceProvider is one SAML connection: this application as service
// provider towards one identity provider. It implements sso.Authenticator.
//
// Create it with New, which parses certificates, keys and metadata once.
// A ServiceProvider is safe for concurrent use. When it fetches metadata
// from a URL it refreshes it in the background until Close is called.
type ServiceProvider struct {
	cfg      Config
	maxBytes int // Config.MaxResponseBytes, for comparing with lengths
	attrs    sso.AttributeMap
	keys     []*spKey
	extra    []*x509.Certificate // IdPCertificates added to metadata ones
	store    sso.StateStore
	replay   sso.ReplayCache
	log      *slog.Logger
	clock    *dsig.Clock

	idp  atomic.Pointer[idpState]
	meta *metadataSource // when the metadata comes from a URL

	lastCertCheck atomic.Int64 // unix seconds of the last expiry check
	warnedMu      sync.Mutex
	warned        map[string]time.Time // expired-cert warnings, rate-limited

	closeOnce sync.Once
	stop      func()
}

// idpState is an immutable snapshot of what the SP knows about the IdP.
// Metadata refreshes replace it atomically.
type idpState struct {
	md    *IdPMetadata
	certs []*trustedCert
	// fromMetadata are the signing certificates the metadata lists (without
	// IdPCertificates), for the hold-back rule of refreshes.
	fromMetadata []*x509.Certificate
	sso          Endpoint // chosen SSO endpoint, Location empty when none
	slo          Endpoint // SLO endpoint, Location empty when none
	gosp         *saml2.SAMLServiceProvider
	fetched      time.Time
	metadata     []byte // raw metadata, when from XML or URL
}

// trustedCert is a trusted IdP signing certificate with a validation
// context that trusts only it.
type trustedCert struct {
	cert *x509.Certificate
	info CertificateInfo
	rsa  *rsa.PublicKey
	vctx *dsig.ValidationContext
}

// New checks cfg, parses its certificates, keys and metadata (fetching the
// metadata URL, if any, with ctx) and returns the connection. Errors match
// sso.ReasonInvalidConfig, sso.ReasonMetadataInvalid or
// sso.ReasonMetadataFetchFailed and name what to fix.
func New(ctx context.Context, cfg Config) (*ServiceProvider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	defaults.Set(&cfg.ClockSkew, DefaultClockSkew)
	defaults.Set(&cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	defaults.Set(&cfg.FlowLifetime, DefaultFlowLifetime)
	defaults.Set(&cfg.CertificateWarning, DefaultCertificateWarning)
	defaults.Set(&cfg.MetadataMaxBytes, DefaultMetadataMaxBytes)
	defaults.Set(&cfg.Timeout, DefaultTimeout)
	defaults.Set(&cfg.MetadataMaxAge, DefaultMetadataMaxAge)
	defaults.Set(&cfg.MetadataMinRefetchInterval, DefaultMetadataMinRefetchInterval)
	sp := &ServiceProvider{
		cfg:      cfg,
		maxBytes: int(min(cfg.MaxResponseBytes, math.MaxInt32)),
		attrs:    cfg.Attributes.Or(DefaultAttributes),
		store:    cfg.StateStore,
		replay:   cfg.ReplayCache,
		log:      cfg.Logger,
		warned:   map[string]time.Time{},
		stop:     func() {},
	}
	sp.cfg.IdPCertificates = nil
	sp.cfg.IdPMetadataXML = nil
	sp.cfg.SPKeys = nil
	if sp.store == nil {
		sp.store = sso.NewMemoryStateStore(sso.MemoryOptions{Now: cfg.Now})
	}
	if sp.replay == nil {
		sp.replay = sso.NewMemoryReplayCache(sso.MemoryOptions{Now: cfg.Now})
	}
	if sp.log == nil {
		sp.log = slog.Default()
	}
	sp.clock = dsig.NewFakeClock(nowClock{clockwork.NewRealClock(), cfg.Now})
	for i, kp := range cfg.SPKeys {
		k, err := parseKeyPair(kp, i)
		if err != nil {
			return nil, withConn(err, cfg.ID)
		}
		sp.keys = append(sp.keys, k)
	}
	if len(sp.keys) > 0 && sp.currentKey(cfg.Now()) == nil && (cfg.SignAuthnRequests || cfg.SLOURL != "") {
		return nil, &sso.Error{Op: "saml.New", Reason: sso.ReasonInvalidConfig, Connection: cfg.ID,
			Detail: "no key in SPKeys has a Certificate and a UseFrom that has passed, which signing and the SP metadata need"}
	}
	for i, b := range cfg.IdPCertificates {
		certs, err := ParseCertificates(b)
		if err != nil {
			e := err.(*sso.Error)
			e.Detail = fmt.Sprintf("IdPCertificates[%d]: %s", i, e.Detail)
			return nil, withConn(e, cfg.ID)
		}
		sp.extra = append(sp.extra, certs...)
	}

	var st *idpState
	var err error
	switch {
	case len(cfg.IdPMetadataXML) > 0:
		st, err = sp.stateFromMetadata(cfg.IdPMetadataXML)
	case cfg.IdPMetadataURL != "":
		st, err = sp.startMetadataURL(ctx)
	default:
		st, err = sp.newState(&IdPMetadata{EntityID: cfg.IdPEntityID}, nil)
	}
	if err != nil {
		return nil, withConn(err, cfg.ID)
	}
	sp.idp.Store(st)
	sp.checkCertificates(ctx, st, cfg.Now(), true)
	return sp, nil
}

func withConn(err error, id string) error {
	if e, ok := err.(*sso.Error); ok && e.Connection == "" {
		e.Connection = id
		if e.Op == "" {
			e.Op = "saml.New"
		}
	}
	return err
}

// nowClock adapts Config.Now to the clock interface of gosaml2/goxmldsig.
type nowClock struct {
	clockwork.Clock
	now func() time.Time
}

func (c nowClock) Now() time.Time { return c.now() }

// stateFromMetadata parses metadata into a new idpState.
func (sp *ServiceProvider) stateFromMetadata(data []byte) (*idpState, error) {
	md, err := ParseMetadata(data, sp.cfg.IdPEntityID)
	if err != nil {
		return nil, err
	}
	return sp.newState(md, data)
}

// newState builds an idpState from md, completed by the IdP* fields of the
// Config set by hand.
func (sp *ServiceProvider) newState(md *IdPMetadata, raw []byte) (*idpState, error) {
	c := &sp.cfg
	if c.IdPSSOURL != "" {
		b := c.IdPSSOBinding
		if b == "" {
			b = BindingHTTPRedirect
		}
		md.SSO = append([]Endpoint{{Binding: b, Location: c.IdPSSOURL}}, md.SSO...)
	}
	if c.IdPSLOURL != "" {
		md.SLO = append([]Endpoint{{Binding: BindingHTTPRedirect, Location: c.IdPSLOURL}}, md.SLO...)
	}
	st := &idpState{md: md, metadata: raw, fetched: c.Now(), fromMetadata: md.SigningCertificates}
	seen := map[string]bool{}
	for _, cert := range append(append([]*x509.Certificate{}, md.SigningCertificates...), sp.extra...) {
		if seen[string(cert.Raw)] {
			continue
		}
		seen[string(cert.Raw)] = true
		st.certs = append(st.certs, sp.newTrustedCert(cert))
	}
	if len(st.certs) == 0 {
		return nil, &sso.Error{Op: "saml.New", Reason: sso.ReasonInvalidConfig, Detail: "no IdP signing certificate: the metadata lists none and IdPCertificates is empty"}
	}
	md.SigningCertificates = nil
	for _, tc := range st.certs {
		md.SigningCertificates = append(md.SigningCertificates, tc.cert)
	}
	prefs := []string{BindingHTTPRedirect, BindingHTTPPost}
	if c.RequestBinding == BindingHTTPPost {
		prefs = []string{BindingHTTPPost, BindingHTTPRedirect}
	}
	if c.RequestBinding != "" && len(md.SSO) > 0 {
		if _, ok := endpoint(md.SSO, c.RequestBinding); !ok {
			return nil, &sso.Error{Op: "saml.New", Reason: sso.ReasonMetadataInvalid, Detail: "the IdP offers no SingleSignOnService with the configured RequestBinding " + c.RequestBinding}
		}
	}
	st.sso, _ = endpoint(md.SSO, prefs...)
	st.slo, _ = endpoint(md.SLO, BindingHTTPRedirect, BindingHTTPPost)
	if md.WantAuthnRequestsSigned && !c.SignAuthnRequests {
		const detail = "the IdP wants signed AuthnRequests (WantAuthnRequestsSigned) but SignAuthnRequests is off; it may refuse logins"
		sp.emit(context.Background(), sso.Event{Type: sso.EventWarning, Reason: sso.ReasonSigningKeyMissing, Detail: detail})
		// Also where operators look first.
		sp.log.Warn("saml: "+detail, "connection", c.ID, "reason", string(sso.ReasonSigningKeyMissing))
	}

	gosp := &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      st.sso.Location,
		IdentityProviderSSOBinding:  st.sso.Binding,
		IdentityProviderIssuer:      md.EntityID,
		AssertionConsumerServiceURL: c.ACSURL,
		ServiceProviderIssuer:       c.EntityID,
		ServiceProviderSLOURL:       c.SLOURL,
		SignAuthnRequests:           c.SignAuthnRequests,
		SignAuthnRequestsAlgorithm:  dsig.RSASHA256SignatureMethod,
		NameIdFormat:                c.NameIDFormat,
		AudienceURI:                 c.EntityID,
		Clock:                       sp.clock,
	}
	if len(c.RequestedAuthnContext) > 0 {
		gosp.RequestedAuthnContext = &saml2.RequestedAuthnContext{Comparison: cmp.Or(c.RequestedAuthnComparison, "exact"), Contexts: c.RequestedAuthnContext}
	}
	st.gosp = gosp
	return st, nil
}

// newTrustedCert prepares the validation context for one certificate. The
// context's copy of the certificate has its validity dates opened, so that
// goxmldsig does not reject an expired certificate by itself: ssokit checks
// the dates after the signature verifies and applies the connection's
// choice (warn by default, or RejectExpiredCertificates). The copy keeps the
// certificate's bytes and key, so only this exact certificate matches.
func (sp *ServiceProvider) newTrustedCert(c *x509.Certificate) *trustedCert {
	open := *c
	open.NotBefore = time.Time{}
	open.NotAfter = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	tc := &trustedCert{cert: c, info: DescribeCertificate(c)}
	tc.rsa, _ = c.PublicKey.(*rsa.PublicKey)
	tc.vctx = &dsig.ValidationContext{
		CertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{&open}},
		IdAttribute:      dsig.DefaultIdAttr,
		Clock:            sp.clock,
	}
	return tc
}

func (sp *ServiceProvider) state() *idpState {
	if sp.meta != nil {
		return sp.meta.src.Current()
	}
	return sp.idp.Load()
}

// ID returns the connection ID.
func (sp *ServiceProvider) ID() string { return sp.cfg.ID }

// Protocol returns sso.ProtocolSAML.
func (sp *ServiceProvider) Protocol() sso.Protocol { return sso.ProtocolSAML }

// EntityID returns the service provider's entity ID.
func (sp *ServiceProvider) EntityID() string { return sp.cfg.EntityID }

// ACSURL returns the Assertion Consumer Service URL.
func (sp *ServiceProvider) ACSURL() string { return sp.cfg.ACSURL }

// Issuer returns the IdP's entity ID, as its current metadata gives it.
func (sp *ServiceProvider) Issuer() string { return sp.state().md.EntityID }

// Endpoints returns the service provider's configured URLs: entity ID,
// ACS and SLO (Metadata is the entity ID when it is an http(s) URL).
func (sp *ServiceProvider) Endpoints() sso.Endpoints {
	e := sso.Endpoints{EntityID: sp.cfg.EntityID, ACS: sp.cfg.ACSURL, SLO: sp.cfg.SLOURL}
	if strings.HasPrefix(sp.cfg.EntityID, "https://") || strings.HasPrefix(sp.cfg.EntityID, "http://") {
		e.Metadata = sp.cfg.EntityID
	}
	return e
}

// Debug reports Config.Debug.
func (sp *ServiceProvider) Debug() bool { return sp.cfg.Debug }

var _ sso.ConnectionInfo = (*ServiceProvider)(nil)

// Metadata returns the service provider's metadata XML for the IdP
// administrator: entity ID, ACS (HTTP-POST), WantAssertionsSigned,
// NameIDFormat, the encryption certificate when an SP key is configured,
// the signing certificate when requests or logouts are signed, and the
// single logout service when SLOURL is set.
func (sp *ServiceProvider) Metadata() ([]byte, error) {
	b, err := sp.spMetadata()
	if err != nil {
		return nil, &sso.Error{Op: "saml.Metadata", Reason: sso.ReasonInternal, Connection: sp.cfg.ID, Err: err}
	}
	return b, nil
}

// signsMessages reports whether the SP signs AuthnRequests or logout
// requests, so that its signing certificate belongs in its metadata.
func (sp *ServiceProvider) signsMessages() bool {
	return sp.currentKey(sp.cfg.Now()) != nil && (sp.cfg.SignAuthnRequests || sp.cfg.SLOURL != "")
}

// IdPInfo describes the IdP as the connection currently knows it.
type IdPInfo struct {
	// EntityID is the IdP's entity ID, the expected Issuer.
	EntityID string `json:"entity_id"`
	// SSO is the endpoint Begin sends AuthnRequests to (empty Location
	// when the connection only accepts IdP-initiated logins).
	SSO Endpoint `json:"sso"`
	// SLO is the single logout endpoint, nil when the IdP has none.
	SLO *Endpoint `json:"slo,omitempty"`
	// Certificates are the trusted signing certificates.
	Certificates []CertificateInfo `json:"certificates"`
	// MetadataURL and Fetched tell where and when the metadata came from.
	MetadataURL string    `json:"metadata_url,omitempty"`
	Fetched     time.Time `json:"fetched"`
	// NextRefresh, RefreshFailures and RefreshError describe the
	// background refresh of metadata from a URL.
	NextRefresh     time.Time `json:"next_refresh,omitempty"`
	RefreshFailures int       `json:"refresh_failures,omitempty"`
	RefreshError    string    `json:"refresh_error,omitempty"`
	// HeldBack is metadata fetched from the URL that was kept out because
	// it replaces every signing certificate in use at once (see
	// ForceMetadataRefresh), nil when there is none: what an administrator
	// compares with Certificates before accepting it.
	HeldBack *HeldBackMetadata `json:"held_back,omitempty"`
}

// HeldBackMetadata is metadata the connection refused to apply on its own.
type HeldBackMetadata struct {
	// EntityID and Certificates are what the held-back metadata states.
	EntityID     string            `json:"entity_id"`
	Certificates []CertificateInfo `json:"certificates"`
	// Since is when it was fetched; Detail why it was held back.
	Since  time.Time `json:"since"`
	Detail string    `json:"detail"`
}

// IdP returns what the connection currently knows about the IdP.
func (sp *ServiceProvider) IdP() IdPInfo {
	st := sp.state()
	info := IdPInfo{EntityID: st.md.EntityID, SSO: st.sso, MetadataURL: sp.cfg.IdPMetadataURL, Fetched: st.fetched}
	if st.slo.Location != "" {
		e := st.slo
		info.SLO = &e
	}
	for _, tc := range st.certs {
		info.Certificates = append(info.Certificates, tc.info)
	}
	if sp.meta != nil {
		status := sp.meta.src.Status()
		info.NextRefresh, info.RefreshFailures = status.Next, status.Failures
		if status.Err != nil {
			info.RefreshError = status.Err.Error()
		}
		if hb := sp.meta.heldBack.Load(); hb != nil {
			h := &HeldBackMetadata{EntityID: hb.st.md.EntityID, Since: hb.at, Detail: hb.detail}
			for _, tc := range hb.st.certs {
				h.Certificates = append(h.Certificates, tc.info)
			}
			info.HeldBack = h
		}
	}
	return info
}

// Close stops background metadata refreshes. It is safe to call more than
// once; the ServiceProvider keeps working with the metadata it has.
func (sp *ServiceProvider) Close() error {
	sp.closeOnce.Do(func() { sp.stop() })
	return nil
}

func (sp *ServiceProvider) errorf(op string, reason sso.Reason, detail string, cause error) *sso.Error {
	return &sso.Error{Op: op, Reason: reason, Connection: sp.cfg.ID, Detail: detail, Err: cause}
}

// Begin starts an SP-initiated login. It keeps the AuthnRequest ID in a
// pending login bound to the browser (req.Flows, or the StateStore under
// req.Binding) and returns a redirect (HTTP-Redirect binding) or an
// auto-submitting form (HTTP-POST binding) to the IdP, with the pending
// login's handle as RelayState.
func (sp *ServiceProvider) Begin(ctx context.Context, req sso.BeginRequest) (*sso.Step, error) {
	const op = "saml.Begin"
	var returnTo string
	if req.ReturnTo != "" {
		p, ok := sso.SafeReturnPath(req.ReturnTo)
		if !ok {
			return nil, sp.errorf(op, sso.ReasonInvalidRequest, fmt.Sprintf("ReturnTo %q is not a same-site relative path", req.ReturnTo), nil)
		}
		returnTo = p
	}
	st := sp.state()
	if st.sso.Location == "" {
		return nil, sp.errorf(op, sso.ReasonInvalidConfig, "the IdP has no single sign-on URL (set IdPSSOURL or use metadata); this connection can only accept IdP-initiated logins", nil)
	}
	now := sp.cfg.Now()
	hint := ""
	if sp.cfg.SendLoginHint {
		hint = req.LoginHint
	}
	// A signed POST-binding request is built as an element tree, which the
	// signature needs; every other request is written straight to bytes.
	var xmlReq []byte
	var requestID string
	if signPost := st.sso.Binding == BindingHTTPPost && sp.cfg.SignAuthnRequests; signPost {
		doc, err := st.gosp.BuildAuthRequestDocumentNoSig()
		if err != nil {
			return nil, sp.errorf(op, sso.ReasonInternal, "building the AuthnRequest failed", err)
		}
		root := doc.Root()
		requestID = root.SelectAttrValue("ID", "")
		if req.ForceAuthn {
			root.CreateAttr("ForceAuthn", "true")
		}
		if hint != "" {
			subj := root.CreateElement("saml:Subject")
			subj.CreateElement("saml:NameID").SetText(hint)
			root.RemoveChild(subj)
			root.InsertChildAt(1, subj) // after Issuer, as the schema orders it
		}
		signed, err := signXML(sp.currentKey(now), root)
		if err != nil {
			return nil, sp.errorf(op, sso.ReasonInternal, "signing the AuthnRequest failed", err)
		}
		doc.SetRoot(signed)
		if xmlReq, err = doc.WriteToBytes(); err != nil {
			return nil, sp.errorf(op, sso.ReasonInternal, "writing the AuthnRequest failed", err)
		}
	} else {
		var err error
		if requestID, err = sp.newRequestID(); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		b.Grow(1024)
		st.writeAuthnRequest(&b, authnRequest{id: requestID, now: now, forceAuthn: req.ForceAuthn, loginHint: hint})
		xmlReq = b.Bytes()
	}
	flowID, err := token.Random(sp.cfg.Rand, 24)
	if err != nil {
		return nil, err
	}
	flow := &sso.Flow{
		ID:         flowID,
		Connection: sp.cfg.ID,
		RequestID:  requestID,
		ReturnTo:   returnTo,
		LoginHint:  req.LoginHint,
		Data:       req.FlowData,
		Created:    now,
		Expires:    now.Add(sp.cfg.FlowLifetime),
	}
	if err := flowstate.Of(req.Flows, sp.store, req.Binding).Save(ctx, flow); err != nil {
		return nil, err
	}
	step := &sso.Step{State: flowID, Expires: flow.Expires}
	if st.sso.Binding == BindingHTTPPost {
		step.Kind = sso.StepPostForm
		step.URL = st.sso.Location
		step.Form = map[string][]string{"SAMLRequest": {base64.StdEncoding.EncodeToString(xmlReq)}, "RelayState": {flowID}}
	} else {
		var key *spKey
		if sp.cfg.SignAuthnRequests {
			key = sp.currentKey(now)
		}
		u, err := redirectURLBytes(st.sso.Location, "SAMLRequest", xmlReq, flowID, key)
		if err != nil {
			return nil, sp.errorf(op, sso.ReasonInternal, "building the redirect URL failed", err)
		}
		step.Kind = sso.StepRedirect
		step.URL = u
	}
	if sp.cfg.Debug {
		sp.log.Info("saml: AuthnRequest", "connection", sp.cfg.ID, "request_id", requestID, "binding", st.sso.Binding, "url", st.sso.Location, "xml", string(xmlReq))
	}
	return step, nil
}

var _ sso.Authenticator = (*ServiceProvider)(nil)
