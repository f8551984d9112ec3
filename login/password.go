package login

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
)

// passwordDecisions returns policy's password decisions for the user (or,
// when userID is "", for whoever has this email) in each of their accounts:
// the accounts a password login grants, the decisions that allowed them and
// the refusals. Dry-run refusals are reported as events here.
func (h *Handler) passwordDecisions(ctx context.Context, email, userID string) (allowed []string, ok, refused []policy.Decision, err error) {
	var accounts []string
	if userID != "" {
		if accounts, err = h.cfg.Users.Accounts(ctx, userID); err != nil {
			return nil, nil, nil, err
		}
	} else if route, e := h.cfg.Discovery.Lookup(email); e == nil {
		// Nobody has this email: decide as for a newcomer at its domain, so
		// that the answer is the same as for a user who exists.
		accounts = route.Accounts()
	}
	for _, id := range accounts {
		acct, err := h.cfg.Accounts.Account(ctx, id)
		if err != nil {
			if sso.ReasonOf(err) == sso.ReasonAccountNotFound {
				// An account without single sign-on settings uses passwords.
				allowed = append(allowed, id)
				ok = append(ok, policy.Decision{Allowed: true, Rule: policy.RulePasswordOnly, Account: id, User: userID, Method: policy.Password()})
				continue
			}
			return nil, nil, nil, err
		}
		facts := policy.User{Email: email}
		if userID != "" {
			if facts, err = h.cfg.Users.Facts(ctx, userID, id); err != nil {
				return nil, nil, nil, err
			}
		}
		d := policy.Decide(acct.Policy, facts, policy.Password())
		if e, has := d.Event(h.now()); has && d.DryRunRefusal {
			h.cfg.Events.Emit(ctx, e)
		}
		if d.Allowed {
			allowed = append(allowed, id)
			ok = append(ok, d)
		} else {
			refused = append(refused, d)
		}
	}
	return allowed, ok, refused, nil
}

// passwordLogin is the password path of POST /login: policy first, so that
// the password of a person who must use single sign-on is never checked,
// then the host's password check, then the session.
func (h *Handler) passwordLogin(w http.ResponseWriter, r *http.Request, email string, pw sso.Secret, rt string) {
	ctx := r.Context()
	internal := func(err error) {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Password", Reason: sso.ReasonInternal, Detail: "reading users or accounts failed", Err: err}, returnTo: rt})
	}
	userID, err := h.cfg.Users.UserByEmail(ctx, email)
	if err != nil && sso.ReasonOf(err) != sso.ReasonNotFound {
		internal(err)
		return
	}
	allowed, ok, refused, err := h.passwordDecisions(ctx, email, userID)
	if err != nil {
		internal(err)
		return
	}
	if len(allowed) == 0 && len(refused) > 0 {
		h.refusePassword(w, r, email, rt, refused)
		return
	}
	checked, err := h.cfg.Passwords.CheckPassword(ctx, email, pw)
	if err != nil || checked == "" {
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginFailed, Time: h.now(), User: userID, Reason: ReasonPasswordIncorrect, Attrs: map[string]string{"method": "password"}})
		h.log.LogAttrs(ctx, slog.LevelInfo, "login failed", slog.String("reason", string(ReasonPasswordIncorrect)), slog.String("user", userID), slog.String("error", errText(err)))
		h.render(w, http.StatusUnauthorized, TemplateLogin, &LoginPage{
			Page: h.page("Log in", rt, ReasonPasswordIncorrect.UserMessage()), Email: email, PasswordEnabled: true, AskPassword: true,
		})
		return
	}
	if checked != userID {
		// The host knows the user by another email, or keeps users of its
		// own: decide again for the user the password belongs to.
		if allowed, ok, refused, err = h.passwordDecisions(ctx, email, checked); err != nil {
			internal(err)
			return
		}
		if len(allowed) == 0 && len(refused) > 0 {
			h.refusePassword(w, r, email, rt, refused)
			return
		}
	}
	h.recordBindings(w, r, checked, allowed)
	second := false
	for _, d := range ok {
		second = second || d.SecondFactorRequired
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginSucceeded, Time: h.now(), Account: d.Account, User: checked, Attrs: map[string]string{"method": "password", "rule": string(d.Rule)}})
	}
	if len(ok) == 0 {
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginSucceeded, Time: h.now(), User: checked, Attrs: map[string]string{"method": "password"}})
	}
	h.startSession(w, r, &Result{
		User: checked, Email: email, Method: policy.Password(), Accounts: allowed, Refused: refused,
		ReturnTo: h.orDefault(rt), Decisions: ok, SecondFactorRequired: second,
	})
}

