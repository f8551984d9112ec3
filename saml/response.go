package saml

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/ssokit/sso"
)

// How ssokit checks a response, and what it adds to gosaml2 v0.11.0.
//
// The per-login path tokenizes the XML once: the same encoding/xml tokens
// build the etree tree and pass the round-trip check of
// mattermost/xml-roundtrip-validator (parseChecked, xmlparse.go). Each
// signature is verified with goxmldsig's rules, canonicalising the signed
// element where it is into the digest (verifyInPlace, xmldsig.go), and
// every value is then read from the verified elements. The reference path
// (etree's parse, then the validator; goxmldsig's Validate, which copies
// the element and parses its canonical bytes again, as gosaml2 does) is
// kept for whatever the one-pass path leaves to it, and the differential
// fuzz targets hold the one-pass path to it (onepass_test.go).
//
// gosaml2 v0.11.0 ValidateEncodedResponse/RetrieveAssertionInfo leaves to
// the caller, or gets wrong for ssokit's purposes:
//   - InResponseTo: not checked at all.
//   - Replay: not checked.
//   - Audience, NotBefore and Conditions NotOnOrAfter: only reported as
//     WarningInfo flags; no clock skew anywhere.
//   - Exactly one assertion: it returns Assertions[0] and ignores the rest.
//   - Empty NameID: accepted.
//   - DOCTYPE: not refused before parsing; body size: only a cap on
//     DEFLATE output (and it inflates any body that fails to parse).
//   - A second root element, or text, a comment or a processing
//     instruction after the root: ignored (etree reads them, and only the
//     first root element is used).
//   - Signature algorithms: goxmldsig accepts RSA-SHA1 and SHA-1 digests.
//   - A signed Response without Destination: accepted.
//   - Certificate dates: goxmldsig rejects an expired certificate with no
//     way to accept it with a warning.
//   - Rollover: with two trusted certificates, a signature without KeyInfo
//     fails ("Missing x509 Element"); a KeyInfo holding only a key value
//     (RSAKeyValue) fails.
//   - NameID Format: not exposed.
//   - A Response without Issuer: rejected, although SAML core makes it
//     optional (the assertion's Issuer is what counts).
// ssokit keeps gosaml2's rules on what a signature covers: a verified
// Response signature covers the whole Response; otherwise only the
// assertion's own signature counts and Response-level values are untrusted.

// checkedResponse is the content of a response that passed every check
// that does not depend on the pending login.
type checkedResponse struct {
	responseSigned bool
	respIRT        string // Response InResponseTo (trusted only if responseSigned)
	scdIRT         string // SubjectConfirmationData InResponseTo (trusted)
	issuer         string
	assertionID    string
	nameID         string
	nameIDFormat   string
	replayUntil    time.Time
	sessionIndex   string
	authnInstant   time.Time
	authnContext   string // AuthnContextClassRef
	attrs          map[string][]string
	friendly       map[string]string // FriendlyName -> Name
	signers        []*trustedCert
	encrypted      bool
	warnings       []sso.Warning
}

// checker runs the checks of one response against one idpState.
type checker struct {
	sp  *ServiceProvider
	st  *idpState
	now time.Time
	op  string // operation named in errors; opComplete when empty

	// onePass selects parseChecked and verifyInPlace over the reference
	// path (parseLegacy and goxmldsig's Validate).
	onePass bool
	// inPlace is the canonicalisation of the last signature verified in
	// place (nil when goxmldsig verified it); outer that of the verified
	// Response around the assertion.
	inPlace, outer *c14nParams
}

// onePassXML switches the response, logout request and logout response
// checks to the one-pass path.
var onePassXML = true

const opComplete = "saml.Complete"

func (c *checker) fail(reason sso.Reason, detail string, cause error) *sso.Error {
	op := c.op
	if op == "" {
		op = opComplete
	}
	return c.sp.errorf(op, reason, detail, cause)
}

func (c *checker) mismatch(reason sso.Reason, detail, expected, actual string) *sso.Error {
	e := c.fail(reason, detail, nil)
	e.Expected, e.Actual = expected, actual
	return e
}

const (
	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	cmBearer      = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
)

