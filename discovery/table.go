package discovery

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ssokit/sso"
)

// Choice is one connection a person may log in with: what a login page shows
// on its button and what it needs to start the login.
type Choice struct {
	// Account and AccountName identify the account the connection serves.
	Account     string `json:"account"`
	AccountName string `json:"account_name,omitempty"`
	// Connection is the connection ID to start the login with.
	Connection string       `json:"connection"`
	Protocol   sso.Protocol `json:"protocol"`
	// DisplayName and LogoURL are for the button; DisplayName defaults to
	// the account's name.
	DisplayName string `json:"display_name"`
	LogoURL     string `json:"logo_url,omitempty"`
	// Module is the connection's SSOModule value, if any.
	Module string `json:"module,omitempty"`
}

// Route is the answer to a lookup: the connections a person may choose from.
// It has one account's connections, or, for a domain that several accounts
// share, the connections of each of them in configuration order; a login page
// offers a choice when there is more than one.
//
// A Route is a read-only view of its Table: Len and Choice read it without
// allocating, Choices returns a copy. The zero Route has no choices.
type Route struct {
	// Key is the normalised domain, alias or account ID that matched.
	Key     string
	choices []Choice
}

// Len returns the number of choices.
func (r Route) Len() int { return len(r.choices) }

// Choice returns the i-th choice; it panics when i is out of range.
func (r Route) Choice(i int) Choice { return r.choices[i] }

// Choices returns a copy of the choices.
func (r Route) Choices() []Choice { return slices.Clone(r.choices) }

// Accounts returns the distinct account IDs of the route's choices, in order.
func (r Route) Accounts() []string {
	var out []string
	for _, c := range r.choices {
		if len(out) == 0 || out[len(out)-1] != c.Account {
			out = append(out, c.Account)
		}
	}
	return out
}

// MarshalJSON encodes the route as {"key": ..., "choices": [...]}.
func (r Route) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key     string   `json:"key"`
		Choices []Choice `json:"choices"`
	}{r.Key, append(make([]Choice, 0, len(r.choices)), r.choices...)})
}

// span is a range of Table.choices.
type span struct{ lo, hi uint32 }

// sharedBit marks, while a table is built, a domain whose first claim is
// Shared, and an issuer served by several connections.
const sharedBit = 1 << 31

// Table is a compiled, immutable routing table: email domains, aliases,
// issuers, modules and connection IDs to accounts and connections. [New]
// builds it once, normalising and validating everything, so that lookups do
// no parsing; a lookup of a normalised email allocates nothing.
//
// A Table is safe for concurrent use. To change the configuration, build a
// new Table and swap it in with a [Router].
type Table struct {
	domains    *strtab // normalised domain -> route (index into spans)
	accountIDs *strtab // account ID -> account index
	connIDs    *strtab // connection ID -> index into choices
	aliases    map[string]uint32
	issuers    map[string]uint32 // issuer -> choice index, or sharedBit|index into issuerSpans
	issuerSets []span            // ranges of issuerIdx
	issuerIdx  []uint32
	accounts   []string   // account IDs
	spans      []span     // the first len(accounts) are the accounts' own; then shared-domain routes
	sharedBy   [][]uint32 // accounts of each shared-domain route, by route - len(accounts)
	choices    []Choice
	unproven   int
}

// New validates cfg and compiles it into a Table. Errors are those of
// [Config.Validate]. Domains whose ownership proof is required and missing
// are left out of the table (they do not route) but are still validated.
func New(cfg Config) (*Table, error) {
	return compile(&cfg, "discovery.New")
}

