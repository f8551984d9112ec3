package saml_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// FuzzValidateResponse feeds changed responses to the whole check.
//
// An input is a fixture number and an edit script. The fixtures are real
// responses of a samltest IdP, well-formed and hostile (signature wrapping,
// two assertions, a comment in the NameID, SHA-1, an untrusted key, no
// signature, encryption), built once per process. The script edits a copy
// of the fixture's tree (set text or attributes, remove, copy, move or wrap
// elements, insert comments, text or elements, rename) and then splices the
// serialised bytes, so the fuzzer works on small inputs that still reach the
// signature and content checks: Go's fuzzer minimises every input that finds
// new coverage, which takes minutes for a whole response.
//
// Properties: no panic; every error is an *sso.Error with a Detail and one
// of the Reasons a response check may give; and an accepted response yields
// exactly the identity the IdP signed in its fixture (fixtures whose
// signature must never be trusted may not be accepted at all).
func FuzzValidateResponse(f *testing.F) {
	env, err := responseFuzzEnv()
	if err != nil {
		f.Fatal(err)
	}
	for i, fx := range env.fixtures {
		f.Add(uint8(i), []byte(nil))
		for _, s := range fx.seeds {
			f.Add(uint8(i), s)
		}
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, n uint8, script []byte) {
		// Only maxScript bytes are read: Go's fuzzer spends time
		// quadratic in an input's length minimising each new one, and the
		// tail of a long one is cut first and cheaply when it makes no
		// difference.
		script = script[:min(len(script), maxScript)]
		fx := env.fixtures[int(n)%len(env.fixtures)]
		raw := fx.edit(script)
		id, err := env.sp.ValidateResponse(ctx, base64.StdEncoding.EncodeToString(raw), fx.requestID)
		if err != nil {
			checkResponseError(t, err)
			return
		}
		if fx.want == nil {
			t.Fatalf("fixture %s: accepted a response whose signature must not be trusted: subject %q\n%s", fx.name, id.Subject, raw)
		}
		if got := viewOf(id); !reflect.DeepEqual(got, *fx.want) {
			t.Fatalf("fixture %s: accepted identity differs from the one the IdP signed:\n got %+v\nwant %+v\n%s", fx.name, got, *fx.want, raw)
		}
	})
}

// responseReasons are the Reasons ValidateResponse may give for a response.
var responseReasons = map[sso.Reason]bool{
	sso.ReasonMalformed: true, sso.ReasonDoctypeForbidden: true, sso.ReasonRequestTooLarge: true,
	sso.ReasonSignatureMissing: true, sso.ReasonSignatureInvalid: true, sso.ReasonUntrustedKey: true,
	sso.ReasonAlgorithmNotAllowed: true, sso.ReasonCertificateExpired: true, sso.ReasonExpired: true,
	sso.ReasonNotYetValid: true, sso.ReasonAudienceMismatch: true, sso.ReasonRecipientMismatch: true,
	sso.ReasonDestinationMismatch: true, sso.ReasonIssuerMismatch: true, sso.ReasonInResponseToMismatch: true,
	sso.ReasonUnsolicited: true, sso.ReasonAssertionCount: true, sso.ReasonSubjectMissing: true,
	sso.ReasonDecryptionFailed: true, sso.ReasonIdPError: true, sso.ReasonAuthenticationRequired: true,
}

func checkResponseError(t *testing.T, err error) {
	t.Helper()
	var e *sso.Error
	if !errors.As(err, &e) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	if !responseReasons[e.Reason] || e.Detail == "" {
		t.Fatalf("error with reason %q (detail %q) for a bad response: %v", e.Reason, e.Detail, err)
	}
}

// identityView is what an Identity says about the person.
type identityView struct {
	Issuer, Subject, SubjectFormat, Email string
	EmailVerified                         bool
	GivenName, FamilyName, DisplayName    string
	Department, Language, Module          string
	Groups                                []string
	Attributes                            map[string][]string
	AuthTime                              time.Time
	SessionIndex, Connection              string
	Protocol                              sso.Protocol
	IdPInitiated                          bool
	ReturnTo                              string
	FlowData                              map[string]string
	Warnings                              []sso.Warning
	IDToken                               sso.Secret
}

