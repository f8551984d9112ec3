package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// Mode says which login methods an account accepts.
type Mode string

// The modes. The zero value "" means ModePasswordOnly.
const (
	// ModePasswordOnly: passwords only; single sign-on is off.
	ModePasswordOnly Mode = "password_only"
	// ModeSSOOptional: passwords and single sign-on both work.
	ModeSSOOptional Mode = "sso_optional"
	// ModeSSORequired: users in the Scope must use single sign-on.
	ModeSSORequired Mode = "sso_required"
)

// ScopeKind says which users a ModeSSORequired requirement applies to.
type ScopeKind string

// The scope kinds. The zero value "" means ScopeAllUsers.
const (
	// ScopeAllUsers: every user of the account.
	ScopeAllUsers ScopeKind = "all_users"
	// ScopeEmailDomains: users whose email domain is in Scope.Domains.
	// Users with other domains (external assessors, consultants) keep
	// their password.
	ScopeEmailDomains ScopeKind = "email_domains"
	// ScopeRoles: users holding at least one role in Scope.Roles.
	ScopeRoles ScopeKind = "roles"
)

// Scope is the set of users a ModeSSORequired requirement applies to. Users
// outside the scope may log in with a password, and with single sign-on too
// where a connection accepts them.
type Scope struct {
	// Kind selects the rule; "" means ScopeAllUsers.
	Kind ScopeKind `json:"kind,omitempty"`
	// Domains are the email domains of a ScopeEmailDomains scope, matched
	// exactly (no subdomains) after IDNA normalisation.
	Domains []string `json:"domains,omitempty"`
	// Roles are the role names of a ScopeRoles scope, matched without
	// regard to case (Unicode simple folding, which can only widen the
	// scope).
	Roles []string `json:"roles,omitempty"`
}

// Stage is the lifecycle stage of a connection.
type Stage string

// The stages. The zero value "" means StageDraft.
const (
	// StageDraft: being configured; every login through it is refused.
	StageDraft Stage = "draft"
	// StageTesting: only the connection's named test users may use it.
	StageTesting Stage = "testing"
	// StageLive: everyone may use it.
	StageLive Stage = "live"
)

// Connection is an account's policy for one of its single sign-on
// connections. The connection's protocol settings live elsewhere; here is
// only who may use it.
type Connection struct {
	// ID is the connection ID (unique across the application).
	ID string `json:"id"`
	// Stage is the lifecycle stage; "" means StageDraft.
	Stage Stage `json:"stage,omitempty"`
	// TestUserEmails and TestUserIDs name the people who may use a
	// StageTesting connection: by email address (normalised with
	// sso.NormalizeEmail, then compared ignoring the case of ASCII letters
	// only, [sso.EqualFoldASCII]) or by the application's user ID (compared
	// exactly).
	TestUserEmails []string `json:"test_user_emails,omitempty"`
	TestUserIDs    []string `json:"test_user_ids,omitempty"`
	// LiveAt and LiveBy record when and by whom the connection went live.
	// [Update] sets them; they are empty unless Stage is StageLive.
	LiveAt time.Time `json:"live_at,omitzero"`
	LiveBy string    `json:"live_by,omitempty"`
}

// Policy is one account's login policy. The zero value (with Account set) is
// a valid password-only policy. A Policy is a plain value: the functions of
// this package never modify the Policy they are given.
type Policy struct {
	// Account is the account (tenant) ID the policy belongs to.
	Account string `json:"account"`
	// Mode is the account's mode; "" means ModePasswordOnly.
	Mode Mode `json:"mode,omitempty"`
	// Scope limits ModeSSORequired to some users; the zero value means all.
	Scope Scope `json:"scope,omitzero"`
	// AdminsMayUsePassword lets account administrators log in with their
	// password even where single sign-on is required: the break-glass that
	// keeps a broken identity provider from locking them out.
	AdminsMayUsePassword bool `json:"admins_may_use_password,omitempty"`
	// DryRun, with ModeSSORequired, only reports the requirement: password
	// logins it would refuse are allowed, and their Decision has
	// DryRunRefusal set. Not allowed with other modes.
	DryRun bool `json:"dry_run,omitempty"`
	// SecondFactorRequired says the account requires the application's own
	// second factor (for example a one-time code) after a login.
	SecondFactorRequired bool `json:"second_factor_required,omitempty"`
	// SSOSatisfiesSecondFactor says a single sign-on login counts as the
	// second factor ("bypass two-factor authentication when logged in
	// with SSO") when it carries evidence of multi-factor authentication
	// (Method.MFA): the identity provider said so, or an administrator
	// stated that it always enforces it. A login without that evidence
	// still needs the application's second factor.
	SSOSatisfiesSecondFactor bool `json:"sso_satisfies_second_factor,omitempty"`
	// Connections are the single sign-on connections whose logins the
	// account accepts, with their stage. A login through a connection not
	// listed here is refused.
	Connections []Connection `json:"connections,omitempty"`
}

// Connection returns the policy's entry for the connection with the given ID.
func (p *Policy) Connection(id string) (Connection, bool) {
	for _, c := range p.Connections {
		if c.ID == id {
			return c, true
		}
	}
	return Connection{}, false
}