func compile(cfg *Config, op string) (*Table, error) {
	p := problems{op: op}
	accts := cfg.Accounts
	if len(accts) >= sharedBit {
		p.add("too many accounts (%d)", len(accts))
		return nil, p.err()
	}
	var nDomains, domainBytes, nConns, idBytes, connBytes int
	for i := range accts {
		a := &accts[i]
		idBytes += len(a.ID)
		nDomains += len(a.Domains)
		for _, d := range a.Domains {
			domainBytes += len(d.Name)
		}
		nConns += len(a.Connections)
		for _, c := range a.Connections {
			connBytes += len(c.ID)
		}
	}
	t := &Table{
		domains:    newStrtab(nDomains, domainBytes),
		accountIDs: newStrtab(len(accts), idBytes),
		connIDs:    newStrtab(nConns, connBytes),
		aliases:    map[string]uint32{},
		issuers:    map[string]uint32{},
		accounts:   make([]string, len(accts)),
		spans:      make([]span, len(accts)),
		choices:    make([]Choice, 0, nConns),
	}
	norms := make([]checked, len(accts))
	issuers := map[string][]uint32{}
	for i := range accts {
		a := &accts[i]
		norms[i] = a.check(&p, cfg.RequireDomainProof)
		if validID(a.ID) {
			if _, dup := t.accountIDs.put(a.ID, uint64(i)); dup {
				p.add("account id %q is used by two accounts; account IDs must be unique", a.ID)
			}
		}
		t.accounts[i] = a.ID
		lo := len(t.choices)
		for _, c := range a.Connections {
			if !validID(c.ID) {
				continue
			}
			if off, dup := t.connIDs.put(c.ID, uint64(len(t.choices))); dup {
				if other := t.choices[t.connIDs.value(off)].Account; other != a.ID {
					p.add("connection %q of account %q is also a connection of account %q; connection IDs must be unique across the application, so rename one",
						c.ID, a.ID, other)
				}
				continue
			}
			name := c.DisplayName
			if name == "" {
				name = a.Name
			}
			if name == "" {
				name = a.ID
			}
			for _, iss := range c.Issuers {
				issuers[iss] = append(issuers[iss], uint32(len(t.choices)))
			}
			t.choices = append(t.choices, Choice{Account: a.ID, AccountName: a.Name, Connection: c.ID,
				Protocol: c.Protocol, DisplayName: name, LogoURL: c.LogoURL, Module: c.Module})
		}
		t.spans[i] = span{uint32(lo), uint32(len(t.choices))}
	}

	// Claimed domains. A domain claimed twice is an error unless every
	// claim is Shared; shared claims collect their accounts.
	shared := map[int][]uint32{}
	for i := range accts {
		for j := range accts[i].Domains {
			d := &accts[i].Domains[j]
			n := norms[i].domains[j]
			if n == "" {
				continue
			}
			if d.needsProof(cfg.RequireDomainProof) && d.VerifiedAt.IsZero() {
				t.unproven++
				continue
			}
			v := uint64(i)
			if d.Shared {
				v |= sharedBit
			}
			off, dup := t.domains.put(n, v)
			if !dup {
				continue
			}
			first := t.domains.value(off)
			if first&sharedBit == 0 || !d.Shared {
				p.add("domain %q is claimed by accounts %q and %q; mark it shared in both so that people choose between them, or remove one claim",
					n, accts[first&^sharedBit].ID, accts[i].ID)
				continue
			}
			set := shared[off]
			if set == nil {
				set = []uint32{uint32(first &^ sharedBit)}
			}
			shared[off] = append(set, uint32(i))
		}
	}
	t.domains.each(func(off int) { t.domains.setValue(off, t.domains.value(off)&^sharedBit) })
	routes := map[string]uint32{}
	for off, set := range shared {
		key := fmt.Sprint(set)
		r, ok := routes[key]
		if !ok {
			r = uint32(len(t.spans))
			lo := len(t.choices)
			for _, a := range set {
				s := t.spans[a]
				t.choices = append(t.choices, t.choices[s.lo:s.hi]...)
			}
			t.spans = append(t.spans, span{uint32(lo), uint32(len(t.choices))})
			t.sharedBy = append(t.sharedBy, set)
			routes[key] = r
		}
		t.domains.setValue(off, uint64(r))
	}

	// Aliases name one account, and must not send people elsewhere than
	// their email domain does.
	for i := range accts {
		for k, n := range norms[i].aliases {
			if n == "" {
				continue
			}
			if prev, dup := t.aliases[n]; dup && prev != uint32(i) {
				p.add("alias %q is used by accounts %q and %q; an alias names one account, so rename one", accts[i].Aliases[k], accts[prev].ID, accts[i].ID)
				continue
			}
			if r, ok := t.domains.get(n); ok && !t.routeHas(uint32(r), accts[i].ID) {
				p.add("alias %q of account %q is an email domain claimed by %s; remove the alias or the claim",
					accts[i].Aliases[k], accts[i].ID, quoted(t.routeAccounts(uint32(r))))
				continue
			}
			t.aliases[n] = uint32(i)
		}
	}

	for iss, idx := range issuers {
		if len(idx) == 1 {
			t.issuers[iss] = idx[0]
			continue
		}
		t.issuers[iss] = sharedBit | uint32(len(t.issuerSets))
		t.issuerSets = append(t.issuerSets, span{uint32(len(t.issuerIdx)), uint32(len(t.issuerIdx) + len(idx))})
		t.issuerIdx = append(t.issuerIdx, idx...)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	// Each domain's entry now holds the range of its choices, so that a
	// lookup reads nothing else: lo | n<<32, or, for a route without
	// choices, its route index (n = 0) for the detail of the error.
	t.domains.each(func(off int) {
		if s := t.spans[t.domains.value(off)]; s.hi > s.lo {
			t.domains.setValue(off, uint64(s.hi-s.lo)<<32|uint64(s.lo))
		}
	})
	t.domains.compact()
	t.accountIDs.compact()
	t.connIDs.compact()
	return t, nil
}

// routeHas reports whether route r includes account id.
func (t *Table) routeHas(r uint32, id string) bool {
	for _, a := range t.routeAccounts(r) {
		if a == id {
			return true
		}
	}
	return false
}

// routeAccounts returns the IDs of the accounts of route r.
func (t *Table) routeAccounts(r uint32) []string {
	if int(r) < len(t.accounts) {
		return []string{t.accounts[r]}
	}
	var out []string
	for _, a := range t.sharedBy[int(r)-len(t.accounts)] {
		out = append(out, t.accounts[a])
	}
	return out
}

// quoted returns the IDs quoted and joined with ", ".
func quoted(ids []string) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + id + `"`)
	}
	return b.String()
}

