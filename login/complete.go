package login

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// connection returns the registry entry for the {connection} path value if
// it has the given protocol, or writes the error page.
func (h *Handler) connection(w http.ResponseWriter, r *http.Request, proto sso.Protocol) (*entry, bool) {
	id := r.PathValue("connection")
	entry, ok := h.entry(id)
	if !ok || entry.Authenticator.Protocol() != proto {
		detail := "no " + string(proto) + " connection " + quote(id) + " is registered"
		h.fail(w, r, failure{connection: id, err: &sso.Error{Op: "login", Reason: sso.ReasonConnectionNotFound, Connection: id, Detail: detail}})
		return nil, false
	}
	return entry, true
}

// samlMetadata serves GET /saml/{connection}/metadata.
func (h *Handler) samlMetadata(w http.ResponseWriter, r *http.Request) {
	entry, ok := h.connection(w, r, sso.ProtocolSAML)
	if !ok {
		return
	}
	md, ok := entry.Authenticator.(interface{ Metadata() ([]byte, error) })
	if !ok {
		h.fail(w, r, failure{connection: entry.Authenticator.ID(), err: &sso.Error{Op: "login.Metadata", Reason: sso.ReasonInvalidConfig,
			Connection: entry.Authenticator.ID(), Detail: "the connection's authenticator has no Metadata method"}})
		return
	}
	b, err := md.Metadata()
	if err != nil {
		h.fail(w, r, failure{connection: entry.Authenticator.ID(), err: err})
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/samlmetadata+xml")
	hd.Set("Cache-Control", "public, max-age=3600")
	if r.URL.Query().Has("download") {
		hd.Set("Content-Disposition", `attachment; filename="`+safeFilename(entry.Authenticator.ID())+`-sp-metadata.xml"`)
	}
	_, _ = w.Write(b)
}

func safeFilename(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// samlACS serves POST /saml/{connection}/acs: SP-initiated responses, and
// IdP-initiated ones where the connection allows them. The IdP's POST is
// cross-site by design, so no origin check applies; the response's
// signature, audience, destination, InResponseTo and the pending login
// sealed into this browser's cookie protect it.
func (h *Handler) samlACS(w http.ResponseWriter, r *http.Request) {
	entry, ok := h.connection(w, r, sso.ProtocolSAML)
	if !ok || !h.parseForm(w, r, h.cfg.MaxSAMLBodyBytes, entry.Authenticator.ID()) {
		return
	}
	h.complete(w, r, entry, r.PostForm, "RelayState")
}

// rawQuery is the query string as received, for protocols that sign it
// (the SAML HTTP-Redirect binding); "" unless the answer came by GET.
func rawQuery(r *http.Request) string {
	if r.Method != http.MethodGet {
		return ""
	}
	return r.URL.RawQuery
}

// takenFlows is the browser's Flows, remembering the pending login taken,
// so that a failure can be explained to the administrator who began it.
type takenFlows struct {
	sso.Flows
	taken *sso.Flow
}

func (t *takenFlows) Take(ctx context.Context, id string) (*sso.Flow, error) {
	f, err := t.Flows.Take(ctx, id)
	if err == nil {
		t.taken = f
	}
	return f, err
}

// complete hands the identity provider's answer to the connection and
// finishes the login with the identity it proves. handle names the
// parameter that carries the pending login's ID.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, entry *entry, params url.Values, handle string) {
	flows := &takenFlows{Flows: h.cookies.Flows(w, r)}
	// An administrator's test login of the connection's Candidate is
	// completed by the Candidate: the pending login, sealed into this
	// browser when the administrator began it, says so.
	auth, candidate := entry.Authenticator, false
	// Only a connection with a Candidate needs the look (an unsealing).
	if entry.Candidate != nil {
		if f, ok := h.cookies.PeekFlow(r, params.Get(handle)); ok && f.Connection == entry.Authenticator.ID() &&
			f.Data[flowTestKey] == "1" && f.Data[flowCandidateKey] == "1" {
			auth, candidate = entry.Candidate, true
		}
	}
	id, err := auth.Complete(r.Context(), sso.CompleteRequest{Flows: flows, Params: params, RawQuery: rawQuery(r)})
	if err != nil {
		// A failed test login shows the administrator why: the sealed
		// pending login proves an administrator began it in this browser,
		// even when the identity provider's cross-site POST does not carry
		// the host's session cookie.
		f := flows.taken
		if f == nil {
			f, _ = h.cookies.PeekFlow(r, params.Get(handle))
		}
		fl := failure{connection: entry.Authenticator.ID(), err: err}
		if f != nil && f.Connection == entry.Authenticator.ID() {
			fl.returnTo, fl.email = f.ReturnTo, f.LoginHint
			fl.admin = f.Data[flowTestKey] == "1"
			fl.test, fl.candidate = fl.admin, candidate
		}
		h.fail(w, r, fl)
		return
	}
	c := &completion{entry: entry, id: id, rt: id.ReturnTo, test: candidate || id.FlowData[flowTestKey] == "1", candidate: candidate}
	if !id.IdPInitiated {
		c.bindUser = id.FlowData[flowBindKey]
	}
	h.finish(w, r, c)
}

// oidcCallback serves GET /oidc/{connection}/callback.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	entry, ok := h.connection(w, r, sso.ProtocolOIDC)
	if !ok {
		return
	}
	h.complete(w, r, entry, r.URL.Query(), "state")
}

