// Package provisioning turns what an SSO connection proved about a person
// (an *sso.Identity) into the application's user: it finds the user by an
// existing link, by an identifier an administrator set, or by email; creates
// it just in time; or binds the identity to the user of a password login in
// the same browser. It keeps names, roles and organisation up to date from
// the identity provider's attributes when the connection asks for it.
//
// It imports only the root package, and works on plain values: the account's
// ID and claimed email domains, and the connection's provisioning settings,
// given with each [Request].
//
// # Users, accounts and stores
//
// A [User] is one person; a [Membership] makes a user a member of an account
// (tenant) with a status, an [Organisation] and roles. A person may be a
// member of several accounts; an SSO login grants only the account whose
// connection it went through ([Result.Accounts]). Each role is a [RoleGrant]
// that records its source, so a sync from the identity provider removes only
// the roles the identity provider granted, never those an administrator gave.
//
// The [Store] interface is what the host implements over its own users
// table, or it uses [MemoryStore] or store/sqlstore (SQLite, PostgreSQL).
// Every change of one login is made in one [Store.Tx] transaction, so a
// failed login leaves no half-created user, organisation or link.
// Package provisioning/storetest has a conformance test for implementations.
//
// # The match order
//
// [Provisioner.Provision] refuses an email outside the account's claimed
// domains (unless the connection allows it), then tries in order: an existing
// link of (connection, subject); a member whose SSO identifier equals the
// identity's identifier (case-sensitive; email, subject or a named attribute);
// a user with the same email (by [EmailKey]: the case of ASCII letters is
// ignored, every other character must match). Whatever ties the identity
// to an existing user by an email (the email match, or an SSO identifier
// that is the email) links automatically only when the account claims the
// email's domain and the identity provider vouches for the email, because
// linking on an unvouched email hands the user's account to whoever controls
// that address at the identity provider. Then come
// just-in-time creation and login binding. Otherwise the login is refused with
// sso.ReasonUserNotProvisioned (or sso.ReasonLinkRequiresProof when a user was
// found but may not be linked without proof).
//
// # Login binding
//
// With [LoginBinding] on, an SSO identity that matches no user may be linked
// to a user who proves, with the host's password, to be the person at the
// same browser and confirms the link on a page that names both sides.
// Provision refuses such an identity with an error that also matches
// [ErrBindingPossible]; package login runs the exchange (password,
// confirmation, or a password login made in the same browser just before
// an SP-initiated login it started) and provisions again with
// Request.BindTo. Identities of IdP-initiated logins are bound only where
// the connection allows it (LoginBinding.AllowIdPInitiated). The caveat:
// the identity is bound to whoever proves a password and confirms, who need
// not be the person who authenticated at the identity provider (see
// [LoginBinding]).
//
// # Refused logins write nothing
//
// Every change of one login is made in one store transaction, and
// Request.Authorize (the account's policy, in package login) decides with
// the user as the login would leave them before the transaction commits:
// a refused login, whatever refused it, creates, links and updates nothing.
//
// # Previews
//
// [Provisioner.Preview] tells what Provision would do for an identity (the
// match, the user that would be created, linked or updated, or the Reason
// of the refusal) without changing anything, for an administrator's test
// login.
//
// # Events
//
// Config.Events receives login_succeeded and login_failed (with the Reason),
// user_created, user_linked, user_updated and organisation_created, after the
// login's transaction committed.
//
// A [Provisioner] and a [MemoryStore] are safe for concurrent use.
package provisioning
