package saml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/xml"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
)

// ParseDuration exposes parseDuration to FuzzParseDuration.
var ParseDuration = parseDuration

// ValidateResponseWith is ValidateResponse on the one-pass path (onePass)
// or on the reference path (round-trip validator, etree, goxmldsig).
func ValidateResponseWith(ctx context.Context, sp *ServiceProvider, samlResponse, requestID string, onePass bool) (*sso.Identity, error) {
	raw, err := sp.decodeResponse(opComplete, samlResponse)
	if err != nil {
		return nil, err
	}
	return sp.checkWith(ctx, raw, sp.cfg.Now(), pending{requestID: requestID}, onePass)
}

// SetOnePass switches the default path and returns a function that
// restores it.
func SetOnePass(on bool) (restore func()) {
	old := onePassXML
	onePassXML = on
	return func() { onePassXML = old }
}

// Parsers of the two paths.
var (
	ParseChecked = parseChecked
	ParseLegacy  = parseLegacy
	SafeToken    = func(t xml.Token) bool { return safeToken(t) }
)

// CanonicalDigest returns the SHA-256 of the exclusive canonical form of
// el without skip, as verifyInPlace computes it, or errFallback's text.
func CanonicalDigest(el, skip *etree.Element, comments bool, prefixes []string) ([]byte, error) {
	scope, ok := ancestorScope(el)
	if !ok {
		return nil, errFallback
	}
	h := sha256.New()
	if err := canonicalize(h, el, skip, scope, &c14nParams{comments: comments, prefixes: prefixes}); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// ErrFallback is errFallback.
var ErrFallback = errFallback

// VerifiesInPlace parses raw on the one-pass path and verifies the
// signature of its Response (signedResponse) or of its assertion in place
// with the connection's first trusted certificate. It returns errFallback
// when verifyInPlace leaves the signature to goxmldsig.
func VerifiesInPlace(sp *ServiceProvider, raw []byte, signedResponse bool) error {
	doc, err := parseChecked(raw)
	if err != nil {
		return err
	}
	el := doc.Root()
	if !signedResponse {
		el = child(el, nsAssertion, "Assertion")
	}
	_, err = verifyInPlace(sp.state().certs[0], el, nil)
	return err
}

// AuthnRequests returns the AuthnRequest gosaml2 builds for sp (with the
// ForceAuthn and login hint additions Begin used to make to it) and the
// one Begin writes, with the same ID and instant, both as documents.
func AuthnRequests(sp *ServiceProvider, now time.Time, forceAuthn bool, hint string) (gosaml2, written *etree.Document, err error) {
	st := sp.state()
	gosaml2, err = st.gosp.BuildAuthRequestDocumentNoSig()
	if err != nil {
		return nil, nil, err
	}
	root := gosaml2.Root()
	id := root.SelectAttrValue("ID", "")
	root.CreateAttr("IssueInstant", now.UTC().Format(issueInstantFormat))
	if forceAuthn {
		root.CreateAttr("ForceAuthn", "true")
	}
	if hint != "" {
		subj := root.CreateElement("saml:Subject")
		subj.CreateElement("saml:NameID").SetText(hint)
		root.RemoveChild(subj)
		root.InsertChildAt(1, subj)
	}
	var b bytes.Buffer
	st.writeAuthnRequest(&b, authnRequest{id: id, now: now, forceAuthn: forceAuthn, loginHint: hint})
	written = etree.NewDocument()
	if err := written.ReadFromBytes(b.Bytes()); err != nil {
		return nil, nil, err
	}
	return gosaml2, written, nil
}
