package ldaptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"

	"github.com/ssokit/sso/internal/mockserver"
)

// Config describes the directory a Server serves.
type Config struct {
	// BaseDN is the directory's suffix; default "dc=example,dc=com".
	// Containers between it and the entries (ou=people...) exist implicitly.
	BaseDN string
	// Users are the entries that can bind.
	Users []User
	// Groups are groupOfNames entries; their members get a memberOf value.
	Groups []Group

	// Addr is the listen address of URL (plain LDAP with StartTLS), e.g.
	// "127.0.0.1:8389"; a free loopback port when empty. The LDAPS
	// listener always takes a free loopback port.
	Addr string

	// NoTLS makes a plain-only server: StartTLS is refused and there is no
	// LDAPS listener.
	NoTLS bool
	// RequireTLS refuses binds and searches before StartTLS with
	// confidentialityRequired, as a directory that insists on TLS does.
	RequireTLS bool
	// RequireBindForSearch refuses anonymous searches (except of the root
	// DSE) the way Active Directory does (operationsError 000004DC), or
	// with SambaDiagnostics the way Samba AD does (operationsError
	// 00002020).
	RequireBindForSearch bool
	// SambaDiagnostics makes RequireBindForSearch answer as Samba AD.
	SambaDiagnostics bool
	// ActiveDirectory accepts a userPrincipalName as bind name, answers a
	// wrong password with "data 52e" and an unknown name with "data 525",
	// and accepts an unauthenticated bind (a name without password) as
	// anonymous, as Active Directory does.
	ActiveDirectory bool
}

// User is an entry that can bind with Password.
type User struct {
	// DN is the entry's distinguished name.
	DN string
	// Password is the password a bind must present.
	Password string
	// Attributes are the entry's attributes (objectClass, uid, mail, cn,
	// givenName, sn, displayName, userPrincipalName...). memberOf is
	// computed from the groups.
	Attributes map[string][]string
	// BindError, when set, is the answer to a bind with the right password,
	// e.g. [ADError]("775") for a locked Active Directory account.
	BindError *Result
	// PasswordPolicy, when set, adds a password policy response control
	// (draft-behera) to binds that ask for it.
	PasswordPolicy *PasswordPolicy
	// Hidden makes the entry invisible to searches, as an access control
	// that lets it bind but not be read does: a search based at it answers
	// noSuchObject.
	Hidden bool
}

// Group is a groupOfNames entry.
type Group struct {
	// DN is the group's distinguished name, e.g.
	// "cn=staff,ou=groups,dc=example,dc=com".
	DN string
	// Members are the members' DNs.
	Members []string
	// Attributes are further attributes; objectClass and cn default to
	// groupOfNames and the RDN's value.
	Attributes map[string][]string
}

// Result is an LDAP result code with a diagnostic message.
type Result struct {
	// Code is the LDAP result code, e.g. 49 (invalidCredentials).
	Code int
	// Diagnostic is the diagnosticMessage sent with it.
	Diagnostic string
}

// PasswordPolicy is the state a password policy response control reports.
// Expired and Locked make the bind fail (invalidCredentials, as OpenLDAP's
// ppolicy overlay does); MustChange lets it succeed with the
// changeAfterReset error; ExpiresIn and GraceLogins are warnings on a
// successful bind.
type PasswordPolicy struct {
	Expired, Locked, MustChange bool
	ExpiresIn                   time.Duration
	GraceLogins                 int
}

// ADError returns the invalidCredentials result Active Directory sends for
// the given sub-code: "52e" wrong password, "525" no such user, "530" not
// permitted at this time, "531" not at this workstation, "532" password
// expired, "533" account disabled, "701" account expired, "773" must
// change password, "775" account locked out.
func ADError(subcode string) *Result {
	return &Result{
		Code:       gldap.ResultInvalidCredentials,
		Diagnostic: "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data " + subcode + ", v4563\x00",
	}
}

// SearchRecord is one search the server received.
type SearchRecord struct {
	// BoundDN is the DN the connection was bound as ("" for anonymous).
	BoundDN string
	// BaseDN, Scope (0 base, 1 one level, 2 subtree) and Filter are the
	// request's, the filter in its RFC 4515 string form.
	BaseDN string
	Scope  int
	Filter string
}

// Stats counts what the server has seen since it started.
type Stats struct {
	// Connections accepted, binds, searches and StartTLS requests.
	Connections, Binds, Searches, StartTLS int64
}

