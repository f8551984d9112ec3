package samltest

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
)

// Misbehavior switches make the IdP produce the broken or hostile responses
// a service provider must reject. The zero value is a well-behaved IdP.
type Misbehavior struct {
	// WrongKey signs with a key the SP does not trust (and puts its
	// certificate in KeyInfo).
	WrongKey bool
	// Unsigned sends neither a signed Response nor a signed assertion.
	Unsigned bool
	// Expired issues the response an hour ago, so every NotOnOrAfter has
	// passed.
	Expired bool
	// NotYetValid sets Conditions NotBefore an hour ahead.
	NotYetValid bool
	// WrongAudience, WrongRecipient, WrongDestination and WrongIssuer
	// address the response to another SP, ACS, or name another IdP.
	WrongAudience, WrongRecipient, WrongDestination, WrongIssuer bool
	// Replay makes the browser flow post the previous response for the
	// same service provider again instead of a new one. It has no effect
	// on Response.
	Replay bool
	// SignatureWrapping moves the signed assertion (or Response) out of
	// the way and puts a forged one, for another user, where a naive
	// parser looks (XML signature wrapping). See the XSW constants.
	SignatureWrapping XSW
	// TwoAssertions adds a second, unsigned assertion for another user
	// after the genuine one (CVE-2022-41912 style).
	TwoAssertions bool
	// CommentInNameID signs the NameID "<nameid>.attacker.test" and then
	// inserts an XML comment before ".attacker.test" (CVE-2017-11427
	// style): a parser that stops at the comment reads "<nameid>".
	CommentInNameID bool
	// SHA1 signs with RSA-SHA1 and SHA-1 digests.
	SHA1 bool
	// Doctype adds a DOCTYPE with an internal entity.
	Doctype bool
	// EmptyNameID sends an empty NameID.
	EmptyNameID bool
}

// XSW selects a signature wrapping variant.
type XSW int

// Signature wrapping variants. When only the Response is signed, every
// variant wraps the genuine Response inside a forged one.
const (
	// XSWNone sends no wrapping.
	XSWNone XSW = iota
	// XSWForgedFirst puts a forged assertion before the signed one.
	XSWForgedFirst
	// XSWSignedInsideForged moves the signed assertion inside the forged
	// assertion that takes its place.
	XSWSignedInsideForged
	// XSWSignedInExtensions moves the signed assertion into the
	// Response's Extensions and puts the forged one in its place.
	XSWSignedInExtensions
	// XSWSignedInSignatureObject hides the signed assertion in a
	// ds:Object of the forged assertion's copied Signature.
	XSWSignedInSignatureObject
)

// AllXSW lists the wrapping variants, for table tests.
var AllXSW = []XSW{XSWForgedFirst, XSWSignedInsideForged, XSWSignedInExtensions, XSWSignedInSignatureObject}

// String names the variant.
func (x XSW) String() string {
	switch x {
	case XSWNone:
		return "none"
	case XSWForgedFirst:
		return "forged-first"
	case XSWSignedInsideForged:
		return "signed-inside-forged"
	case XSWSignedInExtensions:
		return "signed-in-extensions"
	case XSWSignedInSignatureObject:
		return "signed-in-signature-object"
	}
	return fmt.Sprintf("XSW(%d)", int(x))
}

// Attribute is one SAML Attribute element.
type Attribute struct {
	// Name and FriendlyName are the Attribute's attributes.
	Name, FriendlyName string
	// Values become AttributeValue elements.
	Values []string
}

// ForgedNameID is the NameID of forged assertions (signature wrapping, two
// assertions).
const ForgedNameID = "admin@forged.test"

// AuthnContextPassword is the authentication context class the IdP states
// by default: a password over TLS.
const AuthnContextPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

