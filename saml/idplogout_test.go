package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

var (
	sloKeyOnce sync.Once
	sloKey     *rsa.PrivateKey
	sloCert    *x509.Certificate
)

// spKeyPair returns the SP key of the IdP-initiated logout tests, valid
// both now (samltest checks signatures at the real time) and at t0.
func spKeyPair(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	sloKeyOnce.Do(func() {
		var err error
		sloKey, sloCert, err = samltest.GenerateKeyPair("sp", time.Now().Add(-time.Hour), t0.Add(365*24*time.Hour))
		if err != nil {
			panic(err)
		}
	})
	return sloKey, sloCert
}

// sloOptions shape the connection of newSLOEnv.
type sloOptions struct {
	idp         samltest.Config
	spKey       bool // the connection has an SP key, registered with the IdP
	postOnlyIdP bool // the IdP's metadata offers single logout by HTTP-POST only
	mod         func(*saml.Config)
}

// newSLOEnv is newEnv with single logout: SLOURL set, and the SP
// registered with the IdP with that SLO URL (and its certificate).
func newSLOEnv(t *testing.T, o sloOptions) *env {
	t.Helper()
	e := newEnv(t, o.idp, func(c *saml.Config) {
		c.SLOURL = sloURL
		if o.postOnlyIdP {
			c.IdPMetadataXML = regexp.MustCompile(`<md:SingleLogoutService Binding="`+saml.BindingHTTPRedirect+`"[^>]*/>`).ReplaceAll(c.IdPMetadataXML, nil)
		}
		if o.spKey {
			k, cert := spKeyPair(t)
			c.SPKeys = []saml.KeyPair{samltest.KeyPair(k, cert)}
		}
		if o.mod != nil {
			o.mod(c)
		}
	})
	reg := samltest.ServiceProvider{EntityID: spEntity, ACSURL: acsURL, SLOURL: sloURL}
	if o.spKey {
		_, reg.SigningCertificate = spKeyPair(t)
	}
	if err := e.idp.AddServiceProvider(reg); err != nil {
		t.Fatal(err)
	}
	return e
}

