package login

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ssokit/sso"
)

// AttrCandidate is "true" in the Attrs of the events of a test login
// through a connection's Candidate (see Connection.Candidate).
const AttrCandidate = "candidate"

// Reasons this package reports; they are root package Reasons, repeated
// here for convenience.
const (
	ReasonCrossOrigin       = sso.ReasonCrossOrigin
	ReasonPasswordIncorrect = sso.ReasonPasswordIncorrect
	ReasonPasswordDisabled  = sso.ReasonPasswordDisabled
	ReasonNotAdministrator  = sso.ReasonNotAdministrator
)

// UserMessage returns the short message shown to the person for reason:
// reason.UserMessage().
func UserMessage(reason sso.Reason) string { return reason.UserMessage() }

// statusFor returns the HTTP status of an error page for reason.
func statusFor(reason sso.Reason) int {
	switch reason {
	case sso.ReasonInvalidRequest, sso.ReasonInvalidEmail, sso.ReasonStateMissing, sso.ReasonStateMismatch:
		return http.StatusBadRequest
	case sso.ReasonRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case sso.ReasonConnectionNotFound, sso.ReasonAccountNotFound, sso.ReasonNoSSO:
		return http.StatusNotFound
	case sso.ReasonUnavailable, sso.ReasonMetadataFetchFailed:
		return http.StatusBadGateway
	case sso.ReasonInternal, sso.ReasonInvalidConfig:
		return http.StatusInternalServerError
	case ReasonPasswordIncorrect, sso.ReasonInvalidCredentials, sso.ReasonPasswordEmpty, sso.ReasonLDAPUserNotFound:
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// failure is a failed login to report and explain.
type failure struct {
	err                 error
	account, connection string
	user, subject       string
	// event is the event type; sso.EventLoginFailed when empty.
	event sso.EventType
	// reported marks failures whose event another package already sent
	// (provisioning reports its own refusals, with ref in its Attrs).
	reported bool
	returnTo string
	// email is the address the login began with, if known: Try again
	// passes it on as the login hint.
	email string
	// attrs are the event's Attrs.
	attrs map[string]string
	// ref is the login's reference (sso.AttrReference); record makes one
	// when empty.
	ref string
	// admin shows the administrator's detail: the failure ends a test
	// login that an administrator began in this browser.
	admin bool
	// test marks the failure of an administrator's test login: Try again
	// runs the test again and the way back is the return path; candidate
	// one through the connection's Candidate.
	test, candidate bool
}

// refAlphabet is Crockford's base32: no I, L, O or U to misread.
const refAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newReference returns a short random reference such as "K7Q2-M4XD": 40
// bits, enough to tell apart the failures an administrator searches among,
// short enough to read out over the phone.
func newReference() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, refAlphabet[c&31])
	}
	return string(out)
}

// record reports f as an audit event (unless another package already did)
// and a log record, filling in f's connection and account from its error
// and discovery, and f's reference when it has none. It returns f's error
// as an *sso.Error, or nil.
func (h *Handler) record(ctx context.Context, f *failure) *sso.Error {
	reason := sso.ReasonOf(f.err)
	var se *sso.Error
	errors.As(f.err, &se)
	if f.connection == "" && se != nil {
		f.connection = se.Connection
	}
	if f.connection != "" && f.account == "" {
		if c, err := h.disc().Connection(f.connection); err == nil {
			f.account = c.Account
		}
	}
	if f.ref == "" {
		f.ref = newReference()
	}
	detail := ""
	if se != nil {
		detail = se.Detail
	}
	if !f.reported {
		typ := f.event
		if typ == "" {
			typ = sso.EventLoginFailed
		}
		attrs := make(map[string]string, len(f.attrs)+2)
		for k, v := range f.attrs {
			attrs[k] = v
		}
		attrs[sso.AttrReference] = f.ref
		if f.test {
			attrs[sso.AttrTest] = "true"
		}
		if f.candidate {
			attrs[AttrCandidate] = "true"
		}
		var proto sso.Protocol
		if e, ok := h.entry(f.connection); ok {
			proto = e.Authenticator.Protocol()
		}
		h.cfg.Events.Emit(ctx, sso.Event{Type: typ, Time: h.now(), Account: f.account, Connection: f.connection, Protocol: proto,
			User: f.user, Subject: f.subject, Reason: reason, Detail: detail, Attrs: attrs})
	}
	level := slog.LevelInfo
	switch {
	case reason == sso.ReasonInternal || reason == sso.ReasonInvalidConfig || reason == sso.ReasonUnavailable:
		level = slog.LevelError
	case f.event == sso.EventWarning:
		level = slog.LevelWarn
	}
	msg := "login failed"
	if f.event == sso.EventWarning {
		msg = "login: warning"
	}
	h.log.LogAttrs(ctx, level, msg, slog.String("reason", string(reason)), slog.String("account", f.account),
		slog.String("connection", f.connection), slog.String("user", f.user), slog.String("ref", f.ref), slog.String("error", errText(f.err)))
	return se
}

// fail reports f (see record) and writes the error page: the short user
// message with the failure's reference, time and account, a way to try
// again, plus the Reason and Detail when the connection is in debug mode or
// the request comes from an administrator of the account.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, f failure) {
	se := h.record(r.Context(), &f)
	reason := sso.ReasonOf(f.err)
	var entry *entry
	if f.connection != "" {
		entry, _ = h.entry(f.connection)
	}
	status := statusFor(reason)
	title := "Login failed"
	if f.test {
		title = "Test login failed"
	}
	p := &ErrorPage{
		Page:               h.page(title, f.returnTo, reason.UserMessage()),
		Status:             status,
		Reference:          f.ref,
		Time:               h.now(),
		ConfigurationFault: reason.ConfigurationFault(),
		RetryURL:           h.LoginURL(f.returnTo),
	}
	if f.account != "" {
		p.Account = f.account
		if a, err := h.account(f.account); err == nil && a.Name != "" {
			p.Account = a.Name
		}
	}
	if entry != nil {
		switch {
		case f.test && reason == ReasonNotAdministrator:
			// Trying again will not help; the login page may.
		case f.test:
			p.RetryTestURL = h.TestLoginURL(f.connection, f.returnTo)
			if f.candidate {
				p.RetryTestURL = h.CandidateTestLoginURL(f.connection, f.returnTo)
			}
			p.BackURL = h.orDefault(f.returnTo)
		case reason != sso.ReasonConnectionNotLive && reason != sso.ReasonCrossOrigin:
			p.RetryConnection, p.RetryEmail = f.connection, f.email
		}
	}
	if (entry != nil && entry.debug) || f.admin || h.isAdmin(r, f.account) {
		p.ShowDetail = true
		p.Reason = reason
		p.Connection = f.connection
		if se != nil {
			p.Op, p.Detail, p.Expected, p.Actual = se.Op, se.Detail, se.Expected, se.Actual
			if se.Err != nil && se.Detail == "" {
				p.Detail = se.Err.Error()
			}
		} else if f.err != nil {
			p.Detail = f.err.Error()
		}
	}
	h.render(w, status, TemplateError, p)
}

func (h *Handler) isAdmin(r *http.Request, account string) bool {
	return account != "" && h.cfg.CanAdminister != nil && h.cfg.CanAdminister(r, account)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
