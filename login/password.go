package login

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

// passwordDecisions returns policy's password decisions for the user in
// each of their accounts: the accounts a password login grants, the
// decisions that allowed them and the refusals. Dry-run refusals are
// reported as events here.
func (h *Handler) passwordDecisions(ctx context.Context, email, userID string) (allowed []string, ok, refused []policy.Decision, err error) {
	accounts, err := h.cfg.Users.Accounts(ctx, userID)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, id := range accounts {
		acct, err := h.account(id)
		if err != nil {
			if sso.ReasonOf(err) == sso.ReasonAccountNotFound {
				// An account without single sign-on settings uses passwords.
				allowed = append(allowed, id)
				ok = append(ok, policy.Decision{Allowed: true, Rule: policy.RulePasswordOnly, Account: id, User: userID, Method: policy.Password()})
				continue
			}
			return nil, nil, nil, err
		}
		facts, err := h.cfg.Users.Facts(ctx, userID, id)
		if err != nil {
			return nil, nil, nil, err
		}
		if facts.Email == "" {
			facts.Email = email
		}
		d := policy.Decide(acct.policy, facts, policy.Password())
		if e, has := d.Event(h.now()); has && d.DryRunRefusal {
			h.cfg.Events.Emit(ctx, e)
		}
		if d.Allowed {
			allowed = append(allowed, id)
			ok = append(ok, d)
		} else {
			refused = append(refused, d)
		}
	}
	return allowed, ok, refused, nil
}

// passwordNetworks moves the accounts whose allowed networks do not hold
// the client's address from the granted to the refused.
func (h *Handler) passwordNetworks(r *http.Request, user string, allowed []string, ok, refused []policy.Decision) ([]string, []policy.Decision, []policy.Decision) {
	var keptIDs []string
	var kept []policy.Decision
	for i, d := range ok {
		acct, err := h.account(d.Account)
		if err == nil {
			if nerr := h.networkRefusal(r, acct, nil, user); nerr != nil {
				nd := policy.Decision{Reason: sso.ReasonOf(nerr), Rule: policy.RuleClientNetwork, Account: d.Account, User: user, Method: policy.Password()}
				var se *sso.Error
				if errors.As(nerr, &se) {
					nd.Detail = se.Detail
				}
				refused = append(refused, nd)
				continue
			}
		}
		keptIDs = append(keptIDs, allowed[i])
		kept = append(kept, d)
	}
	return keptIDs, kept, refused
}

// storeReason returns the Reason of err when it is a store that failed
// (unavailable, full), and "" otherwise.
func storeReason(err error) sso.Reason {
	switch r := sso.ReasonOf(err); r {
	case sso.ReasonUnavailable, sso.ReasonStoreFull:
		return r
	}
	return ""
}

// passwordFailed is what a person reads after any failed password login:
// a wrong password, or a right one of a user whose accounts all require
// single sign-on. One answer for both, so that the form tells nobody
// whether a password is right for someone who may not use it.
const passwordFailed = "We could not log you in with this email address and password. If your organisation uses single sign-on, continue with it instead."

// passwordLogin is the password path of POST /login. The host checks the
// password first, whoever the email belongs to, so that the answer depends
// only on the email's domain (the single sign-on offered on the page) and
// the password's result, never on unproven membership. Then policy decides
// for each account of the user the password proved: a user whose accounts
// all require single sign-on gets the same answer as a wrong password.
func (h *Handler) passwordLogin(w http.ResponseWriter, r *http.Request, email string, pw sso.Secret, rt string) {
	ctx := r.Context()
	checked, err := h.cfg.Passwords.CheckPassword(ctx, email, pw)
	if reason := storeReason(err); reason != "" {
		// The password could not be checked at all (the host's user store
		// is down): refuse as such, not as a wrong password, which would
		// send people to reset passwords that are fine.
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Password", Reason: reason, Detail: "the password could not be checked: a store failed", Err: err}, returnTo: rt})
		return
	}
	if err != nil || checked == "" {
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginFailed, Time: h.now(), Reason: ReasonPasswordIncorrect, Attrs: map[string]string{"method": "password"}})
		h.log.LogAttrs(ctx, slog.LevelInfo, "login failed", slog.String("reason", string(ReasonPasswordIncorrect)), slog.String("error", errText(err)))
		h.refusePassword(w, r, email, rt)
		return
	}
	allowed, ok, refused, err := h.passwordDecisions(ctx, email, checked)
	if err != nil {
		reason := cmp.Or(storeReason(err), sso.ReasonInternal)
		h.fail(w, r, failure{err: &sso.Error{Op: "login.Password", Reason: reason, Detail: "reading users or accounts failed", Err: err}, user: checked, returnTo: rt})
		return
	}
	allowed, ok, refused = h.passwordNetworks(r, checked, allowed, ok, refused)
	if len(allowed) == 0 && len(refused) > 0 {
		for _, d := range refused {
			if e, has := d.Event(h.now()); has {
				h.cfg.Events.Emit(ctx, e)
			}
			h.log.LogAttrs(ctx, slog.LevelInfo, "password refused", slog.String("reason", string(d.Reason)), slog.String("rule", string(d.Rule)),
				slog.String("account", d.Account), slog.String("user", d.User))
		}
		h.refusePassword(w, r, email, rt)
		return
	}
	second := false
	for _, d := range ok {
		second = second || d.SecondFactorRequired
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginSucceeded, Time: h.now(), Account: d.Account, User: checked, Attrs: map[string]string{"method": "password", "rule": string(d.Rule)}})
	}
	if len(ok) == 0 {
		h.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventLoginSucceeded, Time: h.now(), User: checked, Attrs: map[string]string{"method": "password"}})
	}
	h.startSession(w, r, &Result{
		User: checked, Email: email, Method: policy.Password(), Accounts: allowed, Refused: refused,
		ReturnTo: h.orDefault(rt), Decisions: ok, SecondFactorRequired: second,
	})
}

// refusePassword answers a failed password login: the password step again
// with the single sign-on its email's domain offers, the same for every
// person at that domain.
func (h *Handler) refusePassword(w http.ResponseWriter, r *http.Request, email, rt string) {
	h.passwordStep(w, r, http.StatusUnauthorized, email, rt, passwordFailed)
}