// ldapPage serves GET /ldap/{connection}/login: the directory's form.
func (h *Handler) ldapPage(w http.ResponseWriter, r *http.Request) {
	entry, ok := h.connection(w, r, sso.ProtocolLDAP)
	if !ok {
		return
	}
	q := r.URL.Query()
	email, _ := sso.NormalizeEmail(q.Get("email"))
	test := q.Get("test") == "1"
	h.renderDirectory(w, http.StatusOK, entry, email, returnPath(q.Get("return_to")), test, test && q.Get("candidate") == "1", "")
}

func (h *Handler) renderDirectory(w http.ResponseWriter, status int, entry *entry, email, rt string, test, candidate bool, msg string) {
	id := entry.Authenticator.ID()
	name := h.displayName(id)
	h.render(w, status, TemplateDirectory, &DirectoryPage{
		Page:        h.page("Log in with "+name, rt, msg),
		Connection:  id,
		DisplayName: name,
		Action:      h.base + "/ldap/" + url.PathEscape(id) + "/login",
		Email:       email,
		Test:        test,
		Candidate:   candidate,
	})
}

// ldapSubmit serves POST /ldap/{connection}/login.
func (h *Handler) ldapSubmit(w http.ResponseWriter, r *http.Request) {
	entry, ok := h.connection(w, r, sso.ProtocolLDAP)
	if !ok || !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, entry.Authenticator.ID()) {
		return
	}
	f := r.PostForm
	rt := returnPath(f.Get("return_to"))
	test := f.Get("test") == "1"
	conn := entry.Authenticator.ID()
	typed := strings.TrimSpace(f.Get("email"))
	// The directory's form is posted from this site, with the host's
	// session cookie: its Candidate is tried only for an administrator.
	auth, candidate := entry.Authenticator, false
	if test && f.Get("candidate") == "1" && entry.Candidate != nil && h.isAdmin(r, h.accountOf(conn)) {
		auth, candidate = entry.Candidate, true
	}
	id, err := auth.Complete(r.Context(), sso.CompleteRequest{Email: typed, Password: sso.Secret(f.Get("password"))})
	if err != nil {
		switch reason := sso.ReasonOf(err); reason {
		case sso.ReasonInvalidCredentials, sso.ReasonPasswordEmpty, sso.ReasonLDAPUserNotFound, sso.ReasonInvalidEmail:
			// Ask again on the same form; the event and log still record it.
			h.record(r.Context(), &failure{err: err, connection: conn})
			email, _ := sso.NormalizeEmail(typed)
			h.renderDirectory(w, statusFor(reason), entry, email, rt, test, candidate, reason.UserMessage())
		default:
			h.fail(w, r, failure{connection: conn, err: err, returnTo: rt, test: test, candidate: candidate})
		}
		return
	}
	id.ReturnTo = rt
	// The directory's form is posted from this site, so the host's session
	// cookie comes with it: a test login is checked against it.
	h.finish(w, r, &completion{entry: entry, id: id, rt: rt, test: test, checkAdmin: test, candidate: candidate, bindUser: h.passwordFirstUser(r, entry, h.accountOf(conn))})
}

