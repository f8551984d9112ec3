package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/token"
	"github.com/ssokit/sso/policy"
)

// This file holds what the handler keeps between two of its own pages for
// one browser: the login binding cookie, and the identities that wait in
// Config.StateStore for a password, a confirmation, or a same-site page.

// browserState is what this browser proved, sealed into the binding
// cookie: only the handler can make or read it, so a value another site
// or a sibling subdomain plants is ignored, never adopted.
type browserState struct {
	// Park is the ID of this browser's waiting identity in Config.StateStore.
	Park string `json:"p,omitempty"`
	// PwUser is the user of the last password login in this browser, and
	// PwAccounts its accounts whose connections use login binding: a
	// single sign-on login this browser starts afterwards may be bound to
	// that user (password first), after the person confirms.
	PwUser     string    `json:"u,omitempty"`
	PwAccounts []string  `json:"a,omitempty"`
	PwAt       time.Time `json:"t,omitempty"`
	Expires    time.Time `json:"e"`
}

const bindingCookie = "binding"

// browser returns the state sealed into the request's binding cookie; the
// zero state when there is none, or one the handler did not seal.
func (h *Handler) browser(r *http.Request) browserState {
	var st browserState
	if b, ok := h.cookies.Get(r, bindingCookie); ok {
		if json.Unmarshal(b, &st) != nil {
			return browserState{}
		}
	}
	return st
}

// setBrowser seals st into the binding cookie, or drops the cookie when
// st holds nothing. Every write is a fresh value: a login rotates it.
func (h *Handler) setBrowser(w http.ResponseWriter, r *http.Request, st browserState) {
	if st.Park == "" && st.PwUser == "" {
		if h.cookies.Has(r, bindingCookie) {
			h.cookies.Delete(w, r, bindingCookie)
		}
		return
	}
	b, err := json.Marshal(st)
	if err == nil {
		err = h.cookies.Set(w, r, bindingCookie, b, st.Expires)
	}
	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "login: setting the binding cookie failed", slog.String("error", err.Error()))
	}
}

// parkKind says what a waiting identity waits for.
type parkKind string

const (
	// parkContinue: an IdP-initiated login, to be finished on the
	// handler's own page (GET /login/continue), where the host's session
	// cookie comes with the request.
	parkContinue parkKind = "continue"
	// parkSwitch: the same, waiting for the person to confirm that it
	// replaces the session of the user in User.
	parkSwitch parkKind = "switch"
	// parkPassword: an identity login binding may link, waiting for the
	// password of the user to link it to (POST /login/bind).
	parkPassword parkKind = "password"
	// parkConfirm: waiting for the person to confirm that the identity is
	// linked to User (POST /login/bind/confirm).
	parkConfirm parkKind = "confirm"
)

// parked is an identity an identity provider proved, waiting on one of
// the handler's pages.
type parked struct {
	Kind     parkKind      `json:"k"`
	Identity *sso.Identity `json:"i"`
	// IDToken is Identity.IDToken, which redacts itself in JSON.
	IDToken  string `json:"x,omitempty"`
	Account  string `json:"a"`
	ReturnTo string `json:"r,omitempty"`
	// User is the user the identity would be bound to (parkConfirm), or
	// the user whose session it would replace (parkSwitch).
	User string `json:"u,omitempty"`
	// Token is the digest of the confirmation form's one-time token.
	Token string `json:"c,omitempty"`
	// Tries counts wrong passwords (parkPassword).
	Tries   int       `json:"n,omitempty"`
	Expires time.Time `json:"e"`
}

func parkKey(id string) string { return "login-park:" + id }

// subjectKey indexes the waiting identity of one (connection, subject):
// a newer login of the same identity replaces the older one, so the
// records an identity can make are bounded.
func subjectKey(id *sso.Identity) string {
	return "login-park-subject:" + token.Hash(id.Connection+"\x00"+id.Subject)
}

