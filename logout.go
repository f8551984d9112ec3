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
// identity provider sends to the application's single logout endpoint.
type LogoutFinisher interface {
	FinishLogout(ctx context.Context, req CompleteRequest) (*LogoutOutcome, error)
}

// LogoutOutcome is what arrived at the single logout endpoint.
type LogoutOutcome struct {
	// ReturnTo is the same-site path the logout this application started
	// lands on, or "".
	ReturnTo string
}
