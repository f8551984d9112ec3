package login

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// Account is one tenant of the application, declared once: how its people
// find it (aliases, email domains), its login policy and its single
// sign-on connections with everything the handler needs to know about each.
// A Registry derives from its accounts the discovery table, each account's
// policy and each connection's provisioning settings; packages discovery,
// policy and provisioning stay usable on their own.
type Account struct {
	// ID is the account's ID in the application (unique).
	ID string
	// Name is shown to people choosing among accounts.
	Name string
	// Aliases are the SSO domains people type at /login/sso or use in
	// /login/sso/{alias} (see discovery.Account.Aliases).
	Aliases []string
	// Domains are the email domains the account claims, with their sharing
	// and ownership proof (see discovery.Domain).
	Domains []discovery.Domain
	// Policy is the account's login policy: mode, scope, break-glass, dry
	// run, second factor. Its Account and Connections are derived (from
	// ID and from each connection's Policy) and must be left empty.
	Policy policy.Policy
	// Connections are the account's single sign-on connections, in the
	// order people are offered them.
	Connections []Connection
	// Networks restricts every login that grants the account to client
	// addresses in its ranges; empty allows all.
	Networks Networks
}

// Connection is one single sign-on connection of an Account.
type Connection struct {
	// Authenticator is the connection's SAML service provider, OpenID
	// Connect relying party or LDAP directory; its ID is the connection
	// ID, unique across the application. Required.
	Authenticator sso.Authenticator
	// DisplayName is shown on the connection's button; the account's Name
	// when empty. LogoURL is an https URL or a same-site path.
	DisplayName, LogoURL string
	// Issuers are further SAML entity IDs or OpenID issuers whose
	// IdP-initiated logins this connection takes; the Authenticator's own
	// issuer (sso.ConnectionInfo) is always one.
	Issuers []string
	// Module is the value of the SSOModule attribute that selects this
	// connection among its account's (see Config.ModuleAttributes).
	Module string
	// Policy holds the connection's place in the account's policy: its
	// stage (draft, testing, live) and test users. Its ID is derived.
	Policy policy.Connection
	// Provisioning holds the connection's provisioning settings. Its ID is
	// derived.
	Provisioning provisioning.Connection
	// LogoutRedirectURL is where the browser goes after the logout of a
	// session that logged in through this connection, when the connection
	// does not log out at the identity provider (e.g. the identity
	// provider's own logout page, or a page of the host). An absolute URL
	// or a same-site path.
	LogoutRedirectURL string
	// IdPEnforcesMFA states that the connection's identity provider
	// always requires multi-factor authentication, so that every login
	// through it counts as multi-factor (policy.Method.MFA) even when the
	// IdP does not say so in the login (sso.Identity.MFA). It is an
	// administrator's statement: with Policy.SSOSatisfiesSecondFactor, the
	// application's own second factor is then skipped for these logins.
	IdPEnforcesMFA bool
	// LandingPage is the same-site path where a login through this
	// connection lands when it has no return path of its own (an
	// IdP-initiated login without RelayState, say); Config.DefaultReturnPath
	// when empty.
	LandingPage string
	// Networks restricts logins through this connection to client
	// addresses in its ranges; empty allows all.
	Networks Networks
	// ReplaceSessionWithoutAsking lets an IdP-initiated login replace the
	// session of another user in the same browser without asking. By
	// default such a login is finished on the handler's own page, which
	// asks the person first when Sessions.CurrentUser names someone else:
	// any site can post a validly signed unsolicited response of its own
	// into a visitor's browser (login CSRF), silently swapping her session
	// for the attacker's account.
	ReplaceSessionWithoutAsking bool
	// Candidate is a replacement of Authenticator under test, e.g. the
	// same SAML service provider with the identity provider's new
	// metadata: the same ID, protocol and URLs, so the identity provider
	// sees no difference. Only an administrator's test login started with
	// Handler.CandidateTestLoginURL uses it, and a test login never
	// provisions anyone or starts a session; every other login uses
	// Authenticator. Promote it by making it the Authenticator (and
	// Candidate nil) once a test login through it passed. Nil: none.
	Candidate sso.Authenticator
}

