package host

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
)

// SessionCookie is the name of the host's session cookie.
const SessionCookie = "session"

// SessionLifetime is how long a session lasts.
const SessionLifetime = 8 * time.Hour

type session struct {
	res     *login.Result
	created time.Time
}

// Sessions is the host application's session: a random ID in an HttpOnly,
// SameSite=Lax cookie, and the login's Result kept on the server. It
// implements login.Sessions. It also remembers through which connections
// each user has completed a login, which lockout prevention needs (see
// SSOLogins).
//
// Sessions is safe for concurrent use.
type Sessions struct {
	mu        sync.Mutex
	sessions  map[string]*session
	ssoLogins map[string][]string // user ID -> connection IDs
}

// NewSessions returns an empty session store.
func NewSessions() *Sessions {
	return &Sessions{sessions: map[string]*session{}, ssoLogins: map[string][]string{}}
}

// StartSession implements login.Sessions.
func (s *Sessions) StartSession(w http.ResponseWriter, r *http.Request, res *login.Result) error {
	id := sso.NewBinding() // 256 random bits, base64url
	s.mu.Lock()
	if old, err := r.Cookie(SessionCookie); err == nil {
		delete(s.sessions, old.Value) // a new login replaces the old session
	}
	s.sessions[id] = &session{res: res, created: time.Now()}
	if res.Method.Kind == policy.MethodSSO && !slices.Contains(s.ssoLogins[res.User], res.Method.Connection) {
		s.ssoLogins[res.User] = append(s.ssoLogins[res.User], res.Method.Connection)
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(SessionLifetime / time.Second)})
	return nil
}

// EndSession implements login.Sessions: it ends the session and returns the
// identity of its single sign-on login, for the connection's logout.
func (s *Sessions) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.sessions[c.Value]
	delete(s.sessions, c.Value)
	if ses == nil {
		return nil, nil
	}
	return ses.res.Identity, nil
}

// EndSessions implements login.SessionEnder: the identity provider's own
// single logout ends, in every browser, the sessions of the connection
// that it names.
func (s *Sessions) EndSessions(_ context.Context, connection string, matches func(*sso.Identity) bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ses := range s.sessions {
		if ident := ses.res.Identity; ident != nil && ident.Connection == connection && matches(ident) {
			delete(s.sessions, id)
		}
	}
	return false, nil
}

// CurrentUser implements login.Sessions: the user of the request's
// session, or "".
func (s *Sessions) CurrentUser(r *http.Request) string {
	if res := s.Current(r); res != nil {
		return res.User
	}
	return ""
}

// Current returns the login of the request's session, or nil.
func (s *Sessions) Current(r *http.Request) *login.Result {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.sessions[c.Value]
	if ses == nil {
		return nil
	}
	if time.Since(ses.created) > SessionLifetime {
		delete(s.sessions, c.Value)
		return nil
	}
	return ses.res
}

// SSOLogins returns the connections through which the user has completed a
// login, for login.StoreUsers.SSOLogins.
func (s *Sessions) SSOLogins(_ context.Context, user string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ssoLogins[user])
}

// IsAdmin reports whether the request's session grants the account and
// its user is an administrator there, for login.Config.CanAdminister.
func (s *Sessions) IsAdmin(users login.Users) func(r *http.Request, account string) bool {
	return func(r *http.Request, account string) bool {
		res := s.Current(r)
		if res == nil || !slices.Contains(res.Accounts, account) {
			return false
		}
		f, err := users.Facts(r.Context(), res.User, account)
		return err == nil && f.Admin
	}
}

// describe returns a one-line description of a login for pages.
func describe(res *login.Result) string {
	how := "password"
	if res.Identity != nil {
		how = strings.ToUpper(string(res.Identity.Protocol)) + " single sign-on through " + res.Identity.Connection
		if res.Identity.IdPInitiated {
			how += " (started at the identity provider)"
		}
	}
	return how
}
