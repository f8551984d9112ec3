package login

import (
	"context"
	"io"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ssokit/sso"
)

// ConnectionSet is the default Registry: a set of connections that the host
// may change at runtime (a connection added, its metadata replaced, a
// connection removed) while logins run. Lookups read an immutable map through
// an atomic pointer and never wait; changes copy the map under a lock and
// swap it in.
//
// A ConnectionSet is safe for concurrent use. The zero value is an empty set.
type ConnectionSet struct {
	m cowMap[*Connection]
}

// cowMap is a map whose readers load an immutable snapshot through an
// atomic pointer and never wait, and whose writers copy it under a lock and
// swap the copy in. The zero value is empty.
type cowMap[V any] struct {
	mu sync.Mutex // serialises writers
	p  atomic.Pointer[map[string]V]
}

// snapshot returns the current map; it must not be modified.
func (c *cowMap[V]) snapshot() map[string]V {
	if m := c.p.Load(); m != nil {
		return *m
	}
	return nil
}

func (c *cowMap[V]) get(id string) (V, bool) {
	v, ok := c.snapshot()[id]
	return v, ok
}

// change copies the map, lets edit change the copy and swaps it in.
func (c *cowMap[V]) change(edit func(next map[string]V)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.snapshot()
	next := make(map[string]V, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	edit(next)
	c.p.Store(&next)
}

// replace makes m the whole map.
func (c *cowMap[V]) replace(m map[string]V) {
	c.mu.Lock()
	c.p.Store(&m)
	c.mu.Unlock()
}

// NewConnectionSet returns a set holding conns. It fails like Set.
func NewConnectionSet(conns ...*Connection) (*ConnectionSet, error) {
	s := new(ConnectionSet)
	if err := s.Replace(conns...); err != nil {
		return nil, err
	}
	return s, nil
}

// Connection implements Registry.
func (s *ConnectionSet) Connection(id string) (*Connection, bool) { return s.m.get(id) }

// IDs returns the IDs of the connections in the set, sorted.
func (s *ConnectionSet) IDs() []string {
	m := s.m.snapshot()
	if m == nil {
		return nil
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func checkConnection(c *Connection) (*Connection, error) {
	bad := func(detail string) error {
		return &sso.Error{Op: "login.ConnectionSet", Reason: sso.ReasonInvalidConfig, Detail: detail}
	}
	if c == nil || c.Authenticator == nil {
		return nil, bad("a Connection has no Authenticator")
	}
	id := c.Authenticator.ID()
	if id == "" {
		return nil, bad("an Authenticator returns an empty ID")
	}
	cc := *c
	if cc.Provisioning.ID == "" {
		cc.Provisioning.ID = id
	}
	if cc.Provisioning.ID != id {
		return nil, &sso.Error{Op: "login.ConnectionSet", Reason: sso.ReasonInvalidConfig, Connection: id,
			Detail: "Provisioning.ID " + quote(cc.Provisioning.ID) + " differs from the Authenticator's ID; leave it empty"}
	}
	if u := cc.LogoutRedirectURL; u != "" && !validRedirect(u) {
		return nil, &sso.Error{Op: "login.ConnectionSet", Reason: sso.ReasonInvalidConfig, Connection: id,
			Detail: "LogoutRedirectURL " + quote(u) + " must be an absolute http(s) URL or a same-site path starting with /"}
	}
	if err := cc.Provisioning.Validate(); err != nil {
		return nil, err
	}
	return &cc, nil
}

// Set adds c, or replaces the connection with the same ID, and returns the
// connection it replaced (nil if none) so that the caller may close it once
// logins in flight are done. A connection without Authenticator, or with
// invalid provisioning settings, is refused with sso.ReasonInvalidConfig.
func (s *ConnectionSet) Set(c *Connection) (*Connection, error) {
	cc, err := checkConnection(c)
	if err != nil {
		return nil, err
	}
	var old *Connection
	s.m.change(func(next map[string]*Connection) {
		id := cc.Authenticator.ID()
		old = next[id]
		next[id] = cc
	})
	return old, nil
}

// Delete removes the connection with the given ID and returns it, or nil.
func (s *ConnectionSet) Delete(id string) *Connection {
	var old *Connection
	s.m.change(func(next map[string]*Connection) {
		old = next[id]
		delete(next, id)
	})
	return old
}

// Replace makes conns the whole set. Nothing changes when one of them is
// invalid or two share an ID.
func (s *ConnectionSet) Replace(conns ...*Connection) error {
	next := make(map[string]*Connection, len(conns))
	for _, c := range conns {
		cc, err := checkConnection(c)
		if err != nil {
			return err
		}
		id := cc.Authenticator.ID()
		if next[id] != nil {
			return &sso.Error{Op: "login.ConnectionSet", Reason: sso.ReasonInvalidConfig, Connection: id, Detail: "two connections have the ID " + quote(id)}
		}
		next[id] = cc
	}
	s.m.replace(next)
	return nil
}

// Close closes every Authenticator in the set that has a Close method (LDAP
// connection pools, SAML metadata refreshes) and returns the first error.
func (s *ConnectionSet) Close() error {
	var first error
	for _, c := range s.m.snapshot() {
		if cl, ok := c.Authenticator.(io.Closer); ok {
			if err := cl.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// AccountSet is the default Accounts: accounts by ID, changeable at runtime
// like ConnectionSet. It is safe for concurrent use; the zero value is
// empty.
type AccountSet struct {
	m cowMap[*Account]
}

// NewAccountSet returns a set holding accts. It fails like Set.
func NewAccountSet(accts ...Account) (*AccountSet, error) {
	s := new(AccountSet)
	for _, a := range accts {
		if err := s.Set(a); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Account implements Accounts. The returned Account must not be modified.
func (s *AccountSet) Account(_ context.Context, id string) (*Account, error) {
	if a, ok := s.m.get(id); ok {
		return a, nil
	}
	return nil, &sso.Error{Op: "login.AccountSet", Reason: sso.ReasonAccountNotFound, Detail: "no account " + quote(id) + " in the AccountSet"}
}

// Set adds or replaces the account with a's ID. A policy for another
// account, or one that does not validate, is refused with
// sso.ReasonInvalidConfig. Use policy.Update to check a change for lockouts
// before setting it.
func (s *AccountSet) Set(a Account) error {
	if a.ID == "" {
		return &sso.Error{Op: "login.AccountSet", Reason: sso.ReasonInvalidConfig, Detail: "an Account has an empty ID"}
	}
	if a.Policy.Account == "" {
		a.Policy.Account = a.ID
	}
	if a.Policy.Account != a.ID {
		return &sso.Error{Op: "login.AccountSet", Reason: sso.ReasonInvalidConfig, Detail: "account " + quote(a.ID) + " has the policy of account " + quote(a.Policy.Account)}
	}
	if err := a.Policy.Validate(); err != nil {
		return err
	}
	domains := make([]string, 0, len(a.Domains))
	for _, d := range a.Domains {
		n, err := sso.NormalizeDomain(d)
		if err != nil {
			return &sso.Error{Op: "login.AccountSet", Reason: sso.ReasonInvalidConfig, Detail: "account " + quote(a.ID) + ": domain " + quote(d) + " is not a domain name", Err: err}
		}
		domains = append(domains, n)
	}
	a.Domains = domains
	s.m.change(func(next map[string]*Account) { next[a.ID] = &a })
	return nil
}

// Delete removes the account with the given ID.
func (s *AccountSet) Delete(id string) {
	s.m.change(func(next map[string]*Account) { delete(next, id) })
}

// validRedirect reports whether u is a same-site path or an absolute
// http(s) URL.
func validRedirect(u string) bool {
	if _, ok := sso.SafeReturnPath(u); ok {
		return true
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.User == nil
}
