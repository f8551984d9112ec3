package saml

import (
	"bytes"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// XML namespaces used by SAML 2.0 messages and metadata.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	nsXSI       = "http://www.w3.org/2001/XMLSchema-instance"
)

// maxXMLDepth bounds the nesting of parsed messages. SAML responses nest
// about ten levels deep; anything far deeper is hostile.
const maxXMLDepth = 64

// parseXML parses b into a tree. It refuses DTDs before parsing: a
// document type declaration is the door to entity expansion attacks and no
// SAML message or metadata needs one. It also refuses a document that is
// more than its root element (see checkTopLevel), which the parser itself
// accepts.
func parseXML(b []byte) (*etree.Document, error) {
	if hasDoctype(b) {
		return nil, errDoctype
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{MaxDepth: maxXMLDepth}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, err
	}
	if doc.Root() == nil {
		return nil, errNoRoot
	}
	if err := checkTopLevel(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// checkTopLevel requires the document to be its one root element, with
// only white space after it; before it, a byte order mark, the XML
// declaration, comments and white space. etree (like encoding/xml) reads
// several root elements, text around the root, and comments or processing
// instructions after it without complaint, and the SAML code reads the
// first root element only. Another consumer of the same bytes may read the
// last one, or the text, so such a document is refused rather than read
// in part.
func checkTopLevel(doc *etree.Document) error {
	seenRoot := false
	for i, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if seenRoot {
				return structureError("has a second root element <" + t.FullTag() + "> after its root element")
			}
			seenRoot = true
		case *etree.CharData:
			text := t.Data
			if i == 0 {
				text = strings.TrimPrefix(text, "\ufeff") // a UTF-8 byte order mark
			}
			if !isXMLSpace(text) {
				if seenRoot {
					return structureError("has text after its root element")
				}
				return structureError("has text before its root element")
			}
		case *etree.Comment:
			if seenRoot {
				return structureError("has a comment after its root element")
			}
		case *etree.ProcInst:
			if seenRoot {
				return structureError("has a processing instruction <?" + t.Target + "?> after its root element")
			}
		case *etree.Directive:
			return structureError("has a <!...> directive outside its root element")
		}
	}
	return nil
}

// isXMLSpace reports whether s holds only XML white space (space, tab, CR,
// LF).
func isXMLSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

type xmlError string

func (e xmlError) Error() string { return string(e) }

// structureError says how a well-formed document is more than one root
// element. It completes a sentence whose subject is the document: "the
// response " + it.
type structureError string

func (e structureError) Error() string { return "the document " + string(e) }

const (
	errDoctype xmlError = "the document contains a DOCTYPE declaration"
	errNoRoot  xmlError = "the document has no root element"
)

// hasDoctype reports whether b contains "<!DOCTYPE" in any letter case.
func hasDoctype(b []byte) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("<!"))
		if j < 0 {
			return false
		}
		i += j + 2
		if len(b)-i >= 7 && strings.EqualFold(string(b[i:i+7]), "DOCTYPE") {
			return true
		}
	}
}

// is reports whether el is the element ns:tag.
func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// child returns the first child element ns:tag of el, or nil.
func child(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == tag && e.NamespaceURI() == ns {
			return e
		}
	}
	return nil
}

// children returns the child elements ns:tag of el.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == tag && e.NamespaceURI() == ns {
			out = append(out, e)
		}
	}
	return out
}

// walk calls f for el and every descendant element in document order.
func walk(el *etree.Element, f func(*etree.Element)) {
	f(el)
	for _, c := range el.Child {
		if e, ok := c.(*etree.Element); ok {
			walk(e, f)
		}
	}
}

// text returns all character data directly inside el, concatenated, with
// surrounding white space trimmed. Unlike etree's Text it does not stop at
// a comment or child element, so "a<!---->b" reads as "ab", never "a": a
// parser that stops at the comment is the classic NameID truncation bug.
func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range el.Child {
		if cd, ok := c.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// attr returns the value of the unqualified attribute key of el.
func attr(el *etree.Element, key string) string {
	if el == nil {
		return ""
	}
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

// parseTime parses an xs:dateTime as SAML uses it (UTC, "Z" suffix,
// optional fraction). A value without a zone is read as UTC. A time whose
// UTC year is outside 0 to 9999 is refused: it cannot be written back as a
// date-time (e.g. in JSON), and no message or metadata needs one.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
	}
	if err != nil {
		return time.Time{}, false
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// stripSpace removes all XML white space from s (base64 text in XML may be
// wrapped and indented).
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}
