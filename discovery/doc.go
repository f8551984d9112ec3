// Package discovery finds the single sign-on connections that serve a
// person: from the email address they type, from the SSO domain alias of
// /login/sso/{alias}, from the issuer of a login their identity provider
// started, or from the accounts the host knows them to belong to.
//
// It works on plain configuration ([Config]: accounts with their aliases,
// claimed email domains and connections) and imports no protocol package.
//
// # Tables and reloads
//
// [New] validates a Config and compiles it into an immutable [Table]: all
// normalisation (IDNA, lower case) and validation happen once, so a lookup
// does no parsing, and the lookup of a normalised email allocates nothing.
// Email domains live in a compact open-addressing hash table over one byte
// arena; every account's and connection's strings are kept once in another
// and read on demand, so that a table of a million domains over 250,000
// accounts takes well under 100 bytes per domain in all.
// A [Router] holds the current Table behind an atomic pointer; Reload builds
// a new one aside and swaps it in, so logins never wait for a reload, and an
// invalid configuration leaves the current table serving.
//
// # Routing rules
//
//   - An email routes by its domain alone, so an answer never reveals whether
//     a person has an account: an unknown address at a claimed domain gets
//     the same route as a known one.
//   - A domain routes to one account unless several accounts claim it and
//     each marks its claim Shared; its people then choose among them.
//     Subdomains are not claimed with their parent.
//   - A [Route] lists [Choice] values (account, connection, display name,
//     logo): one per connection of the matching account(s). More than one
//     means the login page offers a choice.
//   - An alias names exactly one account. An alias that is no account's but
//     is a claimed domain routes like the domain, so /login/sso/acme.example
//     works without configuring the alias twice.
//   - An issuer (SAML entity ID, OIDC issuer) may be shared by several
//     connections; the SSOModule value picks one connection among an
//     account's ([Table.LookupModule]).
//   - [Table.ForAccounts] lists the connections of the accounts a person
//     belongs to, for the host that knows them (several accounts with
//     different identity providers).
//
// Discovery only knows the configuration. Whether a connection is still a
// draft or being tested, and whether a person must use it, is package
// policy's business; a login page filters the choices with it.
//
// # Domain ownership proof
//
// A claimed domain with a ProofToken (or every domain, with
// Config.RequireDomainProof) routes only once its ownership is proven: its
// owner publishes the DNS TXT record
//
//	_ssokit.acme.example.  IN TXT  "ssokit-verification=<token>"
//
// (or the same record at acme.example itself), the host runs
// [VerifyDomain] or [ProveDomains] with a [Resolver] (net.DefaultResolver,
// or a fake in tests) and stores the resulting VerifiedAt with its
// configuration. Unproven claims are validated but do not route, and do not
// conflict with other accounts' claims, so nobody can block a domain by
// claiming it first.
//
// # Configuration as JSON
//
//	{
//	  "accounts": [{
//	    "id": "acme", "name": "Acme",
//	    "aliases": ["acme"],
//	    "domains": ["acme.example", {"name": "acme-group.example", "shared": true}],
//	    "connections": [{
//	      "id": "acme-entra", "protocol": "saml", "display_name": "Acme staff",
//	      "issuers": ["https://sts.windows.net/0b0c.../"], "module": "SAML2"
//	    }]
//	  }]
//	}
package discovery