// ID returns the connection ID (its Authenticator's).
func (c *Connection) ID() string { return c.Authenticator.ID() }

// RegistryConfig configures a [Registry].
type RegistryConfig struct {
	// BaseURL is the absolute URL the login handler is mounted at, e.g.
	// "https://app.example.com" or "https://app.example.com/auth". When
	// set, every connection's Authenticator must be configured with the
	// URLs the handler serves for it (see EndpointsOf), and a mismatch is
	// refused when the connection is added rather than at its first login.
	BaseURL string
	// RequireDomainProof makes every claimed domain route only once its
	// ownership is proven (see discovery.Config.RequireDomainProof).
	RequireDomainProof bool
	// Accounts are the initial accounts.
	Accounts []Account
}

// Registry holds every account and its connections: the one place a host
// declares its tenants. Lookups read an immutable snapshot through an atomic
// pointer and never wait; Set, Delete and Replace build a new snapshot
// (checking it whole: domains, aliases, policies, provisioning settings,
// URLs) and swap it in, so a login always sees one consistent
// configuration and a change that does not check out changes nothing.
//
// A Registry is safe for concurrent use.
type Registry struct {
	mu          sync.Mutex // serialises writers
	cur         atomic.Pointer[snapshot]
	base        string
	basePath    string
	proofForAll bool
}

// snapshot is one immutable configuration.
type snapshot struct {
	gen      uint64 // how many snapshots were swapped in before, plus one
	accounts map[string]*account
	order    []string // account IDs in the order given
	conns    map[string]*entry
	table    *discovery.Table
}

// account is an Account as the handler uses it.
type account struct {
	Account
	policy  policy.Policy // with Account and Connections filled in
	domains []string      // claimed domain names, normalised
}

// entry is a registered connection.
type entry struct {
	*Connection
	account string
	prov    provisioning.Connection // with ID filled in
	debug   bool
}

// NewRegistry returns a Registry holding cfg.Accounts, or the first
// problem found with them as an *sso.Error with sso.ReasonInvalidConfig
// naming the account, the connection and the field.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	r := &Registry{base: strings.TrimSuffix(cfg.BaseURL, "/"), proofForAll: cfg.RequireDomainProof}
	if r.base != "" {
		u, err := url.Parse(r.base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, configError("", "", "RegistryConfig.BaseURL "+quote(cfg.BaseURL)+" must be an absolute http(s) URL without query, e.g. \"https://app.example.com/auth\"")
		}
		r.basePath = u.Path
	}
	if err := r.Replace(cfg.Accounts...); err != nil {
		return nil, err
	}
	return r, nil
}

// EndpointsOf returns the URLs the login handler serves for the connection
// id when it is mounted at baseURL ("https://app.example.com/auth"): the
// SAML SP metadata (also the SP entity ID), ACS and single logout URLs and
// the OpenID Connect redirect URI. Configure each connection's
// Authenticator with them.
func EndpointsOf(baseURL, id string) sso.Endpoints {
	b := strings.TrimSuffix(baseURL, "/")
	esc := url.PathEscape(id)
	saml := b + "/saml/" + esc
	return sso.Endpoints{
		EntityID: saml + "/metadata",
		Metadata: saml + "/metadata",
		ACS:      saml + "/acs",
		SLO:      saml + "/slo",
		Callback: b + "/oidc/" + esc + "/callback",
	}
}

// Endpoints returns EndpointsOf(RegistryConfig.BaseURL, id).
func (r *Registry) Endpoints(id string) sso.Endpoints { return EndpointsOf(r.base, id) }

// BaseURL returns RegistryConfig.BaseURL, without a trailing slash.
func (r *Registry) BaseURL() string { return r.base }

func (r *Registry) load() *snapshot {
	if s := r.cur.Load(); s != nil {
		return s
	}
	return &snapshot{accounts: map[string]*account{}, conns: map[string]*entry{}, table: emptyTable}
}

