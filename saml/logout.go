package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/flowstate"
	"github.com/ssokit/sso/internal/token"
)

// LogoutRequest asks the IdP to end a session.
type LogoutRequest struct {
	// Flows keeps the pending logout until the IdP answers, as
	// sso.BeginRequest.Flows does for a login; the answer must come back
	// to the same browser.
	Flows sso.Flows
	// Binding is the browser's binding cookie, as for Begin, when Flows
	// is nil.
	Binding string
	// NameID, NameIDFormat and SessionIndex name the IdP session, as the
	// login's Identity holds them (see LogoutRequestFor).
	NameID, NameIDFormat, SessionIndex string
	// ReturnTo is the same-site relative path to land on afterwards.
	ReturnTo string
}

// LogoutRequestFor returns the LogoutRequest for the session of id, an
// Identity this package returned.
func LogoutRequestFor(id *sso.Identity, binding, returnTo string) LogoutRequest {
	r := LogoutRequest{Binding: binding, ReturnTo: returnTo, NameID: id.Subject, NameIDFormat: id.SubjectFormat, SessionIndex: id.SessionIndex}
	if v := id.Attributes[AttributeNameID]; len(v) > 0 {
		r.NameID, r.NameIDFormat = v[0], ""
		if f := id.Attributes[AttributeNameIDFormat]; len(f) > 0 {
			r.NameIDFormat = f[0]
		}
	}
	return r
}

const opLogout = "saml.Logout"

// Logout ends the person's session at the IdP, after the host ended its
// own. When the IdP offers single logout it returns a Step that sends a
// LogoutRequest there (HTTP-Redirect or HTTP-POST binding, signed with
// SPKeys[0] when an SP key is configured), with a flow bound to the
// browser whose handle is the RelayState; the IdP answers at SLOURL, where
// CompleteLogout checks it. Without single logout it redirects to
// fails with sso.ReasonLogoutNotSupported (the host then sends the browser
// where it likes).
func (sp *ServiceProvider) Logout(ctx context.Context, req LogoutRequest) (*sso.Step, error) {
	st := sp.state()
	returnTo := ""
	if req.ReturnTo != "" {
		p, ok := sso.SafeReturnPath(req.ReturnTo)
		if !ok {
			return nil, sp.errorf(opLogout, sso.ReasonInvalidRequest, fmt.Sprintf("ReturnTo %q is not a same-site relative path", req.ReturnTo), nil)
		}
		returnTo = p
	}
	if st.slo.Location == "" || sp.cfg.SLOURL == "" {
		detail := "the IdP offers no single logout service; only the application's session ended"
		if st.slo.Location != "" {
			detail = "the connection has no SLOURL to receive the IdP's LogoutResponse; configure it (and give it to the IdP) to log out at the IdP too"
		}
		return nil, sp.errorf(opLogout, sso.ReasonLogoutNotSupported, detail, nil)
	}
	if req.NameID == "" {
		return nil, sp.errorf(opLogout, sso.ReasonSubjectMissing, "LogoutRequest.NameID is empty: the IdP needs the session's NameID", nil)
	}
	now := sp.cfg.Now()
	id := "_" + strings.TrimLeft(mustToken(sp), "-_")
	lr := etree.NewElement("samlp:LogoutRequest")
	lr.CreateAttr("xmlns:samlp", nsProtocol)
	lr.CreateAttr("xmlns:saml", nsAssertion)
	lr.CreateAttr("ID", id)
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", now.UTC().Format("2006-01-02T15:04:05Z"))
	lr.CreateAttr("Destination", st.slo.Location)
	lr.CreateElement("saml:Issuer").SetText(sp.cfg.EntityID)
	nid := lr.CreateElement("saml:NameID")
	if req.NameIDFormat != "" && strings.HasPrefix(req.NameIDFormat, "urn:") {
		nid.CreateAttr("Format", req.NameIDFormat)
	}
	nid.SetText(req.NameID)
	if req.SessionIndex != "" {
		lr.CreateElement("samlp:SessionIndex").SetText(req.SessionIndex)
	}

	flowID, err := token.Random(sp.cfg.Rand, 24)
	if err != nil {
		return nil, err
	}
	flow := &sso.Flow{ID: flowID, Connection: sp.cfg.ID, RequestID: id, ReturnTo: returnTo, Created: now, Expires: now.Add(sp.cfg.FlowLifetime)}
	if err := flowstate.Of(req.Flows, sp.store, req.Binding).Save(ctx, flow); err != nil {
		return nil, err
	}
	key := sp.currentKey(sp.cfg.Now())
	step := &sso.Step{State: flowID, Expires: flow.Expires}
	if st.slo.Binding == BindingHTTPPost {
		if key != nil {
			if lr, err = signXML(key, lr); err != nil {
				return nil, sp.errorf(opLogout, sso.ReasonInternal, "signing the LogoutRequest failed", err)
			}
		}
		b, err := etree.NewDocumentWithRoot(lr).WriteToBytes()
		if err != nil {
			return nil, sp.errorf(opLogout, sso.ReasonInternal, "writing the LogoutRequest failed", err)
		}
		step.Kind, step.URL = sso.StepPostForm, st.slo.Location
		step.Form = url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}, "RelayState": {flowID}}
	} else {
		u, err := redirectURL(st.slo.Location, "SAMLRequest", lr, flowID, key)
		if err != nil {
			return nil, sp.errorf(opLogout, sso.ReasonInternal, "building the LogoutRequest URL failed", err)
		}
		step.Kind, step.URL = sso.StepRedirect, u
	}
	if sp.cfg.Debug {
		b, _ := etree.NewDocumentWithRoot(lr.Copy()).WriteToString()
		sp.log.Info("saml: LogoutRequest", "connection", sp.cfg.ID, "binding", st.slo.Binding, "url", st.slo.Location, "xml", b)
	}
	return step, nil
}

