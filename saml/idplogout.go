package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/flowstate"
)

// IdP-initiated single logout: the IdP's LogoutRequest at SLOURL, and the
// LogoutResponse that goes back to it.

const (
	opHandleLogoutRequest = "saml.HandleLogoutRequest"
	opRespondLogout       = "saml.IdPLogout.Respond"
	opFinishLogout        = "saml.FinishLogout"
)

// logoutRequestTransit is how long a LogoutRequest may take from the IdP,
// through the browser, to SLOURL, on top of the clock skew. The browser
// carries it on at once, so it arrives within seconds; the bound also
// limits how long its ID stays in the replay cache.
const logoutRequestTransit = 2 * time.Minute

const statusPartialLogout = "urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

// IdPLogout is a LogoutRequest that the IdP sent on its own (the person
// logged out at the IdP, or at another application of the same IdP) and
// that passed every check of HandleLogoutRequest. The host ends the
// sessions it names (see Matches) and answers with Respond.
type IdPLogout struct {
	// NameID and NameIDFormat name the person, as the IdP's assertions
	// did. NameIDFormat is empty when the request states none.
	NameID, NameIDFormat string
	// SessionIndexes are the IdP sessions to end. When empty, every
	// session of NameID at this connection ends.
	SessionIndexes []string
	// RequestID is the LogoutRequest's ID, which the answer names as its
	// InResponseTo.
	RequestID string
	// RelayState is the IdP's RelayState, returned to it with the answer.
	RelayState string
	// Issuer is the Issuer the request names, the IdP's entity ID.
	Issuer string
	// Binding is the binding the request came by: BindingHTTPRedirect or
	// BindingHTTPPost.
	Binding string
	// Signed reports that the IdP's signature verified. It is false only
	// for an unsigned request that AllowUnsignedLogoutRequests let in.
	Signed bool
	// Warnings are findings that did not refuse the request, e.g. a
	// signing certificate outside its validity dates.
	Warnings []sso.Warning

	sp *ServiceProvider
	st *idpState
}

// HandleLogoutRequest checks a LogoutRequest the IdP sent to SLOURL on
// its own: req.Params holds the query of the HTTP-Redirect binding
// (SAMLRequest, RelayState, SigAlg, Signature; pass req.RawQuery too, the
// signature covers the query as the IdP encoded it) or the form of the
// HTTP-POST binding (SAMLRequest, RelayState). A SAMLRequest parameter
// marks a LogoutRequest; a SAMLResponse is the IdP's answer to Logout, for
// CompleteLogout. FinishLogout takes either.
//
// The request must be well-formed XML without DOCTYPE, one root element
// within MaxResponseBytes, a SAML 2.0 LogoutRequest with an ID, issued by
// the IdP (unless SkipIssuerCheck), addressed to SLOURL (a signed request
// must name it as Destination), issued within the clock skew of now (plus
// a short transit allowance), not past its NotOnOrAfter, and name a
// NameID (an EncryptedID is refused). It must be signed with one of the
// IdP's certificates, as a query signature (an allowed SigAlg; SHA-1 only
// with AllowSHA1) or an enveloped XML signature, unless the connection
// sets AllowUnsignedLogoutRequests: an unsigned LogoutRequest could come
// from any web page. Its ID is kept in the replay cache for as long as the
// request would be accepted, so it ends sessions once.
//
// The connection needs SLOURL and an IdP single logout service (for the
// answer); otherwise it fails with sso.ReasonLogoutNotSupported. Errors
// are *sso.Error with the Reason of the failed check. A refused request
// gets no answer: nothing in it can be trusted, not even where to send
// one.
func (sp *ServiceProvider) HandleLogoutRequest(ctx context.Context, req sso.CompleteRequest) (*IdPLogout, error) {
	l, err := sp.handleLogoutRequest(ctx, req)
	return l, sp.debugFail(err)
}