// accountOf returns the account of a connection, or "".
func (h *Handler) accountOf(connection string) string {
	if c, err := h.disc().Connection(connection); err == nil {
		return c.Account
	}
	return ""
}

// completion is an identity a connection proved, on its way to a session.
type completion struct {
	// entry is the connection the identity arrived through; nil when the
	// login resumes from a waiting identity (found again by its
	// connection).
	entry *entry
	id    *sso.Identity
	rt    string
	// test marks an administrator's test login; checkAdmin asks
	// CanAdminister again (a test login whose start is not sealed into
	// the browser: LDAP's form).
	test, checkAdmin bool
	// candidate marks a test login through the connection's Candidate.
	candidate bool
	// bindUser is the user of a password login this browser made before it
	// started the login: login binding may link to it, once confirmed.
	bindUser string
	// bindTo is the user the person confirmed the identity is linked to.
	bindTo string
	// resumed reports a login resumed on one of the handler's own pages:
	// an IdP-initiated login is not sent there again.
	resumed bool
}

// finish turns a completed identity into a login: the connection's account,
// SSOModule routing of IdP-initiated logins, policy (before and, inside
// provisioning's transaction, after the user is known), provisioning, and
// the host's session. Nothing is written for a login that is refused.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, c *completion) {
	ctx := r.Context()
	id := c.id
	if c.entry == nil {
		e, ok := h.entry(id.Connection)
		if !ok {
			h.fail(w, r, failure{connection: id.Connection, err: &sso.Error{Op: "login.Complete", Reason: sso.ReasonConnectionNotFound, Connection: id.Connection,
				Detail: "the connection the waiting identity came through is no longer registered"}, returnTo: c.rt})
			return
		}
		c.entry = e
	}
	entry := c.entry
	conn := entry.Authenticator.ID()
	if id.Connection == "" {
		id.Connection = conn
	}
	if id.Protocol == "" {
		id.Protocol = entry.Authenticator.Protocol()
	}
	rt := returnPath(c.rt)
	// The login's reference, in every event it reports (provisioning's
	// too) and on its error page.
	ref := newReference()
	fail := func(err error, acct string, reported bool) {
		h.fail(w, r, failure{err: err, account: acct, connection: id.Connection, subject: id.Subject, reported: reported, returnTo: rt, email: id.Email,
			ref: ref, admin: c.test && !c.checkAdmin, test: c.test, candidate: c.candidate})
	}
	choice, err := h.disc().Connection(conn)
	if err != nil {
		fail(&sso.Error{Op: "login.Complete", Reason: sso.ReasonInvalidConfig, Connection: conn,
			Detail: "the connection is registered but discovery has no account for it; add it to an account's connections", Err: err}, "", false)
		return
	}
	if module := id.FirstAttribute(h.cfg.ModuleAttributes...); id.IdPInitiated && module != "" {
		next, err := h.routeModule(choice, id, module)
		if err != nil {
			fail(err, choice.Account, false)
			return
		}
		if next.Connection != conn {
			e, ok := h.entry(next.Connection)
			if !ok {
				fail(&sso.Error{Op: "login.Complete", Reason: sso.ReasonConnectionNotFound, Connection: next.Connection,
					Detail: "SSOModule " + quote(module) + " selects connection " + quote(next.Connection) + ", which the registry does not hold"}, choice.Account, false)
				return
			}
			entry, choice = e, next
			id.Connection = next.Connection
		}
	}
	acct, err := h.account(choice.Account)
	if err != nil {
		fail(err, choice.Account, false)
		return
	}
	method := methodOf(entry, id)
	if entry.debug && !c.resumed {
		h.log.LogAttrs(ctx, slog.LevelInfo, "login: identity (debug mode)", slog.String("connection", id.Connection), slog.String("issuer", id.Issuer),
			slog.String("subject", id.Subject), slog.String("email", id.Email), slog.Any("groups", id.Groups), slog.Any("attributes", id.Attributes),
			slog.Bool("idp_initiated", id.IdPInitiated))
	}
	preq := h.provisioningRequest(acct, entry, id)
	preq.EventAttrs = map[string]string{sso.AttrReference: ref}
	if id.SignedBy != "" {
		preq.EventAttrs[sso.AttrSignedBy] = id.SignedBy
	}
	if c.test {
		if c.checkAdmin && !h.isAdmin(r, acct.ID) {
			fail(&sso.Error{Op: "login.Test", Reason: ReasonNotAdministrator, Connection: id.Connection, Detail: "test logins are for administrators of account " + quote(acct.ID)}, acct.ID, false)
			return
		}
		h.testResult(w, r, acct, id, preq, rt, ref, c.candidate)
		return
	}
	// Policy before the user is known: drafts, password-only accounts,
	// connections the account does not accept, testing connections
	// closed to this email.
	if !startAllowed(acct.policy, id.Email, choice) {
		fail(policy.Decide(acct.policy, policy.User{Email: id.Email}, method).Err(), acct.ID, false)
		return
	}
	if err := h.networkRefusal(r, acct, entry, ""); err != nil {
		fail(err, acct.ID, false)
		return
	}
	// An IdP-initiated login arrives by another site's POST, which does not
	// carry the host's session cookie: finish it on the handler's own page,
	// where a session of another user is seen and the person is asked
	// before it is replaced.
	if id.IdPInitiated && !c.resumed && !entry.ReplaceSessionWithoutAsking {
		p := &parked{Kind: parkContinue, Identity: id, Account: acct.ID, ReturnTo: rt, Expires: h.now().Add(ContinueWait)}
		if err := h.park(ctx, w, r, p); err != nil {
			fail(err, acct.ID, false)
			return
		}
		http.Redirect(w, r, h.base+"/login/continue", http.StatusSeeOther)
		return
	}
	// Policy with the user the login reaches, as the login would leave
	// them, inside provisioning's transaction: a refusal writes nothing.
	var decision policy.Decision
	preq.BindTo = c.bindTo
	preq.Authorize = func(ctx context.Context, res *provisioning.Result) error {
		facts, err := h.cfg.Users.FactsOf(ctx, res)
		if err != nil {
			return &sso.Error{Op: "login.Complete", Reason: sso.ReasonInternal, Connection: id.Connection, Detail: "reading the user's facts failed", Err: err}
		}
		decision = policy.Decide(acct.policy, facts, method)
		return decision.Err()
	}
	res, err := h.cfg.Provisioner.Provision(ctx, preq)
	if err != nil {
		if errors.Is(err, provisioning.ErrBindingPossible) && c.bindTo == "" {
			c.entry, c.id, c.rt = entry, id, rt
			h.awaitBinding(w, r, c, acct.ID)
			return
		}
		fail(err, acct.ID, true)
		return
	}
	if e, ok := decision.Event(h.now()); ok {
		h.cfg.Events.Emit(ctx, e) // a dry-run refusal
	}
	email := res.User.Email
	if email == "" {
		email = id.Email
	}
	accounts := res.Accounts
	if len(accounts) == 0 {
		accounts = []string{acct.ID}
	}
	h.startSession(w, r, &Result{
		User: res.User.ID, Email: email, Method: method, Identity: id,
		Accounts: accounts, ReturnTo: h.orDefault(cmp.Or(rt, entry.LandingPage)), Provisioning: res,
		Decisions: []policy.Decision{decision}, SecondFactorRequired: decision.SecondFactorRequired,
	})
}