// ResponseOptions describe one response built by Server.Response.
type ResponseOptions struct {
	// User is the email of a configured user. Required unless NameID is set.
	User string
	// NameID overrides the user's NameID (and may name a user that is not
	// configured).
	NameID string
	// NameIDFormat overrides the NameID format.
	NameIDFormat string
	// AuthnContext overrides the AuthnContextClassRef stated (the user's,
	// else AuthnContextPassword).
	AuthnContext string
	// Audience is the SP entity ID; required unless a single service
	// provider is registered.
	Audience string
	// ACSURL is the Destination and Recipient; the registered SP's ACS
	// URL when empty.
	ACSURL string
	// InResponseTo is the AuthnRequest ID answered; empty for an
	// IdP-initiated response.
	InResponseTo string
	// Attributes are added to (and override) the user's attributes.
	Attributes map[string][]string
	// ExtraAttributes are appended as they are, after the others, e.g. to
	// repeat a Name or set a FriendlyName.
	ExtraAttributes []Attribute
	// SessionIndex defaults to a random value.
	SessionIndex string
	// Encrypt encrypts the assertion for EncryptionCertificate, or for the
	// registered SP's encryption certificate.
	Encrypt bool
	// EncryptionCertificate is the SP certificate to encrypt for.
	EncryptionCertificate *x509.Certificate
	// OmitKeyInfo leaves KeyInfo out of signatures (the SP must then know
	// the certificate; tests rollover with several trusted certificates).
	OmitKeyInfo bool
	// Sign overrides the IdP's SignMode for this response.
	Sign SignMode
	// EditAssertion and EditResponse, when set, change the assertion and
	// the Response before they are signed, for cases no switch covers.
	EditAssertion, EditResponse func(*etree.Element)
	// Now overrides the IdP's clock for this response.
	Now time.Time
	// Misbehavior switches.
	Misbehavior
}

