package saml_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/beevik/etree"
	rtvalidator "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
)

// The one-pass path (one tokenizer pass with the round-trip check, and
// signatures verified in place) must never accept what the reference path
// (etree, github.com/mattermost/xml-roundtrip-validator, goxmldsig)
// refuses. The targets below compare the two on the same inputs.

// FuzzResponseOnePass feeds the inputs of FuzzValidateResponse (fixtures of
// the samltest IdP, well-formed and hostile, changed by edit scripts) to
// both paths. It fails when the one-pass path accepts a response the
// reference path refuses, when it refuses one the reference path accepts,
// and when the two accept with different identities.
func FuzzResponseOnePass(f *testing.F) {
	env := seedResponses(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, n uint8, script []byte) {
		script = script[:min(len(script), maxScript)]
		fx := env.fixtures[int(n)%len(env.fixtures)]
		raw := fx.edit(script)
		compareResponsePaths(t, ctx, env.sp, raw, fx.requestID)
	})
}

// compareResponsePaths checks raw on both paths.
func compareResponsePaths(t *testing.T, ctx context.Context, sp *saml.ServiceProvider, raw []byte, requestID string) (*sso.Identity, error) {
	t.Helper()
	enc := base64.StdEncoding.EncodeToString(raw)
	newID, newErr := saml.ValidateResponseWith(ctx, sp, enc, requestID, true)
	oldID, oldErr := saml.ValidateResponseWith(ctx, sp, enc, requestID, false)
	switch {
	case newErr == nil && oldErr != nil:
		t.Fatalf("the one-pass path accepts a response the reference path refuses (%v):\n%s", oldErr, raw)
	case newErr != nil && oldErr == nil:
		t.Fatalf("the one-pass path refuses a response the reference path accepts: %v\n%s", newErr, raw)
	case newErr == nil:
		if a, b := viewOf(newID), viewOf(oldID); !reflect.DeepEqual(a, b) {
			t.Fatalf("the paths accept with different identities:\n one-pass  %+v\nreference %+v\n%s", a, b, raw)
		}
	default:
		checkResponseError(t, newErr)
	}
	return newID, newErr
}

// TestCorpusOnePass runs the shared corpus on both paths: the same
// outcome for every case, and the corpus expectations on the one-pass
// path (TestCorpus and TestCorpusPolicy with it switched on).
func TestCorpusOnePass(t *testing.T) {
	dir := corpusDir()
	for _, manifest := range []string{"manifest.tsv", "manifest-policy.tsv"} {
		for _, c := range loadManifest(t, filepath.Join(dir, manifest)) {
			restore := saml.SetOnePass(true)
			newID, newErr := runCorpusCase(t, dir, c)
			restore()
			restore = saml.SetOnePass(false)
			oldID, oldErr := runCorpusCase(t, dir, c)
			restore()
			switch {
			case (newErr == nil) != (oldErr == nil):
				t.Errorf("%s: one-pass %v, reference %v", c.name, newErr, oldErr)
			case newErr == nil && !reflect.DeepEqual(viewOf(newID), viewOf(oldID)):
				t.Errorf("%s: identities differ:\n one-pass  %+v\nreference %+v", c.name, viewOf(newID), viewOf(oldID))
			case newErr != nil && sso.ReasonOf(newErr) != sso.ReasonOf(oldErr):
				t.Errorf("%s: refused for %s on the one-pass path, %s on the reference path", c.name, sso.ReasonOf(newErr), sso.ReasonOf(oldErr))
			}
		}
	}
	restore := saml.SetOnePass(true)
	defer restore()
	t.Run("corpus", TestCorpus)
	t.Run("policy", TestCorpusPolicy)
}

// xmlSeeds are documents for the parser and canonicalisation targets: the
// fuzz fixtures, the corpus responses, and parser-confusion cases.
func xmlSeeds(f *testing.F) [][]byte {
	var out [][]byte
	env, err := responseFuzzEnv()
	if err != nil {
		f.Fatal(err)
	}
	for _, fx := range env.fixtures {
		out = append(out, fx.edit(nil))
	}
	if ms, _ := filepath.Glob(filepath.Join(corpusDir(), "*", "response.xml")); len(ms) > 0 {
		for _, m := range ms[:min(len(ms), 12)] {
			if b, err := os.ReadFile(m); err == nil {
				out = append(out, b)
			}
		}
	}
	for _, s := range []string{
		`<a xmlns:x="u" x:b="1"><x:c>t</x:c></a>`,
		`<a><b:c:d/></a>`,
		`<:a/>`,
		`<a :b="1"/>`,
		`<a xmlns="u"><!-- c --><?pi x?><![CDATA[]]>&#13;</a>`,
		`<a xmlns:_xmlns="u" _xmlns:b="1" xmlns:b="v"/>`,
		`<x:a xmlns:x="u" xmlns="v" xml:lang="en" b="&#x9;&#xA;&#xD;"/>`,
		`<a><!ENTITY x "y"></a>`,
		`<a xmlns:x="u"><b xmlns:x="w" x:c="1" y:c="2" xmlns:y="z"/></a>`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

// FuzzParseOnePass: whatever the one-pass parser accepts, the reference
// path (etree, then the round-trip validator) accepts, into the same tree;
// and the other way round.
func FuzzParseOnePass(f *testing.F) {
	for _, s := range xmlSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := saml.ParseChecked(b)
		ref, refErr := saml.ParseLegacy(b)
		switch {
		case err == nil && refErr != nil:
			t.Fatalf("one-pass parser accepts what the reference path refuses (%v): %q", refErr, b)
		case err != nil && refErr == nil:
			t.Fatalf("one-pass parser refuses what the reference path accepts (%v): %q", err, b)
		case err == nil:
			if d := treeDiff(&doc.Element, &ref.Element); d != "" {
				t.Fatalf("trees differ: %s\n%q", d, b)
			}
		}
	})
}