func (t *Table) route(key string, r uint32) Route {
	s := t.spans[r]
	return Route{Key: key, choices: t.choices[s.lo:s.hi:s.hi]}
}

func lookupErr(op string, r sso.Reason, detail string) error {
	return &sso.Error{Op: op, Reason: r, Detail: detail}
}

// Domains returns the number of email domains that route (claimed, and
// proven where proof is required).
func (t *Table) Domains() int { return t.domains.n }

// Unproven returns the number of claimed domains left out because their
// ownership proof is required and missing.
func (t *Table) Unproven() int { return t.unproven }

// LookupNormalized returns the route for an email address already normalised
// with sso.NormalizeEmail (for example an Identity's Email), by its domain
// alone. It allocates nothing. ok is false when no account claims the domain
// or the claiming accounts have no connection. Input that is not normalised
// may miss; use [Table.Lookup] for what people type.
func (t *Table) LookupNormalized(email string) (r Route, ok bool) {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return Route{}, false
	}
	return t.lookupDomain(email[at+1:])
}

func (t *Table) lookupDomain(domain string) (Route, bool) {
	v, ok := t.domains.get(domain)
	if !ok || v>>32 == 0 {
		return Route{}, false
	}
	return t.domainChoices(domain, v), true
}

// domainChoices returns the route of a domain entry's value that has
// choices (see compile).
func (t *Table) domainChoices(domain string, v uint64) Route {
	lo := uint32(v)
	hi := lo + uint32(v>>32)
	return Route{Key: domain, choices: t.choices[lo:hi:hi]}
}