// Response builds a signed SAML response as the IdP's configuration and
// opts say, for unit tests and benchmarks that need no browser.
func (idp *Server) Response(opts ResponseOptions) ([]byte, error) {
	now := opts.Now
	if now.IsZero() {
		now = idp.now()
	}
	u, err := idp.userFor(opts)
	if err != nil {
		return nil, err
	}
	sp, err := idp.spFor(opts.Audience)
	if err != nil {
		return nil, err
	}
	acs := opts.ACSURL
	if acs == "" {
		acs = sp.ACSURL
	}
	if acs == "" {
		return nil, errors.New("samltest: no ACS URL: set ResponseOptions.ACSURL or register the service provider")
	}
	m := opts.Misbehavior
	issue := now
	if m.Expired {
		issue = now.Add(-time.Hour)
	}
	notBefore := issue.Add(-30 * time.Second)
	if m.NotYetValid {
		notBefore = now.Add(time.Hour)
	}
	notOnOrAfter := issue.Add(idp.cfg.AssertionLifetime)
	issuer := idp.EntityID()
	if m.WrongIssuer {
		issuer = "https://wrong-idp.example/metadata"
	}
	dest, recipient, audience := acs, acs, sp.EntityID
	if m.WrongDestination {
		dest = "https://wrong-sp.example/acs"
	}
	if m.WrongRecipient {
		recipient = "https://wrong-sp.example/acs"
	}
	if m.WrongAudience {
		audience = "https://wrong-sp.example/metadata"
	}
	nameID := u.NameID
	if m.CommentInNameID {
		nameID += ".attacker.test"
	}
	if m.EmptyNameID {
		nameID = ""
	}
	format := firstNonEmpty(opts.NameIDFormat, u.NameIDFormat, idp.cfg.NameIDFormat)
	sessionIndex := opts.SessionIndex
	if sessionIndex == "" {
		sessionIndex = newID()
	}
	attrs := u.attributes()
	for k, v := range opts.Attributes {
		attrs[k] = v
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", newID())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", xmlTime(issue))
	resp.CreateAttr("Destination", dest)
	if opts.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", opts.InResponseTo)
	}
	resp.CreateElement("saml:Issuer").SetText(issuer)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")

	a := assertion(assertionData{
		id: newID(), issue: issue, issuer: issuer, nameID: nameID, format: format, recipient: recipient,
		inResponseTo: opts.InResponseTo, notBefore: notBefore, notOnOrAfter: notOnOrAfter, audience: audience,
		sessionIndex: sessionIndex, attrs: attrs, extra: opts.ExtraAttributes,
		authnContext: firstNonEmpty(opts.AuthnContext, u.AuthnContext, AuthnContextPassword),
	})

	mode := opts.Sign
	if mode == 0 {
		mode = idp.cfg.Sign
	}
	if m.Unsigned {
		mode = signNone
	}
	signer := idp.signer(m.WrongKey, m.SHA1, opts.OmitKeyInfo)
	if opts.EditAssertion != nil {
		opts.EditAssertion(a)
	}
	if mode == SignAssertion || mode == SignBoth {
		if a, err = signElement(signer, a); err != nil {
			return nil, err
		}
	}
	if m.CommentInNameID {
		injectComment(a, u.NameID)
	}
	var encCert *x509.Certificate
	if opts.Encrypt {
		encCert = opts.EncryptionCertificate
		if encCert == nil {
			encCert = sp.EncryptionCertificate
		}
		if encCert == nil {
			return nil, errors.New("samltest: Encrypt needs ResponseOptions.EncryptionCertificate or a registered SP encryption certificate")
		}
	}
	wrapAssertion := m.SignatureWrapping != XSWNone && (mode == SignAssertion || mode == SignBoth)
	if encCert != nil && wrapAssertion {
		return nil, errors.New("samltest: Encrypt cannot be combined with SignatureWrapping")
	}
	if wrapAssertion {
		resp = wrapSigned(resp, a, m.SignatureWrapping, forgedAssertion(a))
	} else {
		resp.AddChild(a)
		if err := encryptIn(resp, encCert); err != nil {
			return nil, err
		}
	}
	if m.TwoAssertions {
		resp.AddChild(forgedAssertion(a))
	}
	if opts.EditResponse != nil {
		opts.EditResponse(resp)
	}
	if mode == SignResponse || mode == SignBoth {
		if resp, err = signElement(signer, resp); err != nil {
			return nil, err
		}
	}
	if m.SignatureWrapping != XSWNone && mode == SignResponse {
		resp = wrapResponse(resp, forgedAssertion(a))
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(resp)
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	if m.Doctype {
		out = bytes.Replace(out, []byte("?>"), []byte(`?><!DOCTYPE samlp:Response [<!ENTITY who "`+ForgedNameID+`">]>`), 1)
	}
	return out, nil
}