// treeDiff describes the first difference between two trees, or "".
func treeDiff(a, b *etree.Element) string {
	if a.Space != b.Space || a.Tag != b.Tag {
		return fmt.Sprintf("element %s vs %s", a.FullTag(), b.FullTag())
	}
	if len(a.Attr) != len(b.Attr) {
		return fmt.Sprintf("<%s>: %d vs %d attributes", a.FullTag(), len(a.Attr), len(b.Attr))
	}
	for i := range a.Attr {
		x, y := a.Attr[i], b.Attr[i]
		if x.Space != y.Space || x.Key != y.Key || x.Value != y.Value || x.Element() != a || y.Element() != b {
			return fmt.Sprintf("<%s>: attribute %s=%q vs %s=%q", a.FullTag(), x.FullKey(), x.Value, y.FullKey(), y.Value)
		}
	}
	if len(a.Child) != len(b.Child) {
		return fmt.Sprintf("<%s>: %d vs %d children", a.FullTag(), len(a.Child), len(b.Child))
	}
	for i := range a.Child {
		if a.Child[i].Parent() != a || b.Child[i].Parent() != b || a.Child[i].Index() != i || b.Child[i].Index() != i {
			return fmt.Sprintf("<%s>: child %d parent or index", a.FullTag(), i)
		}
		switch x := a.Child[i].(type) {
		case *etree.Element:
			y, ok := b.Child[i].(*etree.Element)
			if !ok {
				return fmt.Sprintf("<%s>: child %d kind", a.FullTag(), i)
			}
			if d := treeDiff(x, y); d != "" {
				return d
			}
		case *etree.CharData:
			y, ok := b.Child[i].(*etree.CharData)
			if !ok || x.Data != y.Data || x.IsWhitespace() != y.IsWhitespace() || x.IsCData() != y.IsCData() {
				return fmt.Sprintf("<%s>: child %d text", a.FullTag(), i)
			}
		case *etree.Comment:
			y, ok := b.Child[i].(*etree.Comment)
			if !ok || x.Data != y.Data {
				return fmt.Sprintf("<%s>: child %d comment", a.FullTag(), i)
			}
		case *etree.Directive:
			y, ok := b.Child[i].(*etree.Directive)
			if !ok || x.Data != y.Data {
				return fmt.Sprintf("<%s>: child %d directive", a.FullTag(), i)
			}
		case *etree.ProcInst:
			y, ok := b.Child[i].(*etree.ProcInst)
			if !ok || x.Target != y.Target || x.Inst != y.Inst {
				return fmt.Sprintf("<%s>: child %d processing instruction", a.FullTag(), i)
			}
		}
	}
	return ""
}

// FuzzSafeToken: a token the one-pass parser lets through without the
// validator's CheckToken passes CheckToken.
func FuzzSafeToken(f *testing.F) {
	for _, s := range xmlSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, strict := range []bool{true, false} {
			d := xml.NewDecoder(bytes.NewReader(b))
			d.Strict = strict
			d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
			for i := 0; i < 200; i++ {
				tok, err := d.RawToken()
				if err != nil {
					break
				}
				if saml.SafeToken(tok) {
					if err := rtvalidator.CheckToken(xml.CopyToken(tok)); err != nil {
						t.Fatalf("token %#v passes safeToken but not CheckToken: %v", tok, err)
					}
				}
			}
		}
	})
}