// park keeps p in Config.StateStore and points this browser's binding cookie
// at it. It returns a typed error when the store refuses (full or down).
func (h *Handler) park(ctx context.Context, w http.ResponseWriter, r *http.Request, p *parked) error {
	id, err := token.Random(nil, 24)
	if err != nil {
		return err
	}
	p.IDToken = p.Identity.IDToken.Reveal()
	b, err := json.Marshal(p)
	if err != nil {
		return &sso.Error{Op: "login.Park", Reason: sso.ReasonInternal, Connection: p.Identity.Connection, Err: err}
	}
	idx := subjectKey(p.Identity)
	if old, err := h.states.Take(ctx, idx); err == nil {
		_, _ = h.states.Take(ctx, parkKey(string(old)))
	}
	if err := h.states.Put(ctx, parkKey(id), b, p.Expires); err != nil {
		return storeError("login.Park", p.Identity.Connection, "keeping the identity until the person answers failed", err)
	}
	if err := h.states.Put(ctx, idx, []byte(id), p.Expires); err != nil {
		_, _ = h.states.Take(ctx, parkKey(id))
		return storeError("login.Park", p.Identity.Connection, "keeping the identity until the person answers failed", err)
	}
	st := h.browser(r)
	st.Park = id
	if st.Expires.Before(p.Expires) {
		st.Expires = p.Expires
	}
	h.setBrowser(w, r, st)
	return nil
}

// takePark takes this browser's waiting identity, which must be of one of
// kinds. The record is consumed: callers put it back when it keeps
// waiting.
func (h *Handler) takePark(ctx context.Context, r *http.Request, kinds ...parkKind) (*parked, string, error) {
	const op = "login.Pending"
	missing := &sso.Error{Op: op, Reason: sso.ReasonStateMissing, Detail: "no single sign-on identity waits in this browser (expired, used, dropped after too many attempts, or the cookie is missing)"}
	id := h.browser(r).Park
	if id == "" {
		return nil, "", missing
	}
	b, err := h.states.Take(ctx, parkKey(id))
	if err != nil {
		if errors.Is(err, sso.ReasonStateMissing) {
			return nil, "", missing
		}
		return nil, "", storeError(op, "", "reading the waiting identity failed", err)
	}
	p := new(parked)
	if err := json.Unmarshal(b, p); err != nil || p.Identity == nil {
		return nil, "", &sso.Error{Op: op, Reason: sso.ReasonInternal, Detail: "the waiting identity is corrupt", Err: err}
	}
	if !h.now().Before(p.Expires) {
		return nil, "", missing
	}
	if !slices.Contains(kinds, p.Kind) {
		return nil, "", &sso.Error{Op: op, Reason: sso.ReasonStateMismatch, Connection: p.Identity.Connection,
			Detail: "the identity waiting in this browser waits for another step (" + string(p.Kind) + ")"}
	}
	p.Identity.IDToken = sso.Secret(p.IDToken)
	return p, id, nil
}

// putBack keeps p waiting under id.
func (h *Handler) putBack(ctx context.Context, id string, p *parked) error {
	b, err := json.Marshal(p)
	if err == nil {
		err = h.states.Put(ctx, parkKey(id), b, p.Expires)
	}
	if err != nil {
		return storeError("login.Pending", p.Identity.Connection, "keeping the identity waiting failed", err)
	}
	return nil
}

// dropPark forgets this browser's waiting identity (its record is already
// taken).
func (h *Handler) dropPark(w http.ResponseWriter, r *http.Request) {
	st := h.browser(r)
	if st.Park == "" {
		return
	}
	st.Park = ""
	h.setBrowser(w, r, st)
}

// storeError wraps a failure of Config.StateStore, keeping store_full and
// unavailable.
func storeError(op, connection, detail string, err error) error {
	reason := sso.ReasonInternal
	if r := sso.ReasonOf(err); r == sso.ReasonStoreFull || r == sso.ReasonUnavailable {
		reason = r
	}
	return &sso.Error{Op: op, Reason: reason, Connection: connection, Detail: detail, Err: err}
}

// newToken returns a one-time token for a confirmation form and its digest.
func newToken() (tok, digest string, err error) {
	tok, err = token.Random(nil, 24)
	return tok, tokenDigest(tok), err
}

