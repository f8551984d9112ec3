package saml

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// issueInstantFormat is the IssueInstant format of AuthnRequests, as
// gosaml2 writes it.
const issueInstantFormat = "2006-01-02T15:04:05Z"

// authnRequest is what varies between the AuthnRequests of one connection.
type authnRequest struct {
	id         string
	now        time.Time
	forceAuthn bool
	loginHint  string // sent as the Subject's NameID when not empty
}

// newRequestID returns a fresh AuthnRequest ID: "_" and 32 hex digits of
// randomness from the connection's source, an NCName as SAML requires.
func (sp *ServiceProvider) newRequestID() (string, error) {
	r := sp.cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("the random source failed: %w", err)
	}
	return "_" + hex.EncodeToString(b[:]), nil
}

// writeAuthnRequest writes the unsigned AuthnRequest that gosaml2's
// BuildAuthRequestDocumentNoSig builds for st (with ssokit's ForceAuthn
// and login hint additions), straight into bytes: building an element
// tree, copying it and serialising it cost a login more than deflating the
// result. TestAuthnRequestMatchesGosaml2 checks the two agree.
func (st *idpState) writeAuthnRequest(b *bytes.Buffer, r authnRequest) {
	g := st.gosp
	b.WriteString(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="`)
	escapeAttr(b, r.id)
	b.WriteString(`" Version="2.0" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" AssertionConsumerServiceURL="`)
	escapeAttr(b, g.AssertionConsumerServiceURL)
	b.WriteString(`" IssueInstant="`)
	b.WriteString(r.now.UTC().Format(issueInstantFormat))
	b.WriteString(`" Destination="`)
	escapeAttr(b, g.IdentityProviderSSOURL)
	b.WriteByte('"')
	if r.forceAuthn {
		b.WriteString(` ForceAuthn="true"`)
	}
	b.WriteString(`><saml:Issuer>`)
	issuer := g.ServiceProviderIssuer
	if issuer == "" {
		issuer = g.IdentityProviderIssuer
	}
	escapeText(b, issuer)
	b.WriteString(`</saml:Issuer>`)
	if r.loginHint != "" {
		b.WriteString(`<saml:Subject><saml:NameID>`)
		escapeText(b, r.loginHint)
		b.WriteString(`</saml:NameID></saml:Subject>`)
	}
	b.WriteString(`<samlp:NameIDPolicy AllowCreate="true"`)
	if g.NameIdFormat != "" {
		b.WriteString(` Format="`)
		escapeAttr(b, g.NameIdFormat)
		b.WriteByte('"')
	}
	b.WriteString(`/>`)
	if rac := g.RequestedAuthnContext; rac != nil {
		b.WriteString(`<samlp:RequestedAuthnContext Comparison="`)
		escapeAttr(b, rac.Comparison)
		b.WriteString(`">`)
		for _, c := range rac.Contexts {
			b.WriteString(`<saml:AuthnContextClassRef>`)
			escapeText(b, c)
			b.WriteString(`</saml:AuthnContextClassRef>`)
		}
		b.WriteString(`</samlp:RequestedAuthnContext>`)
	}
	b.WriteString(`</samlp:AuthnRequest>`)
}

// escapeAttr writes s as a double-quoted attribute value's content.
func escapeAttr(b *bytes.Buffer, s string) { escapeXML(b, s, true) }

// escapeText writes s as character data.
func escapeText(b *bytes.Buffer, s string) { escapeXML(b, s, false) }

func escapeXML(b *bytes.Buffer, s string, attr bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\r':
			esc = "&#xD;"
		case '\n', '\t':
			if !attr {
				continue
			}
			if s[i] == '\n' {
				esc = "&#xA;"
			} else {
				esc = "&#x9;"
			}
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}
