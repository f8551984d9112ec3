package login

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
)

// Keys of BeginRequest.FlowData, sealed with the pending login.
const (
	// flowTestKey marks an administrator's test login: the handler checked
	// CanAdminister when it began.
	flowTestKey = "ssokit_test"
	// flowBindKey holds the user of a password login this browser made
	// before it began the login, for login binding (password first).
	flowBindKey = "ssokit_bind"
	// flowCandidateKey marks a test login through the connection's
	// Candidate.
	flowCandidateKey = "ssokit_candidate"
)

// loginPage serves GET /login: the email step, or with ?step=password and
// an email the password step.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rt := returnPath(q.Get("return_to"))
	email, err := sso.NormalizeEmail(q.Get("email"))
	if q.Get("step") == "password" && err == nil && h.cfg.Passwords != nil {
		h.passwordStep(w, r, http.StatusOK, email, rt, "")
		return
	}
	h.render(w, http.StatusOK, TemplateLogin, &LoginPage{
		Page:            h.page("Log in", rt, ""),
		Email:           email,
		PasswordEnabled: h.cfg.Passwords != nil,
	})
}

// passwordStep renders the login page's password step for email, with the
// single sign-on its domain offers: as the main action when the accounts
// offering it require single sign-on of people at that domain. The page
// depends on the email's domain only.
func (h *Handler) passwordStep(w http.ResponseWriter, r *http.Request, status int, email, rt, msg string) {
	var choices []discovery.Choice
	if route, err := h.disc().Lookup(email); err == nil {
		choices = h.offer(r.Context(), route, email)
	}
	required := len(choices) > 0
	for _, c := range choices {
		acct, err := h.account(c.Account)
		if err != nil || policy.Decide(acct.policy, policy.User{Email: email}, policy.Password()).Allowed {
			required = false
		}
	}
	h.render(w, status, TemplateLogin, &LoginPage{
		Page: h.page("Log in", rt, msg), Email: email, PasswordEnabled: true, AskPassword: true, SSORequired: required, Choices: choices,
	})
}

// loginSubmit serves POST /login: an email alone starts single sign-on (or
// asks for the password when none serves it); step=password asks for the
// password; an email with a password is a password login, checked by the
// host and then by policy.
func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	f := r.PostForm
	rt := returnPath(f.Get("return_to"))
	typed := strings.TrimSpace(f.Get("email"))
	email, err := sso.NormalizeEmail(typed)
	if err != nil {
		h.record(r.Context(), &failure{err: &sso.Error{Op: "login", Reason: sso.ReasonInvalidEmail, Detail: "the login form's email is not an email address", Err: err}})
		h.render(w, http.StatusBadRequest, TemplateLogin, &LoginPage{
			Page:            h.page("Log in", rt, sso.ReasonInvalidEmail.UserMessage()),
			Email:           typed,
			PasswordEnabled: h.cfg.Passwords != nil,
		})
		return
	}
	pw := f.Get("password")
	if pw != "" || f.Get("step") == "password" {
		if h.cfg.Passwords == nil {
			h.record(r.Context(), &failure{err: &sso.Error{Op: "login.Password", Reason: ReasonPasswordDisabled,
				Detail: "a password login was asked for but the application has no password login (Config.Passwords is nil)"}})
			h.render(w, http.StatusForbidden, TemplateLogin, &LoginPage{
				Page:  h.page("Log in", rt, ReasonPasswordDisabled.UserMessage()),
				Email: email,
			})
			return
		}
		if pw == "" {
			msg, status := "", http.StatusOK
			if f.Has("password") {
				msg, status = "Enter your password.", http.StatusBadRequest
			}
			h.passwordStep(w, r, status, email, rt, msg)
			return
		}
		h.passwordLogin(w, r, email, sso.Secret(pw), rt)
		return
	}
	h.emailFirst(w, r, email, rt)
}