// FuzzCanonicalize: for every element of a document and one of its child
// elements left out (the enveloped signature), the canonical bytes of
// verifyInPlace have the digest of goxmldsig's exclusive canonicaliser
// on the element detached (as the reference path digests it), or
// verifyInPlace leaves the element to goxmldsig.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range xmlSeeds(f) {
		f.Add(s, false, "")
		f.Add(s, true, "xs saml")
	}
	f.Fuzz(func(t *testing.T, b []byte, comments bool, prefixList string) {
		doc, err := saml.ParseLegacy(b)
		if err != nil {
			return
		}
		prefixes := strings.Fields(prefixList)
		n := 0
		walkElements(doc.Root(), func(el *etree.Element) {
			if n++; n > 40 {
				return
			}
			var skip *etree.Element
			skipAt := -1
			for i, c := range el.Child {
				if e, ok := c.(*etree.Element); ok {
					skip, skipAt = e, i
					if e.Tag == "Signature" {
						break
					}
				}
			}
			for _, sk := range []*etree.Element{nil, skip} {
				got, err := saml.CanonicalDigest(el, sk, comments, prefixes)
				if errors.Is(err, saml.ErrFallback) {
					continue
				}
				want, wantErr := referenceDigest(el, sk != nil, skipAt, comments, prefixList)
				switch {
				case wantErr != nil && err == nil:
					t.Fatalf("<%s>: goxmldsig fails (%v), the in-place canonicaliser does not\n%q", el.FullTag(), wantErr, b)
				case wantErr == nil && err != nil:
					t.Fatalf("<%s>: the in-place canonicaliser fails (%v), goxmldsig does not\n%q", el.FullTag(), err, b)
				case err == nil && !bytes.Equal(got, want):
					t.Fatalf("<%s> (skip %v, comments %v, prefixes %q): canonical forms differ\n%q", el.FullTag(), sk != nil, comments, prefixList, b)
				}
			}
		})
	})
}

// referenceDigest is what the reference path digests for el.
func referenceDigest(el *etree.Element, skip bool, skipAt int, comments bool, prefixList string) ([]byte, error) {
	var cp *etree.Element
	if p := el.Parent(); p != nil && p.Parent() != nil {
		ctx, err := etreeutils.NSBuildParentContext(el)
		if err != nil {
			return nil, err
		}
		if cp, err = etreeutils.NSDetatch(ctx, el); err != nil {
			return nil, err
		}
	} else {
		cp = el.Copy()
	}
	if skip {
		cp.RemoveChildAt(skipAt)
	}
	c := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList)
	if comments {
		c = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixList)
	}
	out, err := c.Canonicalize(cp)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(out)
	return sum[:], nil
}

// TestOnePassRoundTrip: a response whose XML does not survive the round
// trip of encoding/xml is refused on the one-pass path, as on the
// reference path, although etree reads it (here an attribute list the
// encoder rewrites, on the unsigned Response element).
func TestOnePassRoundTrip(t *testing.T) {
	doc := `<a xmlns:x="u"><b xmlns:x="w" x:c="1" y:c="2" xmlns:y="z"/></a>`
	if _, err := saml.ParseChecked([]byte(doc)); err == nil || !strings.Contains(err.Error(), "round trip") {
		t.Fatalf("ParseChecked: %v, want a round-trip error", err)
	}
	if _, err := saml.ParseLegacy([]byte(doc)); err == nil {
		t.Fatal("the reference path accepts it")
	}
	env, err := responseFuzzEnv()
	if err != nil {
		t.Fatal(err)
	}
	raw := env.fixtures[0].edit(nil) // assertion-signed
	bad := bytes.Replace(raw, []byte("<samlp:Response "), []byte(`<samlp:Response xmlns:x="w" x:c="1" y:c="2" xmlns:y="z" `), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("fixture has no <samlp:Response")
	}
	for _, onePass := range []bool{true, false} {
		_, err := saml.ValidateResponseWith(context.Background(), env.sp, base64.StdEncoding.EncodeToString(bad), "", onePass)
		if sso.ReasonOf(err) != sso.ReasonMalformed || !strings.Contains(err.Error(), "round trip") {
			t.Errorf("one-pass %v: %v, want malformed (round trip)", onePass, err)
		}
	}
	if _, err := saml.ValidateResponseWith(context.Background(), env.sp, base64.StdEncoding.EncodeToString(raw), "", true); err != nil {
		t.Fatalf("the fixture itself: %v", err)
	}
}

// TestOnePassVerifiesInPlace: the samltest IdP's signatures (Response,
// assertion, both) are verified in place, not left to goxmldsig, and a
// change to the signed content fails the digest.
func TestOnePassVerifiesInPlace(t *testing.T) {
	env, err := responseFuzzEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, fx := range env.fixtures {
		var response bool
		switch fx.name {
		case "assertion-signed", "sp-initiated", "extra-attributes":
		case "response-signed", "both-signed":
			response = true
		default:
			continue
		}
		raw := fx.edit(nil)
		if err := saml.VerifiesInPlace(env.sp, raw, response); err != nil {
			t.Errorf("%s: %v", fx.name, err)
		}
		forged := bytes.Replace(raw, []byte("alice@example.com</saml:NameID>"), []byte("mallory@example.com</saml:NameID>"), 1)
		if bytes.Equal(forged, raw) {
			t.Fatalf("%s: no NameID to change", fx.name)
		}
		if err := saml.VerifiesInPlace(env.sp, forged, response); err == nil || errors.Is(err, saml.ErrFallback) {
			t.Errorf("%s: changed NameID: %v, want a digest failure", fx.name, err)
		}
	}
}
