package policy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Change records one accepted policy change, for the host's audit log.
type Change struct {
	// Account is the account whose policy changed.
	Account string `json:"account"`
	// By is who made the change (the host's user ID or operator name).
	By string `json:"by"`
	// At is when the change was made.
	At time.Time `json:"at"`
	// Old and New are the policies before and after the change. New is the
	// policy Update returned, with going-live records filled in.
	Old Policy `json:"old"`
	New Policy `json:"new"`
	// Summary lists the account-wide changes, one line each, e.g.
	// `mode: "sso_optional" -> "sso_required"`.
	Summary []string `json:"summary,omitempty"`
	// Connections lists the changes per connection ID, one line each.
	Connections map[string][]string `json:"connections,omitempty"`
	// WentLive lists the connections that went live with this change.
	WentLive []string `json:"went_live,omitempty"`
}

// Empty reports whether the change changed nothing.
func (c *Change) Empty() bool { return len(c.Summary) == 0 && len(c.Connections) == 0 }

// Events returns the audit events of the change: one sso.EventPolicyChanged
// for the account-wide changes, one sso.EventConnectionLive per connection
// that went live, and one sso.EventConnectionChanged per other changed
// connection. Each carries the author in Attrs["changed_by"].
func (c *Change) Events() []sso.Event {
	var out []sso.Event
	attrs := func(extra ...string) map[string]string {
		m := map[string]string{"changed_by": c.By}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	if len(c.Summary) > 0 {
		out = append(out, sso.Event{Type: sso.EventPolicyChanged, Time: c.At, Account: c.Account,
			Detail: strings.Join(c.Summary, "; "),
			Attrs:  attrs("mode", string(c.New.mode()), "dry_run", strconv.FormatBool(c.New.DryRun))})
	}
	ids := make([]string, 0, len(c.Connections))
	for id := range c.Connections {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		typ := sso.EventConnectionChanged
		if slices.Contains(c.WentLive, id) {
			typ = sso.EventConnectionLive
		}
		stage := ""
		if nc, ok := c.New.Connection(id); ok {
			stage = string(stageOf(nc))
		}
		out = append(out, sso.Event{Type: typ, Time: c.At, Account: c.Account, Connection: id,
			Detail: strings.Join(c.Connections[id], "; "), Attrs: attrs("stage", stage)})
	}
	return out
}

// Update checks a change of an account's policy from old to next, made by
// by at time at, and returns the policy to store and the record of the
// change.
//
// It refuses, with an *sso.Error:
//   - an invalid next (sso.ReasonInvalidConfig, see Policy.Validate), or one
//     for another account than old;
//   - a change after which none of the account's administrators could log
//     in (sso.ReasonWouldLockOut; see [CheckLockout]). admins are the
//     account's administrators with their SSOLogins; users who are not
//     administrators are ignored.
//
// The returned policy is a copy of next in which each connection that goes
// live gets LiveAt = at and LiveBy = by, a connection that stays live keeps
// its record from old, and other connections have none. Update is pure: the
// caller stores the policy and logs [Change.Events].
func Update(old, next Policy, admins []User, by string, at time.Time) (Policy, *Change, error) {
	const op = "policy.Update"
	if strings.TrimSpace(by) == "" || at.IsZero() {
		return Policy{}, nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidRequest,
			Detail: "a policy change must say who makes it and when (by and at)"}
	}
	if err := next.Validate(); err != nil {
		return Policy{}, nil, err
	}
	if old.Account != "" && old.Account != next.Account {
		return Policy{}, nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig,
			Detail:   "the new policy is for another account; a policy cannot move between accounts",
			Expected: old.Account, Actual: next.Account}
	}
	next = clone(next)
	var wentLive []string
	for i := range next.Connections {
		c := &next.Connections[i]
		oc, had := old.Connection(c.ID)
		switch {
		case stageOf(*c) != StageLive:
			c.LiveAt, c.LiveBy = time.Time{}, ""
		case had && stageOf(oc) == StageLive:
			c.LiveAt, c.LiveBy = oc.LiveAt, oc.LiveBy
		default:
			c.LiveAt, c.LiveBy = at, by
			wentLive = append(wentLive, c.ID)
		}
	}
	if err := CheckLockout(next, admins); err != nil {
		var e *sso.Error
		if errors.As(err, &e) && e.Reason == sso.ReasonWouldLockOut {
			e.Op = op
		}
		return Policy{}, nil, err
	}
	ch := &Change{Account: next.Account, By: by, At: at, Old: clone(old), New: clone(next), WentLive: wentLive}
	diff(ch, &old, &next)
	return next, ch, nil
}

