package demoapp

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/token"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
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

// sessionRecord is a session as the database keeps it: the login's Result
// and, apart, its ID token, which sso.Secret redacts in JSON.
type sessionRecord struct {
	Result  *login.Result `json:"result"`
	IDToken string        `json:"id_token,omitempty"`
	Created time.Time     `json:"created"`
}

// host keeps sessions and which connections each user has logged in
// through (for lockout prevention) in the application's database, so that
// every replica sees them: the sessions under the SHA-256 digest of their
// cookie value. The passwords are the examples' salted PBKDF2 table
// (examples/internal/host.Passwords).
type host struct {
	a  *App
	db *sql.DB
}

func newHost(a *App) *host { return &host{a: a, db: a.store.DB()} }

// StartSession implements login.Sessions: a random session ID in an
// HttpOnly, SameSite=Lax cookie, the login's Result in the database.
func (h *host) StartSession(w http.ResponseWriter, r *http.Request, res *login.Result) error {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	now := time.Now()
	id := sso.NewBinding()
	rec := sessionRecord{Result: res, Created: now}
	conn := ""
	if res.Identity != nil {
		rec.IDToken, conn = res.Identity.IDToken.Reveal(), res.Identity.Connection
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return storeError("start the session", err)
	}
	defer tx.Rollback()
	if old, err := r.Cookie(sessionCookie); err == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM demo_sessions WHERE id = $1`, token.Hash(old.Value)); err != nil {
			return storeError("start the session", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO demo_sessions (id, connection, record, expires_us) VALUES ($1, $2, $3, $4)`,
		token.Hash(id), conn, b, now.Add(sessionLifetime).UnixMicro()); err != nil {
		return storeError("start the session", err)
	}
	for _, acct := range res.Accounts {
		c := ""
		if res.Method.Kind == policy.MethodSSO {
			c = res.Method.Connection
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO demo_logins (user_id, account, connection) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			res.User, acct, c); err != nil {
			return storeError("start the session", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return storeError("start the session", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(h.a.baseURL, "https://"), MaxAge: int(sessionLifetime / time.Second)})
	return nil
}

// storeError is a failure of the session store, as an *sso.Error with
// the Reason the Store gives it (unavailable when the database is down).
func storeError(what string, err error) error {
	return &sso.Error{Op: "demo.sessions", Reason: sqlstore.Classify(err), Detail: "the database failed to " + what, Err: err}
}

// EndSession implements login.Sessions.
func (h *host) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s := h.current(r)
	if s == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if _, err := h.db.ExecContext(ctx, `DELETE FROM demo_sessions WHERE id = $1`, token.Hash(s.ID)); err != nil {
		return nil, storeError("end the session", err)
	}
	return s.Result.Identity, nil
}

// EndSessions implements login.SessionEnder: the identity provider's own
// single logout ends, in every browser, the sessions of the connection
// that it names.
func (h *host) EndSessions(ctx context.Context, connection string, matches func(*sso.Identity) bool) (bool, error) {
	rows, err := h.db.QueryContext(ctx, `SELECT id, record FROM demo_sessions WHERE connection = $1`, connection)
	if err != nil {
		return false, storeError("find the sessions to end", err)
	}
	var ended []string
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return false, storeError("find the sessions to end", err)
		}
		if s := decodeSession(id, b); s != nil && s.Result.Identity != nil && matches(s.Result.Identity) {
			ended = append(ended, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, storeError("find the sessions to end", err)
	}
	for _, id := range ended {
		if _, err := h.db.ExecContext(ctx, `DELETE FROM demo_sessions WHERE id = $1`, id); err != nil {
			return false, storeError("end a session", err)
		}
	}
	return false, nil
}

func decodeSession(id string, b []byte) *session {
	var rec sessionRecord
	if json.Unmarshal(b, &rec) != nil || rec.Result == nil {
		return nil
	}
	if rec.Result.Identity != nil {
		rec.Result.Identity.IDToken = sso.Secret(rec.IDToken)
	}
	return &session{ID: id, Result: rec.Result, Created: rec.Created}
}

// CurrentUser implements login.Sessions.
func (h *host) CurrentUser(r *http.Request) string {
	if s := h.current(r); s != nil {
		return s.Result.User
	}
	return ""
}

// current returns the request's session, or nil (also when the database
// cannot be read: logged out is the closed answer).
func (h *host) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	var b []byte
	err = h.db.QueryRowContext(ctx, `SELECT record FROM demo_sessions WHERE id = $1 AND expires_us > $2`, token.Hash(c.Value), time.Now().UnixMicro()).Scan(&b)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			h.a.log.Warn("session lookup failed", "err", err)
		}
		return nil
	}
	s := decodeSession(c.Value, b)
	if s != nil && time.Since(s.Created) > sessionLifetime {
		return nil
	}
	return s
}

func (h *host) ssoLoginsOf(ctx context.Context, user string) []string {
	rows, err := h.db.QueryContext(ctx, `SELECT DISTINCT connection FROM demo_logins WHERE user_id = $1 AND connection <> '' ORDER BY connection`, user)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if rows.Scan(&c) == nil {
			out = append(out, c)
		}
	}
	return out
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
	if rows, err := h.db.QueryContext(ctx, `SELECT DISTINCT user_id FROM demo_logins WHERE account = $1`, account); err == nil {
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				ids[id] = true
			}
		}
		rows.Close()
	}
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
