package login

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/saml"
)

// LogoutStarter is implemented by authenticators whose identity provider
// offers single logout: a SAML IdP with a SingleLogoutService, or an OpenID
// provider with an end_session_endpoint when the connection has a
// PostLogoutRedirectURL. After the host's session has ended, the handler
// sends the browser to the identity provider with the returned step.
type LogoutStarter interface {
	StartLogout(ctx context.Context, req LogoutRequest) (*sso.Step, error)
}

// LogoutRequest describes a single logout to start.
type LogoutRequest struct {
	// Identity is the identity of the session that ended, as the host
	// gave it back from Sessions.EndSession.
	Identity *sso.Identity
	// Flows keeps the pending logout until the identity provider answers.
	Flows sso.Flows
	// ReturnTo is the same-site path to land on when the logout completes.
	ReturnTo string
}

// LogoutFinisher is implemented by authenticators that take the identity
// provider's answer to a single logout at the connection's SLO endpoint
// (GET or POST /saml/{connection}/slo).
type LogoutFinisher interface {
	FinishLogout(ctx context.Context, req sso.CompleteRequest) (*LogoutOutcome, error)
}

// LogoutOutcome is what a LogoutFinisher found at the SLO endpoint.
type LogoutOutcome struct {
	// ReturnTo is the same-site path to land on (from a LogoutResponse's
	// RelayState), or "".
	ReturnTo string
	// IdPRequest reports a LogoutRequest from the identity provider: the
	// handler ends the host's session and writes Step, the LogoutResponse
	// back to the identity provider.
	IdPRequest bool
	Step       *sso.Step
}

// logoutStarter returns a's single logout: its own LogoutStarter, or the
// adapter for a *saml.ServiceProvider.
func logoutStarter(a sso.Authenticator) (LogoutStarter, bool) {
	if ls, ok := a.(LogoutStarter); ok {
		return ls, true
	}
	switch c := a.(type) {
	case *saml.ServiceProvider:
		return samlLogout{c}, true
	case *oidc.Connection:
		return oidcLogout{c}, true
	}
	return nil, false
}

// oidcLogout adapts OpenID Connect RP-initiated logout: a redirect to the
// provider's end_session_endpoint with the session's ID token as
// id_token_hint. The provider then returns the browser to the connection's
// PostLogoutRedirectURL; without one, the connection's LogoutRedirectURL
// applies instead, because ending the provider's session for every
// application is a choice the host makes per connection.
type oidcLogout struct{ c *oidc.Connection }

func (o oidcLogout) StartLogout(ctx context.Context, req LogoutRequest) (*sso.Step, error) {
	if o.c.PostLogoutRedirectURL() == "" {
		return nil, &sso.Error{Op: "login.Logout", Reason: sso.ReasonLogoutNotSupported, Connection: o.c.ID(),
			Detail: "the connection has no PostLogoutRedirectURL, so it does not log out at the provider"}
	}
	lr := oidc.LogoutRequest{IDTokenHint: req.Identity.IDToken}
	if lr.IDTokenHint == "" {
		lr.LogoutHint = req.Identity.Email
	}
	return o.c.Logout(ctx, lr)
}

// logoutFinisher is logoutStarter for the SLO endpoint.
func logoutFinisher(a sso.Authenticator) (LogoutFinisher, bool) {
	if lf, ok := a.(LogoutFinisher); ok {
		return lf, true
	}
	if sp, ok := a.(*saml.ServiceProvider); ok {
		return samlLogout{sp}, true
	}
	return nil, false
}

// samlLogout adapts a SAML connection's single logout: a LogoutRequest
// for the session's NameID and SessionIndex, and its LogoutResponse at
// the connection's SLOURL (which must be BasePath/saml/{connection}/slo).
type samlLogout struct{ sp *saml.ServiceProvider }

func (s samlLogout) StartLogout(ctx context.Context, req LogoutRequest) (*sso.Step, error) {
	lr := saml.LogoutRequestFor(req.Identity, "", req.ReturnTo)
	lr.Flows = req.Flows
	return s.sp.Logout(ctx, lr)
}

