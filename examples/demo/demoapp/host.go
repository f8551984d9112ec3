package demoapp

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// The host application's own part of logging in: its passwords and its
// session. ssokit never owns either; this is one simple way to do them.

const (
	sessionCookie   = "demo_session"
	sessionLifetime = 8 * time.Hour
)

// session is the demo's server-side session.
type session struct {
	ID      string
	Result  *login.Result
	Created time.Time
}

// host keeps sessions and which connections each user has logged in
// through (for lockout prevention). The passwords are the examples' salted
// PBKDF2 table (examples/internal/host.Passwords).
type host struct {
	a         *App
	mu        sync.Mutex
	sessions  map[string]*session
	ssoLogins map[string][]string        // user -> connections
	seen      map[string]map[string]bool // account -> users who logged in
}

func newHost(a *App) *host {
	return &host{a: a, sessions: map[string]*session{},
		ssoLogins: map[string][]string{}, seen: map[string]map[string]bool{}}
}

// StartSession implements login.Sessions: a random session ID in an
// HttpOnly, SameSite=Lax cookie, the login's Result on the server.
func (h *host) StartSession(w http.ResponseWriter, r *http.Request, res *login.Result) error {
	if old, err := r.Cookie(sessionCookie); err == nil {
		h.mu.Lock()
		delete(h.sessions, old.Value)
		h.mu.Unlock()
	}
	s := &session{ID: sso.NewBinding(), Result: res, Created: time.Now()}
	h.mu.Lock()
	h.sessions[s.ID] = s
	if res.Method.Kind == policy.MethodSSO && !slices.Contains(h.ssoLogins[res.User], res.Method.Connection) {
		h.ssoLogins[res.User] = append(h.ssoLogins[res.User], res.Method.Connection)
	}
	for _, acct := range res.Accounts {
		if h.seen[acct] == nil {
			h.seen[acct] = map[string]bool{}
		}
		h.seen[acct][res.User] = true
	}
	h.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(h.a.baseURL, "https://"), MaxAge: int(sessionLifetime / time.Second)})
	return nil
}

// EndSession implements login.Sessions.
func (h *host) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s := h.current(r)
	if s == nil {
		return nil, nil
	}
	h.mu.Lock()
	delete(h.sessions, s.ID)
	h.mu.Unlock()
	return s.Result.Identity, nil
}

// EndSessions implements login.SessionEnder: the identity provider's own
// single logout ends, in every browser, the sessions of the connection
// that it names.
func (h *host) EndSessions(_ context.Context, connection string, matches func(*sso.Identity) bool) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, s := range h.sessions {
		if ident := s.Result.Identity; ident != nil && ident.Connection == connection && matches(ident) {
			delete(h.sessions, id)
		}
	}
	return false, nil
}

// CurrentUser implements login.Sessions.
func (h *host) CurrentUser(r *http.Request) string {
	if s := h.current(r); s != nil {
		return s.Result.User
	}
	return ""
}

// current returns the request's session, or nil.
func (h *host) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[c.Value]
	if s != nil && time.Since(s.Created) > sessionLifetime {
		delete(h.sessions, c.Value)
		return nil
	}
	return s
}

func (h *host) ssoLoginsOf(_ context.Context, user string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ssoLogins[user])
}

// knownUsers returns the IDs of the configured users and of everyone who
// logged in to the account.
func (h *host) knownUsers(ctx context.Context, account string) []string {
	ids := map[string]bool{}
	for _, u := range h.a.cfg.Users {
		if id, err := h.a.users.UserByEmail(ctx, u.Email); err == nil {
			ids[id] = true
		}
	}
	h.mu.Lock()
	for id := range h.seen[account] {
		ids[id] = true
	}
	h.mu.Unlock()
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// canAdminister reports whether the request's session grants the account
// and its user is an administrator there.
func (a *App) canAdminister(r *http.Request, account string) bool {
	s := a.host.current(r)
	if s == nil || !slices.Contains(s.Result.Accounts, account) {
		return false
	}
	f, err := a.users.Facts(r.Context(), s.Result.User, account)
	return err == nil && f.Admin
}

// membership returns the user's membership in account, or nil.
func (a *App) membership(ctx context.Context, user, account string) *provisioning.Membership {
	var m *provisioning.Membership
	_ = a.store.Tx(ctx, func(tx provisioning.Tx) error {
		m, _ = tx.FindMembership(ctx, user, account)
		return nil
	})
	return m
}