var emptyTable = func() *discovery.Table {
	t, err := discovery.New(discovery.Config{})
	if err != nil {
		panic(err)
	}
	return t
}()

// Account returns the account with the given ID. The Account shares its
// slices with the registry: do not modify it; Set a changed copy instead.
func (r *Registry) Account(id string) (Account, bool) {
	a, ok := r.load().accounts[id]
	if !ok {
		return Account{}, false
	}
	return a.Account, true
}

// Accounts returns every account, in the order given.
func (r *Registry) Accounts() []Account {
	s := r.load()
	out := make([]Account, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.accounts[id].Account)
	}
	return out
}

// Connection returns the connection with the given ID and its account's ID.
func (r *Registry) Connection(id string) (Connection, string, bool) {
	e, ok := r.load().conns[id]
	if !ok {
		return Connection{}, "", false
	}
	return *e.Connection, e.account, true
}

// Policy returns the login policy of the account with the given ID, with
// its connections (see Account.Policy), for policy.Decide, policy.Update
// and policy.CheckLockout.
func (r *Registry) Policy(id string) (policy.Policy, bool) {
	a, ok := r.load().accounts[id]
	if !ok {
		return policy.Policy{}, false
	}
	return a.policy, true
}

// swap makes s the current snapshot; the caller holds r.mu.
func (r *Registry) swap(s *snapshot) {
	s.gen = r.load().gen + 1
	r.cur.Store(s)
}

// Generation counts the snapshots swapped in since NewRegistry (which
// swaps in the first): every Set, SetPolicy, SetConnection, Delete,
// Replace or Batch that changed something adds one, however many changes
// it held. Each is one rebuild of the routing table, so the count shows
// what changes cost, e.g. that a burst of them shared a rebuild.
func (r *Registry) Generation() uint64 { return r.load().gen }

// Discovery returns the current discovery table.
func (r *Registry) Discovery() *discovery.Table { return r.load().table }

// Set adds the account, or replaces the one with its ID, and returns the
// account it replaced (false when none) so that the caller may close
// authenticators it no longer uses (see Close). Nothing changes when the
// result does not check out.
func (r *Registry) Set(a Account) (old Account, found bool, err error) {
	err = r.Batch(func(b *Batch) error {
		old, found = b.Set(a)
		return nil
	})
	if err != nil {
		return Account{}, false, err
	}
	return old, found, nil
}

// SetPolicy replaces the login policy of the account acct with p, as
// returned by Policy and policy.Update: p.Account is acct or empty, and
// each of p.Connections names a connection of the account, whose stage
// and test users it sets; connections p does not list keep theirs.
// Nothing changes when the result does not check out.
func (r *Registry) SetPolicy(acct string, p policy.Policy) error {
	return r.Batch(func(b *Batch) error { return b.SetPolicy(acct, p) })
}

// SetConnection adds c to the account acct, or replaces the account's
// connection with c's ID, and returns the connection it replaced (false
// when none). Nothing changes when the result does not check out.
func (r *Registry) SetConnection(acct string, c Connection) (old Connection, found bool, err error) {
	err = r.Batch(func(b *Batch) error {
		old, found, err = b.SetConnection(acct, c)
		return err
	})
	if err != nil {
		return Connection{}, false, err
	}
	return old, found, nil
}

// Delete removes the account with the given ID and returns it (false when
// there was none). Nothing changes when the rest does not check out.
func (r *Registry) Delete(id string) (old Account, found bool, err error) {
	err = r.Batch(func(b *Batch) error {
		old, found = b.Delete(id)
		return nil
	})
	if err != nil {
		return Account{}, false, err
	}
	return old, found, nil
}

// Replace makes accounts the whole registry, atomically. Nothing changes
// when they do not check out.
func (r *Registry) Replace(accounts ...Account) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.build(accounts)
	if err != nil {
		return err
	}
	r.swap(s)
	return nil
}