// CheckLockout returns nil when at least one administrator among users could
// log in to the account under p: with a password (p allows it, for example
// through the break-glass or because the administrator is outside the
// scope), or through a connection p accepts for them and through which they
// have already completed a login (User.SSOLogins). Otherwise it returns an
// *sso.Error with sso.ReasonWouldLockOut whose Detail says why each
// administrator is shut out and how to fix the policy. Having no
// administrator at all is a lockout too. An invalid p returns the error of
// Policy.Validate.
func CheckLockout(p Policy, users []User) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var admins []User
	for _, u := range users {
		if u.Admin {
			admins = append(admins, u)
		}
	}
	fail := func(detail string) error {
		return &sso.Error{Op: "policy.CheckLockout", Reason: sso.ReasonWouldLockOut, Detail: p.prefix() + detail}
	}
	if len(admins) == 0 {
		return fail("the account has no administrator, so nobody could administer it; add an administrator first (or pass the account's administrators to the check)")
	}
	var why []string
	for _, a := range admins {
		if Decide(p, a, Password()).Allowed {
			return nil
		}
		tried := false
		for _, c := range a.SSOLogins {
			tried = true
			if Decide(p, a, SSO(c, "")).Allowed {
				return nil
			}
		}
		if len(why) < 5 {
			name := a.ID
			if name == "" {
				name = a.Email
			}
			if tried {
				why = append(why, fmt.Sprintf("%q must use single sign-on and no connection they have logged in through (%s) is accepted for them",
					name, strings.Join(a.SSOLogins, ", ")))
			} else {
				why = append(why, fmt.Sprintf("%q must use single sign-on and has never completed a single sign-on login", name))
			}
		}
	}
	var live []string
	for _, c := range p.Connections {
		if stageOf(c) == StageLive {
			live = append(live, c.ID)
		}
	}
	return fail(fmt.Sprintf("after this change none of the account's %d administrators could log in: %s. "+
		"Fix: set admins_may_use_password (the administrators' break-glass), or have an administrator complete a login through %s first, "+
		"or keep mode %q, or run the requirement as a dry run",
		len(admins), strings.Join(why, "; "), orNone(live), ModeSSOOptional))
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "a live connection"
	}
	return "connection " + strings.Join(ids, " or ")
}

// clone returns a deep copy of p's slices, so that neither the caller's nor
// the returned policy can change the other.
func clone(p Policy) Policy {
	p.Scope.Domains = slices.Clone(p.Scope.Domains)
	p.Scope.Roles = slices.Clone(p.Scope.Roles)
	p.Connections = slices.Clone(p.Connections)
	for i := range p.Connections {
		p.Connections[i].TestUserEmails = slices.Clone(p.Connections[i].TestUserEmails)
		p.Connections[i].TestUserIDs = slices.Clone(p.Connections[i].TestUserIDs)
	}
	return p
}

// diff fills ch.Summary and ch.Connections.
func diff(ch *Change, old, next *Policy) {
	add := func(field string, a, b any) {
		ch.Summary = append(ch.Summary, fmt.Sprintf("%s: %s -> %s", field, show(a), show(b)))
	}
	if old.mode() != next.mode() {
		add("mode", old.mode(), next.mode())
	}
	if a, b := scopeString(old.Scope), scopeString(next.Scope); a != b {
		add("scope", a, b)
	}
	if old.AdminsMayUsePassword != next.AdminsMayUsePassword {
		add("admins_may_use_password", old.AdminsMayUsePassword, next.AdminsMayUsePassword)
	}
	if old.DryRun != next.DryRun {
		add("dry_run", old.DryRun, next.DryRun)
	}
	if old.SecondFactorRequired != next.SecondFactorRequired {
		add("second_factor_required", old.SecondFactorRequired, next.SecondFactorRequired)
	}
	if old.SSOSatisfiesSecondFactor != next.SSOSatisfiesSecondFactor {
		add("sso_satisfies_second_factor", old.SSOSatisfiesSecondFactor, next.SSOSatisfiesSecondFactor)
	}
	conn := func(id, line string) {
		if ch.Connections == nil {
			ch.Connections = map[string][]string{}
		}
		ch.Connections[id] = append(ch.Connections[id], line)
	}
	for _, c := range next.Connections {
		oc, had := old.Connection(c.ID)
		if !had {
			conn(c.ID, fmt.Sprintf("added in stage %q", stageOf(c)))
		} else if stageOf(oc) != stageOf(c) {
			conn(c.ID, fmt.Sprintf("stage: %q -> %q", stageOf(oc), stageOf(c)))
		}
		if stageOf(c) == StageLive && c.LiveBy != "" && (!had || stageOf(oc) != StageLive) {
			conn(c.ID, "went live at "+c.LiveAt.UTC().Format(time.RFC3339)+" by "+c.LiveBy)
		}
		if !slices.Equal(oc.TestUserEmails, c.TestUserEmails) || !slices.Equal(oc.TestUserIDs, c.TestUserIDs) {
			conn(c.ID, fmt.Sprintf("test users: %s -> %s", testUsers(oc), testUsers(c)))
		}
	}
	for _, oc := range old.Connections {
		if _, ok := next.Connection(oc.ID); !ok {
			conn(oc.ID, "removed")
		}
	}
}

func show(v any) string {
	switch v := v.(type) {
	case Mode:
		return strconv.Quote(string(v))
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}

func scopeString(s Scope) string {
	switch s.Kind {
	case ScopeEmailDomains:
		return string(s.Kind) + " " + strings.Join(s.Domains, ",")
	case ScopeRoles:
		return string(s.Kind) + " " + strings.Join(s.Roles, ",")
	}
	return string(ScopeAllUsers)
}

func testUsers(c Connection) string {
	all := append(slices.Clone(c.TestUserEmails), c.TestUserIDs...)
	if len(all) == 0 {
		return "none"
	}
	return "[" + strings.Join(all, ", ") + "]"
}