func (sp *ServiceProvider) handleLogoutRequest(ctx context.Context, req sso.CompleteRequest) (*IdPLogout, error) {
	now := sp.cfg.Now()
	c := &checker{sp: sp, st: sp.state(), now: now, op: opHandleLogoutRequest, onePass: onePassXML}
	if sp.cfg.SLOURL == "" {
		return nil, c.fail(sso.ReasonLogoutNotSupported, "the connection has no SLOURL, so it takes no LogoutRequest from the IdP; configure it and give it to the IdP (it is in the SP metadata)", nil)
	}
	if c.st.slo.Location == "" {
		return nil, c.fail(sso.ReasonLogoutNotSupported, "the IdP offers no single logout service with the HTTP-Redirect or HTTP-POST binding, so the LogoutResponse would have nowhere to go; update the IdP metadata or set IdPSLOURL", nil)
	}
	enc := req.Params.Get("SAMLRequest")
	if enc == "" {
		return nil, c.fail(sso.ReasonInvalidRequest, "the request has no SAMLRequest parameter", nil)
	}
	if req.Params.Has("SAMLResponse") {
		return nil, c.fail(sso.ReasonInvalidRequest, "the request carries both SAMLRequest and SAMLResponse; a SAML message is one or the other", nil)
	}
	raw, err := sp.decodeRequest(enc)
	if err != nil {
		return nil, err
	}
	redirect := req.Params.Has("SigAlg") || req.Params.Has("Signature") || !looksLikeXML(raw)
	binding := BindingHTTPPost
	if redirect {
		binding = BindingHTTPRedirect
		out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), int64(sp.maxBytes)+1))
		if err != nil {
			return nil, c.fail(sso.ReasonMalformed, "the LogoutRequest is not DEFLATE-encoded as the HTTP-Redirect binding requires", err)
		}
		if len(out) > sp.maxBytes {
			return nil, c.fail(sso.ReasonRequestTooLarge, fmt.Sprintf("the inflated LogoutRequest is larger than %d bytes (MaxResponseBytes)", sp.maxBytes), nil)
		}
		raw = out
	}
	if sp.cfg.Debug {
		sp.log.Info("saml: LogoutRequest received", "connection", sp.cfg.ID, "binding", binding, "xml", truncate(string(raw), 64<<10))
	}
	root, err := c.parseMessage(raw, "LogoutRequest")
	if err != nil {
		return nil, err
	}
	if !is(root, nsProtocol, "LogoutRequest") {
		return nil, c.fail(sso.ReasonMalformed, fmt.Sprintf("the message is <%s>, not a LogoutRequest", root.FullTag()), nil)
	}

	// The signature first: everything read below comes from what it covers.
	var signer *trustedCert
	switch {
	case redirect && req.Params.Get("Signature") != "":
		if signer, err = c.verifyRedirectSignature(req.Params, req.RawQuery, "SAMLRequest", "LogoutRequest"); err != nil {
			return nil, err
		}
	case findSignatureFor(root) != nil:
		var algErr error
		walk(root, func(el *etree.Element) {
			if algErr == nil && is(el, nsDSig, "Signature") {
				algErr = c.checkAlgorithms(el)
			}
		})
		if algErr != nil {
			return nil, algErr
		}
		if root, signer, err = c.verifySignature(root, "LogoutRequest"); err != nil {
			return nil, err
		}
	case !sp.cfg.AllowUnsignedLogoutRequests:
		return nil, c.fail(sso.ReasonSignatureMissing, "the LogoutRequest is not signed; an unsigned LogoutRequest could come from any web page, so it is refused. Ask the IdP to sign its logout requests (or, if it cannot, set AllowUnsignedLogoutRequests on this connection)", nil)
	}
	l := &IdPLogout{RelayState: req.Params.Get("RelayState"), Binding: binding, Signed: signer != nil, sp: sp, st: c.st}
	if signer != nil {
		res := &checkedResponse{signers: []*trustedCert{signer}}
		if err := c.checkSigners(res); err != nil {
			return nil, err
		}
		l.Warnings = res.warnings
	}

	if v := attr(root, "Version"); v != "2.0" {
		return nil, c.mismatch(sso.ReasonMalformed, "the LogoutRequest is not SAML 2.0", "2.0", v)
	}
	l.RequestID = attr(root, "ID")
	if l.RequestID == "" {
		return nil, c.fail(sso.ReasonMalformed, "the LogoutRequest has no ID, which its answer must name", nil)
	}
	l.Issuer = text(child(root, nsAssertion, "Issuer"))
	if want := c.st.md.EntityID; !sp.cfg.SkipIssuerCheck && l.Issuer != want {
		return nil, c.mismatch(sso.ReasonIssuerMismatch, "the LogoutRequest comes from another IdP than the one configured (or names no Issuer)", want, l.Issuer)
	}
	switch dest := attr(root, "Destination"); {
	case dest != "" && dest != sp.cfg.SLOURL:
		return nil, c.mismatch(sso.ReasonDestinationMismatch, "the LogoutRequest is addressed to another endpoint than this connection's SLOURL (the IdP may have signed it for another service provider); check the SP's single logout URL configured at the IdP", sp.cfg.SLOURL, dest)
	case dest == "" && signer != nil:
		return nil, c.fail(sso.ReasonDestinationMismatch, "the LogoutRequest is signed but has no Destination, which the SAML bindings require of signed messages; without it a request the IdP signed for another service provider could be replayed here", nil)
	}

	skew := sp.cfg.ClockSkew
	issued, ok := parseTime(attr(root, "IssueInstant"))
	if !ok {
		return nil, c.fail(sso.ReasonMalformed, fmt.Sprintf("the LogoutRequest's IssueInstant %q is not a date-time", attr(root, "IssueInstant")), nil)
	}
	if issued.After(now.Add(skew)) {
		return nil, c.mismatch(sso.ReasonNotYetValid, "the LogoutRequest was issued in the future: check the clocks of the IdP and this server", "before "+fmtTime(now.Add(skew)), fmtTime(issued))
	}
	acceptUntil := issued.Add(skew + logoutRequestTransit)
	if !now.Before(acceptUntil) {
		return nil, c.mismatch(sso.ReasonExpired, fmt.Sprintf("the LogoutRequest was issued too long ago (IssueInstant; accepted for %v plus the clock skew): it was held back, or the clocks of the IdP and this server differ", logoutRequestTransit), "after "+fmtTime(now.Add(-skew-logoutRequestTransit)), fmtTime(issued))
	}
	if s := attr(root, "NotOnOrAfter"); s != "" {
		noa, ok := parseTime(s)
		if !ok {
			return nil, c.fail(sso.ReasonMalformed, fmt.Sprintf("the LogoutRequest's NotOnOrAfter %q is not a date-time", s), nil)
		}
		if !now.Add(-skew).Before(noa) {
			return nil, c.mismatch(sso.ReasonExpired, "the LogoutRequest has expired (NotOnOrAfter)", "before "+fmtTime(noa), fmtTime(now))
		}
		if noa.Add(skew).Before(acceptUntil) {
			acceptUntil = noa.Add(skew)
		}
	}

	switch nid := child(root, nsAssertion, "NameID"); {
	case nid != nil:
		l.NameID, l.NameIDFormat = text(nid), attr(nid, "Format")
	case child(root, nsAssertion, "EncryptedID") != nil:
		return nil, c.fail(sso.ReasonEncryptedNotSupported, "the LogoutRequest's NameID is encrypted (EncryptedID), which ssokit does not support; ask the IdP to send the NameID unencrypted in logout requests", nil)
	default:
		return nil, c.fail(sso.ReasonSubjectMissing, "the LogoutRequest names no NameID (ssokit does not support BaseID), so it cannot say whose sessions to end", nil)
	}
	if l.NameID == "" {
		return nil, c.fail(sso.ReasonSubjectMissing, "the LogoutRequest's NameID is empty", nil)
	}
	for _, si := range children(root, nsProtocol, "SessionIndex") {
		v := text(si)
		if v == "" {
			return nil, c.fail(sso.ReasonMalformed, "the LogoutRequest has an empty SessionIndex", nil)
		}
		l.SessionIndexes = append(l.SessionIndexes, v)
	}

	// The replay record is written only now, for a request that passed
	// every other check, and kept while the request would be accepted.
	seen, err := sp.replay.Seen(ctx, "logout:"+sp.cfg.ID+"\x00"+l.RequestID, acceptUntil.Add(time.Second))
	if err != nil {
		return nil, c.fail(flowstate.ReplayFailure(err), "the replay cache failed, so the LogoutRequest cannot be checked for replay", err)
	}
	if seen {
		return nil, c.fail(sso.ReasonReplayed, fmt.Sprintf("LogoutRequest %q was received before (replayed request)", l.RequestID), nil)
	}
	for _, w := range l.Warnings {
		sp.warn(ctx, w, now)
	}
	if sp.cfg.Debug {
		sp.log.Info("saml: LogoutRequest accepted", "connection", sp.cfg.ID, "request_id", l.RequestID, "name_id", l.NameID, "session_indexes", len(l.SessionIndexes), "signed", l.Signed)
	}
	return l, nil
}

