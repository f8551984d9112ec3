package saml

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"hash"
	"sort"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/russellhaering/goxmldsig/types"
)

// Enveloped signatures verified where they are.
//
// goxmldsig's ValidationContext.Validate copies the signed element, applies
// the exclusive canonicalisation to the copy, serialises it, digests the
// bytes and parses them again into the tree it returns. verifyInPlace does
// the same checks in the same order on the signature (a small element,
// which it copies as goxmldsig does), but canonicalises the signed element
// where it is, straight into the digest, and returns the element itself.
// What a caller then reads from it is what the digest covers: exclusive
// canonicalisation keeps every element, attribute and character of text
// and the namespace of every prefix in use; it drops comments (which the
// readers here skip) and namespace declarations no name uses.
//
// It handles the shape every IdP sends: the first Signature element in the
// signed element is a direct child, referencing it, with the enveloped
// transform and exclusive canonicalisation (with or without comments, with
// or without an InclusiveNamespaces prefix list). Anything else returns
// errFallback and is verified by goxmldsig itself. Canonical bytes are
// checked against goxmldsig's (FuzzCanonicalize) and the whole check
// against the goxmldsig path (FuzzResponseOnePass).

// errFallback: the signature is not of the shape verifyInPlace handles.
var errFallback = errors.New("signature checked by the reference path")

// c14nParams are the canonicalisation a verified signature used.
type c14nParams struct {
	comments bool
	prefixes []string // InclusiveNamespaces PrefixList
}