// Server is an in-process LDAP directory on 127.0.0.1, with TLS: StartTLS
// on URL and implicit TLS on LDAPSURL, with a certificate for 127.0.0.1 and
// localhost signed by a throwaway CA of its own (CACertPEM, TLSConfig). It
// serves simple binds and searches with real RFC 4515 filter evaluation;
// everything else is refused. Switches make it slow (SetDelay), down
// (SetDown) or drop its connections (DropConnections).
//
// Its methods are safe for concurrent use.
type Server struct {
	url      string
	ldapsURL string

	cfg     Config
	pki     *mockserver.PKI
	tlsConf *tls.Config

	mu      sync.RWMutex
	users   []User
	groups  []Group
	entries []*entry
	conns   map[connKey]*connState

	delay  atomic.Int64
	closed chan struct{}
	once   sync.Once

	nConns, nBinds, nSearches, nStartTLS atomic.Int64
	searchLog                            []SearchRecord

	fronts   []*front
	backends []*gldap.Server
	runErrs  chan error
	// backendConns counts the connections to the gldap backends that
	// gldap has not finished yet (Done in its OnClose callback). Close
	// waits for them before calling gldap's Stop, whose WaitGroup must not
	// see an Add from a new connection during its Wait.
	backendConns sync.WaitGroup
}

type connKey struct{ backend, id int }

type connState struct {
	tls     bool
	bound   string // DN key of the bound user, "" when anonymous
	boundDN string // the user's DN as configured
}

const (
	backendPlain = 0
	backendLDAPS = 1
)

// Start starts a Server for cfg and closes it when the test ends. It fails
// the test if the server cannot start.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("ldaptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a Server for cfg on loopback ports: StartTLS on URL
// and implicit TLS on LDAPSURL with a certificate of its own CA (see
// TLSConfig and CACertPEM), or plain LDAP only with cfg.NoTLS. The caller
// must Close it.
func NewServer(cfg Config) (*Server, error) {
	if cfg.BaseDN == "" {
		cfg.BaseDN = "dc=example,dc=com"
	}
	if _, err := dnKey(cfg.BaseDN); err != nil {
		return nil, fmt.Errorf("BaseDN %q: %v", cfg.BaseDN, err)
	}
	s := &Server{
		cfg:     cfg,
		conns:   map[connKey]*connState{},
		closed:  make(chan struct{}),
		runErrs: make(chan error, 2),
	}
	s.users = append([]User(nil), cfg.Users...)
	s.groups = append([]Group(nil), cfg.Groups...)
	if err := s.rebuild(); err != nil {
		return nil, err
	}
	if !cfg.NoTLS {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		pki, err := mockserver.NewPKI("ldaptest", host)
		if err != nil {
			return nil, err
		}
		s.pki = pki
		s.tlsConf = pki.ServerConfig()
	}
	n := 1
	if !cfg.NoTLS {
		n = 2
	}
	for i := 0; i < n; i++ {
		addr, err := s.startBackend(i)
		if err != nil {
			s.Close()
			return nil, err
		}
		listen := "127.0.0.1:0"
		if i == backendPlain && cfg.Addr != "" {
			listen = cfg.Addr
		}
		f, err := newFront(listen, addr, &s.nConns, &s.backendConns)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.fronts = append(s.fronts, f)
	}
	s.url = "ldap://" + s.fronts[backendPlain].addr
	if !cfg.NoTLS {
		s.ldapsURL = "ldaps://" + s.fronts[backendLDAPS].addr
	}
	return s, nil
}

// URL returns "ldap://127.0.0.1:port" (the port of Config.Addr when set),
// where StartTLS is offered unless Config.NoTLS.
func (s *Server) URL() string { return s.url }

// LDAPSURL returns "ldaps://127.0.0.1:port", on a free port; "" with
// Config.NoTLS.
func (s *Server) LDAPSURL() string { return s.ldapsURL }

// CACertPEM returns the certificate of the CA that signed the server's
// TLS certificate, in PEM form, for ldap.Config.CACertPEM; nil with
// Config.NoTLS.
func (s *Server) CACertPEM() []byte {
	if s.pki == nil {
		return nil
	}
	return append([]byte(nil), s.pki.CAPEM...)
}

// TLSConfig returns a new TLS client configuration for the server: it
// trusts the server's CA and expects its host name, for StartTLS on URL or
// for LDAPSURL with any LDAP client. It is nil with Config.NoTLS. (An LDAP
// server has no HTTP client; this is the analogue of the HTTP mock
// servers' Client.)
func (s *Server) TLSConfig() *tls.Config {
	if s.pki == nil {
		return nil
	}
	host, _, _ := net.SplitHostPort(s.fronts[backendPlain].addr)
	return s.pki.ClientConfig(host)
}