func mustToken(sp *ServiceProvider) string {
	t, err := token.Random(sp.cfg.Rand, 20)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return t
}

// signXML signs el (enveloped, exclusive c14n, placed after the Issuer).
func signXML(k *spKey, el *etree.Element) (*etree.Element, error) {
	ctx, err := dsig.NewSigningContext(k.signer, [][]byte{k.cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	alg := dsig.RSASHA256SignatureMethod
	if _, ok := k.signer.(*ecdsa.PrivateKey); ok {
		alg = dsig.ECDSASHA256SignatureMethod
	}
	if err := ctx.SetSignatureMethod(alg); err != nil {
		return nil, err
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return nil, err
	}
	out := el.Copy()
	out.InsertChildAt(1, sig)
	return out, nil
}

// deflateStored returns b as a DEFLATE stream (RFC 1951) of stored
// blocks: valid input for every inflater, as the HTTP-Redirect binding
// requires, without compressing. A compressor costs more per login than
// everything else Begin does (Huffman tables for a 600-byte message), and
// saves only a few hundred bytes of URL, far below what browsers and IdPs
// accept.
func deflateStored(b []byte) []byte {
	const maxBlock = 1<<16 - 1
	out := make([]byte, 0, len(b)+5*(len(b)/maxBlock+1))
	for {
		n := min(len(b), maxBlock)
		final := byte(0)
		if n == len(b) {
			final = 1 // BFINAL; BTYPE 00 (stored)
		}
		out = append(out, final, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, b[:n]...)
		b = b[n:]
		if final == 1 {
			return out
		}
	}
}

// redirectURL encodes msg for the HTTP-Redirect binding (DEFLATE, base64)
// and, with a key, signs the query (saml-bindings 3.4.4.1).
func redirectURL(target, param string, msg *etree.Element, relay string, k *spKey) (string, error) {
	b, err := etree.NewDocumentWithRoot(msg.Copy()).WriteToBytes()
	if err != nil {
		return "", err
	}
	return redirectURLBytes(target, param, b, relay, k)
}

// redirectURLBytes is redirectURL for a message already serialised.
func redirectURLBytes(target, param string, b []byte, relay string, k *spKey) (string, error) {
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(deflateStored(b)))
	if relay != "" {
		q += "&RelayState=" + url.QueryEscape(relay)
	}
	if k != nil {
		alg, hash := dsig.RSASHA256SignatureMethod, crypto.SHA256
		if _, ok := k.signer.(*ecdsa.PrivateKey); ok {
			alg = dsig.ECDSASHA256SignatureMethod
		}
		q += "&SigAlg=" + url.QueryEscape(alg)
		h := hash.New()
		h.Write([]byte(q))
		sig, err := k.signer.Sign(rand.Reader, h.Sum(nil), hash)
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

// LogoutResult is the outcome of a single logout.
type LogoutResult struct {
	// ReturnTo is the path given to Logout.
	ReturnTo string
	// Partial reports that the IdP could not end every session of the
	// person (status PartialLogout).
	Partial bool
}

const opCompleteLogout = "saml.CompleteLogout"

// CompleteLogout checks the IdP's LogoutResponse at SLOURL: req.Params
// holds the POST form or the query (HTTP-Redirect binding) with
// SAMLResponse and RelayState, req.Binding the browser's cookie. The
// response must answer the LogoutRequest this browser sent (flow and
// InResponseTo), come from the IdP, and report success. A signature, when
// present, must verify with the IdP's certificates; unsigned responses are
// accepted, since all they can do is end a logout that already happened
// locally.
func (sp *ServiceProvider) CompleteLogout(ctx context.Context, req sso.CompleteRequest) (*LogoutResult, error) {
	res, err := sp.completeLogout(ctx, req)
	return res, sp.debugFail(err)
}

func (sp *ServiceProvider) completeLogout(ctx context.Context, req sso.CompleteRequest) (*LogoutResult, error) {
	now := sp.cfg.Now()
	c := &checker{sp: sp, st: sp.state(), now: now, op: opCompleteLogout, onePass: onePassXML}
	enc := req.Params.Get("SAMLResponse")
	if enc == "" {
		return nil, c.fail(sso.ReasonInvalidRequest, "the request has no SAMLResponse parameter", nil)
	}
	raw, err := sp.decodeResponse(opCompleteLogout, enc)
	if err != nil {
		return nil, err
	}
	redirect := req.Params.Has("SigAlg") || req.Params.Has("Signature") || !looksLikeXML(raw)
	if redirect {
		out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), int64(sp.maxBytes)+1))
		if err != nil {
			return nil, c.fail(sso.ReasonMalformed, "the LogoutResponse is not DEFLATE-encoded as the HTTP-Redirect binding requires", err)
		}
		if len(out) > sp.maxBytes {
			return nil, c.fail(sso.ReasonRequestTooLarge, "the inflated LogoutResponse is larger than MaxResponseBytes", nil)
		}
		raw = out
	}
	if sp.cfg.Debug {
		sp.log.Info("saml: LogoutResponse received", "connection", sp.cfg.ID, "xml", truncate(string(raw), 64<<10))
	}
	root, err := c.parseMessage(raw, "LogoutResponse")
	if err != nil {
		return nil, err
	}
	if !is(root, nsProtocol, "LogoutResponse") {
		return nil, c.fail(sso.ReasonMalformed, fmt.Sprintf("the message is <%s>, not a LogoutResponse", root.FullTag()), nil)
	}
	if redirect && req.Params.Get("Signature") != "" {
		if _, err := c.verifyRedirectSignature(req.Params, req.RawQuery, "SAMLResponse", "LogoutResponse"); err != nil {
			return nil, err
		}
	} else if findSignatureFor(root) != nil {
		var sigErr error
		walk(root, func(el *etree.Element) {
			if sigErr == nil && is(el, nsDSig, "Signature") {
				sigErr = c.checkAlgorithms(el)
			}
		})
		if sigErr != nil {
			return nil, sigErr
		}
		if root, _, err = c.verifySignature(root, "LogoutResponse"); err != nil {
			return nil, err
		}
	}
	if v := attr(root, "Version"); v != "2.0" {
		return nil, c.mismatch(sso.ReasonMalformed, "the LogoutResponse is not SAML 2.0", "2.0", v)
	}
	if iss := text(child(root, nsAssertion, "Issuer")); iss != "" && !sp.cfg.SkipIssuerCheck && iss != c.st.md.EntityID {
		return nil, c.mismatch(sso.ReasonIssuerMismatch, "the LogoutResponse comes from another IdP", c.st.md.EntityID, iss)
	}
	if d := attr(root, "Destination"); d != "" && d != sp.cfg.SLOURL {
		return nil, c.mismatch(sso.ReasonDestinationMismatch, "the LogoutResponse is addressed to another endpoint than SLOURL", sp.cfg.SLOURL, d)
	}
	irt := attr(root, "InResponseTo")
	if irt == "" {
		return nil, c.fail(sso.ReasonInResponseToMismatch, "the LogoutResponse answers no request (no InResponseTo)", nil)
	}
	flow, err := flowstate.Take(ctx, flowstate.Of(req.Flows, sp.store, req.Binding), req.Params.Get("RelayState"), sp.cfg.ID, now)
	if err != nil {
		return nil, err
	}
	if irt != flow.RequestID {
		return nil, c.mismatch(sso.ReasonInResponseToMismatch, "the LogoutResponse answers another request than the one this browser sent", flow.RequestID, irt)
	}
	res := &LogoutResult{ReturnTo: flow.ReturnTo}
	status := child(root, nsProtocol, "Status")
	code := attr(child(status, nsProtocol, "StatusCode"), "Value")
	sub := attr(child(child(status, nsProtocol, "StatusCode"), nsProtocol, "StatusCode"), "Value")
	switch {
	case code == statusSuccess:
	case strings.HasSuffix(sub, ":PartialLogout"):
		res.Partial = true
	default:
		detail := "the IdP did not complete the logout: status " + code
		if sub != "" {
			detail += " / " + sub
		}
		if m := text(child(status, nsProtocol, "StatusMessage")); m != "" {
			detail += ": " + m
		}
		return nil, c.mismatch(sso.ReasonIdPError, detail, statusSuccess, code)
	}
	return res, nil
}

