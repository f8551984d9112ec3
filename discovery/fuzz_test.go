package discovery

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

// FuzzTable builds tables from small fuzzed configurations (a few accounts
// with aliases, claimed domains that may be shared or await proof, and
// connections with modules and issuers, drawn from pools of valid, invalid
// and colliding spellings) and compares New and every lookup with a naive
// reference built from Go maps in this file: New must fail exactly when the
// reference finds a conflict, and each Lookup, LookupDomain, LookupAlias,
// LookupAccount, Connection, LookupIssuer, LookupModule and ForAccounts
// answer must be the reference's, choices, key and error Reason alike, for
// a fixed set of queries and for one fuzzed query string.
//
// The reference normalises names with sso.NormalizeEmail,
// sso.NormalizeDomain and normalizeAlias, which have their own tests and
// fuzz targets; everything else (validation, conflicts, shared routes,
// proofs, aliases that are domains, defaults) is written out again here.
func FuzzTable(f *testing.F) {
	tok := poolTokens[1]
	saml := func(id, module string, issuers ...string) Connection {
		return Connection{ID: id, Protocol: sso.ProtocolSAML, Module: module, Issuers: issuers}
	}
	for _, seed := range []struct {
		cfg Config
		q   string
	}{
		{Config{}, "u@acme.example"},
		// One account with a domain, an alias and a connection.
		{Config{Accounts: []Account{{ID: "acme", Name: "Acme Inc", Aliases: []string{"acme"}, Domains: []Domain{{Name: "acme.example"}},
			Connections: []Connection{saml("acme-saml", "", "https://idp.example/1")}}}}, "ACME"},
		// Two accounts share a domain; one's alias is its own domain.
		{Config{Accounts: []Account{
			{ID: "acme", Aliases: []string{"acme.example"}, Domains: []Domain{{Name: "shared.example", Shared: true}, {Name: "ACME.Example."}},
				Connections: []Connection{saml("acme-saml", "SAML2", "https://idp.example/1")}},
			{ID: "beta", Name: "Beta", Domains: []Domain{{Name: "Shared.Example", Shared: true}},
				Connections: []Connection{{ID: "beta-oidc", Protocol: sso.ProtocolOIDC, DisplayName: "Staff login", Issuers: []string{"https://idp.example/1"}}}},
		}}, "x@Shared.Example."},
		// Three accounts share a domain; the alias of one is the shared domain.
		{Config{Accounts: []Account{
			{ID: "acme", Aliases: []string{"shared.example"}, Domains: []Domain{{Name: "shared.example", Shared: true}}},
			{ID: "beta", Domains: []Domain{{Name: "shared.example", Shared: true}}, Connections: []Connection{saml("beta-oidc", "")}},
			{ID: "gamma", Domains: []Domain{{Name: "Shared.Example", Shared: true}}, Connections: []Connection{saml("shared", "Partners")}},
		}}, "shared.example"},
		// Proof required: a verified claim, an unverified one.
		{Config{RequireDomainProof: true, Accounts: []Account{{ID: "beta", Aliases: []string{"beta"},
			Domains:     []Domain{{Name: "beta.example", ProofToken: tok, VerifiedAt: fuzzVerified}, {Name: "acme.example", ProofToken: tok}},
			Connections: []Connection{saml("beta-oidc", "")}}}}, "u@beta.example"},
		// An unproven claim does not conflict with another account's.
		{Config{Accounts: []Account{
			{ID: "acme", Domains: []Domain{{Name: "acme.example", ProofToken: tok}}, Connections: []Connection{saml("acme-saml", "")}},
			{ID: "beta", Aliases: []string{"acme.example"}, Domains: []Domain{{Name: "acme.example"}}, Connections: []Connection{saml("beta-oidc", "")}},
		}}, "acme.example"},
		// Modules and a shared issuer.
		{Config{Accounts: []Account{
			{ID: "acme", Domains: []Domain{{Name: "bücher.example"}}, Connections: []Connection{
				saml("acme-saml", "SAML2", "https://idp.example/1", "https://idp.example/2"), saml("shared", "Partners", "https://idp.example/1"),
				{ID: "beta-oidc", Protocol: sso.ProtocolLDAP, LogoURL: "/logos/a.svg"}}},
			{ID: "gamma", Name: "Beta", Aliases: []string{"a", "xn--bcher-kva"}},
		}}, "saml2"},
	} {
		f.Add(encodeConfig(seed.cfg), seed.q)
	}
	f.Fuzz(func(t *testing.T, b []byte, q string) {
		// Only a prefix is read: Go's fuzzer spends time quadratic in an
		// input's length minimising each new one, and the tail of a long
		// one is cut first and cheaply when it makes no difference.
		b, q = b[:min(len(b), 128)], q[:min(len(q), 64)]
		cfg := genConfig(&gen{b: b})
		ref, refOK := buildReference(cfg)
		tab, err := New(cfg)
		if (err == nil) != refOK {
			t.Fatalf("New = %v; the reference finds the configuration %s\n%s", err, map[bool]string{true: "valid", false: "invalid"}[refOK], describeConfig(cfg))
		}
		if err != nil {
			if !errors.Is(err, sso.ReasonInvalidConfig) {
				t.Fatalf("New error without reason invalid_config: %v", err)
			}
			return
		}
		if tab.Domains() != len(ref.domains) || tab.Unproven() != ref.unproven {
			t.Fatalf("Domains, Unproven = %d, %d; reference %d, %d\n%s", tab.Domains(), tab.Unproven(), len(ref.domains), ref.unproven, describeConfig(cfg))
		}
		check := func(what string, r Route, err error, want refRoute) {
			t.Helper()
			got := refRoute{key: r.Key, choices: nonEmpty(r.Choices()), reason: sso.ReasonOf(err)}
			if err != nil {
				var e *sso.Error
				if !errors.As(err, &e) || e.Detail == "" || r.Len() != 0 {
					t.Fatalf("%s: error %v with %d choices", what, err, r.Len())
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s =\n  %+v\nreference\n  %+v\n%s", what, got, want, describeConfig(cfg))
			}
			if err == nil && !reflect.DeepEqual(r.Accounts(), accountsOf(want.choices)) {
				t.Fatalf("%s: Accounts() = %v, want %v", what, r.Accounts(), accountsOf(want.choices))
			}
		}
		// The names of the configuration, each spelled as configured and
		// in another case, and some that match nothing.
		names := []string{q, "unknown.example", ""}
		for _, a := range cfg.Accounts {
			for _, s := range a.Aliases {
				names = append(names, s, strings.ToUpper(s))
			}
			for _, d := range a.Domains {
				names = append(names, d.Name, strings.ToUpper(d.Name))
			}
		}
		emails := []string{q, "no-at-sign"}
		for _, d := range names[1:] {
			emails = append(emails, "u@"+d)
		}
		for _, e := range emails {
			r, err := tab.Lookup(e)
			check("Lookup("+e+")", r, err, ref.lookup(e))
			if n, err := sso.NormalizeEmail(e); err == nil {
				r, ok := tab.LookupNormalized(n)
				want := ref.lookup(n)
				if ok != (want.reason == "") || !reflect.DeepEqual(nonEmpty(r.Choices()), want.choices) {
					t.Fatalf("LookupNormalized(%s) = %v, %v; reference %+v", n, r.Choices(), ok, want)
				}
			}
		}
		for _, d := range names {
			r, err := tab.LookupDomain(d)
			check("LookupDomain("+d+")", r, err, ref.lookupDomain(d))
			r, err = tab.LookupAlias(d)
			check("LookupAlias("+d+")", r, err, ref.lookupAlias(d))
		}
		ids := []string{q, "nobody"}
		modules := []string{q, "", "saml2"}
		for _, a := range cfg.Accounts {
			ids = append(ids, a.ID)
			for _, c := range a.Connections {
				modules = append(modules, c.Module)
			}
		}
		for _, id := range ids {
			r, err := tab.LookupAccount(id)
			check("LookupAccount("+id+")", r, err, ref.lookupAccount(id))
			for _, m := range modules {
				c, err := tab.LookupModule(id, m)
				want := ref.lookupModule(id, m)
				if got := (refChoice{c, sso.ReasonOf(err)}); !reflect.DeepEqual(got, want) {
					t.Fatalf("LookupModule(%q, %q) = %+v; reference %+v\n%s", id, m, got, want, describeConfig(cfg))
				}
			}
		}
		fr, err := tab.ForAccounts(ids)
		check("ForAccounts", fr, err, ref.forAccounts(ids))
		fr, err = tab.ForAccounts([]string{q, q})
		check("ForAccounts(q, q)", fr, err, ref.forAccounts([]string{q, q}))
		for _, id := range append([]string{q, "nobody"}, poolConnIDs.all()...) {
			c, err := tab.Connection(id)
			if got, want := (refChoice{c, sso.ReasonOf(err)}), ref.connection(id); !reflect.DeepEqual(got, want) {
				t.Fatalf("Connection(%q) = %+v; reference %+v", id, got, want)
			}
		}
		for _, iss := range append([]string{q, "https://unknown.example"}, poolIssuers.all()...) {
			cs, err := tab.LookupIssuer(iss)
			want := ref.issuers[iss]
			wantReason := sso.Reason("")
			if want == nil {
				wantReason = sso.ReasonUnknownIssuer
			}
			if !reflect.DeepEqual(cs, want) || sso.ReasonOf(err) != wantReason {
				t.Fatalf("LookupIssuer(%q) = %+v, %v; reference %+v", iss, cs, err, want)
			}
		}
	})
}

// Pools the generator draws from: valid names, including spellings of the
// same name, and invalid ones, which a byte of 0xf0 or more picks.
type pool[T comparable] struct{ valid, invalid []T }

func (p pool[T]) all() []T { return append(slices.Clone(p.valid), p.invalid...) }

var (
	poolIDs     = pool[string]{[]string{"acme", "beta", "gamma"}, []string{"has space", ""}}
	poolNames   = pool[string]{[]string{"", "Acme Inc", "Beta"}, nil}
	poolAliases = pool[string]{[]string{"acme", "ACME", "beta", "acme.example", "shared.example", "bücher", "xn--bcher-kva", "beta.example", "a"},
		[]string{"-bad", "bad alias"}}
	poolDomains = pool[string]{[]string{"acme.example", "ACME.Example.", "beta.example", "shared.example", "Shared.Example",
		"bücher.example", "xn--bcher-kva.example", "sub.acme.example"}, []string{"not a domain", "localhost", "acme"}}
	poolConnIDs = pool[string]{[]string{"acme-saml", "beta-oidc", "shared"}, []string{"bad id", ""}}
	poolProtos  = pool[sso.Protocol]{[]sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP}, []sso.Protocol{"kerberos"}}
	poolDisplay = pool[string]{[]string{"", "Staff login"}, nil}
	poolLogos   = pool[string]{[]string{"", "https://cdn.example/l.svg", "/logos/a.svg"}, []string{"javascript:alert(1)"}}
	poolModules = pool[string]{[]string{"", "SAML2", "saml2", "Partners"}, []string{" padded"}}
	poolIssuers = pool[string]{[]string{"https://idp.example/1", "https://idp.example/2"}, []string{"", " https://idp.example/1"}}
	// A domain's flags pick its token with bits 1 and 2.
	poolTokens   = []string{"", "0123456789abcdefghij", "short", ""}
	fuzzVerified = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
)