// decodeResponse caps and base64-decodes a SAMLResponse form value.
func (sp *ServiceProvider) decodeResponse(op, enc string) ([]byte, error) {
	if len(enc) > base64.StdEncoding.EncodedLen(sp.maxBytes)+sp.maxBytes/32 {
		return nil, sp.errorf(op, sso.ReasonRequestTooLarge, fmt.Sprintf("the SAMLResponse is larger than %d bytes (MaxResponseBytes)", sp.maxBytes), nil)
	}
	raw, err := base64.StdEncoding.DecodeString(stripSpace(enc))
	if err != nil {
		return nil, sp.errorf(op, sso.ReasonMalformed, "the SAMLResponse is not valid base64", err)
	}
	if len(raw) > sp.maxBytes {
		return nil, sp.errorf(op, sso.ReasonRequestTooLarge, fmt.Sprintf("the SAMLResponse is larger than %d bytes (MaxResponseBytes)", sp.maxBytes), nil)
	}
	return raw, nil
}

// parseMessage refuses DOCTYPEs, parses raw and applies the round-trip
// check that guards against encoding/xml parser-confusion attacks: in one
// pass (parseChecked), or with etree and then the validator (parseLegacy).
func (c *checker) parseMessage(raw []byte, what string) (*etree.Element, error) {
	parse := parseLegacy
	if c.onePass {
		parse = parseChecked
	}
	doc, err := parse(raw)
	var se structureError
	var rt roundTripError
	switch {
	case err == errDoctype:
		return nil, c.fail(sso.ReasonDoctypeForbidden, "the "+what+" contains a DOCTYPE declaration (refused: entity expansion attacks)", nil)
	case errors.As(err, &se):
		return nil, c.fail(sso.ReasonMalformed, "the "+what+" "+string(se)+"; a SAML message must be one root element and nothing else (what follows would be ignored here, but another parser might read it), so it is refused", nil)
	case errors.As(err, &rt):
		return nil, c.fail(sso.ReasonMalformed, "the "+what+" XML does not survive a parse round trip (possible parser-confusion attack)", rt.err)
	case err != nil:
		return nil, c.fail(sso.ReasonMalformed, "the "+what+" is not well-formed XML", err)
	}
	return doc.Root(), nil
}

// verify checks a decoded response. A response the one-pass path leaves
// to the reference path is checked again by it from the start.
func (c *checker) verify(raw []byte) (*checkedResponse, error) {
	if c.onePass {
		res, err := c.verifyOnce(raw)
		if err != errFallback {
			return res, err
		}
		c.onePass, c.outer = false, nil
	}
	return c.verifyOnce(raw)
}