// covers reports whether canonicalising a subtree with p gives the same
// bytes on the tree as read and on the tree parsed again from bytes
// canonicalised with outer (what goxmldsig hands back): outer keeps
// comments whenever p does, and the declarations of p's prefixes.
func (outer *c14nParams) covers(p *c14nParams) bool {
	if p.comments && !outer.comments {
		return false
	}
	for _, x := range p.prefixes {
		found := false
		for _, y := range outer.prefixes {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

var (
	x509Algorithms = map[string]x509.SignatureAlgorithm{
		dsig.RSASHA1SignatureMethod:     x509.SHA1WithRSA,
		dsig.RSASHA256SignatureMethod:   x509.SHA256WithRSA,
		dsig.RSASHA384SignatureMethod:   x509.SHA384WithRSA,
		dsig.RSASHA512SignatureMethod:   x509.SHA512WithRSA,
		dsig.ECDSASHA1SignatureMethod:   x509.ECDSAWithSHA1,
		dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
		dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384,
		dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
	}
	digestAlgorithms = map[string]crypto.Hash{
		"http://www.w3.org/2000/09/xmldsig#sha1":        crypto.SHA1,
		"http://www.w3.org/2001/04/xmlenc#sha256":       crypto.SHA256,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
		"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
	}
	canonicalWrite = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
)

// goxmldsig's traversal limit is 1000 elements; the search below stays
// well under it or leaves the work to goxmldsig.
const maxSearch = 400

// verifyInPlace verifies the enveloped signature of el with the one
// certificate of tc (goxmldsig's rules) and returns the canonicalisation
// it used. outer, when not nil, is the canonicalisation of an enclosing
// element already verified in place: goxmldsig would see this element as
// parsed from those bytes, and when that could make a difference the
// check is left to the reference path.
func verifyInPlace(tc *trustedCert, el *etree.Element, outer *c14nParams) (*c14nParams, error) {
	scope, ok := ancestorScope(el)
	if !ok {
		return nil, errFallback
	}
	sigEl, ok := firstSignature(el, scope)
	if !ok {
		return nil, errFallback
	}
	// From here on, goxmldsig's findSignature on a copy of the Signature.
	if !validShape(sigEl) {
		return nil, dsig.ErrInvalidSignature
	}
	ctx, err := etreeutils.NSBuildParentContext(sigEl)
	if err != nil {
		return nil, errFallback
	}
	parentCtx := ctx
	if ctx, err = ctx.SubContext(sigEl); err != nil {
		return nil, errFallback
	}
	sc := sigEl.Copy()
	found := false
	err = etreeutils.NSFindChildrenIterateCtx(ctx, sc, dsig.Namespace, dsig.SignedInfoTag, func(ctx etreeutils.NSContext, si *etree.Element) error {
		d, err := etreeutils.NSDetatch(ctx, si)
		if err != nil {
			return err
		}
		m, err := etreeutils.NSFindOneChildCtx(ctx, d, dsig.Namespace, dsig.CanonicalizationMethodTag)
		if err != nil {
			return err
		}
		if m == nil {
			return errors.New("missing CanonicalizationMethod on Signature")
		}
		switch alg := dsig.AlgorithmID(m.SelectAttrValue(dsig.AlgorithmAttr, "")); alg {
		case dsig.CanonicalXML10ExclusiveAlgorithmId, dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId:
			if err := etreeutils.TransformExcC14n(d, "", alg == dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId); err != nil {
				return err
			}
		default:
			return errFallback
		}
		sc.InsertChildAt(si.Index(), d)
		sc.RemoveChild(si)
		found = true
		return etreeutils.ErrTraversalHalted
	})
	if err == errFallback {
		return nil, errFallback
	}
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New("Missing SignedInfo")
	}
	var sig types.Signature
	if err := etreeutils.NSUnmarshalElement(ctx, sc, &sig); err != nil {
		return nil, err
	}
	id := ""
	if a := el.SelectAttr(tc.vctx.IdAttribute); a != nil {
		id = a.Value
	}
	if sig.SignedInfo == nil || referenceTo(sig.SignedInfo.References, id) == nil {
		// goxmldsig would go on looking for another signature.
		return nil, errFallback
	}

	// goxmldsig's verifyCertificate.
	roots, err := tc.vctx.CertificateStore.Certificates()
	if err != nil {
		return nil, err
	}
	var cert *x509.Certificate
	if sig.KeyInfo != nil {
		if len(sig.KeyInfo.X509Data.X509Certificates) == 0 || sig.KeyInfo.X509Data.X509Certificates[0].Data == "" {
			return nil, errors.New("missing X509Certificate within KeyInfo")
		}
		der, err := base64.StdEncoding.DecodeString(stripRegexpSpace(sig.KeyInfo.X509Data.X509Certificates[0].Data))
		if err != nil {
			return nil, errors.New("Failed to parse certificate")
		}
		// goxmldsig parses the certificate and compares it with each
		// root by its bytes; comparing the bytes gives the same answer.
		for _, r := range roots {
			if bytes.Equal(r.Raw, der) {
				cert = r
			}
		}
	} else if len(roots) == 1 {
		cert = roots[0]
	} else {
		return nil, errors.New("Missing x509 Element")
	}
	if cert == nil {
		return nil, errors.New("Could not verify certificate against trusted certs")
	}
	if now := tc.vctx.Clock.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, errors.New("Cert is not valid at this time")
	}

	// goxmldsig's validateSignature.
	si, err := etreeutils.NSFindOneChildCtx(parentCtx, sc, dsig.Namespace, dsig.SignedInfoTag)
	if err != nil || si == nil {
		return nil, errors.New("Could not obtain canonical signed info bytes")
	}
	sdoc := etree.NewDocument()
	sdoc.SetRoot(si.Copy())
	sdoc.WriteSettings = canonicalWrite
	signedInfo, err := sdoc.WriteToBytes()
	if err != nil {
		return nil, errors.New("Could not obtain canonical signed info bytes")
	}
	algo, ok := x509Algorithms[sig.SignedInfo.SignatureMethod.Algorithm]
	if !ok {
		return nil, errors.New("Unknown signature method: " + sig.SignedInfo.SignatureMethod.Algorithm)
	}
	if sig.SignatureValue == nil {
		return nil, errors.New("Signature could not be verified")
	}
	sv, err := base64.StdEncoding.DecodeString(sig.SignatureValue.Data)
	if err != nil {
		return nil, errors.New("Could not decode signature")
	}
	if err := cert.CheckSignature(algo, signedInfo, sv); err != nil {
		return nil, err
	}
	// Only what the signature covers from here on.
	var verified types.SignedInfo
	if err := xml.Unmarshal(signedInfo, &verified); err != nil {
		return nil, err
	}
	ref := referenceTo(verified.References, id)
	if ref == nil {
		return nil, errors.New("Missing reference")
	}
	want, err := base64.StdEncoding.DecodeString(ref.DigestValue)
	if err != nil {
		return nil, err
	}
	p := &c14nParams{}
	enveloped, canon := 0, 0
	for _, t := range ref.Transforms.Transforms {
		switch dsig.AlgorithmID(t.Algorithm) {
		case dsig.EnvelopedSignatureAltorithmId:
			enveloped++
		case dsig.CanonicalXML10ExclusiveAlgorithmId, dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId:
			canon++
			p.comments = dsig.AlgorithmID(t.Algorithm) == dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId
			p.prefixes = nil
			if t.InclusiveNamespaces != nil {
				p.prefixes = strings.Fields(t.InclusiveNamespaces.PrefixList)
			}
		case dsig.CanonicalXML11AlgorithmId, dsig.CanonicalXML11WithCommentsAlgorithmId,
			dsig.CanonicalXML10RecAlgorithmId, dsig.CanonicalXML10WithCommentsAlgorithmId:
			return nil, errFallback
		default:
			return nil, errors.New("Unknown Transform Algorithm: " + t.Algorithm)
		}
	}
	if enveloped != 1 || canon != 1 || outer != nil && !outer.covers(p) {
		return nil, errFallback
	}
	h, ok := digestAlgorithms[ref.DigestAlgo.Algorithm]
	if !ok {
		return nil, errors.New("Unknown digest algorithm: " + ref.DigestAlgo.Algorithm)
	}
	hw := h.New()
	if err := canonicalize(hw, el, sigEl, scope, p); err != nil {
		return nil, err
	}
	got := hw.Sum(nil)
	if !bytes.Equal(got, want) {
		return nil, errors.New("Signature could not be verified")
	}
	if len(got) < 20 {
		return nil, errors.New("Computed digest is less than 20 something went wrong")
	}
	return p, nil
}

// referenceTo is goxmldsig's choice of reference: the first with no URI
// or a URI that is "#" (or any one character) followed by id.
func referenceTo(refs []types.Reference, id string) *types.Reference {
	for i := range refs {
		if refs[i].URI == "" || refs[i].URI[1:] == id {
			return &refs[i]
		}
	}
	return nil
}

// validShape is goxmldsig's check of a Signature's children, by local
// name: one SignedInfo, one SignatureValue, at most one KeyInfo.
func validShape(sig *etree.Element) bool {
	var si, sv, ki int
	for _, t := range sig.Child {
		if c, ok := t.(*etree.Element); ok {
			switch c.Tag {
			case dsig.SignedInfoTag:
				si++
			case dsig.SignatureValueTag:
				sv++
			case dsig.KeyInfoTag:
				ki++
			}
		}
	}
	return si == 1 && sv == 1 && ki <= 1
}

// stripRegexpSpace removes what goxmldsig's `\s+` matches.
func stripRegexpSpace(s string) string {
	if !strings.ContainsAny(s, " \t\n\f\r") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\f', '\r':
			return -1
		}
		return r
	}, s)
}