// provisioningRequest is the provisioning request of an identity that
// logged in through entry of acct.
func (h *Handler) provisioningRequest(acct *account, entry *entry, id *sso.Identity) provisioning.Request {
	pc := entry.prov
	pc.ID = id.Connection
	return provisioning.Request{
		Account:    provisioning.Account{ID: acct.ID, Domains: acct.domains},
		Connection: pc,
		Identity:   id,
	}
}

// testResult shows an administrator's test login: the verdict, a
// checklist, how the identity fills the application's fields, the
// policy's decision and, when the Provisioner can preview, what
// provisioning would do. Nothing is provisioned and no session starts; an
// sso.EventTestLogin records the outcome.
func (h *Handler) testResult(w http.ResponseWriter, r *http.Request, acct *account, id *sso.Identity, preq provisioning.Request, rt, ref string, candidate bool) {
	ctx := r.Context()
	page := &TestPage{
		Page:    h.page("Test login", rt, ""),
		Account: acct.ID, AccountName: acct.Name, Connection: id.Connection, ConnectionName: h.displayName(id.Connection),
		Reference: ref, RetryURL: h.TestLoginURL(id.Connection, rt), Candidate: candidate,
		Identity: id, Attributes: sortedAttributes(id.Attributes), Module: id.FirstAttribute(h.cfg.ModuleAttributes...),
		Decision: policy.Decide(acct.policy, policy.User{Email: id.Email}, methodOf(h.entryOr(id.Connection), id)),
	}
	if page.AccountName == "" {
		page.AccountName = acct.ID
	}
	if pv, ok := h.cfg.Provisioner.(Previewer); ok {
		plan, err := pv.Preview(ctx, preq)
		switch {
		case err != nil:
			page.PreviewError = err.Error()
			h.log.LogAttrs(ctx, slog.LevelError, "login: provisioning preview failed", slog.String("connection", id.Connection), slog.String("error", err.Error()))
		default:
			page.Plan = plan
			var se *sso.Error
			if errors.As(plan.Refusal, &se) {
				page.PlanDetail = se.Detail
			}
			// With the user the login would reach, decide as at a real
			// login: roles and the administrators' break-glass count.
			if plan.Result != nil {
				if facts, err := h.cfg.Users.FactsOf(ctx, plan.Result); err == nil {
					page.Decision = policy.Decide(acct.policy, facts, methodOf(h.entryOr(id.Connection), id))
				}
			}
		}
	}
	if candidate {
		page.RetryURL = h.CandidateTestLoginURL(id.Connection, rt)
	}
	page.judge(acct, preq)
	e := sso.Event{Type: sso.EventTestLogin, Time: h.now(), Account: acct.ID, Connection: id.Connection, Subject: id.Subject,
		Attrs: map[string]string{sso.AttrReference: ref, sso.AttrTest: "true", "email": id.Email}}
	if id.SignedBy != "" {
		e.Attrs[sso.AttrSignedBy] = id.SignedBy
	}
	if candidate {
		e.Attrs[AttrCandidate] = "true"
	}
	if p := page.Plan; p != nil && p.Result != nil {
		e.User = p.Result.User.ID
	}
	if !page.Passed {
		switch {
		case page.Plan != nil && !page.Plan.Allowed():
			e.Reason, e.Detail = page.Plan.Reason, page.PlanDetail
		case !page.Decision.Allowed:
			e.Reason, e.Detail = page.Decision.Reason, page.Decision.Detail
		default:
			e.Reason, e.Detail = sso.ReasonInternal, page.PreviewError
		}
	}
	h.cfg.Events.Emit(ctx, e)
	h.render(w, http.StatusOK, TemplateTestResult, page)
}

