package provisioning

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/sso"
)

// MemoryOptions configures [NewMemoryStore]. The zero value means defaults.
type MemoryOptions struct {
	// Now is the clock used to drop expired binding records; time.Now
	// when nil.
	Now func() time.Time
}

// MemoryStore is an in-memory [Store] for tests, demos and single-instance
// applications that keep their users elsewhere. Its transactions are
// serialised by one lock: a transaction sees only committed data and its own
// changes, and a failed one is undone completely. IDs are assigned in
// sequence ("user-1", "org-1", ...). It is safe for concurrent use.
type MemoryStore struct {
	mu  sync.Mutex
	now func() time.Time

	seqUser, seqOrg int
	users           map[string]User
	userByEmail     map[string]string // EmailKey -> user ID
	links           map[[2]string]Link
	members         map[[2]string]Membership // (user, account)
	memberByIdent   map[[2]string]string     // (account, SSOIdentifier) -> user ID
	orgs            map[string]Organisation
	orgByName       map[[2]string]string // (account, NameKey) -> organisation ID
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{
		now:           now,
		users:         make(map[string]User),
		userByEmail:   make(map[string]string),
		links:         make(map[[2]string]Link),
		members:       make(map[[2]string]Membership),
		memberByIdent: make(map[[2]string]string),
		orgs:          make(map[string]Organisation),
		orgByName:     make(map[[2]string]string),
	}
}