// Lookup returns the route for an email address as a person typed it: it is
// trimmed, checked, and its domain lower-cased and converted to IDNA ASCII
// form as sso.NormalizeEmail does. The answer depends only on the domain, so
// it never tells whether a person has an account.
//
// Errors: sso.ReasonInvalidEmail for a malformed address; sso.ReasonNoSSO
// when no account claims the domain, or the claiming accounts have no
// connection yet. An address that is normalised already takes a fast path
// that allocates nothing.
func (t *Table) Lookup(email string) (Route, error) {
	if d, ok := splitNormalEmail(email); ok {
		if r, ok := t.lookupDomain(d); ok {
			return r, nil
		}
	}
	n, err := sso.NormalizeEmail(email)
	if err != nil {
		return Route{}, err
	}
	return t.domainRoute("discovery.Lookup", sso.EmailDomain(n))
}

// LookupDomain returns the route for an email domain, normalised as
// sso.NormalizeDomain does. Errors are those of [Table.Lookup].
func (t *Table) LookupDomain(domain string) (Route, error) {
	n, err := normalizeDomain(domain)
	if err != nil {
		return Route{}, err
	}
	return t.domainRoute("discovery.LookupDomain", n)
}

func (t *Table) domainRoute(op, d string) (Route, error) {
	v, ok := t.domains.get(d)
	if !ok {
		return Route{}, lookupErr(op, sso.ReasonNoSSO, "no account claims the email domain "+d+
			" (a domain that requires proof of ownership routes only once proven)")
	}
	if v>>32 == 0 {
		return Route{}, lookupErr(op, sso.ReasonNoSSO, "the email domain "+d+" is claimed by "+
			quoted(t.routeAccounts(uint32(v)))+", which has no connection yet")
	}
	return t.domainChoices(d, v), nil
}

// LookupAlias returns the route for an SSO domain alias, as typed at
// /login/sso or taken from /login/sso/{alias}: normalised like a domain name
// but needing no dot. An alias that is no account's alias but is a claimed
// email domain routes like that domain.
//
// Errors: sso.ReasonAccountNotFound when nothing matches (also for a
// malformed alias), sso.ReasonNoSSO when the account has no connection.
func (t *Table) LookupAlias(alias string) (Route, error) {
	const op = "discovery.LookupAlias"
	n, ok := normalizeAlias(alias)
	if !ok {
		return Route{}, lookupErr(op, sso.ReasonAccountNotFound, "the SSO domain "+quoteShort(alias)+" is not a valid name")
	}
	if i, ok := t.aliases[n]; ok {
		r := t.route(n, i)
		if len(r.choices) == 0 {
			return Route{}, lookupErr(op, sso.ReasonNoSSO, "account \""+t.accounts[i]+"\" has no connection yet")
		}
		return r, nil
	}
	if _, ok := t.domains.get(n); ok {
		return t.domainRoute(op, n)
	}
	return Route{}, lookupErr(op, sso.ReasonAccountNotFound, "no account has the SSO domain "+quoteShort(n))
}

// LookupAccount returns the connections of the account with the given ID.
// The route has no choices when the account has no connection. Error:
// sso.ReasonAccountNotFound.
func (t *Table) LookupAccount(id string) (Route, error) {
	i, ok := t.accountIDs.get(id)
	if !ok {
		return Route{}, lookupErr("discovery.LookupAccount", sso.ReasonAccountNotFound, "no account has the ID "+quoteShort(id))
	}
	return t.route(id, uint32(i)), nil
}

