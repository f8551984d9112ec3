package login

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ssokit/sso"
)

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
		if entry, ok := h.entry(id.Connection); ok {
			if ls, ok := entry.Authenticator.(sso.LogoutStarter); ok {
				step, err := ls.StartLogout(ctx, sso.LogoutRequest{Identity: id, Flows: h.cookies.Flows(w, r), ReturnTo: target})
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
	lf, ok := entry.Authenticator.(sso.LogoutFinisher)
	if !ok {
		h.fail(w, r, failure{connection: conn, event: sso.EventWarning, err: &sso.Error{Op: "login.Logout", Reason: sso.ReasonLogoutNotSupported, Connection: conn,
			Detail: "the connection does not handle single logout messages"}})
		return
	}
	var end sso.EndSessionsFunc
	ender, canEnd := h.cfg.Sessions.(SessionEnder)
	if canEnd {
		end = func(ctx context.Context, matches func(*sso.Identity) bool) (bool, error) {
			return ender.EndSessions(ctx, conn, matches)
		}
	}
	out, err := lf.FinishLogout(ctx, sso.CompleteRequest{Flows: h.cookies.Flows(w, r), Params: r.Form, RawQuery: rawQuery(r)}, end)
	if err != nil {
		h.fail(w, r, failure{connection: conn, event: sso.EventWarning, err: err})
		return
	}
	if out.Response != nil {
		// The identity provider's own logout: its answer goes back to it.
		switch {
		case out.Ended:
			h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLogout, Time: h.now(), Account: entry.account, Connection: conn,
				Detail: "the identity provider ended its sessions", Attrs: map[string]string{"partial": strconv.FormatBool(out.Partial)}})
		case !canEnd:
			h.record(ctx, &failure{event: sso.EventWarning, connection: conn, err: &sso.Error{Op: "login.Logout", Reason: sso.ReasonLogoutNotSupported, Connection: conn,
				Detail: "the identity provider asked to end its sessions, but Config.Sessions does not implement login.SessionEnder; nothing was ended and the identity provider was told so"}})
		default:
			h.record(ctx, &failure{event: sso.EventWarning, connection: conn, err: &sso.Error{Op: "login.Logout", Reason: sso.ReasonInternal, Connection: conn,
				Detail: "the identity provider asked to end its sessions, but the application could not end them; the identity provider was told so"}})
		}
		if err := out.Response.Write(w, r); err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "logout: writing the step failed", slog.String("error", err.Error()))
		}
		return
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