func viewOf(id *sso.Identity) identityView {
	return identityView{Issuer: id.Issuer, Subject: id.Subject, SubjectFormat: id.SubjectFormat, Email: id.Email,
		EmailVerified: id.EmailVerified, GivenName: id.GivenName, FamilyName: id.FamilyName, DisplayName: id.DisplayName,
		Department: id.Department, Language: id.Language, Module: id.Module, Groups: id.Groups, Attributes: id.Attributes,
		AuthTime: id.AuthTime, SessionIndex: id.SessionIndex, Connection: id.Connection, Protocol: id.Protocol,
		IdPInitiated: id.IdPInitiated, ReturnTo: id.ReturnTo, FlowData: id.FlowData, Warnings: id.Warnings, IDToken: id.IDToken}
}

type responseEnv struct {
	sp       *saml.ServiceProvider
	fixtures []*responseFixture
}

// responseFixture is one response of the IdP and what may be accepted from
// its edits.
type responseFixture struct {
	name      string
	doc       *etree.Document
	requestID string        // the pending request, for ValidateResponse
	want      *identityView // the identity the IdP signed; nil: accept nothing
	dict      []string      // strings the script may name by number
	seeds     [][]byte      // edit scripts worth starting from
}

const fuzzRequestID = "_fuzz-request-1"

// responseFuzzEnv builds the service provider and the fixtures once per
// process: keys, certificates, signatures and encryption are what makes a
// response expensive, not checking it.
var responseFuzzEnv = sync.OnceValues(func() (*responseEnv, error) {
	spKey, spCert, err := samltest.GenerateKeyPair("sp", t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	// One user with few attributes: the round-trip validator's cost grows
	// with every XML token, and attributes are what most of them are.
	idp, err := samltest.New(samltest.Config{BaseURL: "https://idp.example.test", Now: func() time.Time { return t0 },
		Users:            []samltest.User{{Email: "alice@example.com", GivenName: "Alice", Groups: []string{"admins"}}},
		ServiceProviders: []samltest.ServiceProvider{{EntityID: spEntity, ACSURL: acsURL}}})
	if err != nil {
		return nil, err
	}
	cfg := idp.ConnectionConfig("c1", spEntity, acsURL)
	cfg.AllowIdPInitiated = true
	cfg.SPKeys = []saml.KeyPair{samltest.KeyPair(spKey, spCert)}
	// A replay cache that forgets, so that an edit of an accepted
	// response is checked, not refused as a replay.
	cfg.ReplayCache = forgetful{}
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	env := &responseEnv{sp: sp}

	type spec struct {
		name      string
		opts      samltest.ResponseOptions
		accept    bool // the fixture as it is must be accepted
		untrusted bool // nothing derived from it may be accepted
	}
	attrs := []samltest.Attribute{
		{Name: "urn:oid:0.9.2342.19200300.100.1.3", FriendlyName: "mail", Values: []string{"alice@example.com"}},
		{Name: "groups", Values: []string{"extra"}},
	}
	specs := []spec{
		{name: "assertion-signed", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion}, accept: true},
		{name: "response-signed", opts: samltest.ResponseOptions{Sign: samltest.SignResponse}, accept: true},
		{name: "both-signed", opts: samltest.ResponseOptions{Sign: samltest.SignBoth}, accept: true},
		{name: "encrypted", opts: samltest.ResponseOptions{Sign: samltest.SignBoth, Encrypt: true, EncryptionCertificate: spCert}, accept: true},
		{name: "sp-initiated", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, InResponseTo: fuzzRequestID}, accept: true},
		{name: "extra-attributes", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, ExtraAttributes: attrs}, accept: true},
		{name: "comment-in-nameid", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{CommentInNameID: true}}, accept: true},
		{name: "xsw-forged-first", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWForgedFirst}}},
		{name: "xsw-inside-forged", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInsideForged}}},
		{name: "xsw-in-extensions", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInExtensions}}},
		{name: "xsw-in-object", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWSignedInSignatureObject}}},
		{name: "xsw-response", opts: samltest.ResponseOptions{Sign: samltest.SignResponse, Misbehavior: samltest.Misbehavior{SignatureWrapping: samltest.XSWForgedFirst}}},
		{name: "two-assertions", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{TwoAssertions: true}}},
		{name: "sha1", opts: samltest.ResponseOptions{Sign: samltest.SignBoth, Misbehavior: samltest.Misbehavior{SHA1: true}}, untrusted: true},
		{name: "wrong-key", opts: samltest.ResponseOptions{Sign: samltest.SignBoth, Misbehavior: samltest.Misbehavior{WrongKey: true}}, untrusted: true},
		{name: "unsigned", opts: samltest.ResponseOptions{Misbehavior: samltest.Misbehavior{Unsigned: true}}, untrusted: true},
		{name: "doctype", opts: samltest.ResponseOptions{Sign: samltest.SignAssertion, Misbehavior: samltest.Misbehavior{Doctype: true}}},
	}
	views := map[string]*identityView{}
	for _, s := range specs {
		o := s.opts
		// The KeyInfo certificate is a kilobyte of base64 that every
		// check reads byte by byte; most fixtures go without (the SP
		// then tries its trusted certificates), a few keep it.
		switch s.name {
		case "assertion-signed", "wrong-key", "xsw-in-object", "encrypted":
		default:
			o.OmitKeyInfo = true
		}
		o.User = "alice@example.com"
		o.SessionIndex = "_fuzz-session-1"
		b, err := idp.Response(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.name, err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			return nil, fmt.Errorf("%s: %v", s.name, err)
		}
		fx := &responseFixture{name: s.name, doc: doc}
		if o.InResponseTo != "" {
			fx.requestID = o.InResponseTo
		}
		fx.dict = append(fx.dict, fuzzDict...)
		walkElements(doc.Root(), func(el *etree.Element) {
			if id := el.SelectAttrValue("ID", ""); id != "" {
				fx.dict = append(fx.dict, id, "#"+id)
			}
		})
		// The fixture must survive the harness's parse and write
		// unchanged, or the edits would test the harness.
		id, err := sp.ValidateResponse(context.Background(), base64.StdEncoding.EncodeToString(fx.edit(nil)), fx.requestID)
		switch {
		case s.accept && err != nil:
			return nil, fmt.Errorf("fixture %s is refused: %v", s.name, err)
		case !s.accept && err == nil:
			return nil, fmt.Errorf("fixture %s is accepted", s.name)
		case s.accept:
			v := viewOf(id)
			views[s.name] = &v
		}
		env.fixtures = append(env.fixtures, fx)
	}
	// Hostile fixtures carry the genuine assertion of a plain response;
	// removing the forgery may make them acceptable, for alice only.
	for i, s := range specs {
		fx := env.fixtures[i]
		if s.untrusted {
			continue
		}
		fx.want = views[s.name]
		if fx.want == nil {
			fx.want = views["assertion-signed"]
		}
	}
	for _, fx := range env.fixtures {
		fx.seeds = fx.attackScripts()
	}
	return env, nil
})