// EncodedResponse returns Response base64-encoded, as the SAMLResponse
// form value.
func (idp *Server) EncodedResponse(opts ResponseOptions) (string, error) {
	b, err := idp.Response(opts)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

type assertionData struct {
	id, issuer, nameID, format, recipient, inResponseTo, audience, sessionIndex string
	authnContext                                                                string
	issue, notBefore, notOnOrAfter                                              time.Time
	attrs                                                                       map[string][]string
	extra                                                                       []Attribute
}

func assertion(d assertionData) *etree.Element {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("ID", d.id)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", xmlTime(d.issue))
	a.CreateElement("saml:Issuer").SetText(d.issuer)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	if d.format != "" {
		nid.CreateAttr("Format", d.format)
	}
	nid.SetText(d.nameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if d.inResponseTo != "" {
		scd.CreateAttr("InResponseTo", d.inResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", xmlTime(d.notOnOrAfter))
	scd.CreateAttr("Recipient", d.recipient)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", xmlTime(d.notBefore))
	cond.CreateAttr("NotOnOrAfter", xmlTime(d.notOnOrAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(d.audience)
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", xmlTime(d.issue))
	as.CreateAttr("SessionIndex", d.sessionIndex)
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(d.authnContext)
	if len(d.attrs)+len(d.extra) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		names := make([]string, 0, len(d.attrs))
		for n := range d.attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			at := st.CreateElement("saml:Attribute")
			at.CreateAttr("Name", n)
			at.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:basic")
			for _, v := range d.attrs[n] {
				at.CreateElement("saml:AttributeValue").SetText(v)
			}
		}
		for _, x := range d.extra {
			at := st.CreateElement("saml:Attribute")
			at.CreateAttr("Name", x.Name)
			if x.FriendlyName != "" {
				at.CreateAttr("FriendlyName", x.FriendlyName)
			}
			for _, v := range x.Values {
				at.CreateElement("saml:AttributeValue").SetText(v)
			}
		}
	}
	return a
}

// forgedAssertion returns an unsigned copy of a for ForgedNameID, with a new
// ID.
func forgedAssertion(a *etree.Element) *etree.Element {
	f := a.Copy()
	f.CreateAttr("ID", newID())
	for _, c := range f.ChildElements() {
		if c.Tag == "Signature" {
			f.RemoveChild(c)
		}
	}
	if nid := f.FindElement("./Subject/NameID"); nid != nil {
		nid.SetText(ForgedNameID)
	}
	return f
}

// signer signs elements for the IdP.
type signer struct {
	ctx         *dsig.SigningContext
	omitKeyInfo bool
}

func (idp *Server) signer(wrongKey, sha1 bool, omitKeyInfo bool) signer {
	key, cert := idp.key, idp.cert
	if wrongKey {
		key, cert = idp.otherKey()
	}
	ctx, _ := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	alg := idp.cfg.SignatureAlgorithm
	if sha1 {
		alg = dsig.RSASHA1SignatureMethod
	}
	_ = ctx.SetSignatureMethod(alg)
	return signer{ctx: ctx, omitKeyInfo: omitKeyInfo}
}

// signElement returns el with an enveloped signature placed after its
// Issuer, where the SAML schema wants it.
func signElement(s signer, el *etree.Element) (*etree.Element, error) {
	sig, err := s.ctx.ConstructSignature(el, true)
	if err != nil {
		return nil, err
	}
	if s.omitKeyInfo {
		for _, c := range sig.ChildElements() {
			if c.Tag == "KeyInfo" {
				sig.RemoveChild(c)
			}
		}
	}
	out := el.Copy()
	at := 0
	for i, c := range out.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	out.InsertChildAt(at, sig)
	return out, nil
}

func injectComment(a *etree.Element, prefix string) {
	nid := a.FindElement("./Subject/NameID")
	if nid == nil {
		return
	}
	full := nid.Text()
	if !strings.HasPrefix(full, prefix) {
		return
	}
	nid.SetText(prefix)
	nid.AddChild(&etree.Comment{Data: " injected "})
	nid.AddChild(etree.NewText(full[len(prefix):]))
}

// wrapSigned places the signed assertion a and the forged assertion f in
// resp as the variant says.
func wrapSigned(resp, a *etree.Element, v XSW, f *etree.Element) *etree.Element {
	switch v {
	case XSWForgedFirst:
		resp.AddChild(f)
		resp.AddChild(a)
	case XSWSignedInsideForged:
		f.AddChild(a)
		resp.AddChild(f)
	case XSWSignedInExtensions:
		ext := etree.NewElement("samlp:Extensions")
		ext.AddChild(a)
		resp.InsertChildAt(1, ext) // after Issuer
		resp.AddChild(f)
	case XSWSignedInSignatureObject:
		var sig *etree.Element
		for _, c := range a.ChildElements() {
			if c.Tag == "Signature" {
				sig = c.Copy()
			}
		}
		if sig == nil {
			sig = etree.NewElement("ds:Signature")
			sig.CreateAttr("xmlns:ds", nsDSig)
		}
		obj := sig.CreateElement("ds:Object")
		obj.AddChild(a)
		f.InsertChildAt(1, sig)
		resp.AddChild(f)
	default:
		resp.AddChild(a)
	}
	return resp
}

// wrapResponse puts the signed Response inside a forged one that carries
// the forged assertion.
func wrapResponse(signed, f *etree.Element) *etree.Element {
	forged := signed.Copy()
	forged.CreateAttr("ID", newID())
	for _, c := range forged.ChildElements() {
		if c.Tag == "Signature" || c.Tag == "Assertion" || c.Tag == "EncryptedAssertion" {
			forged.RemoveChild(c)
		}
	}
	ext := etree.NewElement("samlp:Extensions")
	ext.AddChild(signed)
	forged.InsertChildAt(1, ext)
	forged.AddChild(f)
	return forged
}

// encryptIn replaces the Assertion child of resp with an EncryptedAssertion
// for cert (AES-256-GCM, key transported with RSA-OAEP).
func encryptIn(resp *etree.Element, cert *x509.Certificate) error {
	if cert == nil {
		return nil
	}
	var a *etree.Element
	for _, c := range resp.ChildElements() {
		if c.Tag == "Assertion" {
			a = c
		}
	}
	if a == nil {
		return errors.New("samltest: no assertion to encrypt")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("samltest: the encryption certificate has no RSA key")
	}
	plain, err := etree.NewDocumentWithRoot(a.Copy()).WriteToBytes()
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	nonce := make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	ct := append(nonce, gcm.Seal(nil, nonce, plain, nil)...)
	ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	if err != nil {
		return err
	}
	ea := etree.NewElement("saml:EncryptedAssertion")
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2009/xmlenc11#aes256-gcm")
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSig)
	eke := ki.CreateElement("xenc:EncryptedKey")
	em := eke.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
	em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1")
	eke.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(cert.Raw))
	eke.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ek))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))
	idx := a.Index()
	resp.RemoveChildAt(idx)
	resp.InsertChildAt(idx, ea)
	return nil
}

func xmlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func newID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("_%x", b)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// RespondTo answers the AuthnRequest of a Begin step as the IdP would
// after the user logged in, without a browser: it reads the request from
// the step (HTTP-Redirect URL or HTTP-POST form), fills InResponseTo,
// Audience and ACSURL in opts where empty, and returns the ACS URL and the
// form (SAMLResponse, RelayState) the browser would post there.
func (idp *Server) RespondTo(step *sso.Step, opts ResponseOptions) (string, url.Values, error) {
	var raw []byte
	var relay string
	switch step.Kind {
	case sso.StepRedirect:
		u, err := url.Parse(step.URL)
		if err != nil {
			return "", nil, err
		}
		relay = u.Query().Get("RelayState")
		b, err := base64.StdEncoding.DecodeString(u.Query().Get("SAMLRequest"))
		if err != nil {
			return "", nil, fmt.Errorf("samltest: SAMLRequest: %w", err)
		}
		if raw, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20)); err != nil {
			return "", nil, fmt.Errorf("samltest: SAMLRequest: %w", err)
		}
	case sso.StepPostForm:
		relay = step.Form.Get("RelayState")
		b, err := base64.StdEncoding.DecodeString(step.Form.Get("SAMLRequest"))
		if err != nil {
			return "", nil, fmt.Errorf("samltest: SAMLRequest: %w", err)
		}
		raw = b
	default:
		return "", nil, fmt.Errorf("samltest: a %s step carries no AuthnRequest", step.Kind)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil || doc.Root().Tag != "AuthnRequest" {
		return "", nil, errors.New("samltest: the step carries no AuthnRequest")
	}
	req := doc.Root()
	if opts.InResponseTo == "" {
		opts.InResponseTo = req.SelectAttrValue("ID", "")
	}
	if opts.Audience == "" {
		if e := req.SelectElement("Issuer"); e != nil {
			opts.Audience = strings.TrimSpace(e.Text())
		}
	}
	if opts.ACSURL == "" {
		opts.ACSURL = req.SelectAttrValue("AssertionConsumerServiceURL", "")
	}
	enc, err := idp.EncodedResponse(opts)
	if err != nil {
		return "", nil, err
	}
	form := url.Values{"SAMLResponse": {enc}}
	if relay != "" {
		form.Set("RelayState", relay)
	}
	return opts.ACSURL, form, nil
}