// Batch applies any number of changes to the registry as one: change
// makes them on b (Set, SetPolicy, SetConnection, Delete), and the
// registry then checks and rebuilds its snapshot (the discovery table with
// every domain, the policies) once and swaps it in atomically. A rebuild
// costs time in proportion to the whole registry (see
// BenchmarkRegistryBatch), so a host applying a burst of changes, such as
// the edits other replicas made, applies them in one Batch. Nothing
// changes when change returns an error or the result does not check out;
// lookups see the old snapshot until the new one is in place. Writers are
// serialised: change must not call the Registry's own writers.
func (r *Registry) Batch(change func(b *Batch) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.load()
	b := &Batch{index: make(map[string]int, len(cur.order)), accounts: make([]Account, 0, len(cur.order))}
	for _, id := range cur.order {
		b.index[id] = len(b.accounts)
		b.accounts = append(b.accounts, cur.accounts[id].Account)
	}
	if err := change(b); err != nil {
		return err
	}
	if !b.changed {
		return nil
	}
	accts := b.accounts[:0:0]
	for i, a := range b.accounts {
		if !b.deleted[i] {
			accts = append(accts, a)
		}
	}
	s, err := r.build(accts)
	if err != nil {
		return err
	}
	r.swap(s)
	return nil
}

// Batch collects changes to a [Registry] for [Registry.Batch]. Its
// methods are those of Registry and check what they can alone (an unknown
// account, a policy naming another account's connection); the registry
// checks the whole result once at the end.
type Batch struct {
	accounts []Account
	index    map[string]int // account ID -> position in accounts
	deleted  map[int]bool
	changed  bool
}

// Account returns the account with the given ID as the batch has it so
// far.
func (b *Batch) Account(id string) (Account, bool) {
	i, ok := b.index[id]
	if !ok {
		return Account{}, false
	}
	return b.accounts[i], true
}

// Set adds the account, or replaces the one with its ID, and returns the
// one it replaced (false when none).
func (b *Batch) Set(a Account) (Account, bool) {
	b.changed = true
	if i, ok := b.index[a.ID]; ok {
		old := b.accounts[i]
		b.accounts[i] = a
		return old, true
	}
	b.index[a.ID] = len(b.accounts)
	b.accounts = append(b.accounts, a)
	return Account{}, false
}

// Delete removes the account with the given ID and returns it (false when
// there was none).
func (b *Batch) Delete(id string) (Account, bool) {
	i, ok := b.index[id]
	if !ok {
		return Account{}, false
	}
	if b.deleted == nil {
		b.deleted = map[int]bool{}
	}
	b.deleted[i], b.changed = true, true
	delete(b.index, id)
	return b.accounts[i], true
}

// SetPolicy is [Registry.SetPolicy] within the batch.
func (b *Batch) SetPolicy(acct string, p policy.Policy) error {
	return b.update(acct, func(a *Account) error {
		if p.Account != "" && p.Account != acct {
			return configError(acct, "", "the policy is for account "+quote(p.Account))
		}
		conns := slices.Clone(a.Connections)
		for _, pc := range p.Connections {
			i := slices.IndexFunc(conns, func(c Connection) bool { return c.ID() == pc.ID })
			if i < 0 {
				return configError(acct, pc.ID, "the policy names connection "+quote(pc.ID)+", which the account does not have")
			}
			pc.ID = ""
			conns[i].Policy = pc
		}
		a.Policy, a.Connections = p, conns
		a.Policy.Account, a.Policy.Connections = "", nil
		return nil
	})
}

// SetConnection is [Registry.SetConnection] within the batch.
func (b *Batch) SetConnection(acct string, c Connection) (Connection, bool, error) {
	if c.Authenticator == nil {
		return Connection{}, false, configError(acct, "", "the connection has no Authenticator")
	}
	var old Connection
	found := false
	err := b.update(acct, func(a *Account) error {
		conns := slices.Clone(a.Connections)
		i := slices.IndexFunc(conns, func(o Connection) bool { return o.ID() == c.ID() })
		if i < 0 {
			conns = append(conns, c)
		} else {
			old, found = conns[i], true
			conns[i] = c
		}
		a.Connections = conns
		return nil
	})
	if err != nil {
		return Connection{}, false, err
	}
	return old, found, nil
}