func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf")
	return len(b) > 0 && b[0] == '<'
}

// verifyRedirectSignature checks the query signature of the HTTP-Redirect
// binding over the message in parameter param (SAMLResponse or
// SAMLRequest; what names the message in errors) and returns the
// certificate it verifies with. The signed octets are the URL-encoded
// parameters as the IdP sent them: taken from rawQuery when the host
// passed it (and only if they decode to the values in p, so what is
// verified is what is used), else rebuilt with standard encoding and with
// lower-case percent escapes, which ADFS uses.
func (c *checker) verifyRedirectSignature(p url.Values, rawQuery, param, what string) (*trustedCert, error) {
	sigAlg := p.Get("SigAlg")
	algs := map[string]x509.SignatureAlgorithm{
		dsig.RSASHA256SignatureMethod: x509.SHA256WithRSA, dsig.RSASHA384SignatureMethod: x509.SHA384WithRSA,
		dsig.RSASHA512SignatureMethod: x509.SHA512WithRSA, dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
		dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384, dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
	}
	if c.sp.cfg.AllowSHA1 {
		algs[dsig.RSASHA1SignatureMethod] = x509.SHA1WithRSA
	}
	alg, ok := algs[sigAlg]
	if !ok {
		return nil, c.fail(sso.ReasonAlgorithmNotAllowed, fmt.Sprintf("the %s is signed with %q, which is not allowed", what, sigAlg), nil)
	}
	sig, err := base64.StdEncoding.DecodeString(stripSpace(p.Get("Signature")))
	if err != nil {
		return nil, c.fail(sso.ReasonSignatureInvalid, "the Signature parameter is not base64", err)
	}
	var candidates []string
	if signed, ok := rawSignedQuery(rawQuery, p, param); ok {
		candidates = append(candidates, signed)
	}
	for _, esc := range []func(string) string{url.QueryEscape, lowerEscape} {
		signed := param + "=" + esc(p.Get(param))
		if p.Has("RelayState") {
			signed += "&RelayState=" + esc(p.Get("RelayState"))
		}
		candidates = append(candidates, signed+"&SigAlg="+esc(sigAlg))
	}
	for _, signed := range candidates {
		for _, tc := range c.st.certs {
			if tc.cert.CheckSignature(alg, []byte(signed), sig) == nil {
				return tc, nil
			}
		}
	}
	return nil, c.fail(sso.ReasonSignatureInvalid, "the "+what+"'s query signature does not verify with the IdP's certificates", nil)
}