// judge fills the verdict, the checklist and the field mapping of a test
// login from its identity, plan and decision.
func (p *TestPage) judge(acct *account, preq provisioning.Request) {
	id := p.Identity
	name := firstOf(id.GivenName, id.DisplayName, id.Email, id.Subject)
	var res *provisioning.Result
	if p.Plan != nil {
		res = p.Plan.Result
	}
	if res != nil {
		name = firstOf(res.User.GivenName, res.User.DisplayName, id.GivenName, id.DisplayName, res.User.Email, name)
	}
	planOK := p.Plan == nil || p.Plan.Allowed() || p.Plan.BindingPossible
	p.Passed = planOK && p.Decision.Allowed && p.PreviewError == ""
	switch {
	case !p.Passed && p.Plan != nil && !planOK:
		p.Verdict = name + " would be refused: " + lowerFirst(p.Plan.Reason.Label()) + "."
	case !p.Passed && !p.Decision.Allowed:
		p.Verdict = name + " would be refused: " + lowerFirst(p.Decision.Reason.Label()) + "."
	case !p.Passed:
		p.Verdict = "What " + name + " would become could not be previewed."
	case p.Plan != nil && p.Plan.BindingPossible && res == nil:
		p.Verdict = name + " would be asked for the password of an account here to connect this identity to, then would sign in."
	case res != nil:
		verb := "would sign in"
		if res.Created {
			verb = "would be created and sign in"
		}
		p.Verdict = name + " " + verb
		if roles := res.Roles(); len(roles) > 0 {
			p.Verdict += " as " + joinAnd(roles)
		}
		p.Verdict += "."
	default:
		p.Verdict = name + " would sign in."
	}

	// The checklist.
	add := func(ok bool, label, detail string) {
		p.Checks = append(p.Checks, TestCheck{Label: label, Detail: detail, OK: ok})
	}
	add(true, "The identity provider's answer passed every check", checkedWhat(id.Protocol))
	switch {
	case id.Email == "":
		add(false, "The identity provider sent no email address", "Map the email attribute or claim at the identity provider.")
	case id.EmailVerified:
		add(true, "The email address "+id.Email+" was sent, and counts as verified", "")
	default:
		add(true, "The email address "+id.Email+" was sent", "It is not marked verified: turn on Trust email for the connection if the identity provider vouches for it.")
	}
	if d := sso.EmailDomain(id.Email); d != "" {
		claimed := false
		for _, c := range acct.domains {
			claimed = claimed || sso.EqualFoldASCII(c, d)
		}
		switch {
		case claimed:
			add(true, "The domain "+d+" is one of the account's domains", "")
		case preq.Connection.AllowEmailOutsideDomains:
			add(true, "The domain "+d+" is not one of the account's domains", "The connection allows emails outside them.")
		default:
			add(false, "The domain "+d+" is not one of the account's domains", "Claim it for the account, or allow emails outside its domains on the connection.")
		}
	}
	if p.Plan != nil {
		switch {
		case res != nil && res.Created:
			add(true, "A user would be created for this person", "Just-in-time creation.")
		case res != nil:
			add(true, "This person is user "+res.User.Email+" here", "Matched by "+string(res.Match)+".")
		case p.Plan.BindingPossible:
			add(true, "No user matches yet; login binding would connect one", "The person proves an account here with its password, and confirms.")
		default:
			add(false, "No user here can be found for this person: "+lowerFirst(p.Plan.Reason.Label()), p.PlanDetail)
		}
	} else if p.PreviewError != "" {
		add(false, "What provisioning would do could not be previewed", p.PreviewError)
	}
	if p.Decision.Allowed {
		add(true, "The account's login policy lets this person sign in this way", p.Decision.Detail)
	} else {
		add(false, "The account's login policy refuses this login: "+lowerFirst(p.Decision.Reason.Label()), p.Decision.Detail)
	}
	for _, w := range id.Warnings {
		p.Checks = append(p.Checks, TestCheck{Label: w.Reason.Label(), Detail: w.Detail, Warning: true})
	}
	if res != nil {
		for _, w := range res.Warnings {
			p.Checks = append(p.Checks, TestCheck{Label: w.Reason.Label(), Detail: w.Detail, Warning: true})
		}
	}

	// The mapping: each field, and the attribute its value came from.
	from := func(values ...string) string {
		var names []string
		for _, a := range p.Attributes {
			for _, v := range a.Values {
				if slicesContain(values, v) {
					names = append(names, a.Name)
					break
				}
			}
		}
		if len(names) == 0 {
			return ""
		}
		return attrWord(id.Protocol) + " " + strings.Join(names, ", ")
	}
	field := func(f, v string) {
		src := ""
		if v != "" {
			src = from(v)
		}
		p.Mapping = append(p.Mapping, FieldMapping{Field: f, Value: v, From: src})
	}
	subj := FieldMapping{Field: "Identifier at the identity provider", Value: id.Subject}
	switch id.Protocol {
	case sso.ProtocolSAML:
		subj.From = "NameID"
		if id.SubjectFormat != "" {
			subj.From += " (" + id.SubjectFormat + ")"
		}
		if s := from(id.Subject); s != "" && id.SubjectFormat == "" {
			subj.From = s // the connection reads the subject from an attribute
		}
	case sso.ProtocolOIDC:
		subj.From = "claim sub"
	case sso.ProtocolLDAP:
		subj.From = "entry DN"
	}
	p.Mapping = append(p.Mapping, subj)
	field("Email", id.Email)
	field("Given name", id.GivenName)
	field("Family name", id.FamilyName)
	field("Display name", id.DisplayName)
	if len(id.Groups) > 0 {
		p.Mapping = append(p.Mapping, FieldMapping{Field: "Groups", Value: strings.Join(id.Groups, ", "), From: from(id.Groups...)})
	}
	if res != nil {
		roles := FieldMapping{Field: "Roles", Value: strings.Join(res.Roles(), ", ")}
		if a := preq.Connection.Roles.Attribute; a != "" && len(id.Attributes[a]) > 0 {
			roles.From = attrWord(id.Protocol) + " " + a
		} else if len(id.Groups) > 0 {
			roles.From = "groups"
		} else {
			roles.From = "the account's settings"
		}
		p.Mapping = append(p.Mapping, roles)
		if res.Organisation != nil {
			p.Mapping = append(p.Mapping, FieldMapping{Field: "Organisation", Value: res.Organisation.Name, From: from(res.Organisation.Name)})
		}
	}
	if p.Module != "" {
		p.Mapping = append(p.Mapping, FieldMapping{Field: "SSOModule", Value: p.Module, From: from(p.Module)})
	}
}