// emailFirst routes an email to its connections: an email without a
// password means "log in with single sign-on". The answer depends on the
// email's domain only (see discovery), so it tells nobody whether a person
// has an account. Without a usable connection the password field is asked
// for.
func (h *Handler) emailFirst(w http.ResponseWriter, r *http.Request, email, rt string) {
	ctx := r.Context()
	route, err := h.disc().Lookup(email)
	var choices []discovery.Choice
	if err == nil {
		choices = h.offer(ctx, route, email)
	} else if r := sso.ReasonOf(err); r != sso.ReasonNoSSO && r != sso.ReasonInvalidEmail {
		h.log.LogAttrs(ctx, slog.LevelError, "login: discovery failed", slog.String("error", err.Error()))
	}
	if h.cfg.OfferMemberAccounts {
		choices = h.addMemberChoices(ctx, email, choices)
	}
	switch len(choices) {
	case 0:
		msg := ""
		if h.cfg.Passwords == nil {
			// Nothing serves this email: with no password login either, the
			// person cannot log in.
			msg = "Single sign-on is not set up for this email address's organisation. Check the address you entered."
			h.record(ctx, &failure{err: &sso.Error{Op: "login", Reason: sso.ReasonNoSSO, Detail: "no usable single sign-on connection serves the email's domain, and the application has no password login"}})
		}
		if h.cfg.Passwords != nil {
			h.passwordStep(w, r, http.StatusOK, email, rt, "")
			return
		}
		h.render(w, http.StatusOK, TemplateLogin, &LoginPage{Page: h.page("Log in", rt, msg), Email: email})
	case 1:
		h.begin(w, r, choices[0], email, rt, false)
	default:
		h.picker(w, email, rt, choices)
	}
}

// addMemberChoices adds the connections of the accounts the user with this
// email is a member of (Config.OfferMemberAccounts).
func (h *Handler) addMemberChoices(ctx context.Context, email string, choices []discovery.Choice) []discovery.Choice {
	uid, err := h.cfg.Users.UserByEmail(ctx, email)
	if err != nil {
		return choices
	}
	ids, err := h.cfg.Users.Accounts(ctx, uid)
	if err != nil || len(ids) == 0 {
		return choices
	}
	route, err := h.disc().ForAccounts(ids)
	if err != nil {
		return choices
	}
	have := map[string]bool{}
	for _, c := range choices {
		have[c.Connection] = true
	}
	for _, c := range h.offer(ctx, route, email) {
		if !have[c.Connection] {
			have[c.Connection] = true
			choices = append(choices, c)
		}
	}
	return choices
}

func (h *Handler) picker(w http.ResponseWriter, email, rt string, choices []discovery.Choice) {
	h.render(w, http.StatusOK, TemplatePicker, &PickerPage{Page: h.page("Choose how to log in", rt, ""), Email: email, Choices: choices, PasswordEnabled: h.cfg.Passwords != nil})
}

// offer returns the choices of route that may be offered to email ("" when
// unknown): known connections whose policy is not a draft, not
// password-only, and, while testing, open to this email. A testing
// connection is offered to an unknown person (the SSO domain prompt) only
// when the route has nothing else, so its testers can reach it while
// everyone else sees the live connection alone. Only the email is used, not
// what the application knows about its user, so the answer reveals nothing
// about the user.
func (h *Handler) offer(ctx context.Context, route discovery.Route, email string) []discovery.Choice {
	var out, testing []discovery.Choice
	for _, c := range route.Choices() {
		acct, err := h.account(c.Account)
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "login: account of a connection is missing", slog.String("account", c.Account), slog.String("connection", c.Connection), slog.String("error", err.Error()))
			continue
		}
		if _, ok := h.entry(c.Connection); !ok {
			h.log.LogAttrs(ctx, slog.LevelWarn, "login: connection in discovery but not in the registry", slog.String("connection", c.Connection))
			continue
		}
		d := policy.Decide(acct.policy, policy.User{Email: email}, policy.SSO(c.Connection, c.Protocol))
		switch {
		case d.Allowed || (d.Rule == policy.RuleConnectionTesting && hasTestIDs(acct.policy, c.Connection)):
			out = append(out, c)
		case d.Rule == policy.RuleConnectionTesting && email == "":
			testing = append(testing, c)
		}
	}
	if len(out) == 0 {
		return testing
	}
	return out
}

