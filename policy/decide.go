package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// User holds the facts about a person that decisions need. The host fills it
// from its own user store.
type User struct {
	// ID is the application's user ID.
	ID string `json:"id"`
	// Email is the user's email address, preferably normalised with
	// sso.NormalizeEmail.
	Email string `json:"email"`
	// Roles are the user's role names in the account.
	Roles []string `json:"roles,omitempty"`
	// Admin says the user is an administrator of the account.
	Admin bool `json:"admin,omitempty"`
	// SSOLogins lists the IDs of the connections through which the user has
	// completed at least one login. Lockout prevention counts an
	// administrator as able to log in through a connection only after such a
	// login.
	SSOLogins []string `json:"sso_logins,omitempty"`
}

// MethodKind names a kind of login.
type MethodKind string

// The login kinds.
const (
	// MethodPassword: the application's own password login.
	MethodPassword MethodKind = "password"
	// MethodSSO: a login through a single sign-on connection (SAML, OIDC,
	// or an LDAP directory).
	MethodSSO MethodKind = "sso"
)

// Method is how a person logs in or logged in.
type Method struct {
	// Kind is password or single sign-on.
	Kind MethodKind `json:"kind"`
	// Connection is the connection ID of a MethodSSO login.
	Connection string `json:"connection,omitempty"`
	// Protocol is the connection's protocol, for the record.
	Protocol sso.Protocol `json:"protocol,omitempty"`
	// MFA reports evidence that the single sign-on login used more than
	// one factor: the identity provider said so (sso.Identity.MFA), or an
	// administrator stated that the connection's IdP always enforces it.
	// Only then does Policy.SSOSatisfiesSecondFactor count the login as
	// the second factor.
	MFA bool `json:"mfa,omitempty"`
}

// Password returns the Method of a password login.
func Password() Method { return Method{Kind: MethodPassword} }

// SSO returns the Method of a login through the given connection.
func SSO(connection string, protocol sso.Protocol) Method {
	return Method{Kind: MethodSSO, Connection: connection, Protocol: protocol}
}

// MethodOf returns the Method of the login that produced id.
func MethodOf(id *sso.Identity) Method {
	m := SSO(id.Connection, id.Protocol)
	m.MFA = id.MFA
	return m
}

// String returns "password" or "sso:<protocol>:<connection>".
func (m Method) String() string {
	if m.Kind == MethodSSO {
		return "sso:" + string(m.Protocol) + ":" + m.Connection
	}
	return string(m.Kind)
}

// Rule names the rule that decided a [Decision]. Its string values are
// stable.
type Rule string

// The rules.
const (
	// RuleInvalidPolicy: the policy does not validate; every login is
	// refused (sso.ReasonInvalidConfig) until it is fixed.
	RuleInvalidPolicy Rule = "invalid_policy"
	// RuleInvalidMethod: the Method is incomplete (sso.ReasonInvalidRequest).
	RuleInvalidMethod Rule = "invalid_method"
	// RulePasswordOnly: the account's mode is ModePasswordOnly. Allows
	// passwords; refuses single sign-on (sso.ReasonPasswordOnly).
	RulePasswordOnly Rule = "password_only"
	// RuleSSOOptional: the account's mode is ModeSSOOptional; allows passwords.
	RuleSSOOptional Rule = "sso_optional"
	// RuleSSORequired: the user is in the scope of ModeSSORequired; refuses
	// passwords (sso.ReasonSSORequired), or only reports it in a dry run.
	RuleSSORequired Rule = "sso_required"
	// RuleOutOfScope: single sign-on is required, but not for this user.
	RuleOutOfScope Rule = "out_of_scope"
	// RuleAdminBreakGlass: single sign-on is required, but administrators
	// may log in with their password.
	RuleAdminBreakGlass Rule = "admin_break_glass"
	// RuleUnknownConnection: the policy does not list the connection
	// (sso.ReasonConnectionNotFound).
	RuleUnknownConnection Rule = "unknown_connection"
	// RuleConnectionDraft: the connection is a draft (sso.ReasonConnectionNotLive).
	RuleConnectionDraft Rule = "connection_draft"
	// RuleConnectionTesting: the connection is being tested and the user is
	// not one of its test users (sso.ReasonConnectionNotLive).
	RuleConnectionTesting Rule = "connection_testing"
	// RuleTestUser: the connection is being tested and the user is one of
	// its test users.
	RuleTestUser Rule = "test_user"
	// RuleConnectionLive: the connection is live.
	RuleConnectionLive Rule = "connection_live"
	// RuleSecondFactor: switching accounts needs the application's second
	// factor, which the current login did not complete (see NeedsReauth).
	RuleSecondFactor Rule = "second_factor"
	// RuleClientNetwork: the client's address is outside the allowed
	// networks of the account (decided by package login, which knows the
	// request; see login.Networks).
	RuleClientNetwork Rule = "client_network"
)