func checkedWhat(p sso.Protocol) string {
	switch p {
	case sso.ProtocolSAML:
		return "Signature by a trusted key, audience, recipient, times, and that it answers this login."
	case sso.ProtocolOIDC:
		return "ID token signature, issuer, audience, expiry, nonce and PKCE."
	case sso.ProtocolLDAP:
		return "The directory accepted the password over TLS."
	}
	return ""
}

func attrWord(p sso.Protocol) string {
	if p == sso.ProtocolOIDC {
		return "claim"
	}
	return "attribute"
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "IdP") || strings.HasPrefix(s, "SSO") || strings.HasPrefix(s, "OIDC") || strings.HasPrefix(s, "DNS") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// startSession hands res to the host and redirects to its return path.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, res *Result) {
	if err := h.cfg.Sessions.StartSession(w, r, res); err != nil {
		var conn, acct string
		if res.Identity != nil {
			conn = res.Identity.Connection
		}
		if len(res.Accounts) > 0 {
			acct = res.Accounts[0]
		}
		h.fail(w, r, failure{err: &sso.Error{Op: "login.StartSession", Reason: sso.ReasonInternal, Connection: conn, Detail: "the application could not start its session", Err: err},
			account: acct, connection: conn, user: res.User, returnTo: res.ReturnTo})
		return
	}
	h.reportWarnings(r.Context(), res)
	// Every login rotates the binding cookie: a password login records
	// itself for login binding, a single sign-on login ends whatever this
	// browser had waiting.
	if res.Method.Kind == policy.MethodPassword {
		h.recordPasswordLogin(w, r, res.User, res.Accounts)
	} else {
		h.setBrowser(w, r, browserState{})
	}
	http.Redirect(w, r, res.ReturnTo, http.StatusSeeOther)
}

