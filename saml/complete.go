package saml

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/flowstate"
)

// Attribute keys under which Identity.Attributes keeps the NameID when the
// subject comes from SubjectAttribute, so that single logout can name the
// session's NameID.
const (
	AttributeNameID       = "saml:NameID"
	AttributeNameIDFormat = "saml:NameIDFormat"
)

// Complete finishes a login from the IdP's POST to the ACS URL:
// req.Params holds SAMLResponse and RelayState, req.Binding the browser's
// binding cookie.
//
// A response that answers an AuthnRequest (it carries InResponseTo) must
// match the pending login stored by Begin under its RelayState, started in
// the same browser; InResponseTo must equal that request's ID. A response
// without InResponseTo is IdP-initiated: it is accepted only when the
// connection allows it, and its RelayState is used only as a same-site
// relative return path.
//
// Every check runs on every response: well-formed XML without DOCTYPE and
// within the size cap; SAML 2.0 status Success; exactly one assertion;
// signed by a trusted certificate with an allowed algorithm (the Response,
// the assertion, or both); Issuer, Destination, Recipient and Audience;
// NotBefore, NotOnOrAfter and IssueInstant within the clock skew; a
// non-empty subject; an assertion ID never seen before (the replay cache
// keeps it until the assertion expires). Errors are *sso.Error with the
// Reason and a Detail for administrators.
func (sp *ServiceProvider) Complete(ctx context.Context, req sso.CompleteRequest) (*sso.Identity, error) {
	now := sp.cfg.Now()
	sp.maybeCheckCertificates(ctx, now)
	enc := req.Params.Get("SAMLResponse")
	if enc == "" {
		return nil, sp.debugFail(sp.errorf(opComplete, sso.ReasonInvalidRequest, "the request has no SAMLResponse parameter (the IdP must POST it to the ACS URL)", nil))
	}
	raw, err := sp.decodeResponse(opComplete, enc)
	if err != nil {
		return nil, sp.debugFail(err)
	}
	relay := req.Params.Get("RelayState")
	if sp.cfg.Debug {
		sp.log.Info("saml: response received", "connection", sp.cfg.ID, "relay_state", relay, "xml", truncate(string(raw), 64<<10))
	}
	id, err := sp.check(ctx, raw, now, pending{flows: flowstate.Of(req.Flows, sp.store, req.Binding), relayState: relay})
	return id, sp.debugFail(err)
}

// ValidateResponse checks a base64 SAMLResponse like Complete, for hosts
// and tools that keep the pending request themselves: requestID is the ID
// of the AuthnRequest the response must answer, or "" to check it as an
// IdP-initiated response (which the connection must allow). The replay
// cache applies. Identity.ReturnTo stays empty.
func (sp *ServiceProvider) ValidateResponse(ctx context.Context, samlResponse, requestID string) (*sso.Identity, error) {
	now := sp.cfg.Now()
	raw, err := sp.decodeResponse(opComplete, samlResponse)
	if err != nil {
		return nil, sp.debugFail(err)
	}
	if sp.cfg.Debug {
		sp.log.Info("saml: response received", "connection", sp.cfg.ID, "xml", truncate(string(raw), 64<<10))
	}
	id, err := sp.check(ctx, raw, now, pending{requestID: requestID})
	return id, sp.debugFail(err)
}

// pending says how to find the login a response answers.
type pending struct {
	flows      sso.Flows // take the pending login under relayState from these
	relayState string    // RelayState from the browser
	requestID  string    // the expected InResponseTo, when flows is nil
}

func (sp *ServiceProvider) check(ctx context.Context, raw []byte, now time.Time, p pending) (*sso.Identity, error) {
	return sp.checkWith(ctx, raw, now, p, onePassXML)
}