// startBackend runs a gldap server on a free loopback port and returns its
// address.
func (s *Server) startBackend(idx int) (string, error) {
	mux, err := gldap.NewMux()
	if err != nil {
		return "", err
	}
	if err := mux.Bind(s.handleBind(idx)); err != nil {
		return "", err
	}
	if err := mux.Search(s.handleSearch(idx)); err != nil {
		return "", err
	}
	if err := mux.ExtendedOperation(s.handleStartTLS(idx), gldap.ExtendedOperationStartTLS); err != nil {
		return "", err
	}
	if err := mux.DefaultRoute(func(w *gldap.ResponseWriter, r *gldap.Request) {
		_ = w.Write(r.NewResponse(gldap.WithResponseCode(gldap.ResultUnwillingToPerform), gldap.WithDiagnosticMessage("ldaptest serves only bind, search and StartTLS"), gldap.WithMatchedDN("")))
	}); err != nil {
		return "", err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := l.Addr().String()
		_ = l.Close()
		srv, err := gldap.NewServer(
			gldap.WithLogger(hclog.NewNullLogger()),
			gldap.WithOnClose(func(id int) {
				s.mu.Lock()
				delete(s.conns, connKey{idx, id})
				s.mu.Unlock()
				s.backendConns.Done()
			}),
		)
		if err != nil {
			return "", err
		}
		if err := srv.Router(mux); err != nil {
			return "", err
		}
		var opts []gldap.Option
		if idx == backendLDAPS {
			opts = append(opts, gldap.WithTLSConfig(s.tlsConf))
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Run(addr, opts...) }()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-errc:
				lastErr = err
			default:
			}
			if lastErr != nil {
				break
			}
			s.backendConns.Add(1)
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				_ = c.Close()
				s.backends = append(s.backends, srv)
				return addr, nil
			}
			s.backendConns.Done()
			time.Sleep(2 * time.Millisecond)
		}
		_ = srv.Stop()
		if lastErr == nil {
			lastErr = errors.New("the LDAP listener did not start")
		}
	}
	return "", fmt.Errorf("ldaptest: start: %w", lastErr)
}

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		for _, f := range s.fronts {
			f.close()
		}
		done := make(chan struct{})
		go func() {
			s.backendConns.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		for _, b := range s.backends {
			_ = b.Stop()
		}
	})
}

// SetDown makes the server refuse connections and drops the open ones
// (down is true), or accept them again on the same ports.
func (s *Server) SetDown(down bool) error {
	for _, f := range s.fronts {
		if err := f.setDown(down); err != nil {
			return err
		}
	}
	return nil
}

// DropConnections closes every open client connection, as a server restart
// or a firewall dropping idle connections does, and keeps accepting new
// ones.
func (s *Server) DropConnections() {
	for _, f := range s.fronts {
		f.dropAll()
	}
}

// SetDelay makes the server wait d before each answer, StartTLS included.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Connections: s.nConns.Load(), Binds: s.nBinds.Load(), Searches: s.nSearches.Load(), StartTLS: s.nStartTLS.Load()}
}

// Searches returns the searches received so far, oldest first.
func (s *Server) Searches() []SearchRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]SearchRecord(nil), s.searchLog...)
}

// ResetStats clears the counters and the search log.
func (s *Server) ResetStats() {
	s.mu.Lock()
	s.searchLog = nil
	s.mu.Unlock()
	s.nConns.Store(0)
	s.nBinds.Store(0)
	s.nSearches.Store(0)
	s.nStartTLS.Store(0)
}

// SetUser adds u, or replaces the user with the same DN. An invalid user
// (bad DN, outside the base DN) is refused and the directory is unchanged.
func (s *Server) SetUser(u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return update(s, &s.users, u, func(u User) string { return u.DN })
}

// SetGroup adds g, or replaces the group with the same DN. An invalid
// group is refused and the directory is unchanged.
func (s *Server) SetGroup(g Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return update(s, &s.groups, g, func(g Group) string { return g.DN })
}

// update replaces the element of *list whose DN names the same entry as
// v's, or appends v, and rebuilds the entries; on error *list is left as
// it was. s.mu is held.
func update[T any](s *Server, list *[]T, v T, dnOf func(T) string) error {
	k, err := dnKey(dnOf(v))
	if err != nil {
		return err
	}
	old := *list
	next := append([]T(nil), old...)
	replaced := false
	for i := range next {
		if kk, _ := dnKey(dnOf(next[i])); kk == k {
			next[i], replaced = v, true
			break
		}
	}
	if !replaced {
		next = append(next, v)
	}
	*list = next
	if err := s.rebuild(); err != nil {
		*list = old
		return err
	}
	return nil
}

// wait sleeps for the configured delay, or until Close.
func (s *Server) wait() {
	d := time.Duration(s.delay.Load())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closed:
	}
}