type forgetful struct{}

func (forgetful) Seen(context.Context, string, time.Time) (bool, error) { return false, nil }

func walkElements(el *etree.Element, f func(*etree.Element)) {
	f(el)
	for _, c := range el.ChildElements() {
		walkElements(c, f)
	}
}

// fuzzDict are strings an edit script names by number (a length byte of
// 0xc0 or more): values the checks compare against.
var fuzzDict = []string{
	"", " ", "2.0", "true", "1", "alice@example.com", samltest.ForgedNameID, "alice@example.com.attacker.test",
	spEntity, acsURL, "https://idp.example.test/metadata", "https://wrong-sp.example/acs", fuzzRequestID,
	"urn:oasis:names:tc:SAML:2.0:status:Success", "urn:oasis:names:tc:SAML:2.0:status:Requester",
	"urn:oasis:names:tc:SAML:2.0:status:NoPassive", "urn:oasis:names:tc:SAML:2.0:cm:bearer",
	"urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:2.0:assertion",
	"http://www.w3.org/2000/09/xmldsig#", "http://www.w3.org/2001/04/xmlenc#", "http://www.w3.org/2001/XMLSchema-instance",
	dsig.RSASHA256SignatureMethod, dsig.RSASHA1SignatureMethod, "http://www.w3.org/2001/04/xmlenc#sha256",
	"http://www.w3.org/2000/09/xmldsig#sha1", "http://www.w3.org/2001/10/xml-exc-c14n#",
	"http://www.w3.org/2000/09/xmldsig#enveloped-signature",
	t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339), t0.Add(-time.Hour).Format(time.RFC3339),
	"2030-01-02T03:04:05", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
	"saml:Assertion", "saml:EncryptedAssertion", "samlp:Response", "saml:Issuer", "saml:NameID", "saml:Subject",
	"saml:SubjectConfirmation", "saml:SubjectConfirmationData", "saml:Conditions", "saml:AudienceRestriction",
	"saml:Audience", "saml:Attribute", "saml:AttributeValue", "saml:EncryptedID", "samlp:Status", "samlp:StatusCode",
	"ds:Signature", "ds:SignedInfo", "ds:Reference", "ds:KeyInfo", "ds:X509Certificate", "ds:Object",
	"samlp:Extensions", "saml:Advice", "xsi:nil", "xmlns", "xmlns:saml", "xmlns:samlp", "xmlns:ds",
}