// refusePassword reports the refusals and shows the login page with the
// single sign-on the person must use.
func (h *Handler) refusePassword(w http.ResponseWriter, r *http.Request, email, rt string, refused []policy.Decision) {
	ctx := r.Context()
	for _, d := range refused {
		if e, ok := d.Event(h.now()); ok {
			h.cfg.Events.Emit(ctx, e)
		}
		h.log.LogAttrs(ctx, slog.LevelInfo, "password refused", slog.String("reason", string(d.Reason)), slog.String("rule", string(d.Rule)),
			slog.String("account", d.Account), slog.String("user", d.User))
	}
	var choices []discovery.Choice
	if route, err := h.cfg.Discovery.Lookup(email); err == nil {
		choices = h.offer(ctx, route, email)
	}
	if len(choices) == 0 {
		for _, d := range refused {
			if route, err := h.cfg.Discovery.LookupAccount(d.Account); err == nil {
				c := h.offer(ctx, route, email)
				choices = append(choices, c...)
			}
		}
	}
	reason := refused[0].Reason
	if reason == "" {
		reason = sso.ReasonSSORequired
	}
	h.render(w, http.StatusForbidden, TemplateLogin, &LoginPage{
		Page: h.page("Log in", rt, reason.UserMessage()), Email: email, PasswordEnabled: true, Choices: choices,
	})
}

// recordBindings tells provisioning about the password login in the
// accounts whose connections use login binding, so that an SSO identity
// waiting in this browser is linked (SSO first), or a later SSO login in it
// links to this user (password first).
func (h *Handler) recordBindings(w http.ResponseWriter, r *http.Request, userID string, accounts []string) {
	ctx := r.Context()
	binding := ""
	for _, acct := range accounts {
		if !h.usesBinding(acct) {
			continue
		}
		if binding == "" {
			binding = h.bindingCookie(w, r)
		}
		res, err := h.cfg.Provisioner.RecordPasswordLogin(ctx, binding, userID, acct)
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "login: recording the password login for login binding failed", slog.String("account", acct), slog.String("user", userID), slog.String("error", err.Error()))
			continue
		}
		if res != nil {
			h.log.LogAttrs(ctx, slog.LevelInfo, "login: SSO identity bound to the password login", slog.String("account", acct), slog.String("user", userID))
		}
	}
}

// usesBinding reports whether a connection of the account has login
// binding on.
func (h *Handler) usesBinding(account string) bool {
	route, err := h.cfg.Discovery.LookupAccount(account)
	if err != nil {
		return false
	}
	for _, c := range route.Choices() {
		if e, ok := h.cfg.Connections.Connection(c.Connection); ok && e.Provisioning.LoginBinding.Enabled {
			return true
		}
	}
	return false
}

// pendingBind is an SSO identity waiting for the password login that binds
// it, kept in Config.States under the browser binding's hash.
type pendingBind struct {
	Identity *sso.Identity `json:"identity"`
	Account  string        `json:"account"`
	ReturnTo string        `json:"return_to,omitempty"`
	Expires  time.Time     `json:"expires"`
}

func bindKey(binding string) string { return "login-bind:" + sso.HashBinding(binding) }

