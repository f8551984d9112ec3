package samltest

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
)

// LogoutRequestOptions describe an IdP-initiated LogoutRequest built by
// Server.LogoutRequest: the IdP tells a service provider that the person
// logged out.
type LogoutRequestOptions struct {
	// SP is the entity ID of a registered service provider with an
	// SLOURL; it may be empty when only one service provider is
	// registered.
	SP string
	// User is the email of a configured user, whose NameID is sent.
	// Required unless NameID is set.
	User string
	// NameID overrides the user's NameID; NameIDFormat the format (the
	// user's, else the IdP's).
	NameID, NameIDFormat string
	// SessionIndexes are sent as SessionIndex elements; none means every
	// session of the NameID.
	SessionIndexes []string
	// RelayState is sent along; the SP must return it.
	RelayState string
	// Binding is saml.BindingHTTPRedirect (the default; the query is
	// signed) or saml.BindingHTTPPost (an enveloped XML signature).
	Binding string
	// Now overrides the IdP's clock: IssueInstant, and NotOnOrAfter
	// AssertionLifetime later.
	Now time.Time
	// Edit, when set, changes the LogoutRequest before it is signed, for
	// cases no switch covers.
	Edit func(*etree.Element)
	// Misbehavior switches. Unsigned, WrongKey, SHA1, WrongIssuer,
	// WrongDestination (another SLO URL), Expired (issued an hour ago,
	// NotOnOrAfter passed), Doctype and Replay (the previous
	// LogoutRequest to the same service provider again) apply.
	Misbehavior
}

// sentLogout is the last IdP-initiated LogoutRequest to a service
// provider, for Misbehavior.Replay.
type sentLogout struct {
	step *sso.Step
	id   string
}

// LogoutRequest builds an IdP-initiated LogoutRequest for a service
// provider's SLO URL and returns the step that delivers it, as the browser
// would (a redirect for HTTP-Redirect, a form to POST for HTTP-POST; see
// CompleteRequestFor), and the request's ID. The IdP remembers the ID, so
// that the LogoutResponse it receives (ReceiveLogoutResponse or its /slo
// endpoint) can be matched to it.
func (idp *Server) LogoutRequest(opts LogoutRequestOptions) (*sso.Step, string, error) {
	sp, err := idp.spFor(opts.SP)
	if err != nil {
		return nil, "", err
	}
	if sp.SLOURL == "" {
		return nil, "", fmt.Errorf("samltest: the service provider %q has no registered SLOURL", sp.EntityID)
	}
	m := opts.Misbehavior
	if m.Replay {
		idp.mu.Lock()
		last, ok := idp.lastLogout[sp.EntityID]
		idp.mu.Unlock()
		if ok {
			s := *last.step
			s.Form = cloneValues(last.step.Form)
			return &s, last.id, nil
		}
	}
	u, err := idp.userFor(ResponseOptions{User: opts.User, NameID: opts.NameID})
	if err != nil {
		return nil, "", err
	}
	now := opts.Now
	if now.IsZero() {
		now = idp.now()
	}
	issue := now
	if m.Expired {
		issue = now.Add(-time.Hour)
	}
	issuer, dest := idp.EntityID(), sp.SLOURL
	if m.WrongIssuer {
		issuer = "https://wrong-idp.example/metadata"
	}
	if m.WrongDestination {
		dest = "https://wrong-sp.example/slo"
	}
	id := newID()
	lr := etree.NewElement("samlp:LogoutRequest")
	lr.CreateAttr("xmlns:samlp", nsProtocol)
	lr.CreateAttr("xmlns:saml", nsAssertion)
	lr.CreateAttr("ID", id)
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", xmlTime(issue))
	lr.CreateAttr("Destination", dest)
	lr.CreateAttr("NotOnOrAfter", xmlTime(issue.Add(idp.cfg.AssertionLifetime)))
	lr.CreateAttr("Reason", "urn:oasis:names:tc:SAML:2.0:logout:user")
	lr.CreateElement("saml:Issuer").SetText(issuer)
	nid := lr.CreateElement("saml:NameID")
	if f := firstNonEmpty(opts.NameIDFormat, u.NameIDFormat, idp.cfg.NameIDFormat); f != "" {
		nid.CreateAttr("Format", f)
	}
	nid.SetText(u.NameID)
	for _, s := range opts.SessionIndexes {
		lr.CreateElement("samlp:SessionIndex").SetText(s)
	}
	if opts.Edit != nil {
		opts.Edit(lr)
	}
	id = lr.SelectAttrValue("ID", "")

	binding := opts.Binding
	if binding == "" {
		binding = saml.BindingHTTPRedirect
	}
	key := idp.key
	if m.WrongKey {
		key, _ = idp.otherKey()
	}
	sigAlg := dsig.RSASHA256SignatureMethod
	if m.SHA1 {
		sigAlg = dsig.RSASHA1SignatureMethod
	}
	step := &sso.Step{}
	switch binding {
	case saml.BindingHTTPRedirect:
		b, err := etree.NewDocumentWithRoot(lr).WriteToBytes()
		if err != nil {
			return nil, "", err
		}
		if m.Doctype {
			b = withDoctype(b, "samlp:LogoutRequest")
		}
		if m.Unsigned {
			key = nil
		}
		u, err := redirectQuery(sp.SLOURL, "SAMLRequest", b, opts.RelayState, key, sigAlg)
		if err != nil {
			return nil, "", err
		}
		step.Kind, step.URL = sso.StepRedirect, u
	case saml.BindingHTTPPost:
		if !m.Unsigned {
			if lr, err = signElement(idp.signer(m.WrongKey, m.SHA1, false), lr); err != nil {
				return nil, "", err
			}
		}
		b, err := etree.NewDocumentWithRoot(lr).WriteToBytes()
		if err != nil {
			return nil, "", err
		}
		if m.Doctype {
			b = withDoctype(b, "samlp:LogoutRequest")
		}
		step.Kind, step.URL = sso.StepPostForm, sp.SLOURL
		step.Form = url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}}
		if opts.RelayState != "" {
			step.Form.Set("RelayState", opts.RelayState)
		}
	default:
		return nil, "", fmt.Errorf("samltest: binding %q is not HTTP-Redirect or HTTP-POST", binding)
	}
	idp.mu.Lock()
	if idp.sentLogouts == nil {
		idp.sentLogouts, idp.lastLogout = map[string]string{}, map[string]sentLogout{}
	}
	idp.sentLogouts[id] = sp.EntityID
	s := *step
	s.Form = cloneValues(step.Form)
	idp.lastLogout[sp.EntityID] = sentLogout{step: &s, id: id}
	idp.mu.Unlock()
	return step, id, nil
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// withDoctype puts a DOCTYPE with an internal entity before the root.
func withDoctype(b []byte, root string) []byte {
	dt := []byte(`<!DOCTYPE ` + root + ` [<!ENTITY who "` + ForgedNameID + `">]>`)
	if i := bytes.Index(b, []byte("?>")); i >= 0 {
		return append(append(append([]byte{}, b[:i+2]...), dt...), b[i+2:]...)
	}
	return append(dt, b...)
}

