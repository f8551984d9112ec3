package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/sso"
)

// Config is the whole routing configuration: every account with its
// aliases, claimed domains and connections. It marshals to and from JSON.
type Config struct {
	// Accounts lists the accounts.
	Accounts []Account `json:"accounts"`
	// RequireDomainProof makes every claimed domain route only once its
	// ownership is proven by a DNS TXT record (see [VerifyDomain]), as if
	// each had a ProofToken. Each domain then needs a ProofToken.
	RequireDomainProof bool `json:"require_domain_proof,omitempty"`
}

// Account is a customer tenant and how its people find their connections.
type Account struct {
	// ID is the account's ID in the application (unique, at most 255 bytes).
	ID string `json:"id"`
	// Name is shown to people choosing among accounts.
	Name string `json:"name,omitempty"`
	// Aliases are the SSO domains people type at /login/sso or use in
	// /login/sso/{alias}, e.g. "acme" or "acme.example". They are
	// normalised like domain names (lower case, IDNA ASCII form) but need
	// no dot, and each names exactly one account.
	Aliases []string `json:"aliases,omitempty"`
	// Domains are the email domains the account claims: an email address
	// at one of them routes to this account's connections.
	Domains []Domain `json:"domains,omitempty"`
	// Connections are the account's single sign-on connections, in the
	// order people are offered them.
	Connections []Connection `json:"connections,omitempty"`
}

// Domain is an email domain claimed by an account.
type Domain struct {
	// Name is the domain, e.g. "acme.example" or "bücher.example". Only the
	// exact domain is claimed, not its subdomains.
	Name string `json:"name"`
	// Shared lets other accounts claim the same domain: its people then
	// choose among the accounts. A domain claimed by several accounts must
	// be marked Shared by each of them.
	Shared bool `json:"shared,omitempty"`
	// ProofToken, when set, makes the domain route only once its owner has
	// published the TXT record "ssokit-verification=<token>" at
	// _ssokit.<name> or at <name> and VerifiedAt records it (see
	// [VerifyDomain] and [ProveDomains]). Generate it with [NewProofToken].
	ProofToken string `json:"proof_token,omitempty"`
	// VerifiedAt is when the ownership proof was found; zero when never.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

// UnmarshalJSON accepts a plain string ("acme.example") as well as an object.
func (d *Domain) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*d = Domain{Name: s}
		return nil
	}
	type plain Domain
	return json.Unmarshal(b, (*plain)(d))
}

// needsProof reports whether d routes only once proven.
func (d *Domain) needsProof(all bool) bool { return all || d.ProofToken != "" }

// Connection is what discovery knows of one single sign-on connection: how
// to offer it and how to recognise its identity provider. Its protocol
// settings live in the protocol package's own configuration.
type Connection struct {
	// ID is the connection ID, unique across the application (at most 255 bytes).
	ID string `json:"id"`
	// Protocol is "saml", "oidc" or "ldap".
	Protocol sso.Protocol `json:"protocol"`
	// DisplayName is shown on the connection's button; it defaults to the
	// account's Name, or its ID.
	DisplayName string `json:"display_name,omitempty"`
	// LogoURL is an https URL or a same-site path ("/logos/acme.svg").
	LogoURL string `json:"logo_url,omitempty"`
	// Issuers are the identity provider's SAML entity IDs or OIDC issuer
	// URLs, compared exactly, for logins the identity provider starts.
	// Several connections may share an issuer (one IdP tenant serving
	// several accounts).
	Issuers []string `json:"issuers,omitempty"`
	// Module is the value of the SSOModule attribute (SmartSimple's "SSO
	// alias", e.g. "SAML2") that selects this connection among its
	// account's connections; compared ignoring the case of ASCII letters
	// only (the Kelvin sign U+212A is not "k").
	Module string `json:"module,omitempty"`
}

// maxErrors bounds the number of problems reported at once.
const maxErrors = 20

// problems collects configuration errors as *sso.Error values.
type problems struct {
	op   string
	errs []error
	more int
}