// decodeRequest caps and base64-decodes a SAMLRequest parameter.
func (sp *ServiceProvider) decodeRequest(enc string) ([]byte, error) {
	if len(enc) > base64.StdEncoding.EncodedLen(sp.maxBytes)+sp.maxBytes/32 {
		return nil, sp.errorf(opHandleLogoutRequest, sso.ReasonRequestTooLarge, fmt.Sprintf("the SAMLRequest is larger than %d bytes (MaxResponseBytes)", sp.maxBytes), nil)
	}
	raw, err := base64.StdEncoding.DecodeString(stripSpace(enc))
	if err != nil {
		return nil, sp.errorf(opHandleLogoutRequest, sso.ReasonMalformed, "the SAMLRequest is not valid base64", err)
	}
	if len(raw) > sp.maxBytes {
		return nil, sp.errorf(opHandleLogoutRequest, sso.ReasonRequestTooLarge, fmt.Sprintf("the SAMLRequest is larger than %d bytes (MaxResponseBytes)", sp.maxBytes), nil)
	}
	return raw, nil
}

// Matches reports whether id, an Identity this connection returned for a
// session, is one the LogoutRequest names, so that the host ends exactly
// those sessions: the same connection, the same NameID (the session's
// NameID attribute when the subject came from SubjectAttribute), the same
// NameID format when both state one, and, when the request lists session
// indexes, the session's SessionIndex among them.
func (l *IdPLogout) Matches(id *sso.Identity) bool {
	if l == nil || id == nil || l.sp == nil || id.Connection != l.sp.cfg.ID {
		return false
	}
	nameID, format := id.Subject, id.SubjectFormat
	if v := id.Attributes[AttributeNameID]; len(v) > 0 {
		nameID, format = v[0], ""
		if f := id.Attributes[AttributeNameIDFormat]; len(f) > 0 {
			format = f[0]
		}
	}
	if nameID != l.NameID || !sameFormat(format, l.NameIDFormat) {
		return false
	}
	if len(l.SessionIndexes) == 0 {
		return true
	}
	for _, s := range l.SessionIndexes {
		if s == id.SessionIndex {
			return true
		}
	}
	return false
}