// ForAccounts returns the connections of the given accounts, in the given
// order, for a person the host knows to belong to them: the choice offered
// to someone in several accounts with different identity providers. IDs of
// unknown accounts and of accounts without connections are skipped (they
// use passwords). Error: sso.ReasonNoSSO when no connection remains.
//
// Membership is the host's knowledge about a person: offering this choice
// before the person has proven who they are tells whoever types the address
// which accounts it belongs to. Use [Table.Lookup], which depends only on
// the domain, where that matters.
func (t *Table) ForAccounts(ids []string) (Route, error) {
	var out []Choice
	seen := map[uint64]bool{}
	for _, id := range ids {
		i, ok := t.accountIDs.get(id)
		if !ok || seen[i] {
			continue
		}
		seen[i] = true
		s := t.spans[i]
		out = append(out, t.choices[s.lo:s.hi]...)
	}
	if len(out) == 0 {
		return Route{}, lookupErr("discovery.ForAccounts", sso.ReasonNoSSO, "none of the person's accounts has a connection")
	}
	return Route{choices: out}, nil
}

// Connection returns the connection with the given ID. Error:
// sso.ReasonConnectionNotFound.
func (t *Table) Connection(id string) (Choice, error) {
	i, ok := t.connIDs.get(id)
	if !ok {
		return Choice{}, &sso.Error{Op: "discovery.Connection", Reason: sso.ReasonConnectionNotFound, Connection: id,
			Detail: "no account has a connection with this ID"}
	}
	return t.choices[i], nil
}

// LookupIssuer returns the connections whose identity provider has the given
// SAML entity ID or OIDC issuer (compared exactly), for a login the identity
// provider started. Several connections may share an issuer; the host then
// tells them apart by the endpoint the response arrived at, or by
// [Table.LookupModule]. Error: sso.ReasonUnknownIssuer.
func (t *Table) LookupIssuer(issuer string) ([]Choice, error) {
	v, ok := t.issuers[issuer]
	if !ok {
		return nil, lookupErr("discovery.LookupIssuer", sso.ReasonUnknownIssuer, "no connection trusts the issuer "+quoteShort(issuer))
	}
	if v&sharedBit == 0 {
		return t.choices[v : v+1 : v+1], nil
	}
	s := t.issuerSets[v&^sharedBit]
	out := make([]Choice, 0, s.hi-s.lo)
	for _, i := range t.issuerIdx[s.lo:s.hi] {
		out = append(out, t.choices[i])
	}
	return out, nil
}

// LookupModule returns the connection of the given account whose Module
// matches module without regard to case: SmartSimple's SSOModule attribute
// picking one of several connections. An empty module picks the account's
// only connection, or else its only connection without a Module.
//
// Errors: sso.ReasonAccountNotFound, sso.ReasonConnectionNotFound.
func (t *Table) LookupModule(account, module string) (Choice, error) {
	const op = "discovery.LookupModule"
	i, ok := t.accountIDs.get(account)
	if !ok {
		return Choice{}, lookupErr(op, sso.ReasonAccountNotFound, "no account has the ID "+quoteShort(account))
	}
	s := t.spans[i]
	cs := t.choices[s.lo:s.hi]
	module = strings.TrimSpace(module)
	if module == "" && len(cs) == 1 {
		return cs[0], nil
	}
	found := -1
	for k := range cs {
		if strings.EqualFold(cs[k].Module, module) {
			if found >= 0 {
				found = -2
				break
			}
			found = k
		}
	}
	if found >= 0 {
		return cs[found], nil
	}
	if module == "" {
		return Choice{}, lookupErr(op, sso.ReasonConnectionNotFound, fmt.Sprintf(
			"the login names no module and account %q has %d connections; send the SSOModule attribute, or leave one connection without a module as the default",
			account, len(cs)))
	}
	return Choice{}, lookupErr(op, sso.ReasonConnectionNotFound, fmt.Sprintf("account %q has no connection with module %s", account, quoteShort(module)))
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}