// redirectQuery encodes msg for the HTTP-Redirect binding (DEFLATE,
// base64) and, with a key, signs the query with sigAlg (RSA-SHA256 or
// RSA-SHA1).
func redirectQuery(target, param string, msg []byte, relay string, key *rsa.PrivateKey, sigAlg string) (string, error) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = fw.Write(msg)
	_ = fw.Close()
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relay != "" {
		q += "&RelayState=" + url.QueryEscape(relay)
	}
	if key != nil {
		q += "&SigAlg=" + url.QueryEscape(sigAlg)
		hash := crypto.SHA256
		if sigAlg == dsig.RSASHA1SignatureMethod {
			hash = crypto.SHA1
		}
		h := hash.New()
		h.Write([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, hash, h.Sum(nil))
		if err != nil {
			return "", err
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + q, nil
}

// CompleteRequestFor returns what the endpoint at step.URL receives when
// the browser follows step, as a host passes it to package saml: the
// query and the raw query of a redirect, or the form of a POST.
func CompleteRequestFor(step *sso.Step) (sso.CompleteRequest, error) {
	switch step.Kind {
	case sso.StepRedirect:
		u, err := url.Parse(step.URL)
		if err != nil {
			return sso.CompleteRequest{}, err
		}
		return sso.CompleteRequest{Params: u.Query(), RawQuery: u.RawQuery}, nil
	case sso.StepPostForm:
		return sso.CompleteRequest{Params: cloneValues(step.Form)}, nil
	}
	return sso.CompleteRequest{}, fmt.Errorf("samltest: a %s step is not delivered by the browser", step.Kind)
}

// LogoutResponseRecord describes a LogoutResponse the IdP received from a
// service provider.
type LogoutResponseRecord struct {
	// ID, InResponseTo, Issuer and Destination are the response's.
	ID, InResponseTo, Issuer, Destination string
	// Status and SubStatus are the top-level and the second-level
	// StatusCode values ("" when absent).
	Status, SubStatus string
	// RelayState came along with the response.
	RelayState string
	// Binding is saml.BindingHTTPRedirect or saml.BindingHTTPPost.
	Binding string
	// Signed reports a signature; Verified that it verified with the
	// registered SP's SigningCertificate.
	Signed, Verified bool
	// KnownRequest reports that InResponseTo names a LogoutRequest this
	// IdP sent to the service provider named by Issuer and that was not
	// answered before.
	KnownRequest bool
}

// Partial reports a PartialLogout status.
func (r LogoutResponseRecord) Partial() bool {
	return r.SubStatus == "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"
}

// Success reports the top-level status Success.
func (r LogoutResponseRecord) Success() bool {
	return r.Status == "urn:oasis:names:tc:SAML:2.0:status:Success"
}

// ReceiveLogoutResponse takes the LogoutResponse that step (from
// saml.IdPLogout.Respond) carries to the IdP, as its /slo endpoint does
// when the browser follows the step: it reads and checks the response,
// records it (see LogoutResponses) and returns the record. It fails when
// the step goes elsewhere than the IdP's SLO URL or carries no
// LogoutResponse.
func (idp *Server) ReceiveLogoutResponse(step *sso.Step) (LogoutResponseRecord, error) {
	req, err := CompleteRequestFor(step)
	if err != nil {
		return LogoutResponseRecord{}, err
	}
	target := step.URL
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if target != idp.SLOURL() {
		return LogoutResponseRecord{}, fmt.Errorf("samltest: the step goes to %s, not to the IdP's SLO URL %s", target, idp.SLOURL())
	}
	enc := req.Params.Get("SAMLResponse")
	if enc == "" {
		return LogoutResponseRecord{}, errMissing("SAMLResponse")
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return LogoutResponseRecord{}, err
	}
	binding := saml.BindingHTTPPost
	if step.Kind == sso.StepRedirect {
		binding = saml.BindingHTTPRedirect
		if b, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20)); err != nil {
			return LogoutResponseRecord{}, err
		}
	}
	return idp.receiveLogoutResponse(b, binding, req.Params, req.RawQuery)
}