// sameFormat compares NameID formats, where an absent or unspecified
// format is compatible with any: IdPs often leave Format out of logout
// requests.
func sameFormat(a, b string) bool {
	if a == "" || b == "" || a == NameIDFormatUnspecified || b == NameIDFormatUnspecified {
		return true
	}
	return a == b
}

// LogoutStatus is the outcome of an IdP-initiated logout that Respond
// reports to the IdP. The zero value is LogoutFailed, so that forgetting
// to set it never claims a logout that did not happen.
type LogoutStatus int

// Logout outcomes.
const (
	// LogoutFailed: the sessions could not be ended (status Responder).
	LogoutFailed LogoutStatus = iota
	// LogoutPartial: some of the sessions the request names could not be
	// ended (status Success with PartialLogout).
	LogoutPartial
	// LogoutSucceeded: every session the request names has ended (status
	// Success).
	LogoutSucceeded
)

// String returns "failed", "partial" or "succeeded".
func (s LogoutStatus) String() string {
	switch s {
	case LogoutFailed:
		return "failed"
	case LogoutPartial:
		return "partial"
	case LogoutSucceeded:
		return "succeeded"
	}
	return fmt.Sprintf("LogoutStatus(%d)", int(s))
}

// Respond returns the Step that carries the LogoutResponse back to the
// IdP, after the host ended the sessions the request names: to the IdP's
// single logout service (its ResponseLocation when the metadata gives
// one), in the binding Logout uses (HTTP-Redirect when the IdP offers it,
// else HTTP-POST), answering RequestID, with the IdP's RelayState, and
// signed with SPKeys[0] when an SP key is configured. status says how the
// logout went.
func (l *IdPLogout) Respond(ctx context.Context, status LogoutStatus) (*sso.Step, error) {
	if l == nil || l.sp == nil {
		return nil, &sso.Error{Op: opRespondLogout, Reason: sso.ReasonInternal, Detail: "Respond was called on an IdPLogout that HandleLogoutRequest did not return"}
	}
	sp := l.sp
	resp := etree.NewElement("samlp:LogoutResponse")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	sc := etree.NewElement("samlp:StatusCode")
	switch status {
	case LogoutSucceeded:
		sc.CreateAttr("Value", statusSuccess)
	case LogoutPartial:
		sc.CreateAttr("Value", statusSuccess)
		sc.CreateElement("samlp:StatusCode").CreateAttr("Value", statusPartialLogout)
	case LogoutFailed:
		sc.CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
	default:
		return nil, sp.errorf(opRespondLogout, sso.ReasonInternal, fmt.Sprintf("%v is not a LogoutStatus", status), nil)
	}
	ep := l.st.slo
	dest := ep.Location
	if ep.ResponseLocation != "" {
		dest = ep.ResponseLocation
	}
	resp.CreateAttr("ID", "_"+strings.TrimLeft(mustToken(sp), "-_"))
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", sp.cfg.Now().UTC().Format("2006-01-02T15:04:05Z"))
	resp.CreateAttr("Destination", dest)
	resp.CreateAttr("InResponseTo", l.RequestID)
	resp.CreateElement("saml:Issuer").SetText(sp.cfg.EntityID)
	resp.CreateElement("samlp:Status").AddChild(sc)

	key := sp.currentKey(sp.cfg.Now())
	step := &sso.Step{}
	if ep.Binding == BindingHTTPPost {
		if key != nil {
			var err error
			if resp, err = signXML(key, resp); err != nil {
				return nil, sp.errorf(opRespondLogout, sso.ReasonInternal, "signing the LogoutResponse failed", err)
			}
		}
		b, err := etree.NewDocumentWithRoot(resp).WriteToBytes()
		if err != nil {
			return nil, sp.errorf(opRespondLogout, sso.ReasonInternal, "writing the LogoutResponse failed", err)
		}
		step.Kind, step.URL = sso.StepPostForm, dest
		step.Form = url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(b)}}
		if l.RelayState != "" {
			step.Form.Set("RelayState", l.RelayState)
		}
	} else {
		u, err := redirectURL(dest, "SAMLResponse", resp, l.RelayState, key)
		if err != nil {
			return nil, sp.errorf(opRespondLogout, sso.ReasonInternal, "building the LogoutResponse URL failed", err)
		}
		step.Kind, step.URL = sso.StepRedirect, u
	}
	if sp.cfg.Debug {
		b, _ := etree.NewDocumentWithRoot(resp.Copy()).WriteToString()
		sp.log.Info("saml: LogoutResponse", "connection", sp.cfg.ID, "binding", ep.Binding, "url", dest, "status", status.String(), "xml", b)
	}
	return step, nil
}

