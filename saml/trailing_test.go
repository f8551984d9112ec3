package saml_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// extraContent lists what may follow (or precede) a document's root
// element without making it ill-formed to etree, and whether it is
// accepted. The SAML code reads the first root element only; another
// parser of the same bytes might read the second, or the text, so
// anything but white space around the root is refused.
var extraContent = []struct {
	name          string
	before, after string
	ok            bool
	detail        string // in the Detail of a refusal
}{
	{"trailing newline", "", "\n", true, ""},
	{"trailing white space", "", " \r\n\t \n", true, ""},
	{"byte order mark", "\ufeff", "", true, ""},
	{"second root element", "", `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="evil"/>`, false, "a second root element <samlp:Response> after its root element"},
	{"second root element after white space", "", "\n<x/>\n", false, "a second root element <x> after its root element"},
	{"trailing text", "", "text", false, "text after its root element"},
	{"trailing CDATA", "", "<![CDATA[text]]>", false, "text after its root element"},
	{"trailing comment", "", "<!-- comment -->", false, "a comment after its root element"},
	{"trailing processing instruction", "", `<?pi data?>`, false, "a processing instruction <?pi?> after its root element"},
	{"trailing directive", "", `<!ENTITY x "y">`, false, "a <!...> directive outside its root element"},
	{"text before the root", "text", "", false, "text before its root element"},
}

func withExtra(raw []byte, before, after string) []byte {
	return append(append([]byte(before), raw...), after...)
}

// TestResponseWithExtraContentRefused: a valid signed response with
// anything but white space after its root element is refused as
// malformed, with a Detail that names what was found.
func TestResponseWithExtraContentRefused(t *testing.T) {
	e := newEnv(t, samltest.Config{}, nil)
	for _, c := range extraContent {
		t.Run(c.name, func(t *testing.T) {
			relay, requestID, _ := e.begin(sso.BeginRequest{})
			raw, err := e.idp.Response(samltest.ResponseOptions{User: "alice@example.com", InResponseTo: requestID})
			if err != nil {
				t.Fatal(err)
			}
			if c.before != "" && strings.HasPrefix(string(raw), "<?xml") && c.before != "\ufeff" {
				// Text before the XML declaration is another error of
				// encoding/xml; put it between the declaration and the root.
				decl := strings.Index(string(raw), "?>") + 2
				raw = []byte(string(raw[:decl]) + c.before + string(raw[decl:]))
			} else {
				raw = withExtra(raw, c.before, "")
			}
			raw = withExtra(raw, "", c.after)
			id, err := e.complete(base64.StdEncoding.EncodeToString(raw), relay, browser)
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if id.Subject != "alice@example.com" {
					t.Fatalf("Subject = %q", id.Subject)
				}
				return
			}
			wantReason(t, err, sso.ReasonMalformed)
			var se *sso.Error
			errors.As(err, &se)
			if !strings.Contains(se.Detail, "the response has "+c.detail) {
				t.Fatalf("Detail = %q; want it to say the response has %s", se.Detail, c.detail)
			}
		})
	}
}

// TestLogoutResponseWithExtraContentRefused: the LogoutResponse is parsed
// by the same parser and refused the same way.
func TestLogoutResponseWithExtraContentRefused(t *testing.T) {
	idp, sp, id := sloEnv(t, true, true)
	for _, c := range []struct {
		after string
		ok    bool
	}{
		{"<!-- comment -->", false},
		{"<x/>", false},
		{"\n", true},
	} {
		step, err := sp.Logout(context.Background(), saml.LogoutRequestFor(id, browser, "/bye"))
		if err != nil {
			t.Fatal(err)
		}
		p := followLogout(t, idp, step)
		raw, _ := base64.StdEncoding.DecodeString(p.Get("SAMLResponse"))
		p.Set("SAMLResponse", base64.StdEncoding.EncodeToString(withExtra(raw, "", c.after)))
		_, err = sp.CompleteLogout(context.Background(), sso.CompleteRequest{Binding: browser, Params: p})
		if c.ok {
			if err != nil {
				t.Errorf("%q after the LogoutResponse: %v", c.after, err)
			}
			continue
		}
		wantReason(t, err, sso.ReasonMalformed)
		if !strings.Contains(err.Error(), "the LogoutResponse has") {
			t.Errorf("%q after the LogoutResponse: %v; want a Detail about the LogoutResponse", c.after, err)
		}
	}
}

// TestMetadataWithExtraContentRefused: metadata shares the parser; there a
// refusal is metadata_invalid, like any unusable metadata document.
func TestMetadataWithExtraContentRefused(t *testing.T) {
	idp := samltest.Start(t, samltest.Config{EntityID: "https://idp.example.test/metadata"})
	md := idp.Metadata()
	for _, c := range extraContent {
		if c.before == "text" {
			continue // the metadata starts with its XML declaration; covered for responses
		}
		_, err := saml.ParseMetadata(withExtra(md, c.before, c.after), idp.EntityID())
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, sso.ReasonMetadataInvalid) || !strings.Contains(err.Error(), "the metadata has "+c.detail) {
			t.Errorf("%s: err = %v; want metadata_invalid saying the metadata has %s", c.name, err, c.detail)
		}
	}
}
