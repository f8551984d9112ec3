package saml

import (
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Severity grades a Problem.
type Severity string

// Severities.
const (
	// SeverityError: the IdP cannot be used as described.
	SeverityError Severity = "error"
	// SeverityWarning: it works, but an administrator should act.
	SeverityWarning Severity = "warning"
	// SeverityInfo: a fact worth knowing.
	SeverityInfo Severity = "info"
)

// Problem is one finding of CheckMetadata.
type Problem struct {
	// Severity grades the problem.
	Severity Severity `json:"severity"`
	// Reason classifies it, e.g. sso.ReasonMetadataInvalid.
	Reason sso.Reason `json:"reason"`
	// Detail says what is wrong and what to do.
	Detail string `json:"detail"`
}

type problems []Problem

func (ps *problems) add(s Severity, r sso.Reason, detail string) {
	*ps = append(*ps, Problem{Severity: s, Reason: r, Detail: detail})
}

// Report is the compatibility report of IdP metadata: what ssokit found in
// it and what is wrong or missing.
type Report struct {
	// EntityID is the IdP's entity ID.
	EntityID string `json:"entity_id"`
	// SSO and SLO are the single sign-on and logout endpoints.
	SSO []Endpoint `json:"sso"`
	SLO []Endpoint `json:"slo,omitempty"`
	// SigningCertificates describes the signing certificates.
	SigningCertificates []CertificateInfo `json:"signing_certificates"`
	// NameIDFormats are the NameID formats the IdP offers.
	NameIDFormats []string `json:"nameid_formats"`
	// WantAuthnRequestsSigned is the IdP's wish for signed requests.
	WantAuthnRequestsSigned bool `json:"want_authn_requests_signed"`
	// ValidUntil and CacheDuration are the metadata's own validity and
	// caching period, when stated.
	ValidUntil    *time.Time `json:"valid_until,omitempty"`
	CacheDuration string     `json:"cache_duration,omitempty"`
	// Problems lists the findings, errors first.
	Problems []Problem `json:"problems"`
}

// OK reports whether the metadata has no error-severity problem.
func (r *Report) OK() bool { return r.Err() == nil }

// Err returns the first error-severity problem as an *sso.Error, or nil.
func (r *Report) Err() error {
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			return &sso.Error{Op: "saml.CheckMetadata", Reason: p.Reason, Detail: p.Detail}
		}
	}
	return nil
}

// CheckOptions adjusts CheckMetadata. The zero value checks at the current
// time for a service provider that does not sign its requests.
type CheckOptions struct {
	// Now is the time to check certificate validity at; time.Now when zero.
	Now time.Time
	// EntityID picks one IdP out of metadata that describes several.
	EntityID string
	// SignsRequests says the service provider will sign its AuthnRequests;
	// without it, an IdP that wants signed requests is an error.
	SignsRequests bool
	// NameIDFormat is the format the service provider will ask for; a
	// warning is added when the IdP does not offer it.
	NameIDFormat string
}

// CheckMetadata checks IdP metadata for use with ssokit before any
// connection exists (e.g. when an administrator pastes or uploads it) and
// names exactly what is wrong or missing: not XML, no identity provider, no
// SSO endpoint with a usable binding, no signing certificate, an expired or
// weak certificate, NameID formats that give no stable subject, signed
// requests wanted but not configured, no single logout.
func CheckMetadata(data []byte, opts CheckOptions) *Report {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	md, list := parseMetadata(data, opts.EntityID, now)
	ps := problems(list)
	r := &Report{}
	if md != nil {
		r.EntityID = md.EntityID
		r.SSO = md.SSO
		r.SLO = md.SLO
		r.NameIDFormats = md.NameIDFormats
		r.WantAuthnRequestsSigned = md.WantAuthnRequestsSigned
		for _, c := range md.SigningCertificates {
			r.SigningCertificates = append(r.SigningCertificates, DescribeCertificate(c))
		}
		if !md.ValidUntil.IsZero() {
			t := md.ValidUntil.UTC()
			r.ValidUntil = &t
		}
		if md.CacheDuration > 0 {
			r.CacheDuration = md.CacheDuration.String()
		}
		if md.WantAuthnRequestsSigned && !opts.SignsRequests {
			ps.add(SeverityError, sso.ReasonSigningKeyMissing, "the IdP wants signed AuthnRequests (WantAuthnRequestsSigned=\"true\"): configure an SP key and enable request signing")
		}
		if opts.NameIDFormat != "" && len(md.NameIDFormats) > 0 && !contains(md.NameIDFormats, opts.NameIDFormat) {
			ps.add(SeverityWarning, sso.ReasonMetadataInvalid, "the IdP does not list the NameID format "+opts.NameIDFormat+" (offered: "+strings.Join(md.NameIDFormats, ", ")+")")
		}
		if len(md.NameIDFormats) == 0 {
			ps.add(SeverityInfo, sso.ReasonMetadataInvalid, "the metadata lists no NameIDFormat; the IdP chooses the format")
		}
		if len(md.SLO) == 0 {
			ps.add(SeverityInfo, sso.ReasonLogoutNotSupported, "no SingleLogoutService: logout ends only the application's session (configure a logout redirect URL if the IdP has a logout page)")
		}
	}
	// Errors first, then warnings, then information; stable within each.
	for _, s := range []Severity{SeverityError, SeverityWarning, SeverityInfo} {
		for _, p := range ps {
			if p.Severity == s {
				r.Problems = append(r.Problems, p)
			}
		}
	}
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	if r.NameIDFormats == nil {
		r.NameIDFormats = []string{}
	}
	if r.SigningCertificates == nil {
		r.SigningCertificates = []CertificateInfo{}
	}
	if r.SSO == nil {
		r.SSO = []Endpoint{}
	}
	return r
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