// update applies change to a copy of the account acct and keeps the
// result.
func (b *Batch) update(acct string, change func(*Account) error) error {
	i, ok := b.index[acct]
	if !ok {
		return &sso.Error{Op: "login.Registry", Reason: sso.ReasonAccountNotFound, Detail: "no account " + quote(acct)}
	}
	a := b.accounts[i]
	if err := change(&a); err != nil {
		return err
	}
	b.accounts[i], b.changed = a, true
	return nil
}

// Close closes every Authenticator in the registry that has a Close method
// (LDAP connection pools, SAML metadata refreshes) and returns the first
// error.
func (r *Registry) Close() error {
	var first error
	for _, e := range r.load().conns {
		for _, a := range []sso.Authenticator{e.Authenticator, e.Candidate} {
			if cl, ok := a.(io.Closer); ok {
				if err := cl.Close(); err != nil && first == nil {
					first = err
				}
			}
		}
	}
	return first
}

func configError(acct, conn, detail string) error {
	where := ""
	if acct != "" {
		where = "account " + quote(acct) + ": "
	}
	return &sso.Error{Op: "login.Registry", Reason: sso.ReasonInvalidConfig, Connection: conn, Detail: where + detail}
}

// build checks accounts and derives a snapshot from them.
func (r *Registry) build(accounts []Account) (*snapshot, error) {
	s := &snapshot{accounts: make(map[string]*account, len(accounts)), conns: map[string]*entry{}}
	disc := discovery.Config{RequireDomainProof: r.proofForAll}
	for i := range accounts {
		a := accounts[i]
		// The registry keeps its own copy: a caller changing its slices
		// afterwards changes nothing here.
		a.Aliases, a.Domains, a.Connections = slices.Clone(a.Aliases), slices.Clone(a.Domains), slices.Clone(a.Connections)
		if a.ID == "" {
			return nil, configError("", "", fmt.Sprintf("Accounts[%d] has an empty ID", i))
		}
		if _, dup := s.accounts[a.ID]; dup {
			return nil, configError(a.ID, "", "two accounts have this ID")
		}
		if a.Policy.Account != "" && a.Policy.Account != a.ID {
			return nil, configError(a.ID, "", "Policy.Account is "+quote(a.Policy.Account)+"; leave it empty (it is the account's ID)")
		}
		if len(a.Policy.Connections) > 0 {
			return nil, configError(a.ID, "", "Policy.Connections is set; declare each connection's stage and test users in Connections[i].Policy instead")
		}
		if msg := a.Networks.validate("Networks"); msg != "" {
			return nil, configError(a.ID, "", msg)
		}
		a.Networks.Allow = slices.Clone(a.Networks.Allow)
		acct := &account{Account: a, policy: a.Policy}
		acct.policy.Account = a.ID
		da := discovery.Account{ID: a.ID, Name: a.Name, Aliases: a.Aliases, Domains: a.Domains}
		for j := range a.Connections {
			c := &a.Connections[j]
			e, err := r.entry(a.ID, j, c)
			if err != nil {
				return nil, err
			}
			id := c.ID()
			if other, dup := s.conns[id]; dup {
				return nil, configError(a.ID, id, "connection ID "+quote(id)+" is used twice (also by account "+quote(other.account)+"); connection IDs are unique across the application")
			}
			s.conns[id] = e
			pc := c.Policy
			pc.ID = id
			acct.policy.Connections = append(acct.policy.Connections, pc)
			dc := discovery.Connection{ID: id, Protocol: c.Authenticator.Protocol(), DisplayName: c.DisplayName, LogoURL: c.LogoURL, Module: c.Module,
				Issuers: slices.Clone(c.Issuers)}
			if ci, ok := c.Authenticator.(sso.ConnectionInfo); ok {
				if iss := ci.Issuer(); iss != "" && !slices.Contains(dc.Issuers, iss) {
					dc.Issuers = append(dc.Issuers, iss)
				}
			}
			da.Connections = append(da.Connections, dc)
		}
		if err := acct.policy.Validate(); err != nil {
			return nil, err
		}
		for _, d := range a.Domains {
			n, err := sso.NormalizeDomain(d.Name)
			if err != nil {
				return nil, configError(a.ID, "", "domain "+quote(d.Name)+" is not a domain name")
			}
			acct.domains = append(acct.domains, n)
		}
		s.accounts[a.ID] = acct
		s.order = append(s.order, a.ID)
		disc.Accounts = append(disc.Accounts, da)
	}
	t, err := discovery.New(disc)
	if err != nil {
		return nil, err
	}
	s.table = t
	return s, nil
}

