// Package sso is the root of ssokit, an embeddable library that lets a Go web
// application offer enterprise single sign-on to the organisations it serves:
// SAML 2.0, OpenID Connect and LDAP behind one [Authenticator] interface, plus
// the parts every business application otherwise writes by hand: finding the
// right connection from an email address (package discovery), deciding who may
// still use a password (package policy) and matching or creating the
// application's user from what the identity provider said (package
// provisioning).
//
// This package holds the few types every other package shares:
//
//   - [Identity]: what a connection proved about a person.
//   - [Authenticator]: one configured connection of one [Protocol]. Redirect
//     protocols (SAML, OIDC) Begin with a redirect or an auto-submitting form
//     and Complete from the browser's return; LDAP Begins with a password
//     prompt and Completes from the submitted credentials.
//   - [Error] with a stable machine-readable [Reason]. Every Reason is also a
//     sentinel for [errors.Is]: errors.Is(err, sso.ReasonReplayed).
//   - [Flows] keep each pending login between Begin and Complete, bound to
//     the browser that started it: [Cookies.Flows] seals it into a cookie of
//     that browser ([Sealer], XChaCha20-Poly1305 with rotating keys), so
//     the server keeps nothing for an anonymous login start; [StoreFlows]
//     keeps it in a [StateStore] under a browser binding.
//   - [ReplayCache] for one-time values (SAML assertion IDs, OIDC codes and
//     nonces), written only for what an identity provider signed or a token
//     endpoint accepted. [MemoryStateStore] and [MemoryReplayCache] are
//     bounded, expiring in-memory implementations that refuse new entries
//     when full ([ReasonStoreFull]) rather than forget unexpired ones;
//     package ssotest has conformance tests for durable ones.
//   - [Secret], a string that redacts itself when printed or logged.
//   - [Event], the audit and warning events every package reports through an
//     [EventFunc] the host supplies.
//
// # Packages
//
//	sso            this package: shared types
//	saml           SAML 2.0 service provider (gosaml2 + goxmldsig)
//	saml/samltest  in-process SAML identity provider for tests and demos
//	oidc           OpenID Connect relying party (zitadel/oidc)
//	oidc/oidctest  in-process OpenID provider for tests and demos
//	ldap           LDAP password authenticator (go-ldap)
//	ldap/ldaptest  in-process LDAP directory for tests
//	discovery      email, domain alias or IdP entity ID to account(s) and connection(s)
//	policy         who may log in how, lockout prevention
//	provisioning   Identity to the application's user: link, JIT, binding, updates
//	login          net/http handler wiring all of the above
//	cmd/ssocheck   admin and debugging command
//
// Protocol packages never import each other, nor discovery, policy,
// provisioning or login, so an application may use one of them alone.
//
// # Conventions
//
// Every package follows the same rules: a Config struct with Validate, a
// constructor New(cfg) that does all parsing (certificates, metadata, keys)
// once, context.Context first on every call that may do I/O, a clock injected
// as Now func() time.Time, and types that are safe for concurrent use unless
// their documentation says otherwise. Security checks are closed by default;
// every option that loosens one is per connection and named for what it does.
package sso