// gen reads a configuration's choices from fuzz bytes; it reads zeros once
// they run out.
type gen struct{ b []byte }

func (g *gen) next() int {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return int(c)
}

func pick[T comparable](g *gen, p pool[T]) T {
	c := g.next()
	if c >= 0xf0 && len(p.invalid) > 0 {
		return p.invalid[(c-0xf0)%len(p.invalid)]
	}
	return p.valid[c%len(p.valid)]
}

// index is the byte pick turns into v.
func (p pool[T]) index(v T) byte {
	if i := slices.Index(p.valid, v); i >= 0 {
		return byte(i)
	}
	if i := slices.Index(p.invalid, v); i >= 0 {
		return byte(0xf0 + i)
	}
	panic(fmt.Sprint("not in the pool: ", v))
}

func genConfig(g *gen) Config {
	var cfg Config
	cfg.RequireDomainProof = g.next()&1 == 1
	for range g.next() % 4 {
		a := Account{ID: pick(g, poolIDs), Name: pick(g, poolNames)}
		for range g.next() % 3 {
			a.Aliases = append(a.Aliases, pick(g, poolAliases))
		}
		for range g.next() % 4 {
			d := Domain{Name: pick(g, poolDomains)}
			flags := g.next()
			d.Shared = flags&1 != 0
			d.ProofToken = poolTokens[flags>>1&3]
			if flags&8 != 0 {
				d.VerifiedAt = fuzzVerified
			}
			a.Domains = append(a.Domains, d)
		}
		for range g.next() % 4 {
			c := Connection{ID: pick(g, poolConnIDs), Protocol: pick(g, poolProtos), DisplayName: pick(g, poolDisplay),
				LogoURL: pick(g, poolLogos), Module: pick(g, poolModules)}
			for range g.next() % 3 {
				c.Issuers = append(c.Issuers, pick(g, poolIssuers))
			}
			a.Connections = append(a.Connections, c)
		}
		cfg.Accounts = append(cfg.Accounts, a)
	}
	return cfg
}