// checkWith is check on the one-pass path or the reference path.
func (sp *ServiceProvider) checkWith(ctx context.Context, raw []byte, now time.Time, p pending, onePass bool) (*sso.Identity, error) {
	c := &checker{sp: sp, st: sp.state(), now: now, onePass: onePass}
	res, err := c.verify(raw)
	if err != nil && sp.refetchForKey(ctx, err, c.st) {
		// The IdP may have switched to a certificate published since the
		// last fetch: check again against the fresh metadata.
		c = &checker{sp: sp, st: sp.state(), now: now, onePass: onePass}
		res, err = c.verify(raw)
	}
	if err != nil {
		return nil, err
	}
	id := &sso.Identity{Connection: sp.cfg.ID, Protocol: sso.ProtocolSAML}
	var oneTime []oneTimeKey
	if res.scdIRT != "" || res.respIRT != "" {
		want := p.requestID
		if p.flows != nil {
			flow, err := flowstate.Take(ctx, p.flows, p.relayState, sp.cfg.ID, now)
			if err != nil {
				var e *sso.Error
				if errors.As(err, &e) && e.Reason == sso.ReasonStateMissing {
					e.Detail += fmt.Sprintf("; the response answers request %q", firstNonEmpty(res.scdIRT, res.respIRT))
				}
				return nil, err
			}
			want = flow.RequestID
			id.ReturnTo, id.FlowData = flow.ReturnTo, flow.Data
			oneTime = append(oneTime, oneTimeKey{"flow:" + sp.cfg.ID + ":" + flow.ID, flow.Expires, "the pending login " + flow.ID + " was completed before (its cookie or record was replayed)"})
		} else if want == "" {
			return nil, c.mismatch(sso.ReasonInResponseToMismatch, "the response answers an AuthnRequest (InResponseTo), but no pending request was given", "", firstNonEmpty(res.scdIRT, res.respIRT))
		}
		if err := c.checkInResponseTo(res, want); err != nil {
			return nil, err
		}
	} else {
		if p.requestID != "" {
			return nil, c.mismatch(sso.ReasonInResponseToMismatch, "the response carries no InResponseTo, but it should answer the pending request", p.requestID, "")
		}
		if !sp.cfg.AllowIdPInitiated {
			return nil, c.fail(sso.ReasonUnsolicited, "the response answers no request (IdP-initiated login) and this connection does not allow IdP-initiated logins (AllowIdPInitiated)", nil)
		}
		id.IdPInitiated = true
		if rt, ok := sso.SafeReturnPath(p.relayState); ok {
			id.ReturnTo = rt
		}
	}
	// Replay records are written only now, for what the IdP signed: the
	// assertion ID, and the pending login it answers.
	oneTime = append(oneTime, oneTimeKey{sp.cfg.ID + "\x00" + res.assertionID, res.replayUntil, fmt.Sprintf("assertion %q was used before (replayed response)", res.assertionID)})
	for _, k := range oneTime {
		seen, err := sp.replay.Seen(ctx, k.key, k.until)
		if err != nil {
			return nil, c.fail(flowstate.ReplayFailure(err), "the replay cache failed, so the response cannot be checked for replay", err)
		}
		if seen {
			return nil, c.fail(sso.ReasonReplayed, k.detail, nil)
		}
	}
	if err := sp.fillIdentity(id, res); err != nil {
		return nil, err
	}
	for _, w := range id.Warnings {
		sp.warn(ctx, w, now)
	}
	if sp.cfg.Debug {
		sp.log.Info("saml: response accepted", "connection", sp.cfg.ID, "subject", id.Subject, "issuer", id.Issuer, "idp_initiated", id.IdPInitiated, "warnings", len(id.Warnings))
	}
	return id, nil
}

// refetchForKey fetches the metadata URL once, within
// MetadataMinRefetchInterval, when err says the response was signed with
// a key the connection does not trust, and reports whether the signing
// certificates changed since st. Nothing is written before the signature
// checks out, so checking the response again is safe.
func (sp *ServiceProvider) refetchForKey(ctx context.Context, err error, st *idpState) bool {
	if sp.meta == nil {
		return false
	}
	switch sso.ReasonOf(err) {
	case sso.ReasonUntrustedKey, sso.ReasonSignatureInvalid:
	default:
		return false
	}
	if rerr := sp.meta.src.RefreshLimited(ctx, sp.cfg.MetadataMinRefetchInterval); rerr != nil {
		return false
	}
	return sp.state() != st
}

// oneTimeKey is a value to record in the replay cache until a time.
type oneTimeKey struct {
	key    string
	until  time.Time
	detail string // why a second sighting is refused
}