// Decision is the outcome of [Decide].
type Decision struct {
	// Allowed reports whether the login may proceed.
	Allowed bool `json:"allowed"`
	// Reason is why the login is refused, or, when DryRunRefusal is set,
	// why it would be refused. Empty otherwise.
	Reason sso.Reason `json:"reason,omitempty"`
	// Rule is the rule that decided.
	Rule Rule `json:"rule"`
	// Detail explains the decision for administrators.
	Detail string `json:"detail,omitempty"`
	// DryRunRefusal reports a login that is allowed only because the
	// requirement runs in dry-run mode: it would be refused when enforced.
	DryRunRefusal bool `json:"dry_run_refusal,omitempty"`
	// SecondFactorSatisfied reports that this single sign-on login counts as
	// the account's second factor (Policy.SSOSatisfiesSecondFactor).
	SecondFactorSatisfied bool `json:"second_factor_satisfied,omitempty"`
	// SecondFactorRequired reports that the host must still ask for its own
	// second factor before the login is complete.
	SecondFactorRequired bool `json:"second_factor_required,omitempty"`
	// Account, User and Method repeat the inputs, for events and logs.
	Account string `json:"account"`
	User    string `json:"user,omitempty"`
	Method  Method `json:"method"`
}

// Err returns nil when the login is allowed, or an *sso.Error carrying the
// Reason and Detail.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &sso.Error{Op: "policy.Decide", Reason: d.Reason, Connection: d.Method.Connection, Detail: d.Detail}
}

// Event returns the audit event for a refused login (sso.EventPasswordRefused
// for a password, sso.EventLoginFailed for single sign-on) or for a dry-run
// refusal (sso.EventPolicyDryRunRefusal), stamped with at. ok is false for an
// allowed login, which has no event of its own.
func (d Decision) Event(at time.Time) (e sso.Event, ok bool) {
	switch {
	case d.DryRunRefusal:
		e.Type = sso.EventPolicyDryRunRefusal
	case d.Allowed:
		return sso.Event{}, false
	case d.Method.Kind == MethodPassword:
		e.Type = sso.EventPasswordRefused
	default:
		e.Type = sso.EventLoginFailed
	}
	e.Time = at
	e.Account = d.Account
	e.Connection = d.Method.Connection
	e.User = d.User
	e.Reason = d.Reason
	e.Detail = d.Detail
	e.Attrs = map[string]string{"rule": string(d.Rule), "method": d.Method.String()}
	return e, true
}

