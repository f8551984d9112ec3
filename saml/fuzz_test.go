package saml_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
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
	env := seedResponses(f)
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

// seedResponses adds every fixture, unchanged and with its attack
// scripts, to f's seed corpus.
func seedResponses(f *testing.F) *responseEnv {
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
	return env
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
		Groups: id.Groups, Attributes: id.Attributes,
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
	xmlFixture
	name      string
	requestID string        // the pending request, for ValidateResponse
	want      *identityView // the identity the IdP signed; nil: accept nothing
	seeds     [][]byte      // edit scripts worth starting from
}

// xmlFixture is an XML document that edit scripts change.
type xmlFixture struct {
	doc   *etree.Document
	dict  []string // strings a script may name by number
	attrs []string // attribute names a script may name by number
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
	idp, err := samltest.NewServer(samltest.Config{EntityID: "https://idp.example.test/metadata", Now: func() time.Time { return t0 },
		Users:            []samltest.User{{Email: "alice@example.com", GivenName: "Alice", Groups: []string{"admins"}}},
		ServiceProviders: []samltest.ServiceProvider{{EntityID: spEntity, ACSURL: acsURL}}})
	if err != nil {
		return nil, err
	}
	idp.Close() // only its messages are used, and they need no listener
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
		fx := &responseFixture{name: s.name, xmlFixture: xmlFixture{doc: doc, attrs: fuzzAttrNames}}
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
	maxScript = 64
)