// startAllowed reports whether a login through c may start for email ("" when
// unknown): refused for draft connections, password-only accounts and
// connections the policy does not list; for a testing connection, only
// when email is a test user or cannot be judged yet (unknown email, or test
// users named by user ID, known after provisioning).
func startAllowed(p policy.Policy, email string, c discovery.Choice) bool {
	d := policy.Decide(p, policy.User{Email: email}, policy.SSO(c.Connection, c.Protocol))
	if d.Allowed {
		return true
	}
	return d.Rule == policy.RuleConnectionTesting && (email == "" || hasTestIDs(p, c.Connection))
}

func hasTestIDs(p policy.Policy, conn string) bool {
	pc, ok := p.Connection(conn)
	return ok && len(pc.TestUserIDs) > 0
}

// domainPrompt serves GET /login/sso: the SSO domain form, or with
// ?domain= a redirect to the bookmarkable /login/sso/{domain}.
func (h *Handler) domainPrompt(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rt := returnPath(q.Get("return_to"))
	if d := strings.TrimSpace(q.Get("domain")); d != "" {
		http.Redirect(w, r, h.DomainLoginURL(d, rt), http.StatusSeeOther)
		return
	}
	h.render(w, http.StatusOK, TemplateDomain, &DomainPage{Page: h.page("Log in with single sign-on", rt, "")})
}

// domainStart serves GET /login/sso/{domain}: the account's connection
// starts at once, or the picker offers its connections.
func (h *Handler) domainStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	domain := r.PathValue("domain")
	rt := returnPath(r.URL.Query().Get("return_to"))
	route, err := h.disc().LookupAlias(domain)
	var choices []discovery.Choice
	if err == nil {
		choices = h.offer(ctx, route, "")
	}
	if len(choices) == 0 {
		reason := sso.ReasonOf(err)
		if err == nil {
			reason = sso.ReasonNoSSO
			err = &sso.Error{Op: "login.Domain", Reason: reason, Detail: "the SSO domain " + quote(domain) + " has no connection that may be offered (draft, or password-only account)"}
		}
		h.record(ctx, &failure{err: err, attrs: map[string]string{"sso_domain": domain}})
		h.render(w, http.StatusNotFound, TemplateDomain, &DomainPage{Page: h.page("Log in with single sign-on", rt, reason.UserMessage()), Domain: domain})
		return
	}
	if len(choices) == 1 {
		h.begin(w, r, choices[0], "", rt, false)
		return
	}
	h.picker(w, "", rt, choices)
}

// start serves POST /login/start: the picker's choice.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	f := r.PostForm
	rt := returnPath(f.Get("return_to"))
	conn := f.Get("connection")
	choice, err := h.disc().Connection(conn)
	if err != nil {
		h.fail(w, r, failure{err: err, returnTo: rt})
		return
	}
	email, _ := sso.NormalizeEmail(f.Get("email"))
	h.begin(w, r, choice, email, rt, false)
}

