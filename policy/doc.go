// Package policy decides who may log in how to an account: with a password,
// through which single sign-on connection, and whether that login satisfies
// the account's second factor. It also guards policy changes so that no change
// leaves an account without an administrator who can still log in.
//
// The package is pure: it does no I/O, keeps no state and reads no clock.
// Every function takes the account's [Policy] and the facts about the person
// ([User]) as plain values, so a host can keep policies wherever it keeps its
// configuration (a JSON file, a database row) and call the functions from any
// goroutine. It imports no protocol package.
//
// # Rules
//
// An account's [Mode] is one of:
//
//   - [ModePasswordOnly] (the zero value): passwords only, single sign-on is off.
//   - [ModeSSOOptional]: both work. This is the testing stage: an
//     organisation tries its connection while passwords keep working.
//   - [ModeSSORequired]: the users in the policy's [Scope] must use single
//     sign-on; their password logins are refused with sso.ReasonSSORequired.
//
// The [Scope] of the requirement is all users (the default), users whose email
// domain is listed (so that external users such as assessors keep their
// password), or users holding one of the listed roles.
//
// [Policy.AdminsMayUsePassword] is the administrators' break-glass: "account
// administrators can log in with password" even where single sign-on is
// required, so that a broken identity provider cannot lock them out.
//
// [Policy.DryRun], together with ModeSSORequired, runs the requirement in
// report-only mode: password logins that would be refused are allowed, and
// their [Decision] has DryRunRefusal set and an event of type
// sso.EventPolicyDryRunRefusal (see [Decision.Event]) for the host's log, so
// administrators see the effect before enforcing it. [WouldRefuse] computes
// the same list up front from the account's users.
//
// Each single sign-on [Connection] of the account has a [Stage]: a draft
// connection refuses every login, a testing connection accepts only its named
// test users, and a live connection accepts everyone. A login through a
// connection the policy does not list is refused, so that a login through one
// account's identity provider never grants another account.
//
// # Decisions
//
// [Decide] takes the policy, the user and the login [Method] and returns a
// [Decision]: whether the login is allowed, the sso.Reason when not, and the
// [Rule] that decided. [NeedsReauth] tells whether a person who logged in one
// way may switch to another account without logging in again.
//
// A login page decides twice. Before the login it knows only what the
// person typed: Decide with User{Email: typed} tells which of the
// connections that package discovery found to offer (a testing connection
// only to its test users) and whether to show the password field. After the
// identity provider answered, Decide again with the facts of the person the
// login resolved to (the host's user, or the identity's email before the
// user exists), because what was typed proves nothing.
//
// # Changes and lockout prevention
//
// [Update] validates a new policy against the old one and the account's
// administrators. It refuses, with sso.ReasonWouldLockOut, a change after
// which no administrator could log in: for example requiring single sign-on
// without the break-glass before any administrator has completed a login
// through a live connection. It records when and by whom each connection went
// live, and returns a [Change] whose [Change.Events] are the audit events
// (sso.EventPolicyChanged, sso.EventConnectionLive,
// sso.EventConnectionChanged).
//
// # Configuration as JSON
//
// A Policy marshals to and from JSON:
//
//	{
//	  "account": "acme",
//	  "mode": "sso_required",
//	  "scope": {"kind": "email_domains", "domains": ["acme.example"]},
//	  "admins_may_use_password": true,
//	  "connections": [
//	    {"id": "acme-entra", "stage": "live"},
//	    {"id": "acme-okta", "stage": "testing", "test_user_emails": ["olly@acme.example"]}
//	  ]
//	}
package policy