// idpLogout has the env's IdP send a LogoutRequest and returns what
// arrives at SLOURL, and the request's ID.
func (e *env) idpLogout(opts samltest.LogoutRequestOptions) (sso.CompleteRequest, string) {
	e.t.Helper()
	if opts.User == "" && opts.NameID == "" {
		opts.User = "alice@example.com"
	}
	step, id, err := e.idp.LogoutRequest(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := samltest.CompleteRequestFor(step)
	if err != nil {
		e.t.Fatal(err)
	}
	return req, id
}

var bindings = []string{saml.BindingHTTPRedirect, saml.BindingHTTPPost}

func bindingName(b string) string { return b[strings.LastIndex(b, "-")+1:] }

// TestHandleLogoutRequest: a signed LogoutRequest from the IdP, by either
// binding, is accepted with what it names; the LogoutResponse goes back to
// the IdP in the binding of its metadata, answers the request, carries the
// RelayState, and is signed when the SP has a key.
func TestHandleLogoutRequest(t *testing.T) {
	for _, reqBinding := range bindings {
		for _, postOnly := range []bool{false, true} {
			for _, withKey := range []bool{false, true} {
				name := "request " + bindingName(reqBinding) + "/idp post-only " + map[bool]string{false: "no", true: "yes"}[postOnly] + "/sp key " + map[bool]string{false: "no", true: "yes"}[withKey]
				t.Run(name, func(t *testing.T) {
					e := newSLOEnv(t, sloOptions{spKey: withKey, postOnlyIdP: postOnly})
					id, err := e.login(samltest.ResponseOptions{User: "alice@example.com", SessionIndex: "idp-session-1"})
					if err != nil {
						t.Fatal(err)
					}
					req, reqID := e.idpLogout(samltest.LogoutRequestOptions{Binding: reqBinding, SessionIndexes: []string{"idp-session-1"}, RelayState: "idp relay/1"})
					l, err := e.sp.HandleLogoutRequest(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					if l.NameID != "alice@example.com" || l.NameIDFormat != saml.NameIDFormatEmailAddress || len(l.SessionIndexes) != 1 || l.SessionIndexes[0] != "idp-session-1" ||
						l.RequestID != reqID || l.RelayState != "idp relay/1" || l.Binding != reqBinding || !l.Signed || l.Issuer != e.idp.EntityID() || len(l.Warnings) != 0 {
						t.Fatalf("IdPLogout = %+v", l)
					}
					if !l.Matches(id) {
						t.Fatalf("the session's identity %+v does not match", id)
					}
					step, err := l.Respond(context.Background(), saml.LogoutSucceeded)
					if err != nil {
						t.Fatal(err)
					}
					wantKind := sso.StepRedirect
					if postOnly {
						wantKind = sso.StepPostForm
					}
					if step.Kind != wantKind {
						t.Fatalf("step kind %v, want %v", step.Kind, wantKind)
					}
					rec, err := e.idp.ReceiveLogoutResponse(step)
					if err != nil {
						t.Fatal(err)
					}
					if !rec.KnownRequest || rec.InResponseTo != reqID || rec.Destination != e.idp.SLOURL() || rec.Issuer != spEntity ||
						!rec.Success() || rec.Partial() || rec.RelayState != "idp relay/1" || rec.ID == "" {
						t.Fatalf("LogoutResponse = %+v", rec)
					}
					if rec.Signed != withKey || rec.Verified != withKey {
						t.Fatalf("LogoutResponse signed %v verified %v; want %v", rec.Signed, rec.Verified, withKey)
					}
				})
			}
		}
	}
}

// deflateB64 encodes XML for the HTTP-Redirect binding.
func deflateB64(xml string) string {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write([]byte(xml))
	fw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// editXML rewrites the SAMLRequest's XML with f, keeping its encoding
// (DEFLATE for HTTP-Redirect); signatures are not renewed.
func editXML(t *testing.T, req *sso.CompleteRequest, f func(string) string) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(req.Params.Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[0] == '<' {
		req.Params.Set("SAMLRequest", base64.StdEncoding.EncodeToString([]byte(f(string(b)))))
		return
	}
	req.Params.Set("SAMLRequest", deflateB64(f(string(inflate(t, req.Params.Get("SAMLRequest"))))))
}

func removeChild(tag string) func(*etree.Element) {
	return func(el *etree.Element) {
		if c := el.SelectElement(tag); c != nil {
			el.RemoveChild(c)
		}
	}
}

// TestHandleLogoutRequestChecks: each check refuses the LogoutRequest
// that breaks it, with its Reason and a Detail; every refused request is
// otherwise valid, so each case fails when its check is removed.
func TestHandleLogoutRequestChecks(t *testing.T) {
	skew := saml.DefaultClockSkew
	expiredIdP := func() samltest.Config {
		k, c, err := samltest.GenerateKeyPair("expired idp", t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return samltest.Config{Key: k, Certificate: c}
	}
	type tc struct {
		name     string
		only     string // one binding only
		idp      func() samltest.Config
		postOnly bool
		mod      func(*saml.Config)
		opts     samltest.LogoutRequestOptions
		tamper   func(*testing.T, *sso.CompleteRequest)
		want     sso.Reason // "" when accepted
		detail   string     // in the Detail, where another check would refuse with the same Reason
	}
	cases := []tc{
		{name: "valid", want: ""},

		// Configuration.
		{name: "no SLOURL", mod: func(c *saml.Config) { c.SLOURL = "" }, want: sso.ReasonLogoutNotSupported},
		{name: "IdP without single logout", mod: func(c *saml.Config) { c.IdPMetadataXML = stripSLO(c.IdPMetadataXML) }, want: sso.ReasonLogoutNotSupported},

		// Parameters and encoding.
		{name: "no SAMLRequest", tamper: func(t *testing.T, r *sso.CompleteRequest) { r.Params.Del("SAMLRequest") }, want: sso.ReasonInvalidRequest},
		{name: "SAMLRequest and SAMLResponse", tamper: func(t *testing.T, r *sso.CompleteRequest) { r.Params.Set("SAMLResponse", r.Params.Get("SAMLRequest")) }, want: sso.ReasonInvalidRequest},
		{name: "not base64", tamper: func(t *testing.T, r *sso.CompleteRequest) { r.Params.Set("SAMLRequest", "%%%") }, want: sso.ReasonMalformed, detail: "not valid base64"},
		{name: "larger than MaxResponseBytes", mod: func(c *saml.Config) { c.MaxResponseBytes = 600 }, opts: samltest.LogoutRequestOptions{NameID: strings.Repeat("a", 1000)}, want: sso.ReasonRequestTooLarge},
		{name: "not DEFLATE", only: saml.BindingHTTPRedirect, tamper: func(t *testing.T, r *sso.CompleteRequest) {
			r.Params.Set("SAMLRequest", base64.StdEncoding.EncodeToString([]byte("\x00\x01 not deflate")))
		}, want: sso.ReasonMalformed, detail: "DEFLATE"},

		// XML structure (checked before the signature).
		{name: "DOCTYPE", opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{Doctype: true}}, want: sso.ReasonDoctypeForbidden},
		{name: "second root element", tamper: func(t *testing.T, r *sso.CompleteRequest) {
			editXML(t, r, func(x string) string {
				return x + `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`
			})
		}, want: sso.ReasonMalformed},
		{name: "not well-formed", tamper: func(t *testing.T, r *sso.CompleteRequest) {
			editXML(t, r, func(x string) string { return strings.Replace(x, "</samlp:LogoutRequest>", "", 1) })
		}, want: sso.ReasonMalformed},
		{name: "not a LogoutRequest", opts: samltest.LogoutRequestOptions{Edit: func(el *etree.Element) { el.Tag = "ArtifactResolve" }}, want: sso.ReasonMalformed},

		// Signature.
		{name: "unsigned", opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{Unsigned: true}}, want: sso.ReasonSignatureMissing},
		{name: "unsigned, allowed", mod: func(c *saml.Config) { c.AllowUnsignedLogoutRequests = true }, opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{Unsigned: true}}, want: ""},
		{name: "wrong key, query", only: saml.BindingHTTPRedirect, opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongKey: true}}, want: sso.ReasonSignatureInvalid},
		{name: "wrong key, XML", only: saml.BindingHTTPPost, opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongKey: true}}, want: sso.ReasonUntrustedKey},
		{name: "wrong key, query, unsigned allowed", only: saml.BindingHTTPRedirect, mod: func(c *saml.Config) { c.AllowUnsignedLogoutRequests = true },
			opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongKey: true}}, want: sso.ReasonSignatureInvalid},
		{name: "wrong key, XML, unsigned allowed", only: saml.BindingHTTPPost, mod: func(c *saml.Config) { c.AllowUnsignedLogoutRequests = true },
			opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongKey: true}}, want: sso.ReasonUntrustedKey},
		{name: "RelayState changed after signing", only: saml.BindingHTTPRedirect, opts: samltest.LogoutRequestOptions{RelayState: "r1"}, tamper: func(t *testing.T, r *sso.CompleteRequest) {
			r.Params.Set("RelayState", "r2")
		}, want: sso.ReasonSignatureInvalid},
		{name: "NameID changed after signing", tamper: func(t *testing.T, r *sso.CompleteRequest) {
			editXML(t, r, func(x string) string { return strings.Replace(x, "alice@example.com", "bob@example.com", 1) })
		}, want: sso.ReasonSignatureInvalid},
		{name: "SHA-1", opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{SHA1: true}}, want: sso.ReasonAlgorithmNotAllowed},
		{name: "SHA-1, allowed", mod: func(c *saml.Config) { c.AllowSHA1 = true }, opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{SHA1: true}}, want: ""},
		{name: "expired IdP certificate, rejected", idp: expiredIdP, mod: func(c *saml.Config) { c.RejectExpiredCertificates = true }, want: sso.ReasonCertificateExpired},

		// Content.
		{name: "Version 1.1", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "Version", "1.1")}, want: sso.ReasonMalformed},
		{name: "no ID", only: saml.BindingHTTPRedirect, opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "ID", "")}, want: sso.ReasonMalformed},
		{name: "wrong issuer", opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongIssuer: true}}, want: sso.ReasonIssuerMismatch},
		{name: "wrong issuer, SkipIssuerCheck", mod: func(c *saml.Config) { c.SkipIssuerCheck = true }, opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongIssuer: true}}, want: ""},
		{name: "no issuer", opts: samltest.LogoutRequestOptions{Edit: removeChild("Issuer")}, want: sso.ReasonIssuerMismatch},
		{name: "wrong destination", opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{WrongDestination: true}}, want: sso.ReasonDestinationMismatch},
		{name: "signed without destination", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "Destination", "")}, want: sso.ReasonDestinationMismatch},
		{name: "unsigned without destination, allowed", mod: func(c *saml.Config) { c.AllowUnsignedLogoutRequests = true },
			opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "Destination", ""), Misbehavior: samltest.Misbehavior{Unsigned: true}}, want: ""},
		{name: "no IssueInstant", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "IssueInstant", "")}, want: sso.ReasonMalformed},
		{name: "IssueInstant not a date", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "IssueInstant", "yesterday")}, want: sso.ReasonMalformed},
		{name: "issued in the future", opts: samltest.LogoutRequestOptions{Now: t0.Add(skew + time.Minute)}, want: sso.ReasonNotYetValid},
		{name: "issued within the skew ahead", opts: samltest.LogoutRequestOptions{Now: t0.Add(skew - time.Second)}, want: ""},
		{name: "issued too long ago", opts: samltest.LogoutRequestOptions{Now: t0.Add(-skew - 2*time.Minute), Edit: setAttr(".", "NotOnOrAfter", "")}, want: sso.ReasonExpired},
		{name: "issued just within the bound", opts: samltest.LogoutRequestOptions{Now: t0.Add(-skew - 2*time.Minute + time.Second), Edit: setAttr(".", "NotOnOrAfter", "")}, want: ""},
		{name: "expired (issued an hour ago)", opts: samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{Expired: true}}, want: sso.ReasonExpired},
		{name: "NotOnOrAfter passed", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "NotOnOrAfter", t0.Add(-skew-time.Second).Format(time.RFC3339))}, want: sso.ReasonExpired},
		{name: "NotOnOrAfter within the skew", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "NotOnOrAfter", t0.Add(-skew+time.Second).Format(time.RFC3339))}, want: ""},
		{name: "NotOnOrAfter not a date", opts: samltest.LogoutRequestOptions{Edit: setAttr(".", "NotOnOrAfter", "soon")}, want: sso.ReasonMalformed},
		{name: "no NameID", opts: samltest.LogoutRequestOptions{Edit: removeChild("NameID")}, want: sso.ReasonSubjectMissing, detail: "names no NameID"},
		{name: "empty NameID", opts: samltest.LogoutRequestOptions{Edit: func(el *etree.Element) { el.SelectElement("NameID").SetText("") }}, want: sso.ReasonSubjectMissing},
		{name: "EncryptedID", opts: samltest.LogoutRequestOptions{Edit: func(el *etree.Element) {
			nid := el.SelectElement("NameID")
			nid.Tag = "EncryptedID"
			nid.SetText("")
			nid.CreateElement("xenc:EncryptedData").CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
		}}, want: sso.ReasonEncryptedNotSupported},
		{name: "empty SessionIndex", opts: samltest.LogoutRequestOptions{SessionIndexes: []string{"s1", " "}}, want: sso.ReasonMalformed},
	}
	for _, c := range cases {
		for _, b := range bindings {
			if c.only != "" && c.only != b {
				continue
			}
			t.Run(c.name+"/"+bindingName(b), func(t *testing.T) {
				o := sloOptions{mod: c.mod, postOnlyIdP: c.postOnly}
				if c.idp != nil {
					o.idp = c.idp()
				}
				e := newSLOEnv(t, o)
				opts := c.opts
				opts.Binding = b
				req, reqID := e.idpLogout(opts)
				if c.tamper != nil {
					c.tamper(t, &req)
				}
				l, err := e.sp.HandleLogoutRequest(context.Background(), req)
				if c.want == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if l.RequestID != reqID {
						t.Fatalf("RequestID %q, want %q", l.RequestID, reqID)
					}
					return
				}
				wantReason(t, err, c.want)
				if c.detail != "" && !strings.Contains(err.Error(), c.detail) {
					t.Fatalf("err = %v; want %q in the Detail", err, c.detail)
				}
				if l != nil {
					t.Fatalf("refused, yet returned %+v", l)
				}
				var se *sso.Error
				if errors.As(err, &se) && se.Op != "saml.HandleLogoutRequest" {
					t.Fatalf("Op = %q", se.Op)
				}
			})
		}
	}
}