func (c *checker) verifyOnce(raw []byte) (*checkedResponse, error) {
	root, err := c.parseMessage(raw, "response")
	if err != nil {
		return nil, err
	}
	if !is(root, nsProtocol, "Response") {
		return nil, c.fail(sso.ReasonMalformed, fmt.Sprintf("the message is <%s>, not a SAML 2.0 Response", root.FullTag()), nil)
	}
	// One pass over the untrusted tree: the algorithms of every signature,
	// and where the assertions are.
	var assertions []*etree.Element
	var algErr error
	walk(root, func(el *etree.Element) {
		switch {
		case is(el, nsAssertion, "Assertion"), is(el, nsAssertion, "EncryptedAssertion"):
			assertions = append(assertions, el)
		case algErr == nil && is(el, nsDSig, "Signature"):
			algErr = c.checkAlgorithms(el)
		}
	})
	if v := attr(root, "Version"); v != "2.0" {
		return nil, c.mismatch(sso.ReasonMalformed, "the Response is not SAML 2.0", "2.0", v)
	}
	if err := c.checkStatus(root); err != nil {
		return nil, err
	}
	if algErr != nil {
		return nil, algErr
	}
	switch {
	case len(assertions) == 0:
		return nil, c.fail(sso.ReasonAssertionCount, "the Response contains no assertion", nil)
	case len(assertions) > 1:
		return nil, c.fail(sso.ReasonAssertionCount, fmt.Sprintf("the Response contains %d assertions; exactly one is accepted (several assertions are how signature-wrapping attacks hide a forged one)", len(assertions)), nil)
	case assertions[0].Parent() != root:
		return nil, c.fail(sso.ReasonAssertionCount, "the assertion is not a direct child of the Response (signature wrapping?)", nil)
	}

	res := &checkedResponse{}
	resp := root
	signed, signer, err := c.verifySignature(root, "Response")
	switch {
	case err == errUnsigned:
	case err != nil:
		return nil, err
	default:
		resp, res.responseSigned = signed, true
		res.signers = append(res.signers, signer)
		// Verified where it is: the assertion is read from the same tree,
		// where goxmldsig would read it from the canonical bytes.
		c.outer = c.inPlace
	}

	var a *etree.Element
	for _, ch := range resp.ChildElements() {
		if is(ch, nsAssertion, "Assertion") || is(ch, nsAssertion, "EncryptedAssertion") {
			a = ch
		}
	}
	if a == nil {
		return nil, c.fail(sso.ReasonAssertionCount, "the signed Response contains no assertion", nil)
	}
	owned := false
	if a.Tag == "EncryptedAssertion" {
		if a, err = c.decrypt(a); err != nil {
			return nil, err
		}
		res.encrypted, owned = true, true
	}
	if findSignatureFor(a) != nil {
		if !owned && !c.onePass {
			if a, err = detach(a); err != nil {
				return nil, c.fail(sso.ReasonMalformed, "the assertion's namespaces do not resolve", err)
			}
		}
		verified, signer, err := c.verifySignature(a, "Assertion")
		if err != nil {
			return nil, err
		}
		a = verified
		res.signers = append(res.signers, signer)
	} else if !res.responseSigned {
		return nil, c.fail(sso.ReasonSignatureMissing, "neither the Response nor the assertion is signed by the IdP", nil)
	}
	if err := c.checkContent(res, resp, a); err != nil {
		return nil, err
	}
	if err := c.checkSigners(res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkStatus rejects responses whose top-level status is not Success. The
// status may be unsigned; it can only turn a response into a rejection.
func (c *checker) checkStatus(resp *etree.Element) error {
	st := child(resp, nsProtocol, "Status")
	sc := child(st, nsProtocol, "StatusCode")
	if sc == nil {
		return c.fail(sso.ReasonMalformed, "the Response has no Status/StatusCode", nil)
	}
	v := attr(sc, "Value")
	if v == statusSuccess {
		return nil
	}
	sub := attr(child(sc, nsProtocol, "StatusCode"), "Value")
	msg := text(child(st, nsProtocol, "StatusMessage"))
	detail := "the IdP refused the login with status " + v
	if sub != "" {
		detail += " / " + sub
	}
	if msg != "" {
		detail += ": " + msg
	}
	reason := sso.ReasonIdPError
	if strings.HasSuffix(sub, ":NoPassive") {
		reason = sso.ReasonAuthenticationRequired
	}
	return c.mismatch(reason, detail, statusSuccess, v)
}

// Allowed signature and digest algorithms.
var (
	strongSignature = map[string]bool{
		dsig.RSASHA256SignatureMethod: true, dsig.RSASHA384SignatureMethod: true, dsig.RSASHA512SignatureMethod: true,
		dsig.ECDSASHA256SignatureMethod: true, dsig.ECDSASHA384SignatureMethod: true, dsig.ECDSASHA512SignatureMethod: true,
	}
	sha1Signature = map[string]bool{dsig.RSASHA1SignatureMethod: true, dsig.ECDSASHA1SignatureMethod: true}
	strongDigest  = map[string]bool{
		"http://www.w3.org/2001/04/xmlenc#sha256":       true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
		"http://www.w3.org/2001/04/xmlenc#sha512":       true,
	}
	sha1Digest = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// checkAlgorithms refuses a Signature whose SignatureMethod or any
// DigestMethod is not allowed: SHA-1 only with AllowSHA1, unknown URIs never.
func (c *checker) checkAlgorithms(sig *etree.Element) error {
	si := child(sig, nsDSig, "SignedInfo")
	if si == nil {
		return c.fail(sso.ReasonSignatureInvalid, "a Signature has no SignedInfo", nil)
	}
	sm := attr(child(si, nsDSig, "SignatureMethod"), "Algorithm")
	switch {
	case strongSignature[sm]:
	case sha1Signature[sm]:
		if !c.sp.cfg.AllowSHA1 {
			return c.fail(sso.ReasonAlgorithmNotAllowed, "the response is signed with "+sm+" (SHA-1); ask the IdP to sign with RSA-SHA256, or set AllowSHA1 on this connection", nil)
		}
	default:
		return c.fail(sso.ReasonAlgorithmNotAllowed, fmt.Sprintf("the signature method %q is not supported", sm), nil)
	}
	refs := children(si, nsDSig, "Reference")
	if len(refs) == 0 {
		return c.fail(sso.ReasonSignatureInvalid, "a Signature has no Reference", nil)
	}
	for _, ref := range refs {
		dm := attr(child(ref, nsDSig, "DigestMethod"), "Algorithm")
		switch {
		case strongDigest[dm]:
		case dm == sha1Digest:
			if !c.sp.cfg.AllowSHA1 {
				return c.fail(sso.ReasonAlgorithmNotAllowed, "the response uses the SHA-1 digest; ask the IdP to use SHA-256, or set AllowSHA1 on this connection", nil)
			}
		default:
			return c.fail(sso.ReasonAlgorithmNotAllowed, fmt.Sprintf("the digest method %q is not supported", dm), nil)
		}
	}
	return nil
}

var errUnsigned = errors.New("unsigned")

// findSignatureFor returns the Signature goxmldsig uses for el: the first
// one in el's subtree, in document order, with a Reference to el ("" or
// "#" + its ID).
func findSignatureFor(el *etree.Element) *etree.Element {
	id := attr(el, "ID")
	var found *etree.Element
	var visit func(e *etree.Element) bool
	visit = func(e *etree.Element) bool {
		if e.Tag == "Signature" && e.NamespaceURI() == nsDSig {
			for _, ref := range children(child(e, nsDSig, "SignedInfo"), nsDSig, "Reference") {
				u := attr(ref, "URI")
				if u == "" || u[1:] == id {
					found = e
					return true
				}
			}
		}
		for _, ch := range e.Child {
			if ce, ok := ch.(*etree.Element); ok && visit(ce) {
				return true
			}
		}
		return false
	}
	visit(el)
	return found
}

// detach returns a copy of el that carries the namespace declarations in
// scope at el, so it can be verified on its own.
func detach(el *etree.Element) (*etree.Element, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	return etreeutils.NSDetatch(ctx, el)
}

// verifySignature verifies the enveloped signature of el, a tree this
// checker owns, and returns the verified element (re-read by goxmldsig from
// the canonical bytes the digest covers) and the certificate that signed.
// It returns errUnsigned when no signature references el.
//
// Before calling goxmldsig it picks the certificate itself: the KeyInfo
// certificate must be one the connection trusts; a KeyInfo with only a key
// value is matched by key; with no KeyInfo each trusted certificate is
// tried (rollover without KeyInfo). It also normalises what the signature
// does not cover, on the direct-child Signature only: white space inside
// SignatureValue (allowed by base64Binary, refused by goxmldsig) and a
// KeyInfo without certificate.
func (c *checker) verifySignature(el *etree.Element, what string) (*etree.Element, *trustedCert, error) {
	sig := findSignatureFor(el)
	if sig == nil {
		return nil, nil, errUnsigned
	}
	direct := sig.Parent() == el
	if sv := child(sig, nsDSig, "SignatureValue"); direct && sv != nil {
		if v := text(sv); v != stripSpace(v) || len(sv.Child) > 1 {
			sv.SetText(stripSpace(v))
		}
	}
	candidates := c.st.certs
	if ki := child(sig, nsDSig, "KeyInfo"); ki != nil {
		var x509El, modEl *etree.Element
		walk(ki, func(e *etree.Element) {
			switch {
			case x509El == nil && is(e, nsDSig, "X509Certificate"):
				x509El = e
			case modEl == nil && is(e, nsDSig, "Modulus"):
				modEl = e
			}
		})
		switch {
		case x509El != nil:
			der, err := base64.StdEncoding.DecodeString(stripSpace(text(x509El)))
			if err != nil {
				return nil, nil, c.fail(sso.ReasonSignatureInvalid, "the "+what+" signature's KeyInfo certificate is not valid base64", err)
			}
			var match *trustedCert
			for _, tc := range c.st.certs {
				if bytes.Equal(tc.cert.Raw, der) {
					match = tc
				}
			}
			if match == nil {
				return nil, nil, c.fail(sso.ReasonUntrustedKey, "the "+what+" is signed with a certificate this connection does not trust: "+describeDER(der)+"; if the IdP rotated its certificate, update the connection's metadata or certificates", nil)
			}
			candidates = []*trustedCert{match}
		case modEl != nil:
			mod, err := base64.StdEncoding.DecodeString(stripSpace(text(modEl)))
			if err != nil {
				return nil, nil, c.fail(sso.ReasonSignatureInvalid, "the "+what+" signature's KeyInfo modulus is not valid base64", err)
			}
			n := new(big.Int).SetBytes(mod)
			var match *trustedCert
			for _, tc := range c.st.certs {
				if tc.rsa != nil && tc.rsa.N.Cmp(n) == 0 {
					match = tc
				}
			}
			if match == nil {
				return nil, nil, c.fail(sso.ReasonUntrustedKey, "the "+what+" is signed with a key this connection does not trust", nil)
			}
			candidates = []*trustedCert{match}
			fallthrough
		default:
			if direct {
				sig.RemoveChild(ki)
			}
		}
	}
	var lastErr error
	c.inPlace = nil
	for _, tc := range candidates {
		out, err := c.validate(tc, el)
		if err == errFallback {
			return nil, nil, err
		}
		if err == nil {
			return out, tc, nil
		}
		lastErr = err
	}
	if lastErr == dsig.ErrMissingSignature {
		return nil, nil, c.fail(sso.ReasonSignatureMissing, "the "+what+"'s signature does not reference it", lastErr)
	}
	detail := "the " + what + " signature does not verify"
	if len(candidates) > 1 {
		detail += fmt.Sprintf(" with any of the %d trusted certificates", len(candidates))
	}
	return nil, nil, c.fail(sso.ReasonSignatureInvalid, detail+" (content changed after signing, or signed by another key)", lastErr)
}

// validate verifies the signature of el with tc: in place on the one-pass
// path, with goxmldsig otherwise or when verifyInPlace leaves it to
// goxmldsig. It returns errFallback when only a check of the whole
// response by the reference path gives goxmldsig's answer.
func (c *checker) validate(tc *trustedCert, el *etree.Element) (*etree.Element, error) {
	if !c.onePass {
		return tc.vctx.Validate(el)
	}
	p, err := verifyInPlace(tc, el, c.outer)
	switch {
	case err == nil:
		c.inPlace = p
		return el, nil
	case err != errFallback:
		return nil, err
	case c.outer != nil:
		return nil, errFallback
	}
	if p := el.Parent(); p != nil && p.Parent() != nil {
		// Not a document's root: goxmldsig gets it detached, as before.
		d, err := detach(el)
		if err != nil {
			return nil, err
		}
		return tc.vctx.Validate(d)
	}
	return tc.vctx.Validate(el)
}

func describeDER(der []byte) string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "an unparseable certificate"
	}
	return DescribeCertificate(cert).String()
}

// decrypt decrypts an EncryptedAssertion with the SP keys, trying each, and
// parses the plaintext (DOCTYPE refused, round-trip validated).
func (c *checker) decrypt(ea *etree.Element) (*etree.Element, error) {
	if len(c.sp.keys) == 0 {
		return nil, c.fail(sso.ReasonDecryptionFailed, "the assertion is encrypted but the connection has no SP key; configure SPKeys and publish the SP metadata to the IdP", nil)
	}
	d, err := detach(ea)
	if err != nil {
		return nil, c.fail(sso.ReasonMalformed, "the EncryptedAssertion's namespaces do not resolve", err)
	}
	b, err := etree.NewDocumentWithRoot(d).WriteToBytes()
	if err != nil {
		return nil, c.fail(sso.ReasonMalformed, "the EncryptedAssertion cannot be serialised", err)
	}
	var enc types.EncryptedAssertion
	if err := xml.Unmarshal(b, &enc); err != nil {
		return nil, c.fail(sso.ReasonMalformed, "the EncryptedAssertion does not parse", err)
	}
	// gosaml2 decodes these with a strict base64 decoder; XML allows the
	// line breaks many IdPs put in them.
	enc.CipherValue = stripSpace(enc.CipherValue)
	// The certificate in EncryptedKey/KeyInfo only names the intended key;
	// every SP key is tried instead (key rotation), so it is dropped rather
	// than compared by gosaml2.
	for _, ek := range []*types.EncryptedKey{&enc.EncryptedKey, &enc.DetEncryptedKey} {
		ek.CipherValue = stripSpace(ek.CipherValue)
		ek.X509Data = ""
	}
	var plain []byte
	lastErr := errors.New("no RSA key")
	for _, k := range c.sp.keys {
		if k.rsa == nil {
			continue
		}
		var der []byte
		if k.cert != nil {
			der = k.cert.Raw
		}
		p, err := decryptSafely(&enc, &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k.rsa})
		if err == nil {
			plain = p
			break
		}
		lastErr = err
	}
	if plain == nil {
		return nil, c.fail(sso.ReasonDecryptionFailed, "the encrypted assertion cannot be decrypted with the SP key(s): it was encrypted for another key (check the certificate the IdP has for this SP) or it is corrupt", lastErr)
	}
	if len(plain) > c.sp.maxBytes {
		return nil, c.fail(sso.ReasonRequestTooLarge, "the decrypted assertion is larger than MaxResponseBytes", nil)
	}
	if c.sp.cfg.Debug {
		c.sp.log.Info("saml: decrypted assertion", "connection", c.sp.cfg.ID, "xml", truncate(string(plain), 64<<10))
	}
	a, err := c.parseMessage(plain, "decrypted assertion")
	if err != nil {
		return nil, err
	}
	if !is(a, nsAssertion, "Assertion") {
		return nil, c.fail(sso.ReasonMalformed, fmt.Sprintf("the decrypted content is <%s>, not an Assertion", a.FullTag()), nil)
	}
	var algErr error
	nested := 0
	walk(a, func(el *etree.Element) {
		switch {
		case el != a && (is(el, nsAssertion, "Assertion") || is(el, nsAssertion, "EncryptedAssertion")):
			nested++
		case algErr == nil && is(el, nsDSig, "Signature"):
			algErr = c.checkAlgorithms(el)
		}
	})
	if algErr != nil {
		return nil, algErr
	}
	if nested > 0 {
		return nil, c.fail(sso.ReasonAssertionCount, "the decrypted assertion contains another assertion", nil)
	}
	return a, nil
}