// encodeConfig returns the bytes genConfig turns into cfg, whose values
// must all come from the pools.
func encodeConfig(cfg Config) []byte {
	b := []byte{map[bool]byte{false: 0, true: 1}[cfg.RequireDomainProof], byte(len(cfg.Accounts))}
	for _, a := range cfg.Accounts {
		b = append(b, poolIDs.index(a.ID), poolNames.index(a.Name), byte(len(a.Aliases)))
		for _, s := range a.Aliases {
			b = append(b, poolAliases.index(s))
		}
		b = append(b, byte(len(a.Domains)))
		for _, d := range a.Domains {
			flags := byte(slices.Index(poolTokens, d.ProofToken)) << 1
			if d.Shared {
				flags |= 1
			}
			if !d.VerifiedAt.IsZero() {
				flags |= 8
			}
			b = append(b, poolDomains.index(d.Name), flags)
		}
		b = append(b, byte(len(a.Connections)))
		for _, c := range a.Connections {
			b = append(b, poolConnIDs.index(c.ID), poolProtos.index(c.Protocol), poolDisplay.index(c.DisplayName),
				poolLogos.index(c.LogoURL), poolModules.index(c.Module), byte(len(c.Issuers)))
			for _, iss := range c.Issuers {
				b = append(b, poolIssuers.index(iss))
			}
		}
	}
	return b
}

