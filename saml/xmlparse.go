package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
	rtvalidator "github.com/mattermost/xml-roundtrip-validator"
)

// One pass over a message's bytes.
//
// parseChecked reads a document with one encoding/xml tokenizer and, from
// the same tokens, both builds the etree tree (exactly as etree's own
// reader does, with the same settings as parseXML) and applies the
// round-trip check of github.com/mattermost/xml-roundtrip-validator: every
// token must survive an encode and decode by encoding/xml unchanged, or
// the document is refused, since another XML parser might read it
// differently (the parser-confusion attacks behind CVE-2020-29509 and
// friends).
//
// The round-trip check proper encodes and decodes each token, which costs
// more than tokenizing the document. Tokens that are plainly safe (names
// of ASCII letters, digits, '_', '-' and '.', with at most one prefix;
// text and attribute values that are valid UTF-8 of XML characters) are
// known to survive the trip and are accepted without it; every other token
// (comments, processing instructions, directives, unusual names, empty
// character data) goes through the validator's own CheckToken. A name the
// tree builder cannot represent exactly as etree does sends the whole
// document to parseXML and the validator instead. The differential tests
// and fuzz targets (xmlparse_test.go) hold this to the validator and to
// etree.

// roundTripError says the document does not survive a parse round trip.
type roundTripError struct{ err error }

func (e roundTripError) Error() string { return "round trip: " + e.err.Error() }
func (e roundTripError) Unwrap() error { return e.err }

// parseLegacy is the reference path: etree's parse, then the round-trip
// validator over the same bytes.
func parseLegacy(b []byte) (*etree.Document, error) {
	doc, err := parseXML(b)
	if err != nil {
		return nil, err
	}
	if err := rtvalidator.Validate(bytes.NewReader(b)); err != nil {
		return nil, roundTripError{err}
	}
	return doc, nil
}

// errUnusual sends a document to parseLegacy.
var errUnusual = errors.New("unusual XML, checked by the reference path")

// parseChecked parses b in one pass: DOCTYPE refused, depth bounded, one
// root element only, and every token round-trip safe.
func parseChecked(b []byte) (*etree.Document, error) {
	if hasDoctype(b) {
		return nil, errDoctype
	}
	doc, rtErr, err := parseOnePass(b)
	if err == errUnusual {
		return parseLegacy(b)
	}
	if err != nil {
		return nil, err
	}
	if doc.Root() == nil {
		return nil, errNoRoot
	}
	if err := checkTopLevel(doc); err != nil {
		return nil, err
	}
	if rtErr != nil {
		// Reported after the parse and structure errors, as the
		// reference path does.
		return nil, roundTripError{rtErr}
	}
	return doc, nil
}

func passThrough(_ string, r io.Reader) (io.Reader, error) { return r, nil }

// parseOnePass builds the tree of b and returns, apart from a parse error,
// the first round-trip error.
func parseOnePass(b []byte) (doc *etree.Document, rtErr, err error) {
	doc = etree.NewDocument()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = passThrough
	dec.Strict = true
	stack := make([]*etree.Element, 1, 16)
	stack[0] = &doc.Element
	for {
		t, err := dec.RawToken()
		if err == io.EOF {
			if len(stack) != 1 {
				return nil, nil, etree.ErrXML
			}
			return doc, rtErr, nil
		}
		if err != nil {
			return nil, nil, err
		}
		top := stack[len(stack)-1]
		// The reference path reports a parse error before a round-trip
		// error, so the first one is kept until the parse ends.
		if _, text := t.(xml.CharData); !text && rtErr == nil && !safeToken(t) {
			rtErr = rtvalidator.CheckToken(t)
		}
		switch t := t.(type) {
		case xml.StartElement:
			if len(stack) > maxXMLDepth {
				return nil, nil, etree.ErrMaxDepth
			}
			if !plainName(t.Name.Local) {
				return nil, nil, errUnusual
			}
			e := top.CreateElement(t.Name.Local)
			e.Space = t.Name.Space
			for _, a := range t.Attr {
				if !plainName(a.Name.Local) {
					return nil, nil, errUnusual
				}
				dup := false
				for i := range e.Attr {
					if e.Attr[i].Space == a.Name.Space && e.Attr[i].Key == a.Name.Local {
						e.Attr[i].Value, dup = a.Value, true
						break
					}
				}
				if dup {
					continue
				}
				if a.Name.Space == "" {
					e.CreateAttr(a.Name.Local, a.Value)
				} else {
					e.CreateAttr(a.Name.Space+":"+a.Name.Local, a.Value)
				}
			}
			stack = append(stack, e)
		case xml.EndElement:
			if len(stack) == 1 || top.Tag != t.Name.Local || top.Space != t.Name.Space {
				return nil, nil, etree.ErrXML
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			s := string(t)
			if rtErr == nil && (s == "" || !safeText(s)) {
				rtErr = rtvalidator.CheckToken(t)
			}
			top.CreateText("").SetData(s)
		case xml.Comment:
			top.CreateComment(string(t))
		case xml.Directive:
			top.CreateDirective(string(t))
		case xml.ProcInst:
			top.CreateProcInst(t.Target, string(t.Inst))
		}
	}
}

// plainName reports whether s is a local name the tree builder stores
// exactly as etree does: no colon (etree would split it).
func plainName(s string) bool {
	return s != "" && strings.IndexByte(s, ':') < 0
}

// safeToken reports whether t is known to survive the round trip of the
// validator's CheckToken. It must never say true for a token CheckToken
// refuses (FuzzSafeToken checks this); false only costs time.
func safeToken(t xml.Token) bool {
	switch t := t.(type) {
	case xml.StartElement:
		if !safeName(t.Name) {
			return false
		}
		// The encoder declares each attribute prefix as a namespace named
		// after it, with a prefix of its own (the prefix itself, or "_" +
		// it for names starting with "xml") just before the first
		// attribute using it; the validator then removes the first
		// declaration directly followed by an attribute with its prefix,
		// and so on. Prefixes starting with '_' could collide with the
		// encoder's, and a declaration followed by an attribute with its
		// prefix could be taken for one of the encoder's.
		for i, a := range t.Attr {
			if !safeName(a.Name) || !safeText(a.Value) {
				return false
			}
			if a.Name.Space != "" && a.Name.Space[0] == '_' || a.Name.Space == "xmlns" && a.Name.Local[0] == '_' {
				return false
			}
			if a.Name.Space == "xmlns" && i+1 < len(t.Attr) && t.Attr[i+1].Name.Space == a.Name.Local {
				return false
			}
		}
		return true
	case xml.EndElement:
		return safeName(t.Name)
	case xml.CharData:
		return len(t) > 0 && safeText(string(t))
	}
	return false
}

func safeName(n xml.Name) bool {
	return asciiName(n.Local) && (n.Space == "" || asciiName(n.Space))
}

// asciiName: a letter or '_', then letters, digits, '_', '-', '.'.
func asciiName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// safeText reports whether s is valid UTF-8 made of XML characters, which
// the encoder writes back (escaped) as exactly the same characters.
func safeText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !(r >= 0x80 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
		i += n
	}
	return true
}
