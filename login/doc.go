// Package login is the net/http glue of ssokit: one http.Handler that turns
// an email address, an SSO domain or an identity provider's response into a
// session of the host application. It wires package discovery (which
// connections serve this person), package policy (may this person use a
// password, this connection), the connection's sso.Authenticator (SAML,
// OpenID Connect, LDAP) and package provisioning (which user is this), and
// ends in the host's Sessions.StartSession. ssokit never owns the host's
// session.
//
// # Routes
//
// Relative to Config.BasePath:
//
//	GET  /login                       the email step (?step=password&email=: the password step)
//	POST /login                       email alone: discovery, then single sign-on, the
//	                                  picker, or the password step; step=password: the
//	                                  password step; email and password: the host's
//	                                  password check, then policy
//	GET  /login/sso                   asks for the organisation's SSO domain
//	GET  /login/sso/{domain}          bookmarkable single sign-on of that domain
//	POST /login/start                 the picker's choice of connection
//	GET  /login/test/{connection}     an administrator's test login (?candidate=1: through
//	                                  the connection's Candidate)
//	POST /login/bind                  password of the account a waiting SSO identity is to be linked to
//	POST /login/bind/confirm          the person confirms (or cancels) that link
//	GET  /login/continue              an IdP-initiated login, finished on the handler's own page
//	POST /login/continue              the person's answer before it replaces another user's session
//	GET  /saml/{connection}/metadata  SP metadata (?download for an attachment)
//	POST /saml/{connection}/acs       SAML responses, SP- and IdP-initiated
//	GET|POST /saml/{connection}/slo   SAML single logout messages
//	GET  /oidc/{connection}/callback  OpenID Connect callback
//	GET|POST /ldap/{connection}/login directory email and password form
//	POST /logout                      host logout, then single logout or redirect
//
// The handler works with http.ServeMux and any router: mount it at
// BasePath+"/" (or each of Handler.Routes), with or without
// http.StripPrefix. Its pages are html/template templates the host may
// replace (see DefaultTemplates and the Template* constants).
//
// # The login path
//
//  1. An email (POST /login), an SSO domain (/login/sso/{domain}) or an
//     identity provider's own POST to a connection's ACS starts it.
//  2. Discovery finds the connections by the email's domain only, so the
//     answer never reveals whether a person has an account. Several
//     connections (a domain shared by several accounts, or an account with
//     several identity providers) are offered on the picker. None: the
//     password field.
//  3. Policy filters them: draft connections and password-only accounts are
//     never offered; a testing connection only to its test users.
//  4. The connection's Authenticator runs Begin and Complete.
//  5. An IdP-initiated SAML login arrives at the URL of one connection;
//     an SSOModule attribute may then pick another connection of the same
//     account that trusts the same issuer (SmartSimple's "SSO alias").
//  6. Policy decides with what the identity says; provisioning finds,
//     links or creates the user, and policy decides again with the user as
//     the login would leave them, inside provisioning's transaction, so
//     that a refused login writes nothing. An identity that login binding
//     may link waits for the password of the account and the person's
//     confirmation (see Login binding below). An IdP-initiated login is
//     finished on GET /login/continue, where the host's session cookie
//     comes with the request: when another user is logged in, the person
//     is asked before that session is replaced.
//  7. Sessions.StartSession gets a Result: the user, the identity, and only
//     the account whose connection the login went through. The browser is
//     redirected to the return path.
//
// A password login runs the host's password check first, whoever the email
// belongs to, then policy for each account of the user the password
// proved. A person whose accounts all require single sign-on gets the same
// answer as a wrong password (the login page again, with the single sign-on
// that the email's domain offers): the answer depends only on the email's
// domain and the password's result, so the form tells nobody whether an
// address belongs to a member or whether a password is right for someone
// who may not use it. A password login grants the user's accounts whose
// policy allows a password; the others are listed in Result.Refused.
//
// # Login binding
//
// With provisioning.LoginBinding on, an identity that matches no user is
// linked to an account whose owner proves it here and confirms on a page
// that names both the identity and the account:
//
//   - SSO first: the handler asks for the email and password of the
//     account (POST /login/bind). The password is judged like a password
//     login to the identity's account (a member whom policy lets use a
//     password); every failure gets the same answer, and after
//     Config.MaxBindingTries the waiting identity is dropped. A right
//     password leads to the confirmation (POST /login/bind/confirm).
//   - Password first: a password login records itself in the binding
//     cookie; a single sign-on this browser starts afterwards carries it in
//     its sealed pending login and, if its identity is unknown, goes
//     straight to the confirmation. An IdP-initiated login never uses it.
//
// Identities of IdP-initiated logins are bound only where the connection
// allows it (LoginBinding.AllowIdPInitiated), SSO first: another site can
// post the attacker's own unsolicited response into a victim's browser.
//
// # Cookies
//
// The handler keeps everything a browser needs between two requests in
// that browser, sealed with Config.CookieKeys (see sso.Cookies): each
// pending login in a cookie of its own (at most sso.DefaultMaxFlows per
// browser), and the binding cookie (the last password login for login
// binding, and a pointer to a waiting identity). Sealed values cannot be
// read, changed or forged by the browser; one the handler did not make is
// ignored, never adopted, and every login rewrites the binding cookie. So
// an anonymous login start costs the server nothing, and any replica with
// the same keys completes a login another began. Config.StateStore keeps only
// identities an identity provider proved, while they wait on one of the
// handler's pages.
//
// # Cookie attributes
//
// The SAML identity provider returns the browser with a cross-site POST: a
// SameSite=Lax cookie is not sent on it, so the handler's cookies must be
// SameSite=None, which browsers accept only with Secure. The handler
// therefore sets HttpOnly, Secure, SameSite=None and the __Host- name
// prefix (no sibling subdomain and no plain-http response can set or
// overwrite such a cookie) on https requests, on loopback hosts
// (localhost, *.localhost, 127.0.0.1, ::1: browsers treat these as secure
// contexts and keep Secure cookies on them over plain http, so the demo
// works on http://localhost), and everywhere when Config.SecureCookies is
// set (TLS ending at a proxy). On other plain-http hosts it falls back to
// SameSite=Lax without the prefix, which serves OpenID Connect's top-level
// GET callback and LDAP, but not an SP-initiated SAML login: run SAML over
// https.
//
// # Cross-site request forgery
//
// The handler's own forms (POST /login, /login/start, /login/bind,
// /login/bind/confirm, /login/continue, /ldap/{connection}/login, /logout)
// are checked with Go's
// http.CrossOriginProtection (Sec-Fetch-Site and Origin headers; no tokens).
// The SAML ACS and SLO endpoints are exempt because the identity provider's
// POST is cross-site by design; signatures, audience, destination,
// InResponseTo and the pending login sealed into the browser protect them.
// The confirmation forms also carry a one-time token. Return paths pass
// sso.SafeReturnPath (same-site relative paths only), and request bodies are
// capped (Config.MaxBodyBytes, Config.MaxSAMLBodyBytes).
//
// # Errors, events and logs
//
// A failed login shows Reason.UserMessage, a short reference (also in the
// failure's audit event, Attrs[sso.AttrReference]; provisioning's own
// refusal events get it through provisioning.Request.EventAttrs), the time
// and the account, and a Try again that starts the connection's single
// sign-on again; the Reason and the administrator's Detail appear on the
// page only when the connection is in debug mode (Connection.Debug),
// Config.CanAdminister says the request comes from an administrator of the
// account, or the failure ends a test login an administrator began in this
// browser. A test login's result is an sso.EventTestLogin. Every failure is an audit
// event through Config.Events, those that only show a message on the form
// too (an invalid email, a wrong password, an unknown SSO domain), and a
// logout that could not end a session or start single logout is an
// sso.EventWarning; refusals by the Provisioner are the exception, as it
// reports them itself: pass the same EventFunc as
// provisioning.Config.Events.
// Logs go to Config.Logger, one record per failure with the Reason and the
// error's text, which never holds secrets; identities' attributes are
// logged only in debug mode, and protocol messages never by this package.
package login