func describeConfig(cfg Config) string {
	var b strings.Builder
	b.WriteString("configuration:")
	if cfg.RequireDomainProof {
		b.WriteString(" (require_domain_proof)")
	}
	for _, a := range cfg.Accounts {
		b.WriteString("\n  account " + quoteShort(a.ID) + " name " + quoteShort(a.Name) + " aliases " + strings.Join(quoteAll(a.Aliases), ","))
		for _, d := range a.Domains {
			b.WriteString("\n    domain " + quoteShort(d.Name))
			if d.Shared {
				b.WriteString(" shared")
			}
			if d.ProofToken != "" {
				b.WriteString(" token " + quoteShort(d.ProofToken))
			}
			if !d.VerifiedAt.IsZero() {
				b.WriteString(" verified")
			}
		}
		for _, c := range a.Connections {
			b.WriteString("\n    connection " + quoteShort(c.ID) + " " + string(c.Protocol) + " display " + quoteShort(c.DisplayName) +
				" logo " + quoteShort(c.LogoURL) + " module " + quoteShort(c.Module) + " issuers " + strings.Join(quoteAll(c.Issuers), ","))
		}
	}
	return b.String()
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = quoteShort(s)
	}
	return out
}

// reference is the naive table.
type reference struct {
	accounts []Account
	byID     map[string]int   // account ID -> index
	domains  map[string][]int // routable normalised domain -> claiming accounts, in order
	aliases  map[string]int   // normalised alias -> account
	conns    map[string]Choice
	issuers  map[string][]Choice
	unproven int
}

type refRoute struct {
	key     string
	choices []Choice
	reason  sso.Reason
}