func tokenDigest(token string) string {
	sum := sha256.Sum256([]byte("ssokit confirm\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func tokenMatches(digest, token string) bool {
	return token != "" && digest != "" && subtle.ConstantTimeCompare([]byte(digest), []byte(tokenDigest(token))) == 1
}

// awaitBinding parks an identity that login binding may link: with the
// user of a password login this browser made before it started the
// login (password first), the person is asked to confirm at once;
// otherwise for the password of the user to link it to.
func (h *Handler) awaitBinding(w http.ResponseWriter, r *http.Request, c *completion, account string) {
	ctx := r.Context()
	id := c.id
	fail := func(err error) {
		h.fail(w, r, failure{err: err, account: account, connection: id.Connection, subject: id.Subject, returnTo: c.rt})
	}
	if c.bindUser == "" && h.cfg.Passwords == nil {
		fail(&sso.Error{Op: "login.Complete", Reason: sso.ReasonUserNotProvisioned, Connection: id.Connection,
			Detail: "the connection uses login binding but the application has no password login (Config.Passwords)"})
		return
	}
	p := &parked{Kind: parkPassword, Identity: id, Account: account, ReturnTo: c.rt, Expires: h.now().Add(c.entry.prov.BindingWindow())}
	var token string
	if c.bindUser != "" {
		var err error
		if token, p.Token, err = newToken(); err != nil {
			fail(err)
			return
		}
		p.Kind, p.User = parkConfirm, c.bindUser
	}
	if err := h.park(ctx, w, r, p); err != nil {
		fail(err)
		return
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "login: identity waits for login binding", slog.String("account", account), slog.String("connection", id.Connection),
		slog.String("step", string(p.Kind)))
	if p.Kind == parkConfirm {
		h.renderConfirm(w, r, http.StatusOK, p, token)
		return
	}
	h.renderBind(w, http.StatusOK, id, c.rt, "")
}

func (h *Handler) displayName(connection string) string {
	if c, err := h.disc().Connection(connection); err == nil && c.DisplayName != "" {
		return c.DisplayName
	}
	return connection
}

func (h *Handler) renderBind(w http.ResponseWriter, status int, id *sso.Identity, rt, msg string) {
	h.render(w, status, TemplateBind, &BindPage{Page: h.page("Connect your account", rt, msg), IdentityEmail: id.Email, Subject: id.Subject, DisplayName: h.displayName(id.Connection)})
}

// renderConfirm asks the person to confirm a binding or a session switch.
func (h *Handler) renderConfirm(w http.ResponseWriter, r *http.Request, status int, p *parked, token string) {
	page := &ConfirmPage{
		Page:          h.page("Connect your account", p.ReturnTo, ""),
		Token:         token,
		Action:        h.base + "/login/bind/confirm",
		IdentityEmail: p.Identity.Email,
		Subject:       p.Identity.Subject,
		DisplayName:   h.displayName(p.Identity.Connection),
	}
	if p.Kind == parkSwitch {
		page.Title, page.Switch, page.Action = "Switch account?", true, h.base+"/login/continue"
	}
	if f, err := h.cfg.Users.Facts(r.Context(), p.User, p.Account); err == nil {
		page.UserEmail = f.Email
	}
	if page.UserEmail == "" {
		page.UserEmail = p.User
	}
	h.render(w, status, TemplateConfirm, page)
}

// bindSubmit serves POST /login/bind: the password of the user the
// waiting identity is to be linked to. The password is checked like a
// password login to the identity's account: the user must be a member
// whom the account's policy lets use a password. Every failure gets the
// same answer, and after Config.MaxBindingTries the identity is dropped.
// A right password leads to the confirmation, never straight to the link.
func (h *Handler) bindSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	ctx := r.Context()
	if h.cfg.Passwords == nil {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Bind", Reason: ReasonPasswordDisabled, Detail: "the application has no password login (Config.Passwords)"}})
		return
	}
	p, key, err := h.takePark(ctx, r, parkPassword)
	if err != nil {
		h.fail(w, r, failure{err: err})
		return
	}
	id := p.Identity
	email, _ := sso.NormalizeEmail(r.PostForm.Get("email"))
	user, ok := h.passwordFor(ctx, email, sso.Secret(r.PostForm.Get("password")), p.Account)
	if !ok {
		p.Tries++
		ev := sso.Event{Type: sso.EventLoginFailed, Time: h.now(), Account: p.Account, Connection: id.Connection, Subject: id.Subject, Reason: ReasonPasswordIncorrect,
			Attrs: map[string]string{"method": "password", "purpose": "login_binding"}}
		if p.Tries >= h.cfg.MaxBindingTries {
			h.dropPark(w, r)
			h.fail(w, r, failure{err: &sso.Error{Op: "login.Bind", Reason: sso.ReasonTooManyAttempts, Connection: id.Connection,
				Detail: "the identity waiting for login binding was dropped after " + strconv.Itoa(p.Tries) + " wrong passwords"}, account: p.Account, connection: id.Connection, subject: id.Subject, returnTo: p.ReturnTo})
			return
		}
		h.cfg.Events.Emit(ctx, ev)
		if err := h.putBack(ctx, key, p); err != nil {
			h.fail(w, r, failure{err: err, account: p.Account, connection: id.Connection, returnTo: p.ReturnTo})
			return
		}
		h.renderBind(w, http.StatusUnauthorized, id, p.ReturnTo, ReasonPasswordIncorrect.UserMessage())
		return
	}
	token, digest, err := newToken()
	if err != nil {
		h.fail(w, r, failure{err: err})
		return
	}
	p.Kind, p.User, p.Token = parkConfirm, user, digest
	if err := h.putBack(ctx, key, p); err != nil {
		h.fail(w, r, failure{err: err, account: p.Account, connection: id.Connection, returnTo: p.ReturnTo})
		return
	}
	h.renderConfirm(w, r, http.StatusOK, p, token)
}

// passwordFor checks a password offered to link an identity in account:
// it returns the user when the password is right, the user is a member of
// the account, and the account's policy lets that user use a password.
// The host's check runs whatever the outcome, so that the time taken does
// not tell members from others.
func (h *Handler) passwordFor(ctx context.Context, email string, pw sso.Secret, account string) (string, bool) {
	if email == "" {
		return "", false
	}
	user, err := h.cfg.Passwords.CheckPassword(ctx, email, pw)
	if err != nil || user == "" {
		return "", false
	}
	accounts, err := h.cfg.Users.Accounts(ctx, user)
	if err != nil || !slices.Contains(accounts, account) {
		return "", false
	}
	acct, err := h.account(account)
	if err != nil {
		return "", false
	}
	facts, err := h.cfg.Users.Facts(ctx, user, account)
	if err != nil {
		return "", false
	}
	d := policy.Decide(acct.policy, facts, policy.Password())
	if e, has := d.Event(h.now()); has {
		h.cfg.Events.Emit(ctx, e)
	}
	return user, d.Allowed
}

// bindConfirm serves POST /login/bind/confirm: the person confirms (or
// cancels) linking the waiting identity to the user named on the page.
func (h *Handler) bindConfirm(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	p, _, err := h.takePark(r.Context(), r, parkConfirm)
	if err != nil {
		h.fail(w, r, failure{err: err})
		return
	}
	h.dropPark(w, r)
	if !tokenMatches(p.Token, r.PostForm.Get("token")) {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Bind", Reason: sso.ReasonStateMismatch, Connection: p.Identity.Connection,
			Detail: "the confirmation does not come from the page that asked for it"}, account: p.Account, connection: p.Identity.Connection, returnTo: p.ReturnTo})
		return
	}
	if r.PostForm.Has("cancel") {
		h.render(w, http.StatusOK, TemplateLogin, &LoginPage{Page: h.page("Log in", p.ReturnTo, "The single sign-on identity was not connected to your account."), PasswordEnabled: h.cfg.Passwords != nil})
		return
	}
	h.finish(w, r, &completion{id: p.Identity, rt: p.ReturnTo, resumed: true, bindTo: p.User})
}