// methodOf is the policy method of a login through e (nil when unknown):
// the identity's MFA evidence, or the administrator's statement that the
// IdP always enforces it.
func methodOf(e *entry, id *sso.Identity) policy.Method {
	m := policy.MethodOf(id)
	if e != nil && e.IdPEnforcesMFA {
		m.MFA = true
	}
	return m
}

// entryOr returns the registered connection id, or nil.
func (h *Handler) entryOr(id string) *entry {
	e, _ := h.entry(id)
	return e
}

// reportWarnings puts the warnings of a successful login's identity (a
// transient NameID, an email attribute naming someone else than the
// NameID, an unverified email accepted by opt-out, an expired IdP
// certificate) where administrators look: a warning event each, with the
// account, connection and user, and the log.
func (h *Handler) reportWarnings(ctx context.Context, res *Result) {
	id := res.Identity
	if id == nil || len(id.Warnings) == 0 {
		return
	}
	acct := ""
	if len(res.Accounts) > 0 {
		acct = res.Accounts[0]
	}
	for _, w := range id.Warnings {
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventWarning, Time: h.now(), Account: acct, Connection: id.Connection, Protocol: id.Protocol, User: res.User,
			Reason: w.Reason, Detail: w.Detail, Attrs: map[string]string{"subject": id.Subject}})
		h.log.LogAttrs(ctx, slog.LevelWarn, "login: accepted with a warning", slog.String("account", acct), slog.String("connection", id.Connection),
			slog.String("user", res.User), slog.String("reason", string(w.Reason)), slog.String("detail", w.Detail))
	}
}

