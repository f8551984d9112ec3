// Package host holds the parts of the examples that belong to the host
// application, not to ssokit: its password table, its server-side session,
// its start page and /me endpoint, an audit log, and serving on a loopback
// address. App puts them together around ssokit's login handler, so that
// each example's main.go keeps what its scenario is about: its identity
// providers, its accounts (login.Registry) and its users.
//
// Real applications have their own versions of all of this. What matters
// for ssokit is the shape: login.PasswordChecker for the password check,
// login.Sessions for the session (ssokit never owns it), and an
// sso.EventFunc for the audit log. examples/minimal shows them without
// this package.
package host