// nsBinding binds a prefix ("" for the default namespace) to a namespace.
type nsBinding struct{ prefix, uri string }

// defaultScope is goxmldsig's starting context.
var defaultScope = []nsBinding{{"", etreeutils.XMLNamespace}, {"xml", etreeutils.XMLNamespace}, {"xmlns", etreeutils.XMLNSNamespace}}

func lookup(scope []nsBinding, prefix string) (string, bool) {
	for i := len(scope) - 1; i >= 0; i-- {
		if scope[i].prefix == prefix {
			return scope[i].uri, true
		}
	}
	return "", false
}

// declare appends el's namespace declarations to scope, refusing what
// goxmldsig's NSContext refuses.
func declare(scope []nsBinding, el *etree.Element) ([]nsBinding, bool) {
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns":
			if a.Key == "xml" && a.Value != etreeutils.XMLNamespace || a.Key == "xmlns" {
				return scope, false
			}
			scope = append(scope, nsBinding{a.Key, a.Value})
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == etreeutils.XMLNSNamespace {
				return scope, false
			}
			scope = append(scope, nsBinding{"", a.Value})
		}
	}
	return scope, true
}

// ancestorScope is the namespace context around el.
func ancestorScope(el *etree.Element) ([]nsBinding, bool) {
	var up []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		up = append(up, p)
	}
	scope := append(make([]nsBinding, 0, 16), defaultScope...)
	for i := len(up) - 1; i >= 0; i-- {
		var ok bool
		if scope, ok = declare(scope, up[i]); !ok {
			return nil, false
		}
	}
	return scope, true
}

// firstSignature finds the Signature goxmldsig would look at first: the
// first element named Signature in el, in document order. It must be a
// direct child of el in the XML Signature namespace, and every element
// before it must resolve its prefix (goxmldsig fails otherwise).
func firstSignature(el *etree.Element, scope []nsBinding) (*etree.Element, bool) {
	visited := 0
	var found *etree.Element
	var walk func(e *etree.Element, scope []nsBinding) bool // false: stop
	walk = func(e *etree.Element, scope []nsBinding) bool {
		visited++
		if visited > maxSearch {
			return false
		}
		scope, ok := declare(scope, e)
		if !ok {
			return false
		}
		ns, ok := lookup(scope, e.Space)
		if !ok {
			return false
		}
		if e.Tag == dsig.SignatureTag {
			if ns == dsig.Namespace && e.Parent() == el {
				found = e
			}
			return false
		}
		for _, t := range e.Child {
			if c, ok := t.(*etree.Element); ok && !walk(c, scope) {
				return false
			}
		}
		return true
	}
	walk(el, scope)
	if found == nil {
		return nil, false
	}
	n := 0
	walkLimited(found, &n)
	return found, n <= maxSearch
}