// decryptSafely calls gosaml2's decryption, turning a panic on crafted
// ciphertext (e.g. a GCM body shorter than its nonce) into an error.
func decryptSafely(enc *types.EncryptedAssertion, cert *tls.Certificate) (plain []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			plain, err = nil, fmt.Errorf("malformed ciphertext: %v", r)
		}
	}()
	return enc.DecryptBytes(cert)
}

// checkContent checks the trusted assertion a and the Response resp
// (trusted only when res.responseSigned) and fills res.
func (c *checker) checkContent(res *checkedResponse, resp, a *etree.Element) error {
	cfg := &c.sp.cfg
	skew := cfg.ClockSkew
	want := c.st.md.EntityID
	checkIssuer := !cfg.SkipIssuerCheck && want != ""

	if ri := child(resp, nsAssertion, "Issuer"); ri != nil && checkIssuer && text(ri) != want {
		return c.mismatch(sso.ReasonIssuerMismatch, "the Response was issued by another IdP than the one configured", want, text(ri))
	}
	res.issuer = text(child(a, nsAssertion, "Issuer"))
	if res.issuer == "" {
		return c.fail(sso.ReasonIssuerMismatch, "the assertion has no Issuer", nil)
	}
	if checkIssuer && res.issuer != want {
		return c.mismatch(sso.ReasonIssuerMismatch, "the assertion was issued by another IdP than the one configured", want, res.issuer)
	}
	dest := attr(resp, "Destination")
	switch {
	case dest != "" && dest != cfg.ACSURL:
		return c.mismatch(sso.ReasonDestinationMismatch, "the Response is addressed to another endpoint than this connection's ACS URL", cfg.ACSURL, dest)
	case dest == "" && res.responseSigned:
		return c.fail(sso.ReasonDestinationMismatch, "the Response is signed but has no Destination, which the HTTP-POST binding requires of signed messages (SAML bindings 3.5.5.2)", nil)
	}
	res.respIRT = attr(resp, "InResponseTo")

	if v := attr(a, "Version"); v != "2.0" {
		return c.mismatch(sso.ReasonMalformed, "the assertion is not SAML 2.0", "2.0", v)
	}
	res.assertionID = attr(a, "ID")
	if res.assertionID == "" {
		return c.fail(sso.ReasonMalformed, "the assertion has no ID", nil)
	}
	issued, ok := parseTime(attr(a, "IssueInstant"))
	if !ok {
		return c.fail(sso.ReasonMalformed, fmt.Sprintf("the assertion's IssueInstant %q is not a date-time", attr(a, "IssueInstant")), nil)
	}
	if issued.After(c.now.Add(skew)) {
		return c.mismatch(sso.ReasonNotYetValid, "the assertion was issued in the future: check the clocks of the IdP and this server", "before "+fmtTime(c.now.Add(skew)), fmtTime(issued))
	}

	subj := child(a, nsAssertion, "Subject")
	if subj == nil {
		return c.fail(sso.ReasonSubjectMissing, "the assertion has no Subject", nil)
	}
	if nid := child(subj, nsAssertion, "NameID"); nid != nil {
		res.nameID, res.nameIDFormat = text(nid), attr(nid, "Format")
	} else if child(subj, nsAssertion, "EncryptedID") != nil {
		return c.fail(sso.ReasonSubjectMissing, "the subject's NameID is encrypted (EncryptedID), which ssokit does not support; ask the IdP to encrypt the whole assertion instead", nil)
	}
	if res.nameID == "" && cfg.SubjectAttribute == "" {
		return c.fail(sso.ReasonSubjectMissing, "the assertion's NameID is missing or empty", nil)
	}

	var scd *etree.Element
	var scErr error
	for _, sc := range children(subj, nsAssertion, "SubjectConfirmation") {
		if attr(sc, "Method") != cmBearer {
			continue
		}
		d := child(sc, nsAssertion, "SubjectConfirmationData")
		if err := c.checkConfirmation(d); err != nil {
			if scErr == nil {
				scErr = err
			}
			continue
		}
		scd = d
		break
	}
	if scd == nil {
		if scErr != nil {
			return scErr
		}
		return c.fail(sso.ReasonMalformed, "the assertion has no bearer SubjectConfirmation (Web SSO profile)", nil)
	}
	res.scdIRT = attr(scd, "InResponseTo")
	noa, _ := parseTime(attr(scd, "NotOnOrAfter"))
	res.replayUntil = noa

	conds := children(a, nsAssertion, "Conditions")
	if len(conds) == 0 {
		return c.fail(sso.ReasonAudienceMismatch, "the assertion has no Conditions, so no AudienceRestriction naming this service provider", nil)
	}
	audiences := 0
	for _, cond := range conds {
		if s := attr(cond, "NotBefore"); s != "" {
			nb, ok := parseTime(s)
			if !ok {
				return c.fail(sso.ReasonMalformed, fmt.Sprintf("Conditions NotBefore %q is not a date-time", s), nil)
			}
			if c.now.Add(skew).Before(nb) {
				return c.mismatch(sso.ReasonNotYetValid, "the assertion is not valid yet (Conditions NotBefore); check the clocks", "after "+fmtTime(nb), fmtTime(c.now))
			}
		}
		if s := attr(cond, "NotOnOrAfter"); s != "" {
			t, ok := parseTime(s)
			if !ok {
				return c.fail(sso.ReasonMalformed, fmt.Sprintf("Conditions NotOnOrAfter %q is not a date-time", s), nil)
			}
			if !c.now.Add(-skew).Before(t) {
				return c.mismatch(sso.ReasonExpired, "the assertion has expired (Conditions NotOnOrAfter)", "before "+fmtTime(t), fmtTime(c.now))
			}
			if t.Before(res.replayUntil) {
				res.replayUntil = t
			}
		}
		for _, ar := range children(cond, nsAssertion, "AudienceRestriction") {
			audiences++
			var auds []string
			ok := false
			for _, au := range children(ar, nsAssertion, "Audience") {
				v := text(au)
				auds = append(auds, v)
				ok = ok || v == cfg.EntityID
			}
			if !ok {
				return c.mismatch(sso.ReasonAudienceMismatch, "the assertion is meant for another service provider (AudienceRestriction); check the SP entity ID configured at the IdP", cfg.EntityID, strings.Join(auds, " "))
			}
		}
	}
	if audiences == 0 {
		return c.fail(sso.ReasonAudienceMismatch, "the assertion has no AudienceRestriction naming this service provider (required by the Web SSO profile)", nil)
	}
	res.replayUntil = res.replayUntil.Add(skew)

	if as := child(a, nsAssertion, "AuthnStatement"); as != nil {
		res.sessionIndex = attr(as, "SessionIndex")
		res.authnInstant, _ = parseTime(attr(as, "AuthnInstant"))
		if ac := child(as, nsAssertion, "AuthnContext"); ac != nil {
			if ref := child(ac, nsAssertion, "AuthnContextClassRef"); ref != nil {
				res.authnContext = strings.TrimSpace(text(ref))
			}
		}
	}
	res.attrs = map[string][]string{}
	res.friendly = map[string]string{}
	for _, stmt := range children(a, nsAssertion, "AttributeStatement") {
		for _, at := range children(stmt, nsAssertion, "Attribute") {
			name := attr(at, "Name")
			if name == "" {
				continue
			}
			if fn := attr(at, "FriendlyName"); fn != "" && fn != name {
				if _, dup := res.friendly[fn]; !dup {
					res.friendly[fn] = name
				}
			}
			vals := res.attrs[name]
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				if xsiNil(v) {
					continue
				}
				vals = append(vals, text(v))
			}
			if vals == nil {
				vals = []string{}
			}
			// Repeated Attribute elements with one Name are merged in
			// document order.
			res.attrs[name] = vals
		}
	}
	return nil
}