// edit applies script to a copy of the fixture and returns the bytes.
func (fx *xmlFixture) edit(b []byte) []byte {
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
			name := fx.attrs[int(k)%len(fx.attrs)]
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
func (fx *xmlFixture) index(tag string, n int) byte {
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

// dictIndex returns the number of s in fuzzDict, with which every
// response fixture's dictionary starts.
func dictIndex(s string) int { return indexIn(fuzzDict, s) }

func indexIn(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	panic("not in the dictionary: " + s)
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

// FuzzCheckMetadata checks the compatibility report (CheckMetadata) and the
// metadata parser (ParseMetadata) on edits of real metadata: a samltest
// IdP's, two IdPs in an EntitiesDescriptor with validity and caching
// attributes, an IdP with an expired and a weak certificate, and a service
// provider's. An input is a fixture number, an options byte (the service
// provider signs requests, picks the IdP by entity ID, wants a NameID
// format) and an edit script, as in FuzzValidateResponse.
//
// Properties: no panic; every problem has a known severity, one of the
// Reasons of metadata problems and a Detail, errors first; the report always
// encodes as JSON (an administration page shows it); ParseMetadata's
// refusals are typed, and metadata it refuses is never reported usable; and
// a report without errors describes a usable IdP: the entity ID and the
// certificates ParseMetadata finds, and an SSO endpoint with the HTTP-POST
// or HTTP-Redirect binding, every SSO location being an http(s) URL.
func FuzzCheckMetadata(f *testing.F) {
	fixtures, err := metadataFuzzFixtures()
	if err != nil {
		f.Fatal(err)
	}
	for i, fx := range fixtures {
		f.Add(uint8(i), uint8(0), []byte(nil))
		f.Add(uint8(i), uint8(7), []byte(nil))
		for _, sc := range fx.metadataScripts() {
			f.Add(uint8(i), uint8(0), sc)
		}
	}
	f.Fuzz(func(t *testing.T, n, opt uint8, script []byte) {
		script = script[:min(len(script), maxScript)]
		fx := fixtures[int(n)%len(fixtures)]
		data := fx.edit(script)
		opts := saml.CheckOptions{Now: t0, SignsRequests: opt&1 != 0}
		if opt&2 != 0 {
			opts.EntityID = "https://idp.example.test/metadata"
		}
		if opt&4 != 0 {
			opts.NameIDFormat = saml.NameIDFormatPersistent
		}
		r := saml.CheckMetadata(data, opts)
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
			t.Fatalf("the report does not encode as JSON: %v\n%s", err, data)
		}
		parsed, perr := saml.ParseMetadata(data, opts.EntityID)
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
			t.Fatalf("report without errors for metadata ParseMetadata refuses: %v\n%s", perr, data)
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

// metadataDict are the strings a metadata edit script names by number.
var metadataDict = []string{
	"", " ", "true", "1", "false", "urn:oasis:names:tc:SAML:2.0:metadata", "urn:oasis:names:tc:SAML:2.0:protocol",
	"http://www.w3.org/2000/09/xmldsig#", saml.BindingHTTPPost, saml.BindingHTTPRedirect, "urn:oasis:names:tc:SAML:2.0:bindings:SOAP",
	"https://idp.example.test/sso", "http://idp.example.test/sso", "ftp://idp.example.test/sso", " https://idp.example.test/sso ",
	"https://idp.example.test/metadata", "https://other.example.test/metadata", "signing", "encryption",
	saml.NameIDFormatEmailAddress, saml.NameIDFormatPersistent, saml.NameIDFormatUnspecified, saml.NameIDFormatTransient,
	t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339), t0.Add(-time.Hour).Format(time.RFC3339),
	"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2030-01-02T03:04:05", "not a date",
	"PT1H", "P1D", "P1Y2M3DT4H5M6.5S", "P99999999999Y", "P", "PT", "-P1D", "P1.5D", "PT0S", "P1H", "PT1D",
	"md:EntityDescriptor", "md:EntitiesDescriptor", "md:IDPSSODescriptor", "md:SPSSODescriptor", "md:KeyDescriptor",
	"md:SingleSignOnService", "md:SingleLogoutService", "md:NameIDFormat", "md:Extensions", "ds:KeyInfo", "ds:X509Data",
	"ds:X509Certificate", "ds:KeyValue", "AAAA", "!!!!", "MIIB",
}

var metadataAttrNames = []string{"entityID", "validUntil", "cacheDuration", "use", "Binding", "Location", "ResponseLocation",
	"WantAuthnRequestsSigned", "protocolSupportEnumeration", "xmlns", "xmlns:md", "xmlns:ds", "ID"}

// metadataFuzzFixtures returns the metadata FuzzCheckMetadata edits.
func metadataFuzzFixtures() ([]*xmlFixture, error) {
	env, err := responseFuzzEnv()
	if err != nil {
		return nil, err
	}
	idp, err := samltest.NewServer(samltest.Config{EntityID: "https://idp.example.test/metadata"})
	if err != nil {
		return nil, err
	}
	idp.Close() // only its metadata is used
	_, other, err := samltest.GenerateKeyPair("other", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	_, expired, err := samltest.GenerateKeyPair("expired", t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "weak"}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour)}
	weakDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &weakKey.PublicKey, weakKey)
	if err != nil {
		return nil, err
	}
	spMD, err := env.sp.Metadata()
	if err != nil {
		return nil, err
	}
	md := string(idp.Metadata())
	body := md[strings.Index(md, "<md:EntityDescriptor"):]
	cert := base64.StdEncoding.EncodeToString(idp.Certificate().Raw)
	two := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2030-02-01T00:00:00Z" cacheDuration="PT6H">` +
		body + strings.NewReplacer(idp.URL(), "https://other.example.test", "https://idp.example.test", "https://other.example.test", cert, base64.StdEncoding.EncodeToString(other.Raw)).Replace(body) +
		`</md:EntitiesDescriptor>`
	old := strings.Replace(md, cert, base64.StdEncoding.EncodeToString(expired.Raw)+`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`+
		`<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>`+base64.StdEncoding.EncodeToString(weakDER), 1)
	var out []*xmlFixture
	for _, b := range []string{md, two, old, string(spMD)} {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(b); err != nil {
			return nil, err
		}
		out = append(out, &xmlFixture{doc: doc, dict: metadataDict, attrs: metadataAttrNames})
	}
	return out, nil
}

// metadataScripts returns edits that reach the report's checks.
func (fx *xmlFixture) metadataScripts() [][]byte {
	var out [][]byte
	add := func(b ...[]byte) { out = append(out, ops(b...)) }
	el := func(tag string, n int) []byte { return []byte{fx.index(tag, n)} }
	d := func(s string) []byte { return dict(indexIn(metadataDict, s)) }
	attr := func(s string) []byte { return []byte{byte(indexIn(metadataAttrNames, s))} }
	root := []byte{0}
	for _, v := range []string{t0.Add(-time.Hour).Format(time.RFC3339), "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "not a date"} {
		add([]byte{opSetAttr}, root, attr("validUntil"), d(v))
	}
	for _, v := range []string{"P99999999999Y", "P1Y2M3DT4H5M6.5S", "-P1D", "PT", "P1H"} {
		add([]byte{opSetAttr}, root, attr("cacheDuration"), d(v))
	}
	add([]byte{opSetAttr}, el("KeyDescriptor", 0), attr("use"), d("encryption"))
	add([]byte{opRemove}, el("KeyDescriptor", 0))
	add([]byte{opSetText}, el("X509Certificate", 0), d("AAAA"))
	add([]byte{opSetText}, el("X509Certificate", 0), d("!!!!"))
	add([]byte{opDuplicate}, el("KeyDescriptor", 0))
	add([]byte{opRename}, el("X509Certificate", 0), d("ds:KeyValue"))
	add([]byte{opSetAttr}, el("SingleSignOnService", 0), attr("Binding"), d("urn:oasis:names:tc:SAML:2.0:bindings:SOAP"))
	add([]byte{opSetAttr}, el("SingleSignOnService", 1), attr("Location"), d("ftp://idp.example.test/sso"))
	add([]byte{opRemove}, el("SingleSignOnService", 0), []byte{opRemove}, el("SingleSignOnService", 0))
	add([]byte{opRemove}, el("SingleLogoutService", 0), []byte{opRemove}, el("SingleLogoutService", 0))
	add([]byte{opSetAttr}, el("IDPSSODescriptor", 0), attr("WantAuthnRequestsSigned"), d("true"))
	add([]byte{opSetAttr}, el("IDPSSODescriptor", 0), attr("protocolSupportEnumeration"), d("urn:oasis:names:tc:SAML:2.0:metadata"))
	add([]byte{opSetText}, el("NameIDFormat", 0), d(saml.NameIDFormatTransient), []byte{opRemove}, el("NameIDFormat", 1), []byte{opRemove}, el("NameIDFormat", 1))
	add([]byte{opRemove}, el("NameIDFormat", 0), []byte{opRemove}, el("NameIDFormat", 0), []byte{opRemove}, el("NameIDFormat", 0))
	add([]byte{opSetAttr}, el("EntityDescriptor", 1), attr("entityID"), d("https://idp.example.test/metadata"))
	add([]byte{opWrap}, root, d("md:EntitiesDescriptor"))
	add([]byte{opRename}, el("IDPSSODescriptor", 0), d("md:SPSSODescriptor"))
	add([]byte{opRename}, el("SPSSODescriptor", 0), d("md:IDPSSODescriptor"))
	add([]byte{opSetAttr}, root, attr("entityID"), d(" "))
	add([]byte{opSplice, 0, 38, 0}, lit(`<!DOCTYPE x [<!ENTITY e "x">]>`))
	return out
}

// FuzzParseDuration checks the xs:duration parser of metadata
// cacheDuration: a duration it accepts is not negative, and appending a
// component never makes it shorter (no overflow wraps around).
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT1H", "P1DT12H", "P1Y2M3DT4H5M6.5S", "P99999999999Y", "P292Y", "P200YT900000H", "P1W", "PT0.5S", "P", "PT", "P1H", "-P1D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := saml.ParseDuration(s)
		if !ok {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
		more := strings.TrimSpace(s) + "1D"
		if strings.Contains(s, "T") {
			more = strings.TrimSpace(s) + "1S"
		}
		if d2, ok := saml.ParseDuration(more); !ok || d2 < d {
			t.Fatalf("ParseDuration(%q) = %v but ParseDuration(%q) = %v, %v", s, d, more, d2, ok)
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
	idp := samltest.Start(f, samltest.Config{EntityID: "https://idp.example.test/metadata"})
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