type refChoice struct {
	c      Choice
	reason sso.Reason
}

func accountsOf(cs []Choice) []string {
	var out []string
	for i, c := range cs {
		if i == 0 || cs[i-1].Account != c.Account {
			out = append(out, c.Account)
		}
	}
	return out
}

// buildReference validates cfg as the documentation says and builds the
// maps; ok is false when any rule is broken.
func buildReference(cfg Config) (*reference, bool) {
	r := &reference{accounts: cfg.Accounts, byID: map[string]int{}, domains: map[string][]int{}, aliases: map[string]int{},
		conns: map[string]Choice{}, issuers: map[string][]Choice{}}
	ok := true
	type claim struct {
		account int
		shared  bool
	}
	claims := map[string][]claim{}
	connOwner := map[string]int{}
	aliases := make([][]string, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		if !refValidID(a.ID) {
			ok = false
		} else if _, dup := r.byID[a.ID]; dup {
			ok = false
		} else {
			r.byID[a.ID] = i
		}
		seen := map[string]bool{}
		for _, s := range a.Aliases {
			n, valid := normalizeAlias(s)
			switch {
			case !valid, seen[n]:
				ok = false
			default:
				seen[n] = true
				aliases[i] = append(aliases[i], n)
			}
		}
		clear(seen)
		for _, d := range a.Domains {
			n, err := sso.NormalizeDomain(d.Name)
			if err != nil || seen[n] {
				ok = false
				continue
			}
			seen[n] = true
			if d.ProofToken != "" && (len(d.ProofToken) < 16 || len(d.ProofToken) > 128 || strings.Trim(d.ProofToken, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "") {
				ok = false
			}
			if cfg.RequireDomainProof && d.ProofToken == "" {
				ok = false
			}
			if (cfg.RequireDomainProof || d.ProofToken != "") && d.VerifiedAt.IsZero() {
				r.unproven++
				continue
			}
			claims[n] = append(claims[n], claim{i, d.Shared})
		}
		connIDs, modules := map[string]bool{}, map[string]bool{}
		for _, c := range a.Connections {
			if !refValidID(c.ID) || connIDs[c.ID] {
				ok = false
			}
			connIDs[c.ID] = true
			if owner, dup := connOwner[c.ID]; dup && owner != i {
				ok = false
			}
			connOwner[c.ID] = i
			switch c.Protocol {
			case sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP:
			default:
				ok = false
			}
			if c.LogoURL == "javascript:alert(1)" {
				ok = false
			}
			if c.Module != strings.TrimSpace(c.Module) {
				ok = false
			}
			if c.Module != "" {
				if modules[strings.ToLower(c.Module)] {
					ok = false
				}
				modules[strings.ToLower(c.Module)] = true
			}
			issuers := map[string]bool{}
			for _, iss := range c.Issuers {
				if iss == "" || iss != strings.TrimSpace(iss) || issuers[iss] {
					ok = false
				}
				issuers[iss] = true
			}
			if _, dup := r.conns[c.ID]; !dup {
				r.conns[c.ID] = refChoiceOf(a, c)
			}
		}
	}
	for n, cl := range claims {
		for _, c := range cl {
			if len(cl) > 1 && !c.shared {
				ok = false
			}
			r.domains[n] = append(r.domains[n], c.account)
		}
	}
	for i := range cfg.Accounts {
		for _, n := range aliases[i] {
			if owner, dup := r.aliases[n]; dup && owner != i {
				ok = false
				continue
			}
			if claimants, isDomain := r.domains[n]; isDomain && !containsInt(claimants, i) {
				ok = false
				continue
			}
			r.aliases[n] = i
		}
	}
	// An issuer lists its connections in configuration order.
	for _, a := range cfg.Accounts {
		for _, c := range a.Connections {
			done := map[string]bool{}
			for _, iss := range c.Issuers {
				if !done[iss] {
					done[iss] = true
					r.issuers[iss] = append(r.issuers[iss], refChoiceOf(a, c))
				}
			}
		}
	}
	return r, ok
}

// nonEmpty returns nil for an empty list, so that "no choices" compares
// equal however it is represented.
func nonEmpty(cs []Choice) []Choice {
	if len(cs) == 0 {
		return nil
	}
	return cs
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// refValidID: not empty, at most 255 bytes, no spaces (the pools hold no
// control characters or invalid UTF-8).
func refValidID(s string) bool { return s != "" && len(s) <= 255 && !strings.ContainsAny(s, " \t\n") }

func refChoiceOf(a Account, c Connection) Choice {
	display := c.DisplayName
	if display == "" {
		display = a.Name
	}
	if display == "" {
		display = a.ID
	}
	return Choice{Account: a.ID, AccountName: a.Name, Connection: c.ID, Protocol: c.Protocol, DisplayName: display,
		LogoURL: c.LogoURL, Module: c.Module}
}

func (r *reference) accountChoices(i int) []Choice {
	var out []Choice
	for _, c := range r.accounts[i].Connections {
		out = append(out, refChoiceOf(r.accounts[i], c))
	}
	return out
}

// domainRoute is the route of a normalised domain.
func (r *reference) domainRoute(n string) refRoute {
	claimants, ok := r.domains[n]
	if !ok {
		return refRoute{reason: sso.ReasonNoSSO}
	}
	var cs []Choice
	for _, i := range claimants {
		cs = append(cs, r.accountChoices(i)...)
	}
	if len(cs) == 0 {
		return refRoute{reason: sso.ReasonNoSSO}
	}
	return refRoute{key: n, choices: cs}
}

func (r *reference) lookup(email string) refRoute {
	n, err := sso.NormalizeEmail(email)
	if err != nil {
		return refRoute{reason: sso.ReasonInvalidEmail}
	}
	return r.domainRoute(n[strings.LastIndexByte(n, '@')+1:])
}

func (r *reference) lookupDomain(d string) refRoute {
	n, err := sso.NormalizeDomain(d)
	if err != nil {
		return refRoute{reason: sso.ReasonInvalidEmail}
	}
	return r.domainRoute(n)
}

func (r *reference) lookupAlias(s string) refRoute {
	n, ok := normalizeAlias(s)
	if !ok {
		return refRoute{reason: sso.ReasonAccountNotFound}
	}
	if i, ok := r.aliases[n]; ok {
		cs := r.accountChoices(i)
		if len(cs) == 0 {
			return refRoute{reason: sso.ReasonNoSSO}
		}
		return refRoute{key: n, choices: cs}
	}
	if _, ok := r.domains[n]; ok {
		return r.domainRoute(n)
	}
	return refRoute{reason: sso.ReasonAccountNotFound}
}

func (r *reference) lookupAccount(id string) refRoute {
	i, ok := r.byID[id]
	if !ok {
		return refRoute{reason: sso.ReasonAccountNotFound}
	}
	return refRoute{key: id, choices: r.accountChoices(i)}
}

func (r *reference) forAccounts(ids []string) refRoute {
	var cs []Choice
	done := map[int]bool{}
	for _, id := range ids {
		if i, ok := r.byID[id]; ok && !done[i] {
			done[i] = true
			cs = append(cs, r.accountChoices(i)...)
		}
	}
	if len(cs) == 0 {
		return refRoute{reason: sso.ReasonNoSSO}
	}
	return refRoute{choices: cs}
}

func (r *reference) connection(id string) refChoice {
	c, ok := r.conns[id]
	if !ok {
		return refChoice{reason: sso.ReasonConnectionNotFound}
	}
	return refChoice{c: c}
}

// lookupModule: the connection whose module matches without regard to
// case; with no module, the only connection, or else the only one without
// a module.
func (r *reference) lookupModule(account, module string) refChoice {
	i, ok := r.byID[account]
	if !ok {
		return refChoice{reason: sso.ReasonAccountNotFound}
	}
	cs := r.accountChoices(i)
	module = strings.TrimSpace(module)
	if module == "" && len(cs) == 1 {
		return refChoice{c: cs[0]}
	}
	var match []Choice
	for _, c := range cs {
		if strings.EqualFold(c.Module, module) {
			match = append(match, c)
		}
	}
	if len(match) == 1 {
		return refChoice{c: match[0]}
	}
	return refChoice{reason: sso.ReasonConnectionNotFound}
}