// Decide returns whether user u may log in to the account of policy p with
// method m, and which rule decided.
//
// A password login is allowed unless p requires single sign-on of u (mode
// ModeSSORequired, u in the scope, and u not an administrator covered by the
// break-glass); in dry-run mode such a login is allowed with DryRunRefusal
// set. A single sign-on login is allowed when the account's mode is not
// ModePasswordOnly and p lists the connection as live, or as testing with u
// among its test users.
//
// An invalid policy refuses every login (RuleInvalidPolicy). Decide is pure
// and safe for concurrent use.
func Decide(p Policy, u User, m Method) Decision {
	d := Decision{Account: p.Account, User: u.ID, Method: m}
	if err := p.Validate(); err != nil {
		return d.refuse(sso.ReasonInvalidConfig, RuleInvalidPolicy, "the account's login policy is invalid: "+err.Error())
	}
	switch m.Kind {
	case MethodPassword:
		decidePassword(&p, u, &d)
	case MethodSSO:
		if m.Connection == "" {
			return d.refuse(sso.ReasonInvalidRequest, RuleInvalidMethod, "a single sign-on method must name its connection")
		}
		decideSSO(&p, u, &d)
	default:
		return d.refuse(sso.ReasonInvalidRequest, RuleInvalidMethod, fmt.Sprintf("login method %q is unknown; use %q or %q", m.Kind, MethodPassword, MethodSSO))
	}
	return d
}

func (d Decision) refuse(r sso.Reason, rule Rule, detail string) Decision {
	d.Allowed, d.Reason, d.Rule, d.Detail = false, r, rule, detail
	return d
}

func (d *Decision) allow(rule Rule, detail string) {
	d.Allowed, d.Rule, d.Detail = true, rule, detail
}

func decidePassword(p *Policy, u User, d *Decision) {
	switch p.mode() {
	case ModePasswordOnly:
		d.allow(RulePasswordOnly, "the account uses passwords only")
	case ModeSSOOptional:
		d.allow(RuleSSOOptional, "single sign-on is optional for the account")
	case ModeSSORequired:
		in, why := p.inScope(u)
		switch {
		case !in:
			d.allow(RuleOutOfScope, "single sign-on is required, but not of this user: "+why)
		case u.Admin && p.AdminsMayUsePassword:
			d.allow(RuleAdminBreakGlass, "single sign-on is required, but account administrators may log in with their password")
		case p.DryRun:
			d.allow(RuleSSORequired, "single sign-on is required of this user ("+why+"); allowed because the requirement runs as a dry run")
			d.DryRunRefusal = true
			d.Reason = sso.ReasonSSORequired
		default:
			*d = d.refuse(sso.ReasonSSORequired, RuleSSORequired, "single sign-on is required of this user ("+why+")")
		}
	}
	if d.Allowed {
		d.SecondFactorRequired = p.SecondFactorRequired
	}
}

func decideSSO(p *Policy, u User, d *Decision) {
	id := d.Method.Connection
	if p.mode() == ModePasswordOnly {
		*d = d.refuse(sso.ReasonPasswordOnly, RulePasswordOnly, "single sign-on is off for the account (mode "+string(ModePasswordOnly)+")")
		return
	}
	c, ok := p.Connection(id)
	if !ok {
		*d = d.refuse(sso.ReasonConnectionNotFound, RuleUnknownConnection,
			"the account's policy does not list connection \""+id+"\", so logins through it do not grant this account")
		return
	}
	switch stageOf(c) {
	case StageDraft:
		*d = d.refuse(sso.ReasonConnectionNotLive, RuleConnectionDraft, "connection \""+id+"\" is a draft")
		return
	case StageTesting:
		if !isTestUser(c, u) {
			*d = d.refuse(sso.ReasonConnectionNotLive, RuleConnectionTesting,
				"connection \""+id+"\" is being tested and this user is not one of its test users")
			return
		}
		d.allow(RuleTestUser, "connection \""+id+"\" is being tested and this user is one of its test users")
	case StageLive:
		d.allow(RuleConnectionLive, "connection \""+id+"\" is live")
	}
	d.SecondFactorSatisfied = p.SSOSatisfiesSecondFactor && d.Method.MFA
	d.SecondFactorRequired = p.SecondFactorRequired && !d.SecondFactorSatisfied
}