// Tx implements [Store].
func (s *MemoryStore) Tx(ctx context.Context, fn func(tx Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{s: s}
	committed := false
	defer func() {
		if !committed {
			tx.rollback()
		}
		tx.s = nil
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return nil
}

// Len returns the number of users, memberships, organisations and links, for
// tests.
func (s *MemoryStore) Len() (users, memberships, organisations, links int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users), len(s.members), len(s.orgs), len(s.links)
}

type memTx struct {
	s    *MemoryStore
	undo []func()
}

func (t *memTx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

// set stores v under k in m, remembering how to undo it.
func set[K comparable, V any](t *memTx, m map[K]V, k K, v V) {
	old, had := m[k]
	m[k] = v
	t.undo = append(t.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

// del deletes k from m, remembering how to undo it.
func del[K comparable, V any](t *memTx, m map[K]V, k K) {
	old, had := m[k]
	if !had {
		return
	}
	delete(m, k)
	t.undo = append(t.undo, func() { m[k] = old })
}

// nextID advances *seq to the next prefix+number not taken in m and returns
// it, remembering how to undo the advance.
func nextID[V any](t *memTx, seq *int, prefix string, m map[string]V) string {
	prev := *seq
	t.undo = append(t.undo, func() { *seq = prev })
	for {
		*seq++
		id := prefix + strconv.Itoa(*seq)
		if _, taken := m[id]; !taken {
			return id
		}
	}
}

func (t *memTx) store() *MemoryStore {
	if t.s == nil {
		panic("provisioning: MemoryStore transaction used after it ended")
	}
	return t.s
}

func memNotFound(op, what string) error {
	return &sso.Error{Op: "provisioning.MemoryStore." + op, Reason: sso.ReasonNotFound, Detail: what + " not found"}
}

func memConflict(op, detail string) error {
	return &sso.Error{Op: "provisioning.MemoryStore." + op, Reason: sso.ReasonConflict, Detail: detail}
}

func cloneMembership(m Membership) *Membership {
	m.Roles = slices.Clone(m.Roles)
	return &m
}

func (t *memTx) FindLink(_ context.Context, connection, subject string) (*Link, error) {
	l, ok := t.store().links[[2]string{connection, subject}]
	if !ok {
		return nil, memNotFound("FindLink", "link")
	}
	return &l, nil
}

func (t *memTx) CreateLink(_ context.Context, l *Link) error {
	s := t.store()
	k := [2]string{l.Connection, l.Subject}
	if _, ok := s.links[k]; ok {
		return memConflict("CreateLink", "the identity is already linked")
	}
	if _, ok := s.users[l.User]; !ok {
		return memNotFound("CreateLink", "user "+l.User)
	}
	set(t, s.links, k, *l)
	return nil
}

func (t *memTx) FindUser(_ context.Context, id string) (*User, error) {
	u, ok := t.store().users[id]
	if !ok {
		return nil, memNotFound("FindUser", "user")
	}
	return &u, nil
}

func (t *memTx) FindUserByEmail(ctx context.Context, email string) (*User, error) {
	k := EmailKey(email)
	id, ok := t.store().userByEmail[k]
	if k == "" || !ok {
		return nil, memNotFound("FindUserByEmail", "user")
	}
	return t.FindUser(ctx, id)
}

func (t *memTx) CreateUser(_ context.Context, u *User) error {
	s := t.store()
	if u.ID == "" {
		u.ID = nextID(t, &s.seqUser, "user-", s.users)
	}
	if _, ok := s.users[u.ID]; ok {
		return memConflict("CreateUser", "a user with ID "+u.ID+" exists")
	}
	k := EmailKey(u.Email)
	if k != "" {
		if _, ok := s.userByEmail[k]; ok {
			return memConflict("CreateUser", "a user with this email exists")
		}
		set(t, s.userByEmail, k, u.ID)
	}
	set(t, s.users, u.ID, *u)
	return nil
}

func (t *memTx) UpdateUser(_ context.Context, u *User) error {
	s := t.store()
	old, ok := s.users[u.ID]
	if !ok {
		return memNotFound("UpdateUser", "user "+u.ID)
	}
	ok0, nk := EmailKey(old.Email), EmailKey(u.Email)
	if ok0 != nk {
		if other, taken := s.userByEmail[nk]; nk != "" && taken && other != u.ID {
			return memConflict("UpdateUser", "another user has this email")
		}
		if ok0 != "" {
			del(t, s.userByEmail, ok0)
		}
		if nk != "" {
			set(t, s.userByEmail, nk, u.ID)
		}
	}
	set(t, s.users, u.ID, *u)
	return nil
}

func (t *memTx) FindMembership(_ context.Context, user, account string) (*Membership, error) {
	m, ok := t.store().members[[2]string{user, account}]
	if !ok {
		return nil, memNotFound("FindMembership", "membership")
	}
	return cloneMembership(m), nil
}

func (t *memTx) FindMembershipBySSOIdentifier(ctx context.Context, account, identifier string) (*Membership, error) {
	user, ok := t.store().memberByIdent[[2]string{account, identifier}]
	if identifier == "" || !ok {
		return nil, memNotFound("FindMembershipBySSOIdentifier", "membership")
	}
	return t.FindMembership(ctx, user, account)
}

func (t *memTx) ListMemberships(_ context.Context, user string) ([]Membership, error) {
	var out []Membership
	for k, m := range t.store().members {
		if k[0] == user {
			out = append(out, *cloneMembership(m))
		}
	}
	slices.SortFunc(out, func(a, b Membership) int { return strings.Compare(a.Account, b.Account) })
	return out, nil
}

func (t *memTx) PutMembership(_ context.Context, m *Membership) error {
	s := t.store()
	if _, ok := s.users[m.User]; !ok {
		return memNotFound("PutMembership", "user "+m.User)
	}
	k := [2]string{m.User, m.Account}
	old, had := s.members[k]
	if m.SSOIdentifier != "" {
		if other, taken := s.memberByIdent[[2]string{m.Account, m.SSOIdentifier}]; taken && other != m.User {
			return memConflict("PutMembership", "another member of the account has this SSO identifier")
		}
	}
	if had && old.SSOIdentifier != "" && old.SSOIdentifier != m.SSOIdentifier {
		del(t, s.memberByIdent, [2]string{m.Account, old.SSOIdentifier})
	}
	if m.SSOIdentifier != "" {
		set(t, s.memberByIdent, [2]string{m.Account, m.SSOIdentifier}, m.User)
	}
	set(t, s.members, k, *cloneMembership(*m))
	return nil
}

func (t *memTx) FindOrganisation(_ context.Context, id string) (*Organisation, error) {
	o, ok := t.store().orgs[id]
	if !ok {
		return nil, memNotFound("FindOrganisation", "organisation")
	}
	return &o, nil
}

func (t *memTx) FindOrganisationByName(ctx context.Context, account, name string) (*Organisation, error) {
	id, ok := t.store().orgByName[[2]string{account, NameKey(name)}]
	if !ok {
		return nil, memNotFound("FindOrganisationByName", "organisation")
	}
	return t.FindOrganisation(ctx, id)
}

func (t *memTx) CreateOrganisation(_ context.Context, o *Organisation) error {
	s := t.store()
	k := [2]string{o.Account, NameKey(o.Name)}
	if _, ok := s.orgByName[k]; ok {
		return memConflict("CreateOrganisation", "the account has an organisation of this name")
	}
	if o.ID == "" {
		o.ID = nextID(t, &s.seqOrg, "org-", s.orgs)
	}
	if _, ok := s.orgs[o.ID]; ok {
		return memConflict("CreateOrganisation", "an organisation with ID "+o.ID+" exists")
	}
	set(t, s.orgByName, k, o.ID)
	set(t, s.orgs, o.ID, *o)
	return nil
}
