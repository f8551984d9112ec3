package discovery

import (
	"encoding/json"
	"fmt"
	"math"
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
	t       *Table
	choices []connRec
}

// Len returns the number of choices.
func (r Route) Len() int { return len(r.choices) }

// Choice returns the i-th choice; it panics when i is out of range.
func (r Route) Choice(i int) Choice { return r.t.choice(r.choices[i]) }

// Choices returns a copy of the choices.
func (r Route) Choices() []Choice {
	if r.choices == nil {
		return nil
	}
	out := make([]Choice, len(r.choices))
	for i, c := range r.choices {
		out[i] = r.t.choice(c)
	}
	return out
}

// Accounts returns the distinct account IDs of the route's choices, in order.
func (r Route) Accounts() []string {
	var out []string
	for i, c := range r.choices {
		if i == 0 || r.choices[i-1].account != c.account {
			s, _ := field(r.t.text, int(c.account))
			out = append(out, s)
		}
	}
	return out
}

// MarshalJSON encodes the route as {"key": ..., "choices": [...]}.
func (r Route) MarshalJSON() ([]byte, error) {
	cs := r.Choices()
	if cs == nil {
		cs = []Choice{}
	}
	return json.Marshal(struct {
		Key     string   `json:"key"`
		Choices []Choice `json:"choices"`
	}{r.Key, cs})
}

// span is a range of Table.conns.
type span struct{ lo, hi uint32 }

// sharedBit marks, while a table is built, a domain whose first claim is
// Shared, and an issuer served by several connections.
const sharedBit = 1 << 31

// acctRec is an account of a Table: the text offset of its ID and Name
// fields, and the index in Table.conns of its first connection.
type acctRec struct{ text, lo uint32 }

// connRec is a connection of a Table, or a copy of one in a shared
// domain's route: the text offset of its ID, Protocol (one byte, an index
// into protocols), DisplayName, LogoURL and Module fields, and the text
// offset of its account's fields (which identifies the account, and usually
// shares a cache line with the connection's fields).
type connRec struct{ text, account uint32 }

// issuerRec is an issuer of a Table: the text offset of its one field, and
// the index in Table.conns of its connection, or, for an issuer of several
// connections, sharedBit | the index of their set in Table.issuerSets.
type issuerRec struct{ text, value uint32 }

// protocols are the protocols a connection may have, by their code in a
// Table's text.
var protocols = [...]sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP}

func protocolCode(p sso.Protocol) byte {
	for i, q := range protocols {
		if p == q {
			return byte(i)
		}
	}
	return byte(len(protocols)) // refused by Connection.check
}