// awaitBinding keeps the identity provisioning parked and asks for the
// password that binds it (SmartRecruiters' login binding).
func (h *Handler) awaitBinding(w http.ResponseWriter, r *http.Request, entry *Connection, account string, id *sso.Identity, binding, rt string) {
	ctx := r.Context()
	if h.cfg.Passwords == nil {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Complete", Reason: sso.ReasonUserNotProvisioned, Connection: id.Connection,
			Detail: "the connection uses login binding but the application has no password login (Config.Passwords)"}, account: account, connection: id.Connection, subject: id.Subject, returnTo: rt})
		return
	}
	window := entry.Provisioning.LoginBinding.Window
	if window <= 0 {
		window = DefaultBindingWait
	}
	exp := h.now().Add(window)
	b, err := json.Marshal(pendingBind{Identity: id, Account: account, ReturnTo: rt, Expires: exp})
	if err == nil {
		err = h.states.Put(ctx, bindKey(binding), b, exp)
	}
	if err != nil {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Complete", Reason: sso.ReasonInternal, Connection: id.Connection, Detail: "saving the identity for login binding failed", Err: err},
			account: account, connection: id.Connection, returnTo: rt})
		return
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "login: identity waits for login binding", slog.String("account", account), slog.String("connection", id.Connection))
	h.renderBind(w, http.StatusOK, id, rt, "")
}

func (h *Handler) renderBind(w http.ResponseWriter, status int, id *sso.Identity, rt, msg string) {
	name := id.Connection
	if c, err := h.cfg.Discovery.Connection(id.Connection); err == nil && c.DisplayName != "" {
		name = c.DisplayName
	}
	h.render(w, status, TemplateBind, &BindPage{Page: h.page("Connect your account", rt, msg), IdentityEmail: id.Email, Subject: id.Subject, DisplayName: name})
}

// bindSubmit serves POST /login/bind: the password login that binds the
// waiting identity to the user it authenticates. The password proves the
// user here; it is not a password login, so the account's SSO requirement
// does not refuse it, and the session is an SSO session.
func (h *Handler) bindSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	ctx := r.Context()
	binding := h.existingBinding(r)
	stateMissing := &sso.Error{Op: "login.Bind", Reason: sso.ReasonStateMissing, Detail: "no single sign-on identity waits for login binding in this browser (expired, used, or the binding cookie is missing)"}
	if binding == "" || h.cfg.Passwords == nil {
		h.fail(w, r, failure{err: stateMissing})
		return
	}
	key := bindKey(binding)
	raw, err := h.states.Take(ctx, key)
	if err != nil {
		h.fail(w, r, failure{err: stateMissing})
		return
	}
	var p pendingBind
	if err := json.Unmarshal(raw, &p); err != nil || p.Identity == nil {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Bind", Reason: sso.ReasonInternal, Detail: "the waiting identity is corrupt", Err: err}})
		return
	}
	id := p.Identity
	email, _ := sso.NormalizeEmail(r.PostForm.Get("email"))
	userID := ""
	if email != "" {
		userID, err = h.cfg.Passwords.CheckPassword(ctx, email, sso.Secret(r.PostForm.Get("password")))
	}
	if email == "" || err != nil || userID == "" {
		// Keep the identity waiting for another try, until its window ends.
		_ = h.states.Put(ctx, key, raw, p.Expires)
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginFailed, Time: h.now(), Account: p.Account, Connection: id.Connection, Subject: id.Subject, Reason: ReasonPasswordIncorrect,
			Attrs: map[string]string{"method": "password", "purpose": "login_binding"}})
		h.renderBind(w, http.StatusUnauthorized, id, p.ReturnTo, ReasonPasswordIncorrect.UserMessage())
		return
	}
	res, err := h.cfg.Provisioner.CompleteBinding(ctx, binding, userID)
	if err != nil {
		h.fail(w, r, failure{err: err, account: p.Account, connection: id.Connection, subject: id.Subject, user: userID, reported: true, returnTo: p.ReturnTo})
		return
	}
	acct, err := h.cfg.Accounts.Account(ctx, p.Account)
	if err != nil {
		h.fail(w, r, failure{err: err, account: p.Account, connection: id.Connection, returnTo: p.ReturnTo})
		return
	}
	if len(res.Accounts) > 0 && !slices.Contains(res.Accounts, acct.ID) {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Bind", Reason: sso.ReasonInternal, Detail: "provisioning bound the identity in another account"}, account: p.Account, connection: id.Connection, returnTo: p.ReturnTo})
		return
	}
	h.grantSSO(w, r, acct, id, res, p.ReturnTo)
}