// TestHandleLogoutRequestSize: MaxResponseBytes caps the SAMLRequest
// before it is decoded, after, and after it is inflated.
func TestHandleLogoutRequestSize(t *testing.T) {
	for _, b := range bindings {
		t.Run(bindingName(b), func(t *testing.T) {
			e := newSLOEnv(t, sloOptions{})
			req, _ := e.idpLogout(samltest.LogoutRequestOptions{Binding: b})
			var size int
			if b == saml.BindingHTTPRedirect {
				size = len(inflate(t, req.Params.Get("SAMLRequest")))
			} else {
				raw, _ := base64.StdEncoding.DecodeString(req.Params.Get("SAMLRequest"))
				size = len(raw)
			}
			// A message a few bytes over the cap: its encoded form passes
			// the check before decoding, what it decodes or inflates to
			// does not.
			e = newSLOEnv(t, sloOptions{mod: func(c *saml.Config) { c.MaxResponseBytes = int64(size - 5) }})
			req, _ = e.idpLogout(samltest.LogoutRequestOptions{Binding: b})
			_, err := e.sp.HandleLogoutRequest(context.Background(), req)
			wantReason(t, err, sso.ReasonRequestTooLarge)

			// Far over the cap, it is refused before decoding, not as bad
			// base64.
			req.Params.Set("SAMLRequest", strings.Repeat("!", 4*size))
			_, err = e.sp.HandleLogoutRequest(context.Background(), req)
			wantReason(t, err, sso.ReasonRequestTooLarge)
		})
	}
}