// mode returns p.Mode with the zero value resolved.
func (p *Policy) mode() Mode {
	if p.Mode == "" {
		return ModePasswordOnly
	}
	return p.Mode
}

// enforced reports whether p refuses password logins of users in scope.
func (p *Policy) enforced() bool { return p.mode() == ModeSSORequired && !p.DryRun }

func stageOf(c Connection) Stage {
	if c.Stage == "" {
		return StageDraft
	}
	return c.Stage
}

// maxErrors bounds the number of problems Validate reports at once.
const maxErrors = 20

// Validate checks that the policy is complete and not contradictory. It
// returns nil or an error joining one *sso.Error (sso.ReasonInvalidConfig) per
// problem, each naming the field and the fix; errors.Is(err,
// sso.ReasonInvalidConfig) holds.
func (p *Policy) Validate() error {
	var errs []error
	fail := func(format string, args ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, &sso.Error{Op: "policy.Validate", Reason: sso.ReasonInvalidConfig,
				Detail: p.prefix() + fmt.Sprintf(format, args...)})
		}
	}
	if strings.TrimSpace(p.Account) == "" {
		fail("account is empty; set it to the ID of the account the policy belongs to")
	}
	switch p.Mode {
	case "", ModePasswordOnly, ModeSSOOptional, ModeSSORequired:
	default:
		fail("mode %q is unknown; use %q, %q or %q", p.Mode, ModePasswordOnly, ModeSSOOptional, ModeSSORequired)
	}
	if p.DryRun && p.mode() != ModeSSORequired {
		fail("dry_run only applies to mode %q (report who would be refused); set mode to %q or dry_run to false",
			ModeSSORequired, ModeSSORequired)
	}
	switch p.Scope.Kind {
	case "", ScopeAllUsers:
		if len(p.Scope.Domains) > 0 || len(p.Scope.Roles) > 0 {
			fail("scope lists domains or roles but its kind is %q; set scope.kind to %q or %q, or remove the lists",
				ScopeAllUsers, ScopeEmailDomains, ScopeRoles)
		}
	case ScopeEmailDomains:
		if len(p.Scope.Domains) == 0 {
			fail("scope.kind is %q but scope.domains is empty; list the email domains that must use single sign-on", ScopeEmailDomains)
		}
		if len(p.Scope.Roles) > 0 {
			fail("scope.roles is set but scope.kind is %q; remove scope.roles", ScopeEmailDomains)
		}
		for _, d := range p.Scope.Domains {
			if _, err := sso.NormalizeDomain(d); err != nil {
				fail("scope.domains: %q is not a valid domain name; write it like \"example.com\"", d)
			}
		}
	case ScopeRoles:
		if len(p.Scope.Roles) == 0 {
			fail("scope.kind is %q but scope.roles is empty; list the roles that must use single sign-on", ScopeRoles)
		}
		if len(p.Scope.Domains) > 0 {
			fail("scope.domains is set but scope.kind is %q; remove scope.domains", ScopeRoles)
		}
		for _, r := range p.Scope.Roles {
			if strings.TrimSpace(r) == "" {
				fail("scope.roles has an empty role name; remove it")
			}
		}
	default:
		fail("scope.kind %q is unknown; use %q, %q or %q", p.Scope.Kind, ScopeAllUsers, ScopeEmailDomains, ScopeRoles)
	}
	seen := make(map[string]bool, len(p.Connections))
	live := 0
	for i, c := range p.Connections {
		if strings.TrimSpace(c.ID) == "" {
			fail("connections[%d].id is empty; set it to the connection's ID", i)
			continue
		}
		if seen[c.ID] {
			fail("connection %q is listed twice; merge the entries", c.ID)
		}
		seen[c.ID] = true
		switch stageOf(c) {
		case StageDraft:
		case StageTesting:
			if len(c.TestUserEmails) == 0 && len(c.TestUserIDs) == 0 {
				fail("connection %q is in stage %q but names no test users; add test_user_emails or test_user_ids, or set the stage to %q",
					c.ID, StageTesting, StageDraft)
			}
		case StageLive:
			live++
		default:
			fail("connection %q: stage %q is unknown; use %q, %q or %q", c.ID, c.Stage, StageDraft, StageTesting, StageLive)
		}
		for _, e := range c.TestUserEmails {
			if _, err := sso.NormalizeEmail(e); err != nil {
				fail("connection %q: test user email %q is not a valid email address", c.ID, e)
			}
		}
		for _, id := range c.TestUserIDs {
			if id == "" {
				fail("connection %q: test_user_ids has an empty ID; remove it", c.ID)
			}
		}
	}
	if p.mode() == ModeSSORequired && live == 0 {
		fail("mode %q needs at least one connection in stage %q, or nobody in scope could log in; make a tested connection live first, or use mode %q",
			ModeSSORequired, StageLive, ModeSSOOptional)
	}
	return errors.Join(errs...)
}

func (p *Policy) prefix() string {
	if p.Account == "" {
		return ""
	}
	return "account " + `"` + p.Account + `": `
}
