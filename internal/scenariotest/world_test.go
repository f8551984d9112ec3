// Package scenariotest reproduces the single sign-on rules of each product scenario
// end to end at the API level: discovery finds the connection, policy decides
// whether the method is allowed, provisioning finds or creates the user. The
// identities are built by hand; the protocol packages test real messages.
package scenariotest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/ssotest"
)

// adminRole is the role that makes a member an account administrator.
const adminRole = "Administrator"

// account is one account of a scenario: how people find it, its login
// policy, and the provisioning settings of each of its connections.
type account struct {
	disc   discovery.Account
	policy policy.Policy
	conns  map[string]provisioning.Connection
	// trustEmail lists the connections whose protocol settings trust the
	// identity provider's emails (saml, oidc and ldap TrustEmail): their
	// identities come with EmailVerified set, as those packages set it.
	trustEmail []string
}

// world is an application wired the way the login handler wires it.
type world struct {
	t        *testing.T
	router   *discovery.Router
	policies map[string]policy.Policy
	accounts map[string]provisioning.Account
	conns    map[string]provisioning.Connection
	owner    map[string]string // connection -> account
	trusted  map[string]bool   // connections that trust their IdP's emails
	proto    map[string]sso.Protocol
	store    *provisioning.MemoryStore
	prov     *provisioning.Provisioner
	clock    *ssotest.Clock

	mu        sync.Mutex
	events    []sso.Event
	ssoLogins map[string][]string // user -> connections with a completed login
}

func newWorld(t *testing.T, accts ...account) *world {
	t.Helper()
	w := &world{
		t:         t,
		policies:  make(map[string]policy.Policy),
		accounts:  make(map[string]provisioning.Account),
		conns:     make(map[string]provisioning.Connection),
		owner:     make(map[string]string),
		trusted:   make(map[string]bool),
		proto:     make(map[string]sso.Protocol),
		clock:     ssotest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		ssoLogins: make(map[string][]string),
	}
	var cfg discovery.Config
	for _, a := range accts {
		cfg.Accounts = append(cfg.Accounts, a.disc)
		a.policy.Account = a.disc.ID
		if err := a.policy.Validate(); err != nil {
			t.Fatalf("policy of %s: %v", a.disc.ID, err)
		}
		w.policies[a.disc.ID] = a.policy
		pa := provisioning.Account{ID: a.disc.ID}
		for _, d := range a.disc.Domains {
			pa.Domains = append(pa.Domains, d.Name)
		}
		w.accounts[a.disc.ID] = pa
		for _, c := range a.disc.Connections {
			pc := a.conns[c.ID]
			pc.ID = c.ID
			if err := pc.Validate(); err != nil {
				t.Fatalf("provisioning settings of %s: %v", c.ID, err)
			}
			w.conns[c.ID] = pc
			w.owner[c.ID] = a.disc.ID
			w.trusted[c.ID] = slices.Contains(a.trustEmail, c.ID)
			w.proto[c.ID] = c.Protocol
		}
	}
	tab, err := discovery.New(cfg)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	w.router = discovery.NewRouter(tab)
	w.store = provisioning.NewMemoryStore(provisioning.MemoryOptions{Now: w.clock.Now})
	w.prov, err = provisioning.New(provisioning.Config{Store: w.store, Now: w.clock.Now, Events: func(_ context.Context, e sso.Event) {
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// member is a membership to create with addUser.
type member struct {
	account    string
	identifier string
	roles      []string // granted by an administrator
	status     provisioning.Status
}

// addUser creates a user as an administrator would (pre-provisioning) and
// returns its ID.
func (w *world) addUser(email string, ms ...member) string {
	w.t.Helper()
	ctx := context.Background()
	u := &provisioning.User{Email: email, Created: w.clock.Now(), Updated: w.clock.Now()}
	err := w.store.Tx(ctx, func(tx provisioning.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		for _, m := range ms {
			pm := &provisioning.Membership{User: u.ID, Account: m.account, SSOIdentifier: m.identifier, Status: m.status}
			if pm.Status == "" {
				pm.Status = provisioning.StatusActive
			}
			for _, r := range m.roles {
				pm.Roles = append(pm.Roles, provisioning.RoleGrant{Role: r, Source: provisioning.RoleSourceAdmin})
			}
			if err := tx.PutMembership(ctx, pm); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return u.ID
}

// userByEmail returns the user with the email, or nil.
func (w *world) userByEmail(email string) *provisioning.User {
	var u *provisioning.User
	_ = w.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		u, _ = tx.FindUserByEmail(context.Background(), email)
		return nil
	})
	return u
}

func (w *world) membership(user, acct string) *provisioning.Membership {
	var m *provisioning.Membership
	_ = w.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		m, _ = tx.FindMembership(context.Background(), user, acct)
		return nil
	})
	return m
}

func (w *world) memberships(user string) []string {
	var out []string
	_ = w.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		ms, _ := tx.ListMemberships(context.Background(), user)
		for _, m := range ms {
			out = append(out, m.Account)
		}
		return nil
	})
	return out
}

// facts returns what policy needs to know about a user in an account.
func (w *world) facts(user, acct string) policy.User {
	u := policy.User{ID: user}
	_ = w.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		if pu, err := tx.FindUser(context.Background(), user); err == nil {
			u.Email = pu.Email
		}
		if m, err := tx.FindMembership(context.Background(), user, acct); err == nil {
			u.Roles = m.RoleNames()
			u.Admin = m.HasRole(adminRole)
		}
		return nil
	})
	w.mu.Lock()
	u.SSOLogins = slices.Clone(w.ssoLogins[user])
	w.mu.Unlock()
	return u
}

