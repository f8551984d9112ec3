package discovery

import "sync/atomic"

// Router holds the current [Table] and lets the host replace it at runtime
// (a configuration reload) without blocking lookups: a lookup reads the
// table pointer atomically and then works on that table alone, while a
// reload builds the new table aside and swaps it in with one atomic store.
// Lookups that must agree with each other (an alias, then a module of the
// same account) should take one snapshot with [Router.Table].
//
// A Router is safe for concurrent use. The zero value is not usable; call
// [NewRouter].
type Router struct {
	cur atomic.Pointer[Table]
}

var emptyTable, _ = New(Config{})

// NewRouter returns a Router serving t, or an empty table when t is nil.
func NewRouter(t *Table) *Router {
	r := &Router{}
	r.Swap(t)
	return r
}

// Table returns the current table.
func (r *Router) Table() *Table { return r.cur.Load() }

// Swap makes t the current table (an empty one when t is nil) and returns
// the previous one.
func (r *Router) Swap(t *Table) *Table {
	if t == nil {
		t = emptyTable
	}
	return r.cur.Swap(t)
}

// Reload builds a table from cfg and swaps it in. When cfg is invalid it
// returns the error of [New] and keeps serving the current table.
func (r *Router) Reload(cfg Config) error {
	t, err := New(cfg)
	if err != nil {
		return err
	}
	r.Swap(t)
	return nil
}

// Lookup is [Table.Lookup] on the current table.
func (r *Router) Lookup(email string) (Route, error) { return r.Table().Lookup(email) }

// LookupNormalized is [Table.LookupNormalized] on the current table.
func (r *Router) LookupNormalized(email string) (Route, bool) {
	return r.Table().LookupNormalized(email)
}

// LookupDomain is [Table.LookupDomain] on the current table.
func (r *Router) LookupDomain(domain string) (Route, error) { return r.Table().LookupDomain(domain) }

// LookupAlias is [Table.LookupAlias] on the current table.
func (r *Router) LookupAlias(alias string) (Route, error) { return r.Table().LookupAlias(alias) }

// LookupAccount is [Table.LookupAccount] on the current table.
func (r *Router) LookupAccount(id string) (Route, error) { return r.Table().LookupAccount(id) }

// ForAccounts is [Table.ForAccounts] on the current table.
func (r *Router) ForAccounts(ids []string) (Route, error) { return r.Table().ForAccounts(ids) }

// Connection is [Table.Connection] on the current table.
func (r *Router) Connection(id string) (Choice, error) { return r.Table().Connection(id) }

// LookupIssuer is [Table.LookupIssuer] on the current table.
func (r *Router) LookupIssuer(issuer string) ([]Choice, error) {
	return r.Table().LookupIssuer(issuer)
}

// LookupModule is [Table.LookupModule] on the current table.
func (r *Router) LookupModule(account, module string) (Choice, error) {
	return r.Table().LookupModule(account, module)
}