// routeModule picks the connection an IdP-initiated login's SSOModule names
// among the account's connections (SmartSimple's "SSO alias"). The named
// connection must trust the same identity provider: discovery must list
// the identity's issuer for it, so that one IdP cannot log in through
// another IdP's connection.
func (h *Handler) routeModule(arrived discovery.Choice, id *sso.Identity, module string) (discovery.Choice, error) {
	next, err := h.disc().LookupModule(arrived.Account, module)
	if err != nil {
		return discovery.Choice{}, &sso.Error{Op: "login.Complete", Reason: sso.ReasonConnectionNotFound, Connection: arrived.Connection,
			Detail: "the assertion's SSOModule " + quote(module) + " names no connection of account " + quote(arrived.Account) + "; set that module on one of its connections", Err: err}
	}
	if next.Connection == arrived.Connection {
		return next, nil
	}
	if next.Protocol != arrived.Protocol {
		return discovery.Choice{}, &sso.Error{Op: "login.Complete", Reason: sso.ReasonIssuerMismatch, Connection: arrived.Connection,
			Detail: "SSOModule " + quote(module) + " selects " + string(next.Protocol) + " connection " + quote(next.Connection) + "; it must be a " + string(arrived.Protocol) + " connection"}
	}
	sharing, _ := h.disc().LookupIssuer(id.Issuer)
	for _, c := range sharing {
		if c.Connection == next.Connection {
			return next, nil
		}
	}
	return discovery.Choice{}, &sso.Error{Op: "login.Complete", Reason: sso.ReasonIssuerMismatch, Connection: arrived.Connection,
		Detail:   "SSOModule " + quote(module) + " selects connection " + quote(next.Connection) + ", which does not list the issuer " + quote(id.Issuer) + " among its issuers",
		Expected: id.Issuer}
}
