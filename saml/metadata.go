package saml

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
)

// SAML binding URIs.
const (
	BindingHTTPPost     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
)

// NameID formats.
const (
	NameIDFormatEmailAddress = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDFormatPersistent   = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDFormatTransient    = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	NameIDFormatUnspecified  = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// Endpoint is a SAML service endpoint from metadata.
type Endpoint struct {
	// Binding is the binding URI, e.g. BindingHTTPRedirect.
	Binding string `json:"binding"`
	// Location is the endpoint URL.
	Location string `json:"location"`
	// ResponseLocation, when set, receives responses instead of Location.
	ResponseLocation string `json:"response_location,omitempty"`
}

// IdPMetadata is what ssokit uses from an identity provider's metadata.
type IdPMetadata struct {
	// EntityID is the IdP's entity ID, the expected Issuer of its responses.
	EntityID string
	// SSO and SLO are the SingleSignOnService and SingleLogoutService
	// endpoints.
	SSO, SLO []Endpoint
	// SigningCertificates are the certificates of KeyDescriptors with
	// use="signing" or no use.
	SigningCertificates []*x509.Certificate
	// NameIDFormats are the NameID formats the IdP offers.
	NameIDFormats []string
	// WantAuthnRequestsSigned is the IdP's request for signed AuthnRequests.
	WantAuthnRequestsSigned bool
	// ValidUntil is when the metadata expires; zero when not stated.
	ValidUntil time.Time
	// CacheDuration is how long it may be cached; zero when not stated.
	CacheDuration time.Duration
}

// endpoint returns the first endpoint with one of the bindings, in the
// order of preference given.
func endpoint(eps []Endpoint, bindings ...string) (Endpoint, bool) {
	for _, b := range bindings {
		for _, e := range eps {
			if e.Binding == b && e.Location != "" {
				return e, true
			}
		}
	}
	return Endpoint{}, false
}

// ParseMetadata reads IdP metadata: an EntityDescriptor with an
// IDPSSODescriptor, or an EntitiesDescriptor holding exactly one (or, when
// entityID is not empty, the one with that entity ID). It returns an error
// matching sso.ReasonMetadataInvalid naming the first problem that makes the
// metadata unusable; use CheckMetadata for the full list.
func ParseMetadata(data []byte, entityID string) (*IdPMetadata, error) {
	md, problems := parseMetadata(data, entityID, time.Time{})
	for _, p := range problems {
		if p.Severity == SeverityError {
			return nil, &sso.Error{Op: "saml.ParseMetadata", Reason: p.Reason, Detail: p.Detail}
		}
	}
	return md, nil
}

// parseMetadata parses what it can and lists the problems it finds. Checks
// that depend on the time (certificate expiry) run only when now is not zero.
func parseMetadata(data []byte, entityID string, now time.Time) (*IdPMetadata, []Problem) {
	var ps problems
	doc, err := parseXML(data)
	if err != nil {
		var se structureError
		if err == errDoctype {
			ps.add(SeverityError, sso.ReasonDoctypeForbidden, "the metadata contains a DOCTYPE declaration; remove it")
		} else if errors.As(err, &se) {
			ps.add(SeverityError, sso.ReasonMetadataInvalid, "the metadata "+string(se)+"; a metadata document is exactly one root element, remove the rest")
		} else {
			ps.add(SeverityError, sso.ReasonMetadataInvalid, "the metadata is not well-formed XML: "+err.Error())
		}
		return nil, ps
	}
	root := doc.Root()
	var entities []*etree.Element
	var validUntil time.Time
	var cache time.Duration
	var visit func(el *etree.Element, depth int)
	visit = func(el *etree.Element, depth int) {
		if depth > 8 {
			return
		}
		vu, cd := metadataValidity(el, &ps)
		validUntil = earliest(validUntil, vu)
		if cd > 0 && (cache == 0 || cd < cache) {
			cache = cd
		}
		switch {
		case is(el, nsMetadata, "EntityDescriptor"):
			if child(el, nsMetadata, "IDPSSODescriptor") != nil {
				entities = append(entities, el)
			}
		case is(el, nsMetadata, "EntitiesDescriptor"):
			for _, c := range el.ChildElements() {
				if is(c, nsMetadata, "EntityDescriptor") || is(c, nsMetadata, "EntitiesDescriptor") {
					visit(c, depth+1)
				}
			}
		}
	}
	if !is(root, nsMetadata, "EntityDescriptor") && !is(root, nsMetadata, "EntitiesDescriptor") {
		ps.add(SeverityError, sso.ReasonMetadataInvalid, fmt.Sprintf("the root element is <%s>, not a SAML metadata EntityDescriptor (namespace %s)", root.FullTag(), nsMetadata))
		return nil, ps
	}
	visit(root, 0)
	var ent *etree.Element
	switch {
	case entityID != "":
		for _, e := range entities {
			if attr(e, "entityID") == entityID {
				ent = e
			}
		}
		if ent == nil {
			ps.add(SeverityError, sso.ReasonMetadataInvalid, fmt.Sprintf("the metadata has no identity provider with entityID %q", entityID))
			return nil, ps
		}
	case len(entities) == 1:
		ent = entities[0]
	case len(entities) == 0:
		ps.add(SeverityError, sso.ReasonMetadataInvalid, "the metadata has no IDPSSODescriptor: it describes no identity provider (is it the service provider's metadata?)")
		return nil, ps
	default:
		ids := make([]string, 0, len(entities))
		for _, e := range entities {
			ids = append(ids, attr(e, "entityID"))
		}
		ps.add(SeverityError, sso.ReasonMetadataInvalid, fmt.Sprintf("the metadata describes %d identity providers (%s); configure the entity ID to pick one", len(entities), strings.Join(ids, ", ")))
		return nil, ps
	}

	md := &IdPMetadata{EntityID: strings.TrimSpace(attr(ent, "entityID")), ValidUntil: validUntil, CacheDuration: cache}
	if md.EntityID == "" {
		ps.add(SeverityError, sso.ReasonMetadataInvalid, "the EntityDescriptor has no entityID")
	}
	var idp *etree.Element
	for _, d := range children(ent, nsMetadata, "IDPSSODescriptor") {
		if strings.Contains(attr(d, "protocolSupportEnumeration"), nsProtocol) {
			idp = d
			break
		}
	}
	if idp == nil {
		ps.add(SeverityError, sso.ReasonMetadataInvalid, "the IDPSSODescriptor does not list the SAML 2.0 protocol ("+nsProtocol+") in protocolSupportEnumeration")
		return nil, ps
	}
	md.WantAuthnRequestsSigned = attr(idp, "WantAuthnRequestsSigned") == "true" || attr(idp, "WantAuthnRequestsSigned") == "1"
	for _, e := range children(idp, nsMetadata, "SingleSignOnService") {
		md.SSO = append(md.SSO, Endpoint{Binding: attr(e, "Binding"), Location: strings.TrimSpace(attr(e, "Location"))})
	}
	for _, e := range children(idp, nsMetadata, "SingleLogoutService") {
		md.SLO = append(md.SLO, Endpoint{Binding: attr(e, "Binding"), Location: strings.TrimSpace(attr(e, "Location")), ResponseLocation: strings.TrimSpace(attr(e, "ResponseLocation"))})
	}
	for _, e := range children(idp, nsMetadata, "NameIDFormat") {
		if f := text(e); f != "" {
			md.NameIDFormats = append(md.NameIDFormats, f)
		}
	}
	for i, kd := range children(idp, nsMetadata, "KeyDescriptor") {
		use := attr(kd, "use")
		if use != "" && use != "signing" {
			continue
		}
		var found bool
		walk(kd, func(x *etree.Element) {
			if !is(x, nsDSig, "X509Certificate") {
				return
			}
			found = true
			der, err := base64.StdEncoding.DecodeString(stripSpace(text(x)))
			if err != nil {
				ps.add(SeverityError, sso.ReasonMetadataInvalid, fmt.Sprintf("KeyDescriptor %d: the X509Certificate is not valid base64", i+1))
				return
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				ps.add(SeverityError, sso.ReasonMetadataInvalid, fmt.Sprintf("KeyDescriptor %d: the X509Certificate does not parse: %v", i+1, err))
				return
			}
			for _, have := range md.SigningCertificates {
				if have.Equal(c) {
					return
				}
			}
			md.SigningCertificates = append(md.SigningCertificates, c)
		})
		if !found {
			ps.add(SeverityWarning, sso.ReasonMetadataInvalid, fmt.Sprintf("KeyDescriptor %d has no X509Certificate; ssokit needs certificates, not bare keys", i+1))
		}
	}
	checkIdP(md, now, &ps)
	return md, ps
}

// checkIdP adds the problems of a parsed IdP description (from metadata or
// configured by hand).
func checkIdP(md *IdPMetadata, now time.Time, ps *problems) {
	if len(md.SSO) == 0 {
		ps.add(SeverityError, sso.ReasonMetadataInvalid, "no SingleSignOnService: the metadata does not say where to send users to log in")
	} else {
		_, post := endpoint(md.SSO, BindingHTTPPost)
		_, redir := endpoint(md.SSO, BindingHTTPRedirect)
		switch {
		case !post && !redir:
			var bs []string
			for _, e := range md.SSO {
				bs = append(bs, e.Binding)
			}
			ps.add(SeverityError, sso.ReasonMetadataInvalid, "no SingleSignOnService with the HTTP-POST or HTTP-Redirect binding (offered: "+strings.Join(bs, ", ")+")")
		case !post:
			ps.add(SeverityWarning, sso.ReasonMetadataInvalid, "no SingleSignOnService with the HTTP-POST binding; requests will use HTTP-Redirect")
		case !redir:
			ps.add(SeverityInfo, sso.ReasonMetadataInvalid, "no SingleSignOnService with the HTTP-Redirect binding; requests will use HTTP-POST")
		}
		for _, e := range md.SSO {
			if !strings.HasPrefix(e.Location, "https://") && !strings.HasPrefix(e.Location, "http://") {
				ps.add(SeverityError, sso.ReasonMetadataInvalid, fmt.Sprintf("the SingleSignOnService location %q is not an http(s) URL", e.Location))
			}
		}
	}
	if len(md.SigningCertificates) == 0 {
		ps.add(SeverityError, sso.ReasonMetadataInvalid, "no signing certificate: add a KeyDescriptor (use=\"signing\") with an X509Certificate, or configure the certificate by hand")
	}
	if !now.IsZero() {
		for _, c := range md.SigningCertificates {
			ci := DescribeCertificate(c)
			switch {
			case now.After(c.NotAfter):
				ps.add(SeverityWarning, sso.ReasonCertificateExpired, "signing certificate "+ci.String()+" has expired; responses signed with it are accepted with a warning unless the connection rejects expired certificates. Ask the IdP administrator to rotate it")
			case now.Before(c.NotBefore):
				ps.add(SeverityWarning, sso.ReasonCertificateExpired, "signing certificate "+ci.String()+" is not valid yet")
			case c.NotAfter.Sub(now) < DefaultCertificateWarning:
				ps.add(SeverityWarning, sso.ReasonCertificateExpired, fmt.Sprintf("signing certificate %s expires in %d days", ci, int(c.NotAfter.Sub(now).Hours()/24)))
			}
			if k := ci.KeyType; strings.HasPrefix(k, "RSA-") {
				if n, _ := strconv.Atoi(strings.TrimPrefix(k, "RSA-")); n < 2048 {
					ps.add(SeverityWarning, sso.ReasonAlgorithmNotAllowed, "signing certificate "+ci.String()+" has a weak "+k+" key")
				}
			}
		}
		if !md.ValidUntil.IsZero() && now.After(md.ValidUntil) {
			ps.add(SeverityError, sso.ReasonMetadataInvalid, "the metadata expired at "+md.ValidUntil.UTC().Format(time.RFC3339)+" (validUntil); get a fresh copy")
		}
	}
	if len(md.NameIDFormats) > 0 {
		ok := false
		for _, f := range md.NameIDFormats {
			switch f {
			case NameIDFormatEmailAddress, NameIDFormatPersistent, NameIDFormatUnspecified:
				ok = true
			}
		}
		if !ok {
			ps.add(SeverityWarning, sso.ReasonMetadataInvalid, "the IdP offers only NameID formats "+strings.Join(md.NameIDFormats, ", ")+"; a stable subject needs emailAddress, persistent or unspecified, or a configured subject attribute")
		}
	}
}

func metadataValidity(el *etree.Element, ps *problems) (time.Time, time.Duration) {
	var vu time.Time
	if s := attr(el, "validUntil"); s != "" {
		t, ok := parseTime(s)
		if !ok {
			ps.add(SeverityWarning, sso.ReasonMetadataInvalid, fmt.Sprintf("validUntil %q is not a date-time; ignored", s))
		}
		vu = t
	}
	var cd time.Duration
	if s := attr(el, "cacheDuration"); s != "" {
		d, ok := parseDuration(s)
		if !ok {
			ps.add(SeverityWarning, sso.ReasonMetadataInvalid, fmt.Sprintf("cacheDuration %q is not an xs:duration; ignored", s))
		}
		cd = d
	}
	return vu, cd
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// parseDuration parses an xs:duration such as "PT1H" or "P1DT12H". Years
// count 365 days and months 30. A duration too long for a time.Duration
// (about 292 years) is the longest one.
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, false
	}
	var d time.Duration
	inTime := false
	num := ""
	for _, r := range s[1:] {
		switch {
		case r == 'T':
			inTime = true
		case (r >= '0' && r <= '9') || r == '.':
			num += string(r)
		default:
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || num == "" {
				return 0, false
			}
			num = ""
			var unit time.Duration
			switch {
			case r == 'Y' && !inTime:
				unit = 365 * 24 * time.Hour
			case r == 'M' && !inTime:
				unit = 30 * 24 * time.Hour
			case r == 'W' && !inTime:
				unit = 7 * 24 * time.Hour
			case r == 'D' && !inTime:
				unit = 24 * time.Hour
			case r == 'H' && inTime:
				unit = time.Hour
			case r == 'M' && inTime:
				unit = time.Minute
			case r == 'S' && inTime:
				unit = time.Second
			default:
				return 0, false
			}
			if v := f * float64(unit); v >= float64(math.MaxInt64-d) {
				d = math.MaxInt64
			} else {
				d += time.Duration(v)
			}
		}
	}
	return d, num == ""
}