// xsiNil reports an AttributeValue marked xsi:nil="true", which carries
// no value (not even an empty one).
func xsiNil(el *etree.Element) bool {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == "nil" && a.NamespaceURI() == nsXSI && (a.Value == "true" || a.Value == "1") {
			return true
		}
	}
	return false
}

// checkConfirmation checks one bearer SubjectConfirmationData: Recipient,
// NotOnOrAfter (required) and NotBefore. InResponseTo is checked later
// against the pending login.
func (c *checker) checkConfirmation(d *etree.Element) error {
	if d == nil {
		return c.fail(sso.ReasonMalformed, "the bearer SubjectConfirmation has no SubjectConfirmationData", nil)
	}
	skew := c.sp.cfg.ClockSkew
	if r := attr(d, "Recipient"); r != c.sp.cfg.ACSURL {
		return c.mismatch(sso.ReasonRecipientMismatch, "the assertion's Recipient is not this connection's ACS URL; check the ACS URL configured at the IdP", c.sp.cfg.ACSURL, r)
	}
	s := attr(d, "NotOnOrAfter")
	if s == "" {
		return c.fail(sso.ReasonMalformed, "the SubjectConfirmationData has no NotOnOrAfter, which the Web SSO profile requires (it bounds how long the assertion can be used)", nil)
	}
	noa, ok := parseTime(s)
	if !ok {
		return c.fail(sso.ReasonMalformed, fmt.Sprintf("SubjectConfirmationData NotOnOrAfter %q is not a date-time", s), nil)
	}
	if !c.now.Add(-skew).Before(noa) {
		return c.mismatch(sso.ReasonExpired, "the assertion has expired (SubjectConfirmationData NotOnOrAfter)", "before "+fmtTime(noa), fmtTime(c.now))
	}
	if s := attr(d, "NotBefore"); s != "" {
		nb, ok := parseTime(s)
		if !ok {
			return c.fail(sso.ReasonMalformed, fmt.Sprintf("SubjectConfirmationData NotBefore %q is not a date-time", s), nil)
		}
		if c.now.Add(skew).Before(nb) {
			return c.mismatch(sso.ReasonNotYetValid, "the assertion is not valid yet (SubjectConfirmationData NotBefore); check the clocks", "after "+fmtTime(nb), fmtTime(c.now))
		}
	}
	return nil
}

// checkSigners applies the connection's rule for certificates outside their
// validity dates: reject, or accept with a warning.
func (c *checker) checkSigners(res *checkedResponse) error {
	seen := map[*trustedCert]bool{}
	for _, tc := range res.signers {
		if seen[tc] {
			continue
		}
		seen[tc] = true
		var detail string
		switch {
		case c.now.After(tc.cert.NotAfter):
			detail = "the response is signed with certificate " + tc.info.String() + ", which expired on " + fmtTime(tc.cert.NotAfter) + "; ask the IdP administrator to rotate it"
		case c.now.Before(tc.cert.NotBefore):
			detail = "the response is signed with certificate " + tc.info.String() + ", which is not valid before " + fmtTime(tc.cert.NotBefore)
		default:
			continue
		}
		if c.sp.cfg.RejectExpiredCertificates {
			return c.fail(sso.ReasonCertificateExpired, detail, nil)
		}
		res.warnings = append(res.warnings, sso.Warning{Reason: sso.ReasonCertificateExpired, Detail: detail})
	}
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
