package host

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/ssokit/sso"
)

// Audit is the host's audit log: it logs every event and keeps them in
// memory. Its Event method is an sso.EventFunc for the Events field of
// login.Config, provisioning.Config and the protocol packages' Configs.
// A real application writes events to its database (store/sqlstore has an
// event log) and shows them on the account's SSO settings page.
//
// Audit is safe for concurrent use.
type Audit struct {
	log    *slog.Logger
	mu     sync.Mutex
	events []sso.Event
}

// NewAudit returns an empty audit log that logs to log.
func NewAudit(log *slog.Logger) *Audit { return &Audit{log: log} }

// Event records e. It is an sso.EventFunc.
func (a *Audit) Event(ctx context.Context, e sso.Event) {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
	attrs := []slog.Attr{slog.String("type", string(e.Type))}
	for k, v := range map[string]string{"account": e.Account, "connection": e.Connection, "user": e.User,
		"subject": e.Subject, "reason": string(e.Reason), "detail": e.Detail} {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// Events returns the events recorded so far, oldest first.
func (a *Audit) Events() []sso.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.events)
}

// Find returns the recorded events of the given type and, unless reason is
// "", reason.
func (a *Audit) Find(typ sso.EventType, reason sso.Reason) []sso.Event {
	var out []sso.Event
	for _, e := range a.Events() {
		if e.Type == typ && (reason == "" || e.Reason == reason) {
			out = append(out, e)
		}
	}
	return out
}