func (p *problems) add(format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.more++
		return
	}
	p.errs = append(p.errs, &sso.Error{Op: p.op, Reason: sso.ReasonInvalidConfig, Detail: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if p.more > 0 {
		p.errs = append(p.errs, &sso.Error{Op: p.op, Reason: sso.ReasonInvalidConfig,
			Detail: fmt.Sprintf("and %d more problems", p.more)})
	}
	return errors.Join(p.errs...)
}

// Validate checks the connection's own fields. Problems are *sso.Error values
// with sso.ReasonInvalidConfig that name the field and the fix.
func (c *Connection) Validate() error {
	p := problems{op: "discovery.Connection.Validate"}
	c.check(&p, "")
	return p.err()
}

func (c *Connection) check(p *problems, where string) {
	if !validID(c.ID) {
		p.add("%sconnection id %q is empty, too long or has spaces or control characters; use a short stable ID like \"acme-entra\"", where, c.ID)
	}
	at := fmt.Sprintf("%sconnection %q: ", where, c.ID)
	switch c.Protocol {
	case sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP:
	default:
		p.add("%sprotocol %q is unknown; use %q, %q or %q", at, c.Protocol, sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP)
	}
	if c.LogoURL != "" && !safeLogo(c.LogoURL) {
		p.add("%slogo_url %q is not an https URL or a same-site path; use e.g. \"https://cdn.example/logo.svg\" or \"/logos/acme.svg\"", at, c.LogoURL)
	}
	seen := map[string]bool{}
	for _, iss := range c.Issuers {
		switch {
		case strings.TrimSpace(iss) != iss || iss == "" || !utf8.ValidString(iss):
			p.add("%sissuer %q is empty or has surrounding spaces; copy the entity ID or issuer URL exactly", at, iss)
		case seen[iss]:
			p.add("%sissuer %q is listed twice; remove one", at, iss)
		}
		seen[iss] = true
	}
	if c.Module != "" && strings.TrimSpace(c.Module) != c.Module {
		p.add("%smodule %q has surrounding spaces; remove them", at, c.Module)
	}
}

// validID reports whether s is usable as an account or connection ID.
func validID(s string) bool {
	if s == "" || len(s) > maxKeyLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func safeLogo(s string) bool {
	if strings.HasPrefix(s, "/") {
		_, ok := sso.SafeReturnPath(s)
		return ok
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// Validate checks the account's own fields: its ID, aliases, domains and
// connections, and that none is listed twice within the account. Conflicts
// between accounts are found by [Config.Validate] and [New]. Problems are
// *sso.Error values with sso.ReasonInvalidConfig that name the field and the
// fix.
func (a *Account) Validate() error {
	p := problems{op: "discovery.Account.Validate"}
	a.check(&p, false)
	return p.err()
}

// checked is an account's normalised names, in configuration order; invalid
// entries are "".
type checked struct {
	aliases []string
	domains []string
}

func (a *Account) check(p *problems, requireProof bool) checked {
	var out checked
	if !validID(a.ID) {
		p.add("account id %q is empty, too long or has spaces or control characters; use a short stable ID", a.ID)
	}
	at := fmt.Sprintf("account %q: ", a.ID)
	seen := map[string]string{}
	out.aliases = make([]string, len(a.Aliases))
	for i, s := range a.Aliases {
		n, ok := normalizeAlias(s)
		if !ok {
			p.add("%salias %q is not a valid SSO domain; use letters, digits, hyphens and dots, e.g. \"acme\" or \"acme.example\"", at, s)
			continue
		}
		if prev, dup := seen[n]; dup {
			p.add("%salias %q is the same as %q; remove one", at, s, prev)
			continue
		}
		seen[n] = s
		out.aliases[i] = n
	}
	clear(seen)
	out.domains = make([]string, len(a.Domains))
	for i := range a.Domains {
		d := &a.Domains[i]
		n, err := normalizeDomain(d.Name)
		if err != nil {
			p.add("%sdomain %q is not a valid email domain; write it like \"example.com\", without @ or subdomain wildcards", at, d.Name)
			continue
		}
		if prev, dup := seen[n]; dup {
			p.add("%sdomain %q is the same as %q; remove one", at, d.Name, prev)
			continue
		}
		seen[n] = d.Name
		out.domains[i] = n
		if d.ProofToken != "" && !validToken(d.ProofToken) {
			p.add("%sdomain %q: proof_token must be %d to %d letters, digits, '-' or '_'; generate one with discovery.NewProofToken",
				at, d.Name, minTokenLen, maxTokenLen)
		}
		if requireProof && d.ProofToken == "" {
			p.add("%sdomain %q has no proof_token, but require_domain_proof is set; generate one with discovery.NewProofToken and have the domain's owner publish it",
				at, d.Name)
		}
	}
	ids := map[string]bool{}
	modules := map[string]string{}
	for i := range a.Connections {
		c := &a.Connections[i]
		c.check(p, at)
		if ids[c.ID] {
			p.add("%sconnection %q is listed twice; remove one", at, c.ID)
		}
		ids[c.ID] = true
		if c.Module != "" {
			// Coarser than LookupModule's ASCII-only match on purpose:
			// modules that differ only by case in any script are refused
			// as duplicates.
			k := strings.ToLower(c.Module)
			if prev, dup := modules[k]; dup {
				p.add("%sconnections %q and %q have the same module %q; the SSOModule value must pick one connection", at, prev, c.ID, c.Module)
			}
			modules[k] = c.ID
		}
	}
	return out
}

// Validate checks every account and the conflicts between them: duplicate
// account or connection IDs, an alias of two accounts, an alias that is
// another account's claimed domain, and a domain claimed by several accounts
// that not all mark Shared. It returns nil or an error joining one
// *sso.Error (sso.ReasonInvalidConfig) per problem; errors.Is(err,
// sso.ReasonInvalidConfig) holds.
func (c *Config) Validate() error {
	_, err := compile(c, "discovery.Config.Validate")
	return err
}