// continuePage serves GET /login/continue: an IdP-initiated login,
// finished on the handler's own page. Unlike the identity provider's
// cross-site POST, this request carries the host's SameSite=Lax session
// cookie: when it names another user than the one the login reaches, the
// person is asked first.
func (h *Handler) continuePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, key, err := h.takePark(ctx, r, parkContinue)
	if err != nil {
		h.fail(w, r, failure{err: err})
		return
	}
	if cur := h.cfg.Sessions.CurrentUser(r); cur != "" && h.wouldReplace(ctx, p, cur) {
		token, digest, err := newToken()
		if err != nil {
			h.fail(w, r, failure{err: err})
			return
		}
		p.Kind, p.User, p.Token = parkSwitch, cur, digest
		if err := h.putBack(ctx, key, p); err != nil {
			h.fail(w, r, failure{err: err, account: p.Account, connection: p.Identity.Connection, returnTo: p.ReturnTo})
			return
		}
		h.renderConfirm(w, r, http.StatusOK, p, token)
		return
	}
	h.dropPark(w, r)
	h.finish(w, r, &completion{id: p.Identity, rt: p.ReturnTo, resumed: true})
}

// wouldReplace reports whether finishing p would start the session of
// another user than cur: when the Provisioner can preview, only if the
// login reaches someone else (an identity that login binding may link
// starts no session before the password and its own confirmation);
// otherwise whenever a session exists.
func (h *Handler) wouldReplace(ctx context.Context, p *parked, cur string) bool {
	pv, ok := h.cfg.Provisioner.(Previewer)
	if !ok {
		return true
	}
	entry, ok := h.entry(p.Identity.Connection)
	if !ok {
		return true
	}
	acct, err := h.account(p.Account)
	if err != nil {
		return true
	}
	plan, err := pv.Preview(ctx, h.provisioningRequest(acct, entry, p.Identity))
	if err == nil && plan.BindingPossible {
		return false
	}
	return err != nil || plan.Result == nil || plan.Result.User.ID != cur
}