// Edit operations of a script; each reads its operands from the script.
const (
	opSetText    = iota // element, string: replace all its text
	opSetAttr           // element, name, string
	opRemoveAttr        // element, attribute number
	opRemove            // element
	opDuplicate         // element: a copy right after it
	opMove              // element, element, position: move the first into the second
	opWrap              // element, tag: put the element inside a new one
	opComment           // element, position, string
	opText              // element, position, string
	opRename            // element, tag
	opSwap              // element, child, child
	opInsert            // element, position, tag, string: a new child element
	opSplice            // offset (2 bytes), length, string: on the written bytes
	numOps
)

var fuzzAttrNames = []string{"ID", "Version", "IssueInstant", "Destination", "InResponseTo", "Recipient",
	"NotOnOrAfter", "NotBefore", "Method", "Format", "URI", "Algorithm", "Value", "Name", "FriendlyName",
	"SessionIndex", "AuthnInstant", "xmlns", "xmlns:saml", "xmlns:samlp", "xmlns:ds", "xsi:nil", "xmlns:xsi"}

// script reads an edit script; it reads zeros once exhausted.
type script struct{ b []byte }

func (s *script) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

// str reads a length byte and that many bytes, or names a dictionary entry
// with a length byte of 0xc0 or more.
func (s *script) str(dict []string) string {
	n := int(s.byte())
	if n >= 0xc0 {
		return dict[(n-0xc0)%len(dict)]
	}
	n = min(n, len(s.b))
	out := string(s.b[:n])
	s.b = s.b[n:]
	return out
}

// maxEdits and maxScript bound the work of one input.
const (
	maxEdits  = 16
	maxScript = 96
)

// edit applies script to a copy of the fixture and returns the bytes.
func (fx *responseFixture) edit(b []byte) []byte {
	doc := fx.doc.Copy()
	s := &script{b: b}
	type splice struct {
		at, n int
		s     string
	}
	var splices []splice
	var els []*etree.Element
	pick := func() *etree.Element { return els[int(s.byte())%len(els)] }
	for i := 0; i < maxEdits && len(s.b) > 0; i++ {
		els = els[:0]
		walkElements(doc.Root(), func(el *etree.Element) { els = append(els, el) })
		root := doc.Root()
		switch s.byte() % numOps {
		case opSetText:
			el, v := pick(), s.str(fx.dict)
			for j := len(el.Child) - 1; j >= 0; j-- {
				if _, ok := el.Child[j].(*etree.CharData); ok {
					el.RemoveChildAt(j)
				}
			}
			el.InsertChildAt(0, etree.NewText(v))
		case opSetAttr:
			el := pick()
			k := s.byte()
			name := fuzzAttrNames[int(k)%len(fuzzAttrNames)]
			if k >= 0xf0 {
				name = s.str(fx.dict)
			}
			el.CreateAttr(name, s.str(fx.dict))
		case opRemoveAttr:
			el, k := pick(), int(s.byte())
			if len(el.Attr) > 0 {
				a := el.Attr[k%len(el.Attr)]
				el.RemoveAttr(a.FullKey())
			}
		case opRemove:
			if el := pick(); el != root {
				el.Parent().RemoveChild(el)
			}
		case opDuplicate:
			if el := pick(); el != root {
				el.Parent().InsertChildAt(el.Index()+1, el.Copy())
			}
		case opMove:
			a, to, at := pick(), pick(), int(s.byte())
			if a == root || within(to, a) {
				continue
			}
			to.InsertChildAt(at%(len(to.Child)+1), a)
		case opWrap:
			el, tag := pick(), s.str(fx.dict)
			if el == root || tag == "" {
				continue
			}
			w := etree.NewElement(tag)
			p, at := el.Parent(), el.Index()
			p.RemoveChildAt(at)
			p.InsertChildAt(at, w)
			w.AddChild(el)
		case opComment:
			el, at, v := pick(), int(s.byte()), s.str(fx.dict)
			el.InsertChildAt(at%(len(el.Child)+1), etree.NewComment(v))
		case opText:
			el, at, v := pick(), int(s.byte()), s.str(fx.dict)
			el.InsertChildAt(at%(len(el.Child)+1), etree.NewText(v))
		case opRename:
			el, tag := pick(), s.str(fx.dict)
			if tag != "" {
				el.Space, el.Tag = "", tag
				if p, l, ok := strings.Cut(tag, ":"); ok {
					el.Space, el.Tag = p, l
				}
			}
		case opSwap:
			el, a, b := pick(), int(s.byte()), int(s.byte())
			if n := len(el.Child); n >= 2 {
				a, b = a%n, b%n
				el.Child[a], el.Child[b] = el.Child[b], el.Child[a]
				el.ReindexChildren()
			}
		case opInsert:
			el, at, tag, v := pick(), int(s.byte()), s.str(fx.dict), s.str(fx.dict)
			if tag == "" {
				continue
			}
			n := etree.NewElement(tag)
			if v != "" {
				n.SetText(v)
			}
			el.InsertChildAt(at%(len(el.Child)+1), n)
		case opSplice:
			at := int(s.byte())<<8 | int(s.byte())
			n := int(s.byte())
			splices = append(splices, splice{at, n, s.str(fx.dict)})
		}
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		panic(err) // writing to memory does not fail
	}
	for _, sp := range splices {
		at := sp.at % (len(out) + 1)
		n := min(sp.n, len(out)-at)
		out = append(out[:at:at], append([]byte(sp.s), out[at+n:]...)...)
	}
	return out
}