// testStart serves GET /login/test/{connection}: an administrator's test
// login, which may use a draft or testing connection.
func (h *Handler) testStart(w http.ResponseWriter, r *http.Request) {
	rt := returnPath(r.URL.Query().Get("return_to"))
	choice, err := h.disc().Connection(r.PathValue("connection"))
	if err != nil {
		h.fail(w, r, failure{err: err, returnTo: rt})
		return
	}
	if !h.isAdmin(r, choice.Account) {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Test", Reason: ReasonNotAdministrator, Connection: choice.Connection,
			Detail: "test logins are for administrators of account " + quote(choice.Account)}, account: choice.Account, connection: choice.Connection, returnTo: rt, test: true})
		return
	}
	if r.URL.Query().Get("candidate") == "1" {
		if e, ok := h.entry(choice.Connection); !ok || e.Candidate == nil {
			h.fail(w, r, failure{err: &sso.Error{Op: "login.Test", Reason: sso.ReasonInvalidRequest, Connection: choice.Connection,
				Detail: "the connection has no candidate to test (it was promoted or dropped meanwhile)"}, account: choice.Account, connection: choice.Connection, returnTo: rt, test: true, admin: true})
			return
		}
		h.beginWith(w, r, choice, "", rt, true, true)
		return
	}
	h.begin(w, r, choice, "", rt, true)
}

// begin starts a login through choice: a redirect or auto-POST form to the
// identity provider, or the directory's password form.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request, choice discovery.Choice, email, rt string, test bool) {
	h.beginWith(w, r, choice, email, rt, test, false)
}

// beginWith is begin, through the connection's Candidate for an
// administrator's test login of it.
func (h *Handler) beginWith(w http.ResponseWriter, r *http.Request, choice discovery.Choice, email, rt string, test, candidate bool) {
	ctx := r.Context()
	fail := func(err error) {
		h.fail(w, r, failure{err: err, account: choice.Account, connection: choice.Connection, returnTo: rt})
	}
	entry, ok := h.entry(choice.Connection)
	if !ok {
		fail(&sso.Error{Op: "login.Begin", Reason: sso.ReasonConnectionNotFound, Connection: choice.Connection,
			Detail: "discovery lists connection " + quote(choice.Connection) + " but the connection registry has no authenticator for it"})
		return
	}
	if !test {
		acct, err := h.account(choice.Account)
		if err != nil {
			fail(err)
			return
		}
		if !startAllowed(acct.policy, email, choice) {
			fail(policy.Decide(acct.policy, policy.User{Email: email}, policy.SSO(choice.Connection, choice.Protocol)).Err())
			return
		}
		// Not sent to the identity provider from where the login would
		// be refused on its return.
		if err := h.networkRefusal(r, acct, entry, ""); err != nil {
			fail(err)
			return
		}
	}
	if entry.Authenticator.Protocol() == sso.ProtocolLDAP {
		q := url.Values{}
		if email != "" {
			q.Set("email", email)
		}
		if rt != "" {
			q.Set("return_to", rt)
		}
		if test {
			q.Set("test", "1")
		}
		if candidate {
			q.Set("candidate", "1")
		}
		u := h.base + "/ldap/" + url.PathEscape(choice.Connection) + "/login"
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	req := sso.BeginRequest{Flows: h.cookies.Flows(w, r), ReturnTo: rt, LoginHint: email, ForceAuthn: test}
	auth := entry.Authenticator
	if test {
		req.FlowData = map[string]string{flowTestKey: "1"}
		if candidate {
			req.FlowData[flowCandidateKey] = "1"
			auth = entry.Candidate
		}
	} else if u := h.passwordFirstUser(r, entry, choice.Account); u != "" {
		req.FlowData = map[string]string{flowBindKey: u}
	}
	step, err := auth.Begin(ctx, req)
	if err != nil {
		fail(err)
		return
	}
	if step.Kind == sso.StepPasswordPrompt {
		fail(&sso.Error{Op: "login.Begin", Reason: sso.ReasonInvalidConfig, Connection: choice.Connection,
			Detail: "a " + string(entry.Authenticator.Protocol()) + " connection asked for a password prompt"})
		return
	}
	if entry.debug {
		h.log.LogAttrs(ctx, slog.LevelInfo, "login: started", slog.String("connection", choice.Connection), slog.String("kind", step.Kind.String()), slog.String("url", step.URL))
	}
	if err := step.Write(w, r); err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "login: writing the step failed", slog.String("connection", choice.Connection), slog.String("error", err.Error()))
	}
}