// TestHandleLogoutRequestExpiredCertificate: without
// RejectExpiredCertificates, a request signed with an expired IdP
// certificate is accepted with a warning and an event.
func TestHandleLogoutRequestExpiredCertificate(t *testing.T) {
	k, c, err := samltest.GenerateKeyPair("expired idp", t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bindings {
		e := newSLOEnv(t, sloOptions{idp: samltest.Config{Key: k, Certificate: c}})
		req, _ := e.idpLogout(samltest.LogoutRequestOptions{Binding: b})
		l, err := e.sp.HandleLogoutRequest(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Warnings) != 1 || l.Warnings[0].Reason != sso.ReasonCertificateExpired {
			t.Fatalf("%s: warnings %+v", bindingName(b), l.Warnings)
		}
		found := false
		for _, ev := range e.events.of(sso.EventWarning) {
			found = found || ev.Reason == sso.ReasonCertificateExpired
		}
		if !found {
			t.Fatalf("%s: no warning event", bindingName(b))
		}
	}
}

// TestHandleLogoutRequestReplay: a LogoutRequest ends sessions once. Its
// ID stays in the replay cache while the request would be accepted: until
// IssueInstant plus the clock skew and the transit allowance, or
// NotOnOrAfter plus the skew when that comes first.
func TestHandleLogoutRequestReplay(t *testing.T) {
	for _, b := range bindings {
		t.Run(bindingName(b), func(t *testing.T) {
			rec := &recordingReplay{ReplayCache: sso.NewMemoryReplayCache(sso.MemoryOptions{Now: func() time.Time { return t0 }})}
			e := newSLOEnv(t, sloOptions{mod: func(c *saml.Config) { c.ReplayCache = rec }})
			req, reqID := e.idpLogout(samltest.LogoutRequestOptions{Binding: b})
			if _, err := e.sp.HandleLogoutRequest(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			again, againID := e.idpLogout(samltest.LogoutRequestOptions{Binding: b, Misbehavior: samltest.Misbehavior{Replay: true}})
			if againID != reqID {
				t.Fatalf("the replayed request has ID %q, want %q", againID, reqID)
			}
			_, err := e.sp.HandleLogoutRequest(context.Background(), again)
			wantReason(t, err, sso.ReasonReplayed)

			// samltest's NotOnOrAfter is 5 minutes after IssueInstant, later
			// than IssueInstant + skew + 2 minutes.
			want := t0.Add(saml.DefaultClockSkew + 2*time.Minute + time.Second)
			if len(rec.until) != 2 || !rec.until[0].Equal(want) {
				t.Fatalf("replay record until %v, want %v", rec.until, want)
			}

			// An earlier NotOnOrAfter shortens the record.
			noa := t0.Add(30 * time.Second)
			req, _ = e.idpLogout(samltest.LogoutRequestOptions{Binding: b, Edit: setAttr(".", "NotOnOrAfter", noa.Format(time.RFC3339))})
			if _, err := e.sp.HandleLogoutRequest(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if got, want := rec.until[len(rec.until)-1], noa.Add(saml.DefaultClockSkew+time.Second); !got.Equal(want) {
				t.Fatalf("replay record until %v, want %v", got, want)
			}
		})
	}
}

// failingReplay is a ReplayCache that cannot be reached.
type failingReplay struct{}

func (failingReplay) Seen(context.Context, string, time.Time) (bool, error) {
	return false, &sso.Error{Op: "test", Reason: sso.ReasonUnavailable, Detail: "connection refused"}
}

// TestHandleLogoutRequestReplayCacheFails: a request that cannot be
// checked for replay is refused.
func TestHandleLogoutRequestReplayCacheFails(t *testing.T) {
	e := newSLOEnv(t, sloOptions{mod: func(c *saml.Config) { c.ReplayCache = failingReplay{} }})
	req, _ := e.idpLogout(samltest.LogoutRequestOptions{})
	_, err := e.sp.HandleLogoutRequest(context.Background(), req)
	wantReason(t, err, sso.ReasonUnavailable)
}

// TestHandleLogoutRequestReplayAfterRecordExpiry: once the replay record
// has expired, the request is too old to be accepted anyway.
func TestHandleLogoutRequestReplayAfterRecordExpiry(t *testing.T) {
	e := newSLOEnv(t, sloOptions{}) // the replay cache runs on the env's clock
	req, _ := e.idpLogout(samltest.LogoutRequestOptions{Edit: setAttr(".", "NotOnOrAfter", "")})
	if _, err := e.sp.HandleLogoutRequest(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(saml.DefaultClockSkew + 2*time.Minute + 2*time.Second)
	_, err := e.sp.HandleLogoutRequest(context.Background(), req)
	wantReason(t, err, sso.ReasonExpired)
}

// TestHandleLogoutRequestSignatureWrapping: a forged LogoutRequest that
// carries the genuine signed one (in Extensions, with the same ID) is
// not read as signed.
func TestHandleLogoutRequestSignatureWrapping(t *testing.T) {
	e := newSLOEnv(t, sloOptions{})
	req, _ := e.idpLogout(samltest.LogoutRequestOptions{Binding: saml.BindingHTTPPost})
	b, _ := base64.StdEncoding.DecodeString(req.Params.Get("SAMLRequest"))
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	signed := doc.Root()
	forged := signed.Copy()
	for _, c := range forged.ChildElements() {
		if c.Tag == "Signature" {
			forged.RemoveChild(c)
		}
	}
	forged.SelectElement("NameID").SetText(samltest.ForgedNameID)
	ext := etree.NewElement("samlp:Extensions")
	ext.AddChild(signed)
	forged.InsertChildAt(1, ext)
	out, _ := etree.NewDocumentWithRoot(forged).WriteToBytes()
	req.Params.Set("SAMLRequest", base64.StdEncoding.EncodeToString(out))
	l, err := e.sp.HandleLogoutRequest(context.Background(), req)
	if err == nil {
		t.Fatalf("accepted a wrapped request for %q", l.NameID)
	}
	if r := sso.ReasonOf(err); r != sso.ReasonSignatureInvalid && r != sso.ReasonSignatureMissing {
		t.Fatalf("err = %v", err)
	}
}

// TestHandleLogoutRequestRawQuery: an IdP whose query encoding neither
// rebuild reproduces is verified over the raw query as received; a raw
// query whose values differ from the parameters used vouches for nothing.
func TestHandleLogoutRequestRawQuery(t *testing.T) {
	key, cert, err := samltest.GenerateKeyPair("idp", time.Now().Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e := newSLOEnv(t, sloOptions{idp: samltest.Config{Key: key, Certificate: cert}})
	odd := func(s string) string {
		return strings.NewReplacer("%2F", "/", "=", "%3D", "+", "%2B").Replace(url.PathEscape(s))
	}
	resign := func(p url.Values) string {
		signed := "SAMLRequest=" + odd(p.Get("SAMLRequest")) + "&RelayState=" + odd(p.Get("RelayState")) + "&SigAlg=" + odd(p.Get("SigAlg"))
		sum := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		p.Set("Signature", base64.StdEncoding.EncodeToString(sig))
		return signed + "&Signature=" + url.QueryEscape(p.Get("Signature"))
	}
	req, _ := e.idpLogout(samltest.LogoutRequestOptions{RelayState: "back to / the IdP"})
	raw := resign(req.Params)
	if dec, err := url.ParseQuery(raw); err != nil || dec.Get("SAMLRequest") != req.Params.Get("SAMLRequest") || dec.Get("RelayState") != "back to / the IdP" {
		t.Fatalf("test encoding does not round-trip: %v", err)
	}

	// Without the raw query, the rebuilt octets differ from what was signed.
	_, err = e.sp.HandleLogoutRequest(context.Background(), sso.CompleteRequest{Params: req.Params})
	wantReason(t, err, sso.ReasonSignatureInvalid)

	// Another request with the first one's raw query and signature.
	other, _ := e.idpLogout(samltest.LogoutRequestOptions{NameID: "mallory@example.com", RelayState: "x"})
	other.Params.Set("SigAlg", req.Params.Get("SigAlg"))
	other.Params.Set("Signature", req.Params.Get("Signature"))
	_, err = e.sp.HandleLogoutRequest(context.Background(), sso.CompleteRequest{Params: other.Params, RawQuery: raw})
	wantReason(t, err, sso.ReasonSignatureInvalid)

	l, err := e.sp.HandleLogoutRequest(context.Background(), sso.CompleteRequest{Params: req.Params, RawQuery: raw})
	if err != nil || l.RelayState != "back to / the IdP" {
		t.Fatalf("raw query: %+v %v", l, err)
	}
}

// TestIdPLogoutRespond: the status the host reports, the IdP's
// ResponseLocation, and a response that changes in transit no longer
// verifies at the IdP.
func TestIdPLogoutRespond(t *testing.T) {
	for _, c := range []struct {
		status      saml.LogoutStatus
		top, second string
	}{
		{saml.LogoutSucceeded, "urn:oasis:names:tc:SAML:2.0:status:Success", ""},
		{saml.LogoutPartial, "urn:oasis:names:tc:SAML:2.0:status:Success", "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"},
		{saml.LogoutFailed, "urn:oasis:names:tc:SAML:2.0:status:Responder", ""},
	} {
		for _, postOnly := range []bool{false, true} {
			e := newSLOEnv(t, sloOptions{spKey: true, postOnlyIdP: postOnly})
			req, reqID := e.idpLogout(samltest.LogoutRequestOptions{})
			l, err := e.sp.HandleLogoutRequest(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			step, err := l.Respond(context.Background(), c.status)
			if err != nil {
				t.Fatal(err)
			}
			if (step.Kind == sso.StepPostForm) != postOnly {
				t.Fatalf("%v: step %v", c.status, step.Kind)
			}
			rec, err := e.idp.ReceiveLogoutResponse(step)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != c.top || rec.SubStatus != c.second || rec.InResponseTo != reqID || !rec.Verified || rec.RelayState != "" {
				t.Fatalf("%v: %+v", c.status, rec)
			}
		}
	}

	// ResponseLocation, when the metadata has one, receives the answer.
	var idpSLO string // the IdP's SLO endpoint, as its metadata names it
	e := newSLOEnv(t, sloOptions{spKey: true, mod: func(c *saml.Config) {
		idpSLO = string(regexp.MustCompile(`Location="([^"]*/slo)"`).FindSubmatch(c.IdPMetadataXML)[1])
		c.IdPMetadataXML = bytes.Replace(c.IdPMetadataXML, []byte(`Location="`+idpSLO+`"`),
			[]byte(`Location="`+idpSLO+`" ResponseLocation="`+idpSLO+`-response"`), 1)
	}})
	req, _ := e.idpLogout(samltest.LogoutRequestOptions{})
	l, err := e.sp.HandleLogoutRequest(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	step, err := l.Respond(context.Background(), saml.LogoutSucceeded)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(step.URL, idpSLO+"-response?") {
		t.Fatalf("response sent to %s", step.URL)
	}
	x := string(inflate(t, mustQuery(t, step.URL).Get("SAMLResponse")))
	if !strings.Contains(x, `Destination="`+idpSLO+`-response"`) {
		t.Fatalf("Destination not the ResponseLocation: %s", x)
	}

	// A response whose RelayState changes in transit does not verify.
	e = newSLOEnv(t, sloOptions{spKey: true})
	req, _ = e.idpLogout(samltest.LogoutRequestOptions{RelayState: "r1"})
	l, err = e.sp.HandleLogoutRequest(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	step, _ = l.Respond(context.Background(), saml.LogoutSucceeded)
	step.URL = strings.Replace(step.URL, "RelayState=r1", "RelayState=r2", 1)
	rec, err := e.idp.ReceiveLogoutResponse(step)
	if err != nil || !rec.Signed || rec.Verified {
		t.Fatalf("tampered response: %+v %v", rec, err)
	}

	if _, err := l.Respond(context.Background(), saml.LogoutStatus(7)); sso.ReasonOf(err) != sso.ReasonInternal {
		t.Fatalf("unknown status: %v", err)
	}
	if _, err := (&saml.IdPLogout{}).Respond(context.Background(), saml.LogoutSucceeded); sso.ReasonOf(err) != sso.ReasonInternal {
		t.Fatalf("IdPLogout not from HandleLogoutRequest: %v", err)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

// TestIdPLogoutMatches: the sessions a LogoutRequest names.
func TestIdPLogoutMatches(t *testing.T) {
	e := newSLOEnv(t, sloOptions{})
	get := func(opts samltest.LogoutRequestOptions) *saml.IdPLogout {
		t.Helper()
		req, _ := e.idpLogout(opts)
		l, err := e.sp.HandleLogoutRequest(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	all := get(samltest.LogoutRequestOptions{})
	two := get(samltest.LogoutRequestOptions{SessionIndexes: []string{"s1", "s2"}})
	persistent := get(samltest.LogoutRequestOptions{NameID: "p-123", NameIDFormat: saml.NameIDFormatPersistent})
	noFormat := get(samltest.LogoutRequestOptions{Edit: func(el *etree.Element) { el.SelectElement("NameID").RemoveAttr("Format") }})

	alice := func(mod func(*sso.Identity)) *sso.Identity {
		id := &sso.Identity{Connection: "c1", Protocol: sso.ProtocolSAML, Subject: "alice@example.com", SubjectFormat: saml.NameIDFormatEmailAddress, SessionIndex: "s1"}
		if mod != nil {
			mod(id)
		}
		return id
	}
	for _, c := range []struct {
		name string
		l    *saml.IdPLogout
		id   *sso.Identity
		want bool
	}{
		{"same NameID, every session", all, alice(nil), true},
		{"session without index, every session", all, alice(func(id *sso.Identity) { id.SessionIndex = "" }), true},
		{"session index listed", two, alice(func(id *sso.Identity) { id.SessionIndex = "s2" }), true},
		{"session index not listed", two, alice(func(id *sso.Identity) { id.SessionIndex = "s3" }), false},
		{"session without index, indexes listed", two, alice(func(id *sso.Identity) { id.SessionIndex = "" }), false},
		{"other NameID", all, alice(func(id *sso.Identity) { id.Subject = "bob@example.com" }), false},
		{"NameID differs in case", all, alice(func(id *sso.Identity) { id.Subject = "Alice@example.com" }), false},
		{"other connection", all, alice(func(id *sso.Identity) { id.Connection = "c2" }), false},
		{"no connection", all, alice(func(id *sso.Identity) { id.Connection = "" }), false},
		{"other explicit format", all, alice(func(id *sso.Identity) { id.SubjectFormat = saml.NameIDFormatPersistent }), false},
		{"unspecified format", all, alice(func(id *sso.Identity) { id.SubjectFormat = saml.NameIDFormatUnspecified }), true},
		{"request without format", noFormat, alice(func(id *sso.Identity) { id.SubjectFormat = saml.NameIDFormatPersistent }), true},
		{"subject from SubjectAttribute, NameID attribute matches", persistent, alice(func(id *sso.Identity) {
			id.Subject, id.SubjectFormat = "T5014CD", "UID"
			id.Attributes = map[string][]string{saml.AttributeNameID: {"p-123"}, saml.AttributeNameIDFormat: {saml.NameIDFormatPersistent}}
		}), true},
		{"subject from SubjectAttribute equal to the NameID, NameID attribute differs", persistent, alice(func(id *sso.Identity) {
			id.Subject, id.SubjectFormat = "p-123", "UID"
			id.Attributes = map[string][]string{saml.AttributeNameID: {"someone-else"}}
		}), false},
		{"nil identity", all, nil, false},
	} {
		if got := c.l.Matches(c.id); got != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, got, c.want)
		}
	}
	if (*saml.IdPLogout)(nil).Matches(alice(nil)) || (&saml.IdPLogout{NameID: "alice@example.com"}).Matches(alice(nil)) {
		t.Error("an IdPLogout that HandleLogoutRequest did not return matches")
	}
}

// finishLogout calls sp.FinishLogout and returns the outcome's parts.
func finishLogout(ctx context.Context, sp *saml.ServiceProvider, req sso.CompleteRequest, end sso.EndSessionsFunc) (*sso.Step, string, error) {
	out, err := sp.FinishLogout(ctx, req, end)
	if err != nil {
		return nil, "", err
	}
	if out.Response != nil && out.ReturnTo != "" {
		return nil, "", errors.New("FinishLogout returned both a Response and a ReturnTo")
	}
	return out.Response, out.ReturnTo, nil
}

// TestFinishLogout: one entry point for what arrives at SLOURL.
func TestFinishLogout(t *testing.T) {
	ctx := context.Background()
	type endCall struct {
		calls   int
		matched bool
	}
	ender := func(partial bool, err error, id *sso.Identity, rec *endCall) func(context.Context, func(*sso.Identity) bool) (bool, error) {
		return func(_ context.Context, matches func(*sso.Identity) bool) (bool, error) {
			rec.calls++
			rec.matched = matches(id)
			return partial, err
		}
	}
	for _, c := range []struct {
		name       string
		partial    bool
		err        error
		nilEnd     bool
		top, sub   string
		wantCalled bool
	}{
		{name: "ended", top: "urn:oasis:names:tc:SAML:2.0:status:Success", wantCalled: true},
		{name: "partial", partial: true, top: "urn:oasis:names:tc:SAML:2.0:status:Success", sub: "urn:oasis:names:tc:SAML:2.0:status:PartialLogout", wantCalled: true},
		{name: "failed", err: errors.New("session store down"), top: "urn:oasis:names:tc:SAML:2.0:status:Responder", wantCalled: true},
		{name: "nil end", nilEnd: true, top: "urn:oasis:names:tc:SAML:2.0:status:Responder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSLOEnv(t, sloOptions{spKey: true})
			id, err := e.login(samltest.ResponseOptions{SessionIndex: "s1"})
			if err != nil {
				t.Fatal(err)
			}
			req, reqID := e.idpLogout(samltest.LogoutRequestOptions{SessionIndexes: []string{"s1"}, RelayState: "rs"})
			var rec endCall
			end := ender(c.partial, c.err, id, &rec)
			if c.nilEnd {
				end = nil
			}
			out, err := e.sp.FinishLogout(ctx, req, end)
			if err != nil || out.Response == nil || out.ReturnTo != "" {
				t.Fatalf("FinishLogout = %+v, %v", out, err)
			}
			if ended := c.err == nil && !c.nilEnd; out.Ended != ended || out.Partial != (ended && c.partial) {
				t.Fatalf("Ended %v, Partial %v", out.Ended, out.Partial)
			}
			step := out.Response
			if c.wantCalled && (rec.calls != 1 || !rec.matched) {
				t.Fatalf("end called %d times, matched %v", rec.calls, rec.matched)
			}
			r, err := e.idp.ReceiveLogoutResponse(step)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != c.top || r.SubStatus != c.sub || r.InResponseTo != reqID || r.RelayState != "rs" || !r.Verified {
				t.Fatalf("LogoutResponse %+v", r)
			}
		})
	}

	// A refused LogoutRequest: an error, no step, and end is not called.
	e := newSLOEnv(t, sloOptions{})
	req, _ := e.idpLogout(samltest.LogoutRequestOptions{Misbehavior: samltest.Misbehavior{Unsigned: true}})
	var rec endCall
	step, _, err := finishLogout(ctx, e.sp, req, ender(false, nil, nil, &rec))
	wantReason(t, err, sso.ReasonSignatureMissing)
	if step != nil || rec.calls != 0 {
		t.Fatalf("refused request: step %+v, end called %d times", step, rec.calls)
	}

	// Both messages, or neither.
	req, _ = e.idpLogout(samltest.LogoutRequestOptions{})
	req.Params.Set("SAMLResponse", req.Params.Get("SAMLRequest"))
	_, _, err = finishLogout(ctx, e.sp, req, ender(false, nil, nil, &rec))
	wantReason(t, err, sso.ReasonInvalidRequest)
	_, _, err = finishLogout(ctx, e.sp, sso.CompleteRequest{Params: url.Values{"RelayState": {"x"}}}, ender(false, nil, nil, &rec))
	wantReason(t, err, sso.ReasonInvalidRequest)
	if rec.calls != 0 {
		t.Fatalf("end called %d times", rec.calls)
	}

	// The IdP's answer to Logout: the return path, no step, end not called.
	idp, sp, id := sloEnv(t, false, true)
	lstep, err := sp.Logout(ctx, saml.LogoutRequestFor(id, browser, "/bye"))
	if err != nil {
		t.Fatal(err)
	}
	params := followLogout(t, idp, lstep)
	step, returnTo, err := finishLogout(ctx, sp, sso.CompleteRequest{Binding: browser, Params: params}, ender(false, nil, nil, &rec))
	if err != nil || step != nil || returnTo != "/bye" || rec.calls != 0 {
		t.Fatalf("LogoutResponse: %+v %q %v (end called %d times)", step, returnTo, err, rec.calls)
	}
	_, _, err = finishLogout(ctx, sp, sso.CompleteRequest{Binding: browser, Params: params}, nil)
	wantReason(t, err, sso.ReasonStateMissing)
}