func walkLimited(e *etree.Element, n *int) {
	*n++
	if *n > maxSearch {
		return
	}
	for _, t := range e.Child {
		if c, ok := t.(*etree.Element); ok {
			walkLimited(c, n)
		}
	}
}

// canonicalize writes the exclusive canonical form of el without skip to
// w, exactly as goxmldsig's exclusive canonicaliser writes it for el
// detached with the namespaces of scope. It returns errFallback for
// content whose canonical form it leaves to goxmldsig.
func canonicalize(w hash.Hash, el, skip *etree.Element, scope []nsBinding, p *c14nParams) error {
	bw := bufio.NewWriterSize(w, 2048)
	c := &c14n{w: bw, skip: skip, p: p}
	declared := append(make([]nsBinding, 0, 16), defaultScope...)
	if err := c.element(el, scope, declared, true); err != nil {
		return err
	}
	return bw.Flush()
}

type c14n struct {
	w     *bufio.Writer
	skip  *etree.Element
	p     *c14nParams
	attrs []etree.Attr // scratch
	used  []string     // scratch
}

func (c *c14n) inclusive(prefix string) bool {
	for _, x := range c.p.prefixes {
		if x == prefix {
			return true
		}
	}
	return false
}

func (c *c14n) element(el *etree.Element, scope, declared []nsBinding, root bool) error {
	scope, ok := declare(scope, el)
	if !ok {
		return errFallback
	}
	used := append(c.used[:0], el.Space)
	attrs := c.attrs[:0]
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns":
			if !root && c.inclusive(a.Key) {
				used = addOnce(used, a.Key)
			}
		case a.Space == "" && a.Key == "xmlns":
			if !root && c.inclusive("") {
				used = addOnce(used, "")
			}
		default:
			if a.Space != "" {
				used = addOnce(used, a.Space)
			}
			attrs = append(attrs, a)
		}
	}
	if root && len(c.p.prefixes) > 0 {
		// goxmldsig sees the element detached: every namespace in scope
		// declared on it, except xml, xmlns and a default namespace that is
		// the XML namespace.
		for i := range scope {
			b := scope[i]
			if i < len(defaultScope) || b.prefix == "xml" || b.prefix == "xmlns" {
				continue
			}
			if uri, _ := lookup(scope, b.prefix); b.prefix == "" && uri == etreeutils.XMLNamespace {
				continue
			}
			if c.inclusive(b.prefix) {
				used = addOnce(used, b.prefix)
			}
		}
	}
	for _, p := range used {
		if d, ok := lookup(declared, p); ok {
			if v, ok := lookup(scope, p); ok && d == v {
				continue
			}
		}
		uri, ok := lookup(scope, p)
		if !ok {
			return etreeutils.ErrUndeclaredNSPrefix{Prefix: p}
		}
		declared = append(declared, nsBinding{p, uri})
		if p == "" {
			attrs = append(attrs, etree.Attr{Key: "xmlns", Value: uri})
		} else {
			attrs = append(attrs, etree.Attr{Space: "xmlns", Key: p, Value: uri})
		}
	}
	// goxmldsig's order is the one sort.Sort gives with its comparison;
	// it is a total order unless two prefixed attributes share a local
	// name, which is left to goxmldsig.
	for i := range attrs {
		if attrs[i].Space == "" || attrs[i].Space == "xmlns" {
			continue
		}
		for j := i + 1; j < len(attrs); j++ {
			if attrs[j].Space != "" && attrs[j].Space != "xmlns" && attrs[j].Key == attrs[i].Key {
				return errFallback
			}
		}
	}
	sort.Sort(etreeutils.SortedAttrs(attrs))
	w := c.w
	w.WriteByte('<')
	writeTag(w, el)
	for i := range attrs {
		w.WriteByte(' ')
		attrs[i].WriteTo(w, &canonicalWrite)
	}
	w.WriteByte('>')
	c.attrs, c.used = attrs[:0], used[:0]
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t == c.skip {
				continue
			}
			if err := c.element(t, scope, declared, false); err != nil {
				return err
			}
		case *etree.CharData:
			t.WriteTo(w, &canonicalWrite)
		case *etree.Comment:
			if c.p.comments {
				t.WriteTo(w, &canonicalWrite)
			}
		default:
			return errFallback
		}
	}
	w.WriteString("</")
	writeTag(w, el)
	w.WriteByte('>')
	return nil
}

func addOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func writeTag(w *bufio.Writer, el *etree.Element) {
	if el.Space != "" {
		w.WriteString(el.Space)
		w.WriteByte(':')
	}
	w.WriteString(el.Tag)
}
