package sso

import "context"

// LogoutStarter is implemented by Authenticators whose identity provider
// offers single logout: a SAML IdP with a SingleLogoutService, an OpenID
// provider with an end_session_endpoint. After the application's own
// session has ended, StartLogout returns the step that sends the browser
// to the identity provider, or an error matching ReasonLogoutNotSupported
// when the connection does not log out there.
type LogoutStarter interface {
	StartLogout(ctx context.Context, req LogoutRequest) (*Step, error)
}

// LogoutRequest describes a single logout to start.
type LogoutRequest struct {
	// Identity is the identity of the session that ended, as the login
	// returned it.
	Identity *Identity
	// Flows keeps the pending logout until the identity provider answers,
	// as BeginRequest.Flows does for a login.
	Flows Flows
	// ReturnTo is the same-site path to land on afterwards.
	ReturnTo string
}

// LogoutFinisher is implemented by Authenticators that take what the
// identity provider sends to the application's single logout endpoint:
// its answer to a logout the application started (StartLogout), or a
// logout it started itself, e.g. because the person logged out at another
// application. For the latter FinishLogout checks the message, calls end
// to end the sessions it names, and returns in LogoutOutcome.Response
// the answer to send back. A message that fails its checks returns an
// *Error and ends nothing.
type LogoutFinisher interface {
	FinishLogout(ctx context.Context, req CompleteRequest, end EndSessionsFunc) (*LogoutOutcome, error)
}

// EndSessionsFunc ends the application's sessions whose single sign-on
// login identity (as the login returned it) matches reports true, and
// reports whether some of them could not be ended (partial) or whether it
// failed. A nil EndSessionsFunc ends nothing, and the identity provider
// is told that the logout failed.
type EndSessionsFunc func(ctx context.Context, matches func(*Identity) bool) (partial bool, err error)

// LogoutOutcome is what arrived at the single logout endpoint.
type LogoutOutcome struct {
	// ReturnTo is the same-site path the logout this application started
	// lands on, or "".
	ReturnTo string
	// Response, for a logout the identity provider started, is the step
	// that carries the answer back to it; write it to the browser.
	Response *Step
	// Ended reports, for a logout the identity provider started, that end
	// ran without error; Partial that it could not end every session.
	Ended, Partial bool
}
