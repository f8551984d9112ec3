package login

import (
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
	id, err := entry.Authenticator.Complete(r.Context(), sso.CompleteRequest{Flows: flows, Params: params, RawQuery: rawQuery(r)})
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
			fl.test = fl.admin
		}
		h.fail(w, r, fl)
		return
	}
	c := &completion{entry: entry, id: id, rt: id.ReturnTo, test: id.FlowData[flowTestKey] == "1"}
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
	h.renderDirectory(w, http.StatusOK, entry, email, returnPath(q.Get("return_to")), q.Get("test") == "1", "")
}

func (h *Handler) renderDirectory(w http.ResponseWriter, status int, entry *entry, email, rt string, test bool, msg string) {
	id := entry.Authenticator.ID()
	name := h.displayName(id)
	h.render(w, status, TemplateDirectory, &DirectoryPage{
		Page:        h.page("Log in with "+name, rt, msg),
		Connection:  id,
		DisplayName: name,
		Action:      h.base + "/ldap/" + url.PathEscape(id) + "/login",
		Email:       email,
		Test:        test,
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
	id, err := entry.Authenticator.Complete(r.Context(), sso.CompleteRequest{Email: typed, Password: sso.Secret(f.Get("password"))})
	if err != nil {
		switch reason := sso.ReasonOf(err); reason {
		case sso.ReasonInvalidCredentials, sso.ReasonPasswordEmpty, sso.ReasonLDAPUserNotFound, sso.ReasonInvalidEmail:
			// Ask again on the same form; the event and log still record it.
			h.record(r.Context(), &failure{err: err, connection: conn})
			email, _ := sso.NormalizeEmail(typed)
			h.renderDirectory(w, statusFor(reason), entry, email, rt, test, reason.UserMessage())
		default:
			h.fail(w, r, failure{connection: conn, err: err, returnTo: rt})
		}
		return
	}
	id.ReturnTo = rt
	// The directory's form is posted from this site, so the host's session
	// cookie comes with it: a test login is checked against it.
	h.finish(w, r, &completion{entry: entry, id: id, rt: rt, test: test, checkAdmin: test, bindUser: h.passwordFirstUser(r, entry, h.accountOf(conn))})
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
			ref: ref, admin: c.test && !c.checkAdmin, test: c.test})
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
	method := policy.MethodOf(id)
	if entry.debug && !c.resumed {
		h.log.LogAttrs(ctx, slog.LevelInfo, "login: identity (debug mode)", slog.String("connection", id.Connection), slog.String("issuer", id.Issuer),
			slog.String("subject", id.Subject), slog.String("email", id.Email), slog.Any("groups", id.Groups), slog.Any("attributes", id.Attributes),
			slog.Bool("idp_initiated", id.IdPInitiated))
	}
	preq := h.provisioningRequest(acct, entry, id)
	preq.EventAttrs = map[string]string{sso.AttrReference: ref}
	if c.test {
		if c.checkAdmin && !h.isAdmin(r, acct.ID) {
			fail(&sso.Error{Op: "login.Test", Reason: ReasonNotAdministrator, Connection: id.Connection, Detail: "test logins are for administrators of account " + quote(acct.ID)}, acct.ID, false)
			return
		}
		h.testResult(w, r, acct, id, preq, rt, ref)
		return
	}
	// Policy before the user is known: drafts, password-only accounts,
	// connections the account does not accept, testing connections
	// closed to this email.
	if !startAllowed(acct.policy, id.Email, choice) {
		fail(policy.Decide(acct.policy, policy.User{Email: id.Email}, method).Err(), acct.ID, false)
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
		Accounts: accounts, ReturnTo: h.orDefault(rt), Provisioning: res,
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

// testResult shows an administrator's test login: the identity, the
// policy's decision and, when the Provisioner can preview, what
// provisioning would do. Nothing is provisioned and no session starts.
func (h *Handler) testResult(w http.ResponseWriter, r *http.Request, acct *account, id *sso.Identity, preq provisioning.Request, rt string) {
	ctx := r.Context()
	page := &TestPage{
		Page:    h.page("Test login", rt, ""),
		Account: acct.ID, Connection: id.Connection, Identity: id, Attributes: sortedAttributes(id.Attributes), Module: id.FirstAttribute(h.cfg.ModuleAttributes...),
		Decision: policy.Decide(acct.policy, policy.User{Email: id.Email}, policy.MethodOf(id)),
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
					page.Decision = policy.Decide(acct.policy, facts, policy.MethodOf(id))
				}
			}
		}
	}
	h.render(w, http.StatusOK, TemplateTestResult, page)
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