// continueSubmit serves POST /login/continue: the person's answer to the
// question whether the IdP-initiated login replaces the current session.
func (h *Handler) continueSubmit(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	p, _, err := h.takePark(r.Context(), r, parkSwitch)
	if err != nil {
		h.fail(w, r, failure{err: err})
		return
	}
	h.dropPark(w, r)
	if !tokenMatches(p.Token, r.PostForm.Get("token")) {
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Continue", Reason: sso.ReasonStateMismatch, Connection: p.Identity.Connection,
			Detail: "the confirmation does not come from the page that asked for it"}, account: p.Account, connection: p.Identity.Connection, returnTo: p.ReturnTo})
		return
	}
	if r.PostForm.Has("cancel") {
		http.Redirect(w, r, h.cfg.DefaultReturnPath, http.StatusSeeOther)
		return
	}
	h.finish(w, r, &completion{id: p.Identity, rt: p.ReturnTo, resumed: true})
}

// recordPasswordLogin remembers, in the binding cookie, the password
// login of user in the accounts of allowed whose connections use login
// binding, for a single sign-on login this browser starts next; without
// such an account it forgets any earlier one. Either way the cookie gets
// a fresh value.
func (h *Handler) recordPasswordLogin(w http.ResponseWriter, r *http.Request, user string, allowed []string) {
	st := browserState{}
	now := h.now()
	for _, acct := range allowed {
		if wnd, ok := h.bindingWindow(acct); ok {
			st.PwAccounts = append(st.PwAccounts, acct)
			if exp := now.Add(wnd); st.Expires.Before(exp) {
				st.Expires = exp
			}
		}
	}
	if len(st.PwAccounts) > 0 {
		st.PwUser, st.PwAt = user, now
	}
	h.setBrowser(w, r, st)
}

// bindingWindow returns the longest login binding window among the
// account's connections, and whether any of them uses login binding.
func (h *Handler) bindingWindow(account string) (time.Duration, bool) {
	route, err := h.disc().LookupAccount(account)
	if err != nil {
		return 0, false
	}
	var wnd time.Duration
	found := false
	for _, c := range route.Choices() {
		if e, ok := h.entry(c.Connection); ok && e.prov.LoginBinding.Enabled {
			found = true
			wnd = max(wnd, e.prov.BindingWindow())
		}
	}
	return wnd, found
}

// passwordFirstUser returns the user of a password login this browser
// made before starting a single sign-on login through entry of account,
// when login binding may link to it.
func (h *Handler) passwordFirstUser(r *http.Request, entry *entry, account string) string {
	if !entry.prov.LoginBinding.Enabled {
		return ""
	}
	st := h.browser(r)
	if st.PwUser == "" || !slices.Contains(st.PwAccounts, account) || !h.now().Before(st.PwAt.Add(entry.prov.BindingWindow())) {
		return ""
	}
	return st.PwUser
}