// within reports whether el is a or inside a.
func within(el, a *etree.Element) bool {
	for ; el != nil; el = el.Parent() {
		if el == a {
			return true
		}
	}
	return false
}

// index returns the script operand that picks the n-th element with the
// local name tag (in document order), or 0xff when there is none.
func (fx *responseFixture) index(tag string, n int) byte {
	i := 0
	found := byte(0xff)
	walkElements(fx.doc.Root(), func(el *etree.Element) {
		if el.Tag == tag {
			if n == 0 && found == 0xff {
				found = byte(i)
			}
			n--
		}
		i++
	})
	return found
}

// lit encodes a literal string operand; dict names dictionary entry k.
func lit(s string) []byte { return append([]byte{byte(len(s))}, s...) }
func dict(k int) []byte   { return []byte{byte(0xc0 + k)} }

func dictIndex(s string) int {
	for i, v := range fuzzDict {
		if v == s {
			return i
		}
	}
	panic("not in fuzzDict: " + s)
}

func ops(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// attackScripts returns edits that reach deep checks from this fixture: the
// known attacks on SAML parsers, applied where they apply.
func (fx *responseFixture) attackScripts() [][]byte {
	var out [][]byte
	add := func(b ...[]byte) { out = append(out, ops(b...)) }
	el := func(tag string, n int) []byte { return []byte{fx.index(tag, n)} }
	nameID := el("NameID", 0)
	// Comment truncation: "alice@example.com<!--x-->.evil" and a text
	// node split in two.
	add([]byte{opComment}, nameID, []byte{1}, lit("x"), []byte{opText}, nameID, []byte{2}, lit(".evil"))
	add([]byte{opSetText}, nameID, lit("alice@exa"), []byte{opComment}, nameID, []byte{1}, lit(""), []byte{opText}, nameID, []byte{2}, lit("mple.com"))
	// Forged NameID in place of the signed one.
	add([]byte{opSetText}, nameID, dict(dictIndex(samltest.ForgedNameID)))
	// A second assertion, and the assertion moved or wrapped.
	add([]byte{opDuplicate}, el("Assertion", 0))
	add([]byte{opWrap}, el("Assertion", 0), dict(dictIndex("samlp:Extensions")))
	add([]byte{opMove}, el("Assertion", 0), el("Status", 0), []byte{0})
	// Forged copies first: the removed forgery of a wrapping fixture.
	add([]byte{opRemove}, el("Assertion", 0))
	add([]byte{opRemove}, el("Assertion", 1))
	// Signatures removed, moved, or their algorithms swapped.
	add([]byte{opRemove}, el("Signature", 0))
	add([]byte{opRemove}, el("Signature", 1))
	add([]byte{opMove}, el("Signature", 0), el("Issuer", 0), []byte{0})
	add([]byte{opSetAttr}, el("SignatureMethod", 0), []byte{byte(11)}, dict(dictIndex(dsig.RSASHA1SignatureMethod)))
	add([]byte{opSetAttr}, el("Reference", 0), []byte{byte(10)}, lit(""))
	add([]byte{opRemove}, el("KeyInfo", 0))
	// Unsigned Response attributes and elements.
	add([]byte{opRemoveAttr}, []byte{0, 5})
	add([]byte{opSetAttr}, []byte{0, 3}, dict(dictIndex("https://wrong-sp.example/acs")))
	add([]byte{opSetAttr}, []byte{0, 4}, dict(dictIndex(fuzzRequestID)))
	add([]byte{opSetAttr}, el("StatusCode", 0), []byte{12}, dict(dictIndex("urn:oasis:names:tc:SAML:2.0:status:Requester")))
	add([]byte{opInsert}, el("StatusCode", 0), []byte{0}, dict(dictIndex("samlp:StatusCode")), lit(""),
		[]byte{opSetAttr}, el("StatusCode", 0), []byte{12}, dict(dictIndex("urn:oasis:names:tc:SAML:2.0:status:NoPassive")))
	// Namespace confusion: the assertion namespace rebound.
	add([]byte{opSetAttr}, el("Assertion", 0), []byte{18}, dict(dictIndex("urn:oasis:names:tc:SAML:2.0:protocol")))
	add([]byte{opRename}, el("Assertion", 0), lit("Assertion"))
	// A DOCTYPE and raw byte damage.
	add([]byte{opSplice, 0, 38, 0}, lit(`<!DOCTYPE x [<!ENTITY e "alice">]>`))
	add([]byte{opSplice, 0, 0, 0xff}, lit("<x"))
	add([]byte{opSplice, 1, 0, 4}, lit(""))
	return out
}

// FuzzCheckMetadata: pasted metadata never panics the compatibility report
// or the parser, and they agree: every problem has a known severity and
// reason and a detail, errors come first, a report without errors
// describes a usable IdP (entity ID, a certificate, an SSO endpoint with a
// supported binding and an http(s) location), metadata the parser refuses
// is never reported usable, and the report always encodes as JSON (it is
// what an administration page shows).
func FuzzCheckMetadata(f *testing.F) {
	idp, err := samltest.New(samltest.Config{BaseURL: "https://idp.example.test"})
	if err != nil {
		f.Fatal(err)
	}
	md := idp.Metadata()
	f.Add(md)
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2001-01-01T00:00:00Z" cacheDuration="P1Y2M3DT4H5M6.5S"/>`))
	f.Add(bytes.Replace(md, []byte("<md:EntityDescriptor "), []byte(`<md:EntityDescriptor validUntil="0000-01-01T00:00:00+01:00" cacheDuration="P99999999999Y" `), 1))
	f.Add(bytes.Replace(md, []byte("<md:EntityDescriptor "), []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor `), 1))
	f.Add(bytes.Replace(md, []byte(`use="signing"`), []byte(`use="encryption"`), 1))
	f.Add(bytes.Replace(md, []byte(saml.BindingHTTPRedirect), []byte("urn:x"), -1))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := saml.CheckMetadata(data, saml.CheckOptions{Now: t0, SignsRequests: true})
		rank := map[saml.Severity]int{saml.SeverityError: 0, saml.SeverityWarning: 1, saml.SeverityInfo: 2}
		last := 0
		for _, p := range r.Problems {
			k, ok := rank[p.Severity]
			if !ok || !metadataReasons[p.Reason] || p.Detail == "" {
				t.Fatalf("problem %+v", p)
			}
			if k < last {
				t.Fatalf("problems out of order: %+v", r.Problems)
			}
			last = k
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("the report does not encode as JSON: %v", err)
		}
		parsed, perr := saml.ParseMetadata(data, "")
		if perr != nil {
			var e *sso.Error
			if !errors.As(perr, &e) || !metadataReasons[e.Reason] || e.Detail == "" {
				t.Fatalf("ParseMetadata error %v", perr)
			}
		}
		if !r.OK() {
			return
		}
		if perr != nil {
			t.Fatalf("report without errors for metadata ParseMetadata refuses: %v", perr)
		}
		if r.EntityID == "" || len(r.SigningCertificates) == 0 || r.EntityID != parsed.EntityID || len(r.SigningCertificates) != len(parsed.SigningCertificates) {
			t.Fatalf("report without errors: entity %q, %d certificates; parsed %q, %d", r.EntityID, len(r.SigningCertificates), parsed.EntityID, len(parsed.SigningCertificates))
		}
		usable := false
		for _, e := range r.SSO {
			if (e.Binding == saml.BindingHTTPPost || e.Binding == saml.BindingHTTPRedirect) && e.Location != "" {
				usable = true
			}
			if !strings.HasPrefix(e.Location, "https://") && !strings.HasPrefix(e.Location, "http://") {
				t.Fatalf("report without errors lists SSO location %q", e.Location)
			}
		}
		if !usable {
			t.Fatalf("report without errors has no usable SSO endpoint: %+v", r.SSO)
		}
	})
}

// metadataReasons are the Reasons of metadata problems.
var metadataReasons = map[sso.Reason]bool{
	sso.ReasonMetadataInvalid: true, sso.ReasonDoctypeForbidden: true, sso.ReasonSigningKeyMissing: true,
	sso.ReasonCertificateExpired: true, sso.ReasonAlgorithmNotAllowed: true, sso.ReasonLogoutNotSupported: true,
}

// FuzzParseCertificates: pasted certificate text never panics, errors are
// typed, and the forms agree: what parses from one form parses to the same
// certificates from PEM, from bare base64 separated by blank lines, and
// from concatenated DER.
func FuzzParseCertificates(f *testing.F) {
	idp, err := samltest.New(samltest.Config{BaseURL: "https://idp.example.test"})
	if err != nil {
		f.Fatal(err)
	}
	c := idp.Certificate()
	b64 := base64.StdEncoding.EncodeToString(c.Raw)
	f.Add(idp.CertificatePEM())
	f.Add(bytes.ReplaceAll(idp.CertificatePEM(), []byte("\n"), nil))
	f.Add(append(idp.CertificatePEM(), idp.CertificatePEM()...))
	f.Add([]byte(b64))
	f.Add([]byte(strings.TrimRight(b64, "=")))
	f.Add([]byte(b64[:64] + "\r\n" + b64[64:] + "\n\n" + b64))
	f.Add([]byte("\xef\xbb\xbf  " + b64 + "\n"))
	f.Add(c.Raw)
	f.Add(append(append([]byte{}, c.Raw...), c.Raw...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := saml.ParseCertificates(data)
		if err != nil {
			var e *sso.Error
			if !errors.As(err, &e) || e.Reason != sso.ReasonInvalidConfig || e.Detail == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		var p, der []byte
		var b64s []string
		for _, c := range certs {
			p = append(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
			der = append(der, c.Raw...)
			b64s = append(b64s, base64.StdEncoding.EncodeToString(c.Raw))
		}
		for form, in := range map[string][]byte{"PEM": p, "DER": der, "base64": []byte(strings.Join(b64s, "\n\n"))} {
			again, err := saml.ParseCertificates(in)
			if err != nil || !sameCerts(again, certs) {
				t.Fatalf("%d certificates parse, but not again as %s: %d, %v", len(certs), form, len(again), err)
			}
		}
	})
}

func sameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// FuzzParsePrivateKey: a pasted SP key never panics, errors are typed, and
// a key that parses parses again, to the same key, from PKCS#8 PEM.
func FuzzParsePrivateKey(f *testing.F) {
	k, _, err := samltest.GenerateKeyPair("sp", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	p := samltest.KeyPEM(k)
	blk, _ := pem.Decode(p)
	f.Add(p)
	f.Add(blk.Bytes)
	f.Add([]byte(base64.StdEncoding.EncodeToString(blk.Bytes)))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAoAoGCCqGSM49\n-----END EC PRIVATE KEY-----"))
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := saml.ParsePrivateKey(data)
		if err != nil {
			var e *sso.Error
			if !errors.As(err, &e) || e.Reason != sso.ReasonInvalidConfig || e.Detail == "" {
				t.Fatalf("error %v", err)
			}
			return
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("parsed a %T that does not marshal: %v", key, err)
		}
		again, err := saml.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		if err != nil {
			t.Fatalf("parsed key does not parse again: %v", err)
		}
		if e, ok := again.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !e.Equal(key.Public()) {
			t.Fatalf("the %T changed in a round trip", key)
		}
	})
}