// inScope reports whether the requirement applies to u, and why.
func (p *Policy) inScope(u User) (bool, string) {
	switch p.Scope.Kind {
	case ScopeEmailDomains:
		email, err := sso.NormalizeEmail(u.Email)
		if err != nil {
			// Closed: a user whose domain cannot be told is bound by the
			// requirement rather than exempt from it.
			return true, "the user's email address is missing or invalid, so the email-domain scope applies"
		}
		d := sso.EmailDomain(email)
		for _, s := range p.Scope.Domains {
			if n, err := sso.NormalizeDomain(s); err == nil && n == d {
				return true, "email domain " + d + " is in the scope"
			}
		}
		return false, "email domain " + d + " is not in the scope"
	case ScopeRoles:
		// Unicode folding on purpose: it can only widen the scope, so a
		// role spelt with a character that folds to the scope's letters
		// (the long s U+017F folds to "s") is bound by the requirement,
		// never exempted. Granting comparisons (test users, administrator
		// roles) fold ASCII only.
		for _, want := range p.Scope.Roles {
			for _, have := range u.Roles {
				if strings.EqualFold(strings.TrimSpace(want), strings.TrimSpace(have)) {
					return true, "role " + have + " is in the scope"
				}
			}
		}
		return false, "none of the user's roles is in the scope"
	default:
		return true, "the requirement applies to all users"
	}
}

func isTestUser(c Connection, u User) bool {
	if u.ID != "" {
		for _, id := range c.TestUserIDs {
			if id == u.ID {
				return true
			}
		}
	}
	email, err := sso.NormalizeEmail(u.Email)
	if err != nil {
		return false
	}
	for _, e := range c.TestUserEmails {
		if n, err := sso.NormalizeEmail(e); err == nil && sso.EqualFoldASCII(n, email) {
			return true
		}
	}
	return false
}

// Session describes how a person is currently logged in, for [NeedsReauth].
type Session struct {
	// Method is how the person logged in.
	Method Method `json:"method"`
	// SecondFactor reports that the person completed the application's own
	// second factor in this session.
	SecondFactor bool `json:"second_factor,omitempty"`
}

// NeedsReauth reports whether a person logged in as s must log in again to
// switch to the account of policy target: when target would not accept the
// login's method (for example it requires single sign-on and the person used
// a password, or it does not list the connection the person used, or it is
// password-only and the person used single sign-on), or when target requires
// a second factor the session has not satisfied.
//
// The returned Decision is target's decision for the session's method; when
// reauthentication is needed its Reason is sso.ReasonReauthRequired and its
// Detail says why. NeedsReauth is pure and safe for concurrent use.
func NeedsReauth(target Policy, u User, s Session) (bool, Decision) {
	d := Decide(target, u, s.Method)
	switch {
	case !d.Allowed:
		d.Detail = "the account does not accept this login (" + string(d.Reason) + ": " + d.Detail + ")"
		d.Reason = sso.ReasonReauthRequired
		return true, d
	case d.SecondFactorRequired && !s.SecondFactor:
		d.Allowed = false
		d.Reason = sso.ReasonReauthRequired
		d.Rule = RuleSecondFactor
		d.Detail = "the account requires a second factor that this login did not complete"
		return true, d
	}
	return false, d
}

// WouldRefuse returns the password decisions that p would refuse once its
// requirement is enforced (DryRun off), one per refused user, in the order of
// users: the list administrators review before enforcing ModeSSORequired.
// Pass p as it would be enforced (with Mode set to ModeSSORequired). Users
// whose password login stays allowed are left out. An invalid p is an error.
func WouldRefuse(p Policy, users []User) ([]Decision, error) {
	p.DryRun = false
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var out []Decision
	for _, u := range users {
		if d := Decide(p, u, Password()); !d.Allowed {
			out = append(out, d)
		}
	}
	return out, nil
}