// spMetadata writes the service provider's metadata.
func (sp *ServiceProvider) spMetadata() ([]byte, error) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ed := doc.CreateElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", nsDSig)
	ed.CreateAttr("entityID", sp.cfg.EntityID)
	d := ed.CreateElement("md:SPSSODescriptor")
	d.CreateAttr("AuthnRequestsSigned", strconv.FormatBool(sp.cfg.SignAuthnRequests))
	d.CreateAttr("WantAssertionsSigned", "true")
	d.CreateAttr("protocolSupportEnumeration", nsProtocol)
	keyDescriptor := func(use string, k *spKey) *etree.Element {
		kd := d.CreateElement("md:KeyDescriptor")
		kd.CreateAttr("use", use)
		kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
			SetText(base64.StdEncoding.EncodeToString(k.cert.Raw))
		return kd
	}
	// The current key, then those that take over later (KeyPair.UseFrom),
	// so that IdPs reading the metadata learn them ahead.
	now := sp.cfg.Now()
	if sp.signsMessages() {
		for _, k := range sp.publishedKeys(now, false) {
			keyDescriptor("signing", k)
		}
	}
	for _, k := range sp.publishedKeys(now, true) {
		kd := keyDescriptor("encryption", k)
		for _, alg := range []string{encAES256GCM, encAES128GCM, encAES256CBC, encAES128CBC} {
			kd.CreateElement("md:EncryptionMethod").CreateAttr("Algorithm", alg)
		}
	}
	if sp.cfg.SLOURL != "" {
		for _, b := range []string{BindingHTTPRedirect, BindingHTTPPost} {
			e := d.CreateElement("md:SingleLogoutService")
			e.CreateAttr("Binding", b)
			e.CreateAttr("Location", sp.cfg.SLOURL)
		}
	}
	formats := []string{sp.cfg.NameIDFormat}
	if sp.cfg.NameIDFormat == "" {
		formats = []string{NameIDFormatEmailAddress, NameIDFormatPersistent, NameIDFormatUnspecified}
	}
	for _, f := range formats {
		d.CreateElement("md:NameIDFormat").SetText(f)
	}
	acs := d.CreateElement("md:AssertionConsumerService")
	acs.CreateAttr("Binding", BindingHTTPPost)
	acs.CreateAttr("Location", sp.cfg.ACSURL)
	acs.CreateAttr("index", "0")
	acs.CreateAttr("isDefault", "true")
	doc.Indent(2)
	return doc.WriteToBytes()
}

// XML encryption algorithms the SP can decrypt.
const (
	encAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	encAES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	encAES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	encAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
)