// Table is a compiled, immutable routing table: email domains, aliases,
// issuers, modules and connection IDs to accounts and connections. [New]
// builds it once, normalising and validating everything, so that lookups do
// no parsing; a lookup of a normalised email allocates nothing.
//
// A Table keeps the strings of its accounts, connections and issuers in one
// arena and builds a Choice from them on demand, and indexes everything
// with compact hash tables rather than Go maps: with a million claimed
// domains over 250,000 accounts it takes well under 100 bytes per domain in
// all.
//
// A Table is safe for concurrent use. To change the configuration, build a
// new Table and swap it in with a [Router].
type Table struct {
	domains *strtab // normalised domain -> lo | n<<32 in conns (see compile)
	aliases *strtab // normalised alias -> account index
	// text holds the strings of every account, connection and issuer as
	// length-prefixed fields (see text.go and the records).
	text       string
	accounts   []acctRec  // by account index, then one whose lo ends the last account's connections
	conns      []connRec  // every account's connections in order, then the shared-domain routes'
	routes     []span     // shared-domain routes: route len(accounts)-1+k is routes[k]
	sharedBy   [][]uint32 // accounts of each shared-domain route, in the order of routes
	accountIDs keyIndex   // account ID -> account index
	connIDs    keyIndex   // connection ID -> index into conns
	issuerIDs  keyIndex   // issuer -> index into issuers
	issuers    []issuerRec
	issuerSets []span // ranges of issuerIdx
	issuerIdx  []uint32
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
	if uint64(len(accts)) >= sharedBit {
		p.add("too many accounts (%d)", len(accts))
		return nil, p.err()
	}
	var nDomains, domainBytes, nAliases, aliasBytes, nConns, nIssuers, textBytes int
	for i := range accts {
		a := &accts[i]
		textBytes += fieldLen(a.ID) + fieldLen(a.Name)
		nDomains += len(a.Domains)
		for _, d := range a.Domains {
			domainBytes += len(d.Name)
		}
		nAliases += len(a.Aliases)
		for _, s := range a.Aliases {
			aliasBytes += len(s)
		}
		for k := range a.Connections {
			c := &a.Connections[k]
			if !validID(c.ID) {
				continue
			}
			nConns++
			textBytes += fieldLen(c.ID) + 1 + fieldLen(c.DisplayName) + fieldLen(c.LogoURL) + fieldLen(c.Module)
			nIssuers += len(c.Issuers)
			for _, iss := range c.Issuers {
				textBytes += fieldLen(iss)
			}
		}
	}
	if uint64(nConns) >= sharedBit || uint64(nIssuers) >= sharedBit || uint64(textBytes) > math.MaxUint32 {
		p.add("the configuration is too large (%d connections, %d issuers, %d bytes of names); split it", nConns, nIssuers, textBytes)
		return nil, p.err()
	}

	// Every account's, connection's and issuer's strings, once, in the
	// text, and their records.
	t := &Table{
		domains:  newStrtab(nDomains, domainBytes),
		aliases:  newStrtab(nAliases, aliasBytes),
		accounts: make([]acctRec, len(accts)+1),
		conns:    make([]connRec, 0, nConns),
		issuers:  make([]issuerRec, 0, nIssuers),
	}
	var w textWriter
	w.Grow(textBytes)
	for i := range accts {
		a := &accts[i]
		t.accounts[i] = acctRec{w.off(), uint32(len(t.conns))}
		w.field(a.ID)
		w.field(a.Name)
		for k := range a.Connections {
			c := &a.Connections[k]
			if !validID(c.ID) {
				continue
			}
			ci := uint32(len(t.conns))
			t.conns = append(t.conns, connRec{w.off(), t.accounts[i].text})
			w.field(c.ID)
			w.WriteByte(protocolCode(c.Protocol))
			w.field(c.DisplayName)
			w.field(c.LogoURL)
			w.field(c.Module)
			for _, iss := range c.Issuers {
				t.issuers = append(t.issuers, issuerRec{w.off(), ci})
				w.field(iss)
			}
		}
	}
	t.accounts[len(accts)] = acctRec{w.off(), uint32(len(t.conns))}
	t.text = w.String()

	// Each account on its own, and the uniqueness of account and
	// connection IDs.
	norms := make([]checked, len(accts))
	t.accountIDs = newKeyIndex(len(accts))
	t.connIDs = newKeyIndex(len(t.conns))
	for i := range accts {
		a := &accts[i]
		norms[i] = a.check(&p, cfg.RequireDomainProof)
		if validID(a.ID) {
			if _, dup := t.accountIDs.add(a.ID, uint32(i), t.accountID); dup {
				p.add("account id %q is used by two accounts; account IDs must be unique", a.ID)
			}
		}
		for k := t.accounts[i].lo; k < t.accounts[i+1].lo; k++ {
			id := t.connID(k)
			if first, dup := t.connIDs.add(id, k, t.connID); dup {
				if other, _ := field(t.text, int(t.conns[first].account)); other != a.ID {
					p.add("connection %q of account %q is also a connection of account %q; connection IDs must be unique across the application, so rename one",
						id, a.ID, other)
				}
			}
		}
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
			r = uint32(len(accts) + len(t.routes))
			lo := len(t.conns)
			for _, a := range set {
				s := t.span(a)
				t.conns = append(t.conns, t.conns[s.lo:s.hi]...)
			}
			t.routes = append(t.routes, span{uint32(lo), uint32(len(t.conns))})
			t.sharedBy = append(t.sharedBy, set)
			routes[key] = r
		}
		t.domains.setValue(off, uint64(r))
	}
	if uint64(len(t.conns)) > math.MaxUint32 {
		p.add("the shared domains' routes are too large (%d choices); share fewer domains", len(t.conns))
		return nil, p.err()
	}

	// Aliases name one account, and must not send people elsewhere than
	// their email domain does.
	for i := range accts {
		for k, n := range norms[i].aliases {
			if n == "" {
				continue
			}
			if prev, dup := t.aliases.get(n); dup && prev != uint64(i) {
				p.add("alias %q is used by accounts %q and %q; an alias names one account, so rename one", accts[i].Aliases[k], accts[prev].ID, accts[i].ID)
				continue
			}
			if r, ok := t.domains.get(n); ok && !t.routeHas(uint32(r), accts[i].ID) {
				p.add("alias %q of account %q is an email domain claimed by %s; remove the alias or the claim",
					accts[i].Aliases[k], accts[i].ID, quoted(t.routeAccounts(uint32(r))))
				continue
			}
			t.aliases.put(n, uint64(i))
		}
	}

	// Issuers, each once; an issuer of several connections gets the set
	// of them, in configuration order.
	t.issuerIDs = newKeyIndex(len(t.issuers))
	var sets map[uint32][]uint32
	var setOrder []uint32
	for k := range t.issuers {
		first, dup := t.issuerIDs.add(t.issuer(uint32(k)), uint32(k), t.issuer)
		if !dup {
			continue
		}
		if sets == nil {
			sets = map[uint32][]uint32{}
		}
		s, ok := sets[first]
		if !ok {
			s = []uint32{t.issuers[first].value}
			setOrder = append(setOrder, first)
		}
		sets[first] = append(s, t.issuers[k].value)
	}
	for _, first := range setOrder {
		s := sets[first]
		t.issuers[first].value = sharedBit | uint32(len(t.issuerSets))
		t.issuerSets = append(t.issuerSets, span{uint32(len(t.issuerIdx)), uint32(len(t.issuerIdx) + len(s))})
		t.issuerIdx = append(t.issuerIdx, s...)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	// Each domain's entry now holds the range of its choices, so that a
	// lookup reads nothing else: lo | n<<32, or, for a route without
	// choices, its route index (n = 0) for the detail of the error.
	t.domains.each(func(off int) {
		if s := t.span(uint32(t.domains.value(off))); s.hi > s.lo {
			t.domains.setValue(off, uint64(s.hi-s.lo)<<32|uint64(s.lo))
		}
	})
	t.domains.compact()
	t.aliases.compact()
	if c := cap(t.conns); c-len(t.conns) > c/8 {
		t.conns = slices.Clone(t.conns)
	}
	return t, nil
}