func (s *Server) state(backend, id int) *connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := connKey{backend, id}
	st, ok := s.conns[k]
	if !ok {
		st = &connState{tls: backend == backendLDAPS}
		s.conns[k] = st
	}
	return st
}

// entry is one directory entry.
type entry struct {
	dn    string
	key   string
	dnp   *goldap.DN
	attrs []attribute
	user  *User
}

type attribute struct {
	name   string
	values []string
}

func (e *entry) values(name string) []string {
	for _, a := range e.attrs {
		if strings.EqualFold(a.name, name) {
			return a.values
		}
	}
	return nil
}

func (e *entry) set(name string, values ...string) {
	for i, a := range e.attrs {
		if strings.EqualFold(a.name, name) {
			e.attrs[i].values = append(e.attrs[i].values, values...)
			return
		}
	}
	e.attrs = append(e.attrs, attribute{name: name, values: values})
}

// rebuild recomputes the entries from users and groups; s.mu is held.
func (s *Server) rebuild() error {
	byKey := map[string]*entry{}
	var order []*entry
	add := func(dn string) (*entry, error) {
		p, err := goldap.ParseDN(dn)
		if err != nil {
			return nil, fmt.Errorf("DN %q: %v", dn, err)
		}
		k := strings.ToLower(p.String())
		if e, ok := byKey[k]; ok {
			return e, nil
		}
		e := &entry{dn: dn, key: k, dnp: p}
		byKey[k] = e
		order = append(order, e)
		return e, nil
	}
	base, err := add(s.cfg.BaseDN)
	if err != nil {
		return err
	}
	base.set("objectClass", "top", "domain")
	if p := base.dnp; len(p.RDNs) > 0 && len(p.RDNs[0].Attributes) > 0 {
		base.set(p.RDNs[0].Attributes[0].Type, p.RDNs[0].Attributes[0].Value)
	}
	container := func(dn string) error {
		p, err := goldap.ParseDN(dn)
		if err != nil {
			return fmt.Errorf("DN %q: %v", dn, err)
		}
		if !base.dnp.AncestorOfFold(p) {
			return fmt.Errorf("DN %q is not under the base DN %q", dn, s.cfg.BaseDN)
		}
		for i := len(p.RDNs) - len(base.dnp.RDNs) - 1; i >= 1; i-- {
			parent := &goldap.DN{RDNs: p.RDNs[i:]}
			e, err := add(parent.String())
			if err != nil {
				return err
			}
			if len(e.attrs) == 0 {
				a := p.RDNs[i].Attributes[0]
				e.set("objectClass", "top", "organizationalUnit")
				e.set(a.Type, a.Value)
			}
		}
		return nil
	}
	// entryWith adds the entry dn with attrs (in name order), and objectClass
	// defaults when attrs has none.
	entryWith := func(dn string, attrs map[string][]string, defaultClasses ...string) (*entry, error) {
		if err := container(dn); err != nil {
			return nil, err
		}
		e, err := add(dn)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(attrs))
		for n := range attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			e.set(n, attrs[n]...)
		}
		if e.values("objectClass") == nil {
			e.set("objectClass", defaultClasses...)
		}
		return e, nil
	}
	for i := range s.users {
		u := new(User) // a copy: SetUser may overwrite s.users[i] while handlers read the old entries
		*u = s.users[i]
		e, err := entryWith(u.DN, u.Attributes, "top", "person", "organizationalPerson", "inetOrgPerson")
		if err != nil {
			return err
		}
		e.user = u
	}
	for _, g := range s.groups {
		e, err := entryWith(g.DN, g.Attributes, "top", "groupOfNames")
		if err != nil {
			return err
		}
		if e.values("cn") == nil && len(e.dnp.RDNs) > 0 {
			e.set("cn", e.dnp.RDNs[0].Attributes[0].Value)
		}
		if len(g.Members) > 0 {
			e.set("member", g.Members...)
		}
		for _, m := range g.Members {
			mk, err := dnKey(m)
			if err != nil {
				return fmt.Errorf("group %q: member %q: %v", g.DN, m, err)
			}
			if me, ok := byKey[mk]; ok {
				me.set("memberOf", g.DN)
			}
		}
	}
	s.entries = order
	return nil
}

// findBindUser returns the user a bind name denotes: a DN, or with
// ActiveDirectory also a userPrincipalName.
func (s *Server) findBindUser(name string) (*entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, err := dnKey(name)
	validDN := err == nil && k != ""
	for _, e := range s.entries {
		if e.user == nil {
			continue
		}
		if validDN && e.key == k {
			return e, true
		}
		if s.cfg.ActiveDirectory {
			for _, upn := range e.values("userPrincipalName") {
				if strings.EqualFold(upn, name) {
					return e, true
				}
			}
		}
	}
	return nil, validDN
}