// FinishLogout implements sso.LogoutFinisher: it takes whatever the IdP
// sent to SLOURL, so that one endpoint serves both single logout
// messages:
//
//   - a LogoutResponse (SAMLResponse), the IdP's answer to Logout: it is
//     checked as CompleteLogout checks it, end is not called, and the
//     outcome's ReturnTo is the return path given to Logout;
//   - a LogoutRequest (SAMLRequest) the IdP sent on its own: it is checked
//     as HandleLogoutRequest checks it, then FinishLogout calls end with a
//     function that reports whether a session's Identity is one the
//     request names (IdPLogout.Matches). end ends those sessions and
//     reports whether some of them could not be ended (partial) or
//     whether it failed (err). The outcome's Response is the Step that
//     carries the LogoutResponse back to the IdP (IdPLogout.Respond):
//     status Success, PartialLogout, or Responder when end failed or is
//     nil. The error end returned is the host's own, so FinishLogout
//     still returns the Step and a nil error: the IdP is told, and goes
//     on with its logout.
//
// A message that fails its checks returns an *sso.Error and no Step.
// Hosts that need the request's NameID and session indexes themselves
// call HandleLogoutRequest and CompleteLogout.
func (sp *ServiceProvider) FinishLogout(ctx context.Context, req sso.CompleteRequest, end sso.EndSessionsFunc) (*sso.LogoutOutcome, error) {
	hasRequest, hasResponse := req.Params.Get("SAMLRequest") != "", req.Params.Get("SAMLResponse") != ""
	switch {
	case hasRequest && hasResponse:
		return nil, sp.debugFail(sp.errorf(opFinishLogout, sso.ReasonInvalidRequest, "the request carries both SAMLRequest and SAMLResponse; a SAML message is one or the other", nil))
	case hasResponse:
		res, err := sp.CompleteLogout(ctx, req)
		if err != nil {
			return nil, err
		}
		return &sso.LogoutOutcome{ReturnTo: res.ReturnTo}, nil
	case hasRequest:
		l, err := sp.HandleLogoutRequest(ctx, req)
		if err != nil {
			return nil, err
		}
		out := &sso.LogoutOutcome{}
		status := LogoutFailed
		if end != nil {
			if partial, err := end(ctx, l.Matches); err == nil {
				out.Ended, out.Partial = true, partial
				status = LogoutSucceeded
				if partial {
					status = LogoutPartial
				}
			}
		}
		if out.Response, err = l.Respond(ctx, status); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, sp.debugFail(sp.errorf(opFinishLogout, sso.ReasonInvalidRequest, "the request has neither a SAMLRequest nor a SAMLResponse parameter", nil))
}