// span returns the range of conns of route r: an account's own
// connections, or a shared domain's.
func (t *Table) span(r uint32) span {
	if n := uint32(len(t.accounts) - 1); r >= n {
		return t.routes[r-n]
	}
	return span{t.accounts[r].lo, t.accounts[r+1].lo}
}

// accountID, connID and issuer return the ID of account i, of the
// connection conns[i] and the issuer issuers[i], as substrings of the text.
func (t *Table) accountID(i uint32) string {
	s, _ := field(t.text, int(t.accounts[i].text))
	return s
}

func (t *Table) connID(i uint32) string {
	s, _ := field(t.text, int(t.conns[i].text))
	return s
}

func (t *Table) issuer(i uint32) string {
	s, _ := field(t.text, int(t.issuers[i].text))
	return s
}

// choice returns the Choice of c, whose strings are substrings of the text,
// so that it allocates nothing.
func (t *Table) choice(c connRec) Choice {
	acct, o := field(t.text, int(c.account))
	name, _ := field(t.text, o)
	id, o := field(t.text, int(c.text))
	var proto sso.Protocol
	if k := int(t.text[o]); k < len(protocols) {
		proto = protocols[k]
	}
	display, o := field(t.text, o+1)
	logo, o := field(t.text, o)
	module, _ := field(t.text, o)
	if display == "" {
		display = name
	}
	if display == "" {
		display = acct
	}
	return Choice{Account: acct, AccountName: name, Connection: id, Protocol: proto,
		DisplayName: display, LogoURL: logo, Module: module}
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
	n := uint32(len(t.accounts) - 1)
	if r < n {
		return []string{t.accountID(r)}
	}
	var out []string
	for _, a := range t.sharedBy[r-n] {
		out = append(out, t.accountID(a))
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
	s := t.span(r)
	return Route{Key: key, t: t, choices: t.conns[s.lo:s.hi:s.hi]}
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
	return Route{Key: domain, t: t, choices: t.conns[lo:hi:hi]}
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
	if d, ok := normalEmailDomain(email); ok {
		v, found := t.domains.get(d)
		switch {
		case found && v>>32 != 0:
			return t.domainChoices(d, v), nil
		case !found:
			// The address is normalised already and its domain is
			// nobody's: the commonest miss answers without allocating.
			return Route{}, ErrNoSSO
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

// ErrNoSSO is the error [Table.Lookup] returns for an address whose domain
// no account claims when the address was typed in normalised form (the
// commonest miss on a login page). It is one shared value so that a miss
// allocates nothing; it does not repeat the domain, which the caller holds.
// errors.Is(err, sso.ReasonNoSSO) and errors.As(err, new(*sso.Error)) hold
// for it as for every other miss. It must not be modified.
var ErrNoSSO error = &sso.Error{Op: "discovery.Lookup", Reason: sso.ReasonNoSSO,
	Detail: "no account claims the email's domain (a domain that requires proof of ownership routes only once proven)"}

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
	if i, ok := t.aliases.get(n); ok {
		r := t.route(n, uint32(i))
		if len(r.choices) == 0 {
			return Route{}, lookupErr(op, sso.ReasonNoSSO, "account \""+t.accountID(uint32(i))+"\" has no connection yet")
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
	i, ok := t.accountIDs.get(id, t.accountID)
	if !ok {
		return Route{}, lookupErr("discovery.LookupAccount", sso.ReasonAccountNotFound, "no account has the ID "+quoteShort(id))
	}
	return t.route(id, i), nil
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
	var out []connRec
	seen := map[uint32]bool{}
	for _, id := range ids {
		i, ok := t.accountIDs.get(id, t.accountID)
		if !ok || seen[i] {
			continue
		}
		seen[i] = true
		s := t.span(i)
		out = append(out, t.conns[s.lo:s.hi]...)
	}
	if len(out) == 0 {
		return Route{}, lookupErr("discovery.ForAccounts", sso.ReasonNoSSO, "none of the person's accounts has a connection")
	}
	return Route{t: t, choices: out}, nil
}

// Connection returns the connection with the given ID. Error:
// sso.ReasonConnectionNotFound.
func (t *Table) Connection(id string) (Choice, error) {
	i, ok := t.connIDs.get(id, t.connID)
	if !ok {
		return Choice{}, &sso.Error{Op: "discovery.Connection", Reason: sso.ReasonConnectionNotFound, Connection: id,
			Detail: "no account has a connection with this ID"}
	}
	return t.choice(t.conns[i]), nil
}

// LookupIssuer returns the connections whose identity provider has the given
// SAML entity ID or OIDC issuer (compared exactly), for a login the identity
// provider started. Several connections may share an issuer; the host then
// tells them apart by the endpoint the response arrived at, or by
// [Table.LookupModule]. Error: sso.ReasonUnknownIssuer.
func (t *Table) LookupIssuer(issuer string) ([]Choice, error) {
	k, ok := t.issuerIDs.get(issuer, t.issuer)
	if !ok {
		return nil, lookupErr("discovery.LookupIssuer", sso.ReasonUnknownIssuer, "no connection trusts the issuer "+quoteShort(issuer))
	}
	v := t.issuers[k].value
	if v&sharedBit == 0 {
		return []Choice{t.choice(t.conns[v])}, nil
	}
	s := t.issuerSets[v&^sharedBit]
	out := make([]Choice, 0, s.hi-s.lo)
	for _, i := range t.issuerIdx[s.lo:s.hi] {
		out = append(out, t.choice(t.conns[i]))
	}
	return out, nil
}

// LookupModule returns the connection of the given account whose Module
// matches module ignoring the case of ASCII letters only
// ([sso.EqualFoldASCII]): SmartSimple's SSOModule attribute picking one of
// several connections. An empty module picks the account's only
// connection, or else its only connection without a Module.
//
// Errors: sso.ReasonAccountNotFound, sso.ReasonConnectionNotFound.
func (t *Table) LookupModule(account, module string) (Choice, error) {
	const op = "discovery.LookupModule"
	i, ok := t.accountIDs.get(account, t.accountID)
	if !ok {
		return Choice{}, lookupErr(op, sso.ReasonAccountNotFound, "no account has the ID "+quoteShort(account))
	}
	s := t.span(i)
	cs := t.conns[s.lo:s.hi]
	module = strings.TrimSpace(module)
	if module == "" && len(cs) == 1 {
		return t.choice(cs[0]), nil
	}
	found := -1
	for k := range cs {
		if sso.EqualFoldASCII(t.choice(cs[k]).Module, module) {
			if found >= 0 {
				found = -2
				break
			}
			found = k
		}
	}
	if found >= 0 {
		return t.choice(cs[found]), nil
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