// admins returns the policy facts of the account's administrators.
func (w *world) admins(acct string, users ...string) []policy.User {
	var out []policy.User
	for _, u := range users {
		if f := w.facts(u, acct); f.Admin {
			out = append(out, f)
		}
	}
	return out
}

// setPolicy changes an account's policy through policy.Update.
func (w *world) setPolicy(next policy.Policy, by string, admins []policy.User) error {
	acct := next.Account
	p, _, err := policy.Update(w.policies[acct], next, admins, by, w.clock.Now())
	if err != nil {
		return err
	}
	w.policies[acct] = p
	return nil
}

// login is the outcome of an SSO login.
type login struct {
	res      *provisioning.Result
	decision policy.Decision
	err      error
}

// sso runs an SSO login through connection conn with the identity the
// connection proved, as the login handler does: policy first (with what is
// known before the user is found: the email), then provisioning, with
// policy deciding again with the user's facts (roles) inside provisioning's
// transaction, so that a refusal writes nothing. bindTo is the user a
// confirmed login binding links the identity to, or "".
func (w *world) sso(conn string, id *sso.Identity, bindTo string) login {
	w.t.Helper()
	acct, ok := w.owner[conn]
	if !ok {
		w.t.Fatalf("no connection %s", conn)
	}
	id.Connection, id.Protocol = conn, w.proto[conn]
	if w.trusted[conn] && id.Email != "" {
		id.EmailVerified = true
	}
	pol := w.policies[acct]
	pre := policy.Decide(pol, policy.User{Email: id.Email}, policy.MethodOf(id))
	// A testing connection whose test users the email cannot tell (no
	// email, or test users named by user ID) is judged once the user is
	// known, as the handler does.
	pc, _ := pol.Connection(conn)
	undecided := pre.Rule == policy.RuleConnectionTesting && (id.Email == "" || len(pc.TestUserIDs) > 0)
	if !pre.Allowed && !undecided {
		return login{decision: pre, err: pre.Err()}
	}
	var d policy.Decision
	authorize := func(_ context.Context, res *provisioning.Result) error {
		f := policy.User{ID: res.User.ID, Email: res.User.Email, Roles: res.Roles(), Admin: res.Membership.HasRole(adminRole)}
		d = policy.Decide(pol, f, policy.MethodOf(id))
		return d.Err()
	}
	res, err := w.prov.Provision(context.Background(), provisioning.Request{Account: w.accounts[acct], Connection: w.conns[conn], Identity: id, BindTo: bindTo, Authorize: authorize})
	if err != nil {
		if d.Account == "" {
			d = pre
		}
		return login{decision: d, err: err}
	}
	w.mu.Lock()
	if !slices.Contains(w.ssoLogins[res.User.ID], conn) {
		w.ssoLogins[res.User.ID] = append(w.ssoLogins[res.User.ID], conn)
	}
	w.mu.Unlock()
	return login{res: res, decision: d}
}

// mustSSO runs sso and fails the test on an error.
func (w *world) mustSSO(conn string, id *sso.Identity) *provisioning.Result {
	w.t.Helper()
	l := w.sso(conn, id, "")
	if l.err != nil {
		w.t.Fatalf("SSO login of %q through %s: %v", id.Subject, conn, l.err)
	}
	return l.res
}

// password runs a password login of the user with email to acct (the host
// checked the password itself) and returns the policy decision.
func (w *world) password(acct, email string) policy.Decision {
	w.t.Helper()
	u := w.userByEmail(email)
	if u == nil {
		w.t.Fatalf("no user %s", email)
	}
	return policy.Decide(w.policies[acct], w.facts(u.ID, acct), policy.Password())
}

// wantErr fails unless err matches reason.
func wantErr(t *testing.T, step string, err error, reason sso.Reason) {
	t.Helper()
	if !errors.Is(err, reason) {
		t.Fatalf("%s: err = %v; want %s", step, err, reason)
	}
}

// wantAllowed fails unless the decision has the given outcome.
func wantDecision(t *testing.T, step string, d policy.Decision, allowed bool, reason sso.Reason) {
	t.Helper()
	if d.Allowed != allowed || (!allowed && d.Reason != reason) {
		t.Fatalf("%s: decision allowed=%v reason=%q rule=%s (%s); want allowed=%v reason=%q", step, d.Allowed, d.Reason, d.Rule, d.Detail, allowed, reason)
	}
}

func connIDs(r discovery.Route) []string {
	var out []string
	for _, c := range r.Choices() {
		out = append(out, c.Connection)
	}
	return out
}

func domains(names ...string) []discovery.Domain {
	var out []discovery.Domain
	for _, n := range names {
		out = append(out, discovery.Domain{Name: n})
	}
	return out
}