// entry checks one connection of account acct.
func (r *Registry) entry(acct string, j int, c *Connection) (*entry, error) {
	if c.Authenticator == nil {
		return nil, configError(acct, "", fmt.Sprintf("Connections[%d] has no Authenticator", j))
	}
	id := c.Authenticator.ID()
	if id == "" {
		return nil, configError(acct, "", fmt.Sprintf("Connections[%d]: the Authenticator returns an empty ID", j))
	}
	bad := func(detail string) error { return configError(acct, id, detail) }
	if c.Policy.ID != "" && c.Policy.ID != id {
		return nil, bad("Policy.ID " + quote(c.Policy.ID) + " differs from the Authenticator's ID; leave it empty")
	}
	e := &entry{Connection: c, account: acct, prov: c.Provisioning}
	if e.prov.ID != "" && e.prov.ID != id {
		return nil, bad("Provisioning.ID " + quote(e.prov.ID) + " differs from the Authenticator's ID; leave it empty")
	}
	e.prov.ID = id
	if err := e.prov.Validate(); err != nil {
		return nil, err
	}
	if p := c.LandingPage; p != "" {
		if _, ok := sso.SafeReturnPath(p); !ok {
			return nil, bad("LandingPage " + quote(p) + " must be a same-site path starting with /, e.g. \"/dashboard\"")
		}
	}
	if msg := c.Networks.validate("Networks"); msg != "" {
		return nil, bad(msg)
	}
	if u := c.LogoutRedirectURL; u != "" && !validRedirect(u) {
		return nil, bad("LogoutRedirectURL " + quote(u) + " must be an absolute http(s) URL or a same-site path starting with /")
	}
	ci, ok := c.Authenticator.(sso.ConnectionInfo)
	if ok {
		e.debug = ci.Debug()
	}
	if ok && r.base != "" {
		if err := checkEndpoints(id, c.Authenticator.Protocol(), ci.Endpoints(), EndpointsOf(r.base, id)); err != nil {
			return nil, bad(err.Error())
		}
	}
	if cand := c.Candidate; cand != nil {
		if cand.ID() != id || cand.Protocol() != c.Authenticator.Protocol() {
			return nil, bad("the Candidate is " + string(cand.Protocol()) + " connection " + quote(cand.ID()) + "; it must have the Authenticator's ID and protocol")
		}
		if cci, ok := cand.(sso.ConnectionInfo); ok && r.base != "" {
			if err := checkEndpoints(id, cand.Protocol(), cci.Endpoints(), EndpointsOf(r.base, id)); err != nil {
				return nil, bad("the Candidate: " + err.Error())
			}
		}
	}
	return e, nil
}

// checkEndpoints compares a connection's configured URLs with those the
// handler serves.
func checkEndpoints(id string, proto sso.Protocol, got, want sso.Endpoints) error {
	var errs []string
	check := func(field, got, want string) {
		if got != "" && got != want {
			errs = append(errs, field+" is "+quote(got)+", but the handler serves it at "+quote(want))
		}
	}
	switch proto {
	case sso.ProtocolSAML:
		check("the ACS URL", got.ACS, want.ACS)
		check("the single logout URL", got.SLO, want.SLO)
	case sso.ProtocolOIDC:
		check("the redirect URL", got.Callback, want.Callback)
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return errors.New(strings.Join(errs, "; ") + " (configure the connection with login.EndpointsOf(baseURL, " + quote(id) + "))")
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