func (s samlLogout) FinishLogout(ctx context.Context, req sso.CompleteRequest) (*LogoutOutcome, error) {
	res, err := s.sp.CompleteLogout(ctx, req)
	if err != nil {
		return nil, err
	}
	return &LogoutOutcome{ReturnTo: res.ReturnTo}, nil
}

// logout serves POST /logout: the host's session ends first; then single
// logout at the identity provider where the connection has it, else the
// connection's logout redirect URL, else Config.LogoutReturnPath.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.checkOrigin(w, r) || !h.parseForm(w, r, h.cfg.MaxBodyBytes, "") {
		return
	}
	ctx := r.Context()
	id, err := h.cfg.Sessions.EndSession(w, r)
	if err != nil {
		h.record(ctx, &failure{event: sso.EventWarning, err: &sso.Error{Op: "login.Logout", Reason: sso.ReasonInternal, Detail: "the application could not end its session", Err: err}})
	}
	target := h.cfg.LogoutReturnPath
	if id != nil && id.Connection != "" {
		if entry, ok := h.cfg.Connections.Connection(id.Connection); ok {
			if ls, ok := logoutStarter(entry.Authenticator); ok {
				step, err := ls.StartLogout(ctx, LogoutRequest{Identity: id, Flows: h.cookies.Flows(w, r), ReturnTo: target})
				if err == nil {
					if err := step.Write(w, r); err != nil {
						h.log.LogAttrs(ctx, slog.LevelError, "logout: writing the step failed", slog.String("error", err.Error()))
					}
					return
				}
				if sso.ReasonOf(err) != sso.ReasonLogoutNotSupported {
					// The session here has ended; the identity provider's
					// goes on. The administrator learns why.
					h.record(ctx, &failure{event: sso.EventWarning, connection: id.Connection, subject: id.Subject, err: err,
						attrs: map[string]string{"logout": "single logout could not start"}})
				}
			}
			if entry.LogoutRedirectURL != "" {
				target = entry.LogoutRedirectURL
			}
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// samlSLO serves GET and POST /saml/{connection}/slo: the identity
// provider's LogoutResponse (or its own LogoutRequest). Like the ACS it is
// exempt from the origin check: the identity provider's POST is
// cross-site by design.
func (h *Handler) samlSLO(w http.ResponseWriter, r *http.Request) {
	entry, ok := h.connection(w, r, sso.ProtocolSAML)
	if !ok || !h.parseForm(w, r, h.cfg.MaxSAMLBodyBytes, entry.Authenticator.ID()) {
		return
	}
	ctx := r.Context()
	conn := entry.Authenticator.ID()
	lf, ok := logoutFinisher(entry.Authenticator)
	if !ok {
		h.fail(w, r, failure{connection: conn, event: sso.EventWarning, err: &sso.Error{Op: "login.Logout", Reason: sso.ReasonLogoutNotSupported, Connection: conn,
			Detail: "the connection does not handle single logout messages"}})
		return
	}
	out, err := lf.FinishLogout(ctx, sso.CompleteRequest{Flows: h.cookies.Flows(w, r), Params: r.Form, RawQuery: rawQuery(r)})
	if err != nil {
		h.fail(w, r, failure{connection: conn, event: sso.EventWarning, err: err})
		return
	}
	if out.IdPRequest {
		if _, err := h.cfg.Sessions.EndSession(w, r); err != nil {
			h.record(ctx, &failure{event: sso.EventWarning, connection: conn, err: &sso.Error{Op: "login.Logout", Reason: sso.ReasonInternal, Connection: conn,
				Detail: "the identity provider asked for a logout but the application could not end its session", Err: err}})
		}
		if out.Step != nil {
			if err := out.Step.Write(w, r); err != nil {
				h.log.LogAttrs(ctx, slog.LevelError, "logout: writing the step failed", slog.String("error", err.Error()))
			}
			return
		}
	}
	target := h.cfg.LogoutReturnPath
	if p := returnPath(out.ReturnTo); p != "" {
		target = p
	}
	if entry.LogoutRedirectURL != "" {
		target = entry.LogoutRedirectURL
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