// checkInResponseTo compares the response's InResponseTo values with the
// pending request's ID. Every value present must match, and at least one
// must be covered by a signature: the assertion's SubjectConfirmationData,
// or the Response's when the Response is signed.
func (c *checker) checkInResponseTo(res *checkedResponse, want string) error {
	if res.scdIRT != "" && res.scdIRT != want {
		return c.mismatch(sso.ReasonInResponseToMismatch, "the assertion answers another request than the one this browser started", want, res.scdIRT)
	}
	if res.respIRT != "" && res.respIRT != want {
		return c.mismatch(sso.ReasonInResponseToMismatch, "the Response answers another request than the one this browser started", want, res.respIRT)
	}
	if res.scdIRT == "" && !res.responseSigned {
		return c.mismatch(sso.ReasonInResponseToMismatch, "the Response's InResponseTo is not covered by a signature and the signed assertion names no request", want, "")
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// mfaContexts returns Config.MFAContexts or the defaults.
func (sp *ServiceProvider) mfaContexts() []string {
	if sp.cfg.MFAContexts != nil {
		return sp.cfg.MFAContexts
	}
	return DefaultMFAContexts
}

// fillIdentity maps the checked response onto id.
func (sp *ServiceProvider) fillIdentity(id *sso.Identity, res *checkedResponse) error {
	id.Issuer = res.issuer
	id.Attributes = res.attrs
	id.AuthTime = res.authnInstant
	id.SessionIndex = res.sessionIndex
	id.AuthnContext = res.authnContext
	id.AuthnMethods = res.attrs[AttributeAuthnMethods]
	id.MFA = slices.Contains(sp.mfaContexts(), id.AuthnContext) || sso.MultiFactor(id.AuthnMethods)
	id.Warnings = append(id.Warnings, res.warnings...)
	if n := len(res.signers); n > 0 {
		// The last signer verified the assertion (or the response that
		// carries it when only the response is signed).
		id.SignedBy = res.signers[n-1].info.SHA256
	}
	look := attrLookup{res: res}
	if a := sp.cfg.SubjectAttribute; a != "" {
		id.Subject = look.first(a)
		if id.Subject == "" {
			return sp.errorf(opComplete, sso.ReasonSubjectMissing, fmt.Sprintf("the attribute %q, configured as the subject, is missing or empty", a), nil)
		}
		id.SubjectFormat = a
		if res.nameID != "" {
			id.Attributes[AttributeNameID] = []string{res.nameID}
			id.Attributes[AttributeNameIDFormat] = []string{res.nameIDFormat}
		}
	} else {
		id.Subject, id.SubjectFormat = res.nameID, res.nameIDFormat
		if res.nameIDFormat == NameIDFormatTransient {
			id.Warnings = append(id.Warnings, sso.Warning{Reason: sso.ReasonSubjectMissing,
				Detail: "the NameID is transient: it changes at every login, so it cannot identify the user; ask the IdP for a persistent or emailAddress NameID, or configure SubjectAttribute"})
		}
	}
	m := sp.attrs
	email := look.any(m.Email)
	if email == "" && res.nameID != "" {
		switch res.nameIDFormat {
		case NameIDFormatEmailAddress:
			email = res.nameID
		case "", NameIDFormatUnspecified:
			if strings.Contains(res.nameID, "@") {
				email = res.nameID
			}
		}
	}
	if email != "" {
		if n, err := sso.NormalizeEmail(email); err == nil {
			id.Email = n
			id.EmailVerified = sp.cfg.TrustEmail
			// An email attribute that names someone else than an
			// email-format NameID: the login goes by the configured
			// identifier, but an administrator should know.
			if res.nameIDFormat == NameIDFormatEmailAddress && sp.cfg.SubjectAttribute == "" {
				if nid, err := sso.NormalizeEmail(res.nameID); err == nil && !sso.EqualFoldASCII(nid, n) {
					id.Warnings = append(id.Warnings, sso.Warning{Reason: sso.ReasonEmailMismatch,
						Detail: fmt.Sprintf("the NameID is the email %q but the email attribute says %q; the login used %q as email: map the email attribute to the right address or have the IdP send one NameID", nid, n, n)})
				}
			}
		} else {
			id.Warnings = append(id.Warnings, sso.Warning{Reason: sso.ReasonInvalidEmail, Detail: fmt.Sprintf("the IdP sent %q as email, which is not a valid address", email)})
		}
	}
	id.GivenName = look.any(m.GivenName)
	id.FamilyName = look.any(m.FamilyName)
	id.DisplayName = look.any(m.DisplayName)
	seen := map[string]bool{}
	for _, name := range m.Groups {
		for _, v := range look.values(name) {
			for _, g := range strings.Split(v, ",") {
				if g = strings.TrimSpace(g); g != "" && !seen[g] {
					seen[g] = true
					id.Groups = append(id.Groups, g)
				}
			}
		}
	}
	return nil
}

// attrLookup finds attributes by Name, then FriendlyName, then by Name
// ignoring case (in sorted order, so the choice is deterministic).
type attrLookup struct {
	res   *checkedResponse
	lower map[string]string
}

func (l *attrLookup) values(name string) []string {
	if v, ok := l.res.attrs[name]; ok {
		return v
	}
	if n, ok := l.res.friendly[name]; ok {
		return l.res.attrs[n]
	}
	if l.lower == nil {
		keys := make([]string, 0, len(l.res.attrs))
		for k := range l.res.attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		l.lower = make(map[string]string, len(keys))
		for _, k := range keys {
			if _, dup := l.lower[sso.LowerASCII(k)]; !dup {
				l.lower[sso.LowerASCII(k)] = k
			}
		}
	}
	if n, ok := l.lower[sso.LowerASCII(name)]; ok {
		return l.res.attrs[n]
	}
	return nil
}

// first returns the first non-empty value of the named attribute.
func (l *attrLookup) first(name string) string {
	for _, v := range l.values(name) {
		if v != "" {
			return v
		}
	}
	return ""
}

// any returns the first non-empty value of the first present attribute.
func (l *attrLookup) any(names []string) string {
	for _, n := range names {
		if v := l.first(n); v != "" {
			return v
		}
	}
	return ""
}

// debugFail logs a failed check in debug mode and returns err unchanged.
func (sp *ServiceProvider) debugFail(err error) error {
	if err == nil || !sp.cfg.Debug {
		return err
	}
	args := []any{"connection", sp.cfg.ID, "reason", string(sso.ReasonOf(err))}
	var e *sso.Error
	if errors.As(err, &e) {
		args = append(args, "check", e.Detail)
		if e.Expected != "" || e.Actual != "" {
			args = append(args, "expected", e.Expected, "actual", e.Actual)
		}
		if e.Err != nil {
			args = append(args, "cause", e.Err.Error())
		}
	}
	sp.log.Warn("saml: response rejected", args...)
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(truncated)"
}