// rawSignedQuery returns the octets the HTTP-Redirect binding signs,
// "<param>=..[&RelayState=..]&SigAlg=..", cut from the raw query as
// received. It reports false when rawQuery is empty, repeats one of those
// parameters, or holds values that do not decode to the ones in p.
func rawSignedQuery(rawQuery string, p url.Values, param string) (string, bool) {
	if rawQuery == "" {
		return "", false
	}
	raw := map[string]string{}
	for _, part := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case param, "RelayState", "SigAlg":
			if _, dup := raw[k]; dup {
				return "", false
			}
			if dec, err := url.QueryUnescape(v); err != nil || dec != p.Get(k) {
				return "", false
			}
			raw[k] = v
		}
	}
	msg, ok1 := raw[param]
	alg, ok2 := raw["SigAlg"]
	if !ok1 || !ok2 {
		return "", false
	}
	signed := param + "=" + msg
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	} else if p.Has("RelayState") {
		return "", false
	}
	return signed + "&SigAlg=" + alg, true
}

func lowerEscape(s string) string {
	e := []byte(url.QueryEscape(s))
	for i := 0; i+2 < len(e); i++ {
		if e[i] == '%' {
			e[i+1], e[i+2] = bytes.ToLower(e[i+1 : i+2])[0], bytes.ToLower(e[i+2 : i+3])[0]
		}
	}
	return string(e)
}

// StartLogout implements sso.LogoutStarter: a LogoutRequest for the
// session of req.Identity (see Logout).
func (sp *ServiceProvider) StartLogout(ctx context.Context, req sso.LogoutRequest) (*sso.Step, error) {
	lr := LogoutRequestFor(req.Identity, "", req.ReturnTo)
	lr.Flows = req.Flows
	return sp.Logout(ctx, lr)
}

var (
	_ sso.LogoutStarter  = (*ServiceProvider)(nil)
	_ sso.LogoutFinisher = (*ServiceProvider)(nil)
)