// receiveLogoutResponse reads a LogoutResponse's XML and records it.
func (idp *Server) receiveLogoutResponse(msg []byte, binding string, params url.Values, rawQuery string) (LogoutResponseRecord, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil || doc.Root() == nil || doc.Root().Tag != "LogoutResponse" || doc.Root().NamespaceURI() != nsProtocol {
		return LogoutResponseRecord{}, errors.New("samltest: SAMLResponse is not a LogoutResponse")
	}
	resp := doc.Root()
	rec := LogoutResponseRecord{
		ID: resp.SelectAttrValue("ID", ""), InResponseTo: resp.SelectAttrValue("InResponseTo", ""),
		Destination: resp.SelectAttrValue("Destination", ""), RelayState: params.Get("RelayState"), Binding: binding,
	}
	if e := resp.SelectElement("Issuer"); e != nil {
		rec.Issuer = strings.TrimSpace(e.Text())
	}
	if sc := resp.FindElement("./Status/StatusCode"); sc != nil {
		rec.Status = sc.SelectAttrValue("Value", "")
		if sub := sc.SelectElement("StatusCode"); sub != nil {
			rec.SubStatus = sub.SelectAttrValue("Value", "")
		}
	}
	idp.mu.Lock()
	sp, known := idp.sps[rec.Issuer]
	idp.mu.Unlock()
	if binding == saml.BindingHTTPRedirect {
		rec.Signed = params.Get("Signature") != ""
		if rec.Signed && known && sp.SigningCertificate != nil {
			rec.Verified = verifyRedirect(rawQuery, "SAMLResponse", sp.SigningCertificate) == nil
		}
	} else {
		rec.Signed = resp.SelectElement("Signature") != nil
		if rec.Signed && known && sp.SigningCertificate != nil {
			ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{sp.SigningCertificate}})
			_, verr := ctx.Validate(resp)
			rec.Verified = verr == nil
		}
	}
	idp.mu.Lock()
	if to, ok := idp.sentLogouts[rec.InResponseTo]; ok && to == rec.Issuer {
		rec.KnownRequest = true
		delete(idp.sentLogouts, rec.InResponseTo)
	}
	idp.logoutResponses = append(idp.logoutResponses, rec)
	idp.mu.Unlock()
	return rec, nil
}

// LogoutResponses returns the LogoutResponses received so far, at the
// /slo endpoint or by ReceiveLogoutResponse.
func (idp *Server) LogoutResponses() []LogoutResponseRecord {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return append([]LogoutResponseRecord(nil), idp.logoutResponses...)
}
