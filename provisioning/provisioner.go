package provisioning

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/sso"
)

// ErrBindingPossible marks a refusal after which a login binding can still
// let the person in: the connection has login binding on, and nothing
// else matched. The Reason stays sso.ReasonUserNotProvisioned or
// sso.ReasonLinkRequiresProof. Package login then asks for the password of
// the user to bind to and a confirmation, and provisions again with
// Request.BindTo (see [LoginBinding]):
//
//	if errors.Is(err, provisioning.ErrBindingPossible) { ask for the password }
var ErrBindingPossible = errors.New("provisioning: a confirmed password login in this browser may link this identity")

// Match says how a login found its user.
type Match string

// Matches, in the order Provision tries them.
const (
	// MatchLink: an existing link of (connection, subject).
	MatchLink Match = "link"
	// MatchIdentifier: a member whose SSOIdentifier an administrator set
	// equals the identity's identifier (case-sensitive).
	MatchIdentifier Match = "identifier"
	// MatchEmail: a user with the identity's email, linked automatically
	// because the account claims the email's domain and the identity
	// provider vouches for the email.
	MatchEmail Match = "email"
	// MatchCreated: created just in time.
	MatchCreated Match = "created"
	// MatchBinding: the user who proved with a password to be the person
	// at the browser and confirmed the link (login binding, Request.BindTo).
	MatchBinding Match = "binding"
)

// Result is a successful provisioning.
type Result struct {
	// User is the application's user, as stored after this login.
	User User
	// Membership is the user's membership in the account the login went
	// through, as stored after this login.
	Membership Membership
	// Organisation is the member's organisation, or nil.
	Organisation *Organisation
	// Accounts lists the accounts this login grants access to: only the
	// account whose connection authenticated the person. Other accounts
	// the user is a member of need their own login.
	Accounts []string
	// Match says how the user was found.
	Match Match
	// Created reports that the user was created by this login; Joined
	// that the membership was; Linked that the identity was linked to the
	// user by this login.
	Created, Joined, Linked bool
	// Updated names the values this login changed from attributes
	// ("given_name", "family_name", "display_name", "roles", "organisation").
	Updated []string
	// Warnings are findings for the administrator (e.g. a department that
	// names no organisation).
	Warnings []sso.Warning
}

// Roles returns the member's roles in the account.
func (r *Result) Roles() []string { return r.Membership.RoleNames() }

// Provisioner maps identities to the application's users. It is safe for
// concurrent use.
type Provisioner struct {
	store   Store
	now     func() time.Time
	events  sso.EventFunc
	retries int
}

// New returns a Provisioner for cfg.
func New(cfg Config) (*Provisioner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provisioner{store: cfg.Store, now: cfg.Now, events: cfg.Events, retries: cfg.ConflictRetries}
	if p.now == nil {
		p.now = time.Now
	}
	if p.retries == 0 {
		p.retries = DefaultConflictRetries
	} else if p.retries < 0 {
		p.retries = 0
	}
	return p, nil
}

// Provision finds, links or creates the application's user for an SSO login
// and returns it with the account the login grants.
//
// The email must be in the account's claimed domains unless the connection
// sets AllowEmailOutsideDomains (sso.ReasonEmailDomainNotAllowed). Then the
// user is found, in this order:
//
//  1. by an existing link of (connection, subject);
//  2. by a member of the account whose SSOIdentifier, set by an
//     administrator, equals the identity's identifier (case-sensitive). When
//     the identifier is the email (IdentifierEmail), this links only under
//     the rule of 3 (claimed domain, vouched email), else
//     sso.ReasonLinkRequiresProof;
//  3. by email (case-insensitive; also the identifier when it stands for the
//     email): linked automatically only when the account claims the email's
//     domain and the identity provider vouches for the email
//     EmailVerified). Otherwise the link needs proof
//     (sso.ReasonLinkRequiresProof), since linking by an unvouched email is an
//     account takeover;
//  4. by just-in-time creation, if enabled;
//  5. by login binding, if enabled: the user of Request.BindTo. Without
//     one, the refusal also matches [ErrBindingPossible];
//
// otherwise the error matches sso.ReasonUserNotProvisioned. A disabled user
// or member gets sso.ReasonUserDisabled. Then Request.Authorize, when set,
// decides with the user as the login would leave them.
//
// All changes of one login (user, membership, organisation, link, updates)
// are made in one store transaction, and a refused login changes nothing:
// not even a refusal by Authorize, which runs before the commit. Events are
// reported after the transaction committed.
func (p *Provisioner) Provision(ctx context.Context, req Request) (*Result, error) {
	now := p.now()
	fail := loginFailed(&req, now)
	email, err := check(&req)
	if err != nil {
		p.failed(ctx, fail, err)
		return nil, err
	}
	var a *attempt
	err = p.runTx(ctx, func(tx Tx) error {
		a = p.newAttempt(ctx, tx, &req, email, now)
		if err := a.provision(); err != nil {
			return err
		}
		if req.BindTo != "" && a.res.User.ID != req.BindTo {
			return a.refuse(sso.ReasonConflict, fmt.Sprintf("the identity reaches user %q now (linked or matched meanwhile), not user %q to whom the login binding was confirmed", a.res.User.ID, req.BindTo))
		}
		if req.Authorize != nil {
			return req.Authorize(ctx, a.res)
		}
		return nil
	})
	if err != nil {
		p.failed(ctx, fail, err)
		return nil, err
	}
	p.succeeded(ctx, a)
	return a.res, nil
}

// newAttempt starts one try of Provision for req inside tx.
func (p *Provisioner) newAttempt(ctx context.Context, tx Tx, req *Request, email string, now time.Time) *attempt {
	return &attempt{ctx: ctx, tx: tx, op: "provisioning.Provision", req: req, id: req.Identity, email: email, now: now}
}

// loginFailed returns the login_failed event of req, without its Reason.
func loginFailed(req *Request, now time.Time) sso.Event {
	e := sso.Event{Type: sso.EventLoginFailed, Time: now, Account: req.Account.ID, Connection: req.Connection.ID, Attrs: withAttrs(nil, req.EventAttrs)}
	if req.Identity != nil {
		e.Subject = req.Identity.Subject
	}
	return e
}

// runTx runs fn in a store transaction, retrying after conflicts.
func (p *Provisioner) runTx(ctx context.Context, fn func(Tx) error) error {
	var err error
	for i := 0; i <= p.retries; i++ {
		err = p.store.Tx(ctx, fn)
		if err == nil || !errors.Is(err, sso.ReasonConflict) || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		var e *sso.Error
		if !errors.As(err, &e) {
			err = &sso.Error{Op: "provisioning", Reason: sso.ReasonInternal, Detail: "the user store failed", Err: err}
		}
	}
	return err
}

func (p *Provisioner) failed(ctx context.Context, e sso.Event, err error) {
	p.events.Emit(ctx, withFailure(e, err))
}

// withFailure returns e with the Reason and Detail of err.
func withFailure(e sso.Event, err error) sso.Event {
	e.Reason = sso.ReasonOf(err)
	var se *sso.Error
	if errors.As(err, &se) {
		e.Detail = se.Detail
	}
	return e
}

func (p *Provisioner) succeeded(ctx context.Context, a *attempt) {
	for _, e := range a.successEvents() {
		p.events.Emit(ctx, e)
	}
}

// successEvents returns the events of a successful attempt: what it created,
// linked and updated, then login_succeeded.
func (a *attempt) successEvents() []sso.Event {
	return append(slices.Clip(a.events), a.event(sso.EventLoginSucceeded, a.res.User.ID, map[string]string{"match": string(a.res.Match)}))
}

// check validates the request and applies the email domain rule. It returns
// the normalised email.
func check(req *Request) (string, error) {
	const op = "provisioning.Provision"
	c := &req.Connection
	id := req.Identity
	switch {
	case id == nil:
		return "", &sso.Error{Op: op, Reason: sso.ReasonInvalidRequest, Connection: c.ID, Detail: "the request carries no identity"}
	case req.Account.ID == "":
		return "", &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig, Connection: c.ID, Detail: "the request names no account"}
	case id.Connection != "" && id.Connection != c.ID:
		return "", &sso.Error{Op: op, Reason: sso.ReasonInvalidRequest, Connection: c.ID, Detail: "the identity comes from another connection than the settings given", Expected: c.ID, Actual: id.Connection}
	case id.Subject == "":
		return "", &sso.Error{Op: op, Reason: sso.ReasonSubjectMissing, Connection: c.ID, Detail: "the identity has no subject to link"}
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	email := id.Email
	if email != "" {
		var err error
		if email, err = sso.NormalizeEmail(email); err != nil {
			return "", &sso.Error{Op: op, Reason: sso.ReasonInvalidEmail, Connection: c.ID, Detail: "the identity provider sent an unusable email address", Err: err}
		}
	}
	if email == "" {
		if c.RequireEmail {
			return "", &sso.Error{Op: op, Reason: sso.ReasonEmailMissing, Connection: c.ID, Detail: "the identity provider sent no email address and the connection requires one; map the email attribute or claim"}
		}
		return "", nil
	}
	if d := sso.EmailDomain(email); !c.AllowEmailOutsideDomains && !req.Account.Claims(d) {
		return "", &sso.Error{Op: op, Reason: sso.ReasonEmailDomainNotAllowed, Connection: c.ID,
			Detail: fmt.Sprintf("the email domain %q is not claimed by account %q; claim it, or allow emails outside the account's domains on the connection", d, req.Account.ID)}
	}
	return email, nil
}

func storeError(op, connection, what string, err error) error {
	var e *sso.Error
	if errors.As(err, &e) && (e.Reason == sso.ReasonConflict || e.Reason == sso.ReasonInternal) {
		return err
	}
	reason := sso.ReasonInternal
	if errors.Is(err, sso.ReasonConflict) {
		reason = sso.ReasonConflict
	}
	return &sso.Error{Op: op, Reason: reason, Connection: connection, Detail: "the user store failed to " + what, Err: err}
}

func notFound(err error) bool { return errors.Is(err, sso.ReasonNotFound) }

// attempt is one try of one login inside one transaction.
type attempt struct {
	ctx   context.Context
	tx    Tx
	op    string
	req   *Request
	id    *sso.Identity
	email string
	now   time.Time

	created, joined, linked bool
	events                  []sso.Event
	warnings                []sso.Warning
	res                     *Result
}

func (a *attempt) conn() *Connection { return &a.req.Connection }
func (a *attempt) account() string   { return a.req.Account.ID }

func (a *attempt) event(t sso.EventType, user string, attrs map[string]string) sso.Event {
	return sso.Event{Type: t, Time: a.now, Account: a.account(), Connection: a.conn().ID, Protocol: a.id.Protocol, User: user, Subject: a.id.Subject, Attrs: withAttrs(attrs, a.req.EventAttrs)}
}

// withAttrs returns attrs with the entries of extra added, in a new map
// when extra has any; attrs' own entries win.
func withAttrs(attrs, extra map[string]string) map[string]string {
	if len(extra) == 0 {
		return attrs
	}
	out := make(map[string]string, len(attrs)+len(extra))
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range attrs {
		out[k] = v
	}
	return out
}

func (a *attempt) refuse(reason sso.Reason, detail string) error {
	return &sso.Error{Op: a.op, Reason: reason, Connection: a.conn().ID, Detail: detail}
}

func (a *attempt) storeErr(what string, err error) error {
	return storeError(a.op, a.conn().ID, what, err)
}

// membership returns user's membership in the account, or nil.
func (a *attempt) membership(user string) (*Membership, error) {
	m, err := a.tx.FindMembership(a.ctx, user, a.account())
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, a.storeErr("find a membership", err)
	}
	return m, nil
}

func (a *attempt) user(id string) (*User, error) {
	u, err := a.tx.FindUser(a.ctx, id)
	if err != nil {
		return nil, a.storeErr("find user "+id, err)
	}
	return u, nil
}

func (a *attempt) provision() error {
	c, acct := a.conn(), a.account()

	// 1. An existing link.
	link, err := a.tx.FindLink(a.ctx, c.ID, a.id.Subject)
	if err == nil {
		u, err := a.user(link.User)
		if err != nil {
			return err
		}
		m, err := a.membership(u.ID)
		if err != nil {
			return err
		}
		if m == nil && !c.JIT.Enabled {
			return a.refuse(sso.ReasonUserNotProvisioned, fmt.Sprintf("the identity is linked to user %q, who is not a member of account %q, and just-in-time creation is off", u.ID, acct))
		}
		return a.finish(u, m, MatchLink, false)
	} else if !notFound(err) {
		return a.storeErr("find a link", err)
	}

	// 2. A member whose SSO identifier an administrator set. When the
	// identifier is the identity's email, it proves no more than the email
	// does: it links only when the email is vouched for.
	ident := c.identifier(a.id, a.email)
	if ident != "" {
		m, err := a.tx.FindMembershipBySSOIdentifier(a.ctx, acct, ident)
		if err == nil {
			u, err := a.user(m.User)
			if err != nil {
				return err
			}
			if why := a.emailIdentifierUnvouched(); why != "" {
				return a.refuseOrBind(sso.ReasonLinkRequiresProof, fmt.Sprintf("user %q has the SSO identifier %q, but %s", u.ID, ident, why))
			}
			return a.finish(u, m, MatchIdentifier, true)
		} else if !notFound(err) {
			return a.storeErr("find a member by SSO identifier", err)
		}
	}

	// 3. A user with the identity's email (or the identifier standing for
	// the email, compared exactly).
	cand, err := a.emailCandidate(ident)
	if err != nil {
		return err
	}
	var proof string // why a matching user may not be linked without proof
	if cand != nil {
		m, err := a.membership(cand.ID)
		if err != nil {
			return err
		}
		switch {
		case m != nil && m.SSOIdentifier != "":
			proof = fmt.Sprintf("user %q has the email %q but an SSO identifier that differs from the identity's %q (compared case-sensitively)", cand.ID, cand.Email, ident)
		case m == nil && !c.JIT.Enabled:
			// Not a member, and nobody may add one: nothing to link.
		default:
			if why := a.unvouched(cand); why != "" {
				proof = why
			} else {
				return a.finish(cand, m, MatchEmail, true)
			}
		}
	}

	// 4. Just-in-time creation.
	if cand == nil && c.JIT.Enabled {
		return a.create()
	}

	reason, detail := sso.ReasonUserNotProvisioned, fmt.Sprintf("no user of account %q matches the identity (subject %q, email %q) and just-in-time creation is off", acct, a.id.Subject, a.email)
	if proof != "" {
		reason, detail = sso.ReasonLinkRequiresProof, proof
	} else if cand != nil {
		detail = fmt.Sprintf("user %q has the identity's email but is not a member of account %q", cand.ID, acct)
	}

	return a.refuseOrBind(reason, detail)
}

// refuseOrBind ends a login that matched no user it may link: by login
// binding to Request.BindTo when the connection allows it (5.), otherwise
// with the refusal, which says when a binding could still let the person
// in.
func (a *attempt) refuseOrBind(reason sso.Reason, detail string) error {
	lb := a.conn().LoginBinding
	if !lb.Enabled {
		return a.refuse(reason, detail)
	}
	if a.id.IdPInitiated && !lb.AllowIdPInitiated {
		return a.refuse(reason, detail+"; login binding does not take identities from IdP-initiated logins on this connection (LoginBinding.AllowIdPInitiated)")
	}
	if a.req.BindTo == "" {
		return &sso.Error{Op: a.op, Reason: reason, Connection: a.conn().ID,
			Detail: detail + "; a password login in this browser, confirmed by the person, may link the identity (login binding)", Err: ErrBindingPossible}
	}
	u, err := a.tx.FindUser(a.ctx, a.req.BindTo)
	if notFound(err) {
		return a.refuse(sso.ReasonUserNotProvisioned, fmt.Sprintf("user %q, to whom the login binding would link the identity, does not exist", a.req.BindTo))
	} else if err != nil {
		return a.storeErr("find the user to bind to", err)
	}
	m, err := a.membership(u.ID)
	if err != nil {
		return err
	}
	if m == nil {
		return a.refuse(sso.ReasonUserNotProvisioned, fmt.Sprintf("user %q proved their password but is not a member of account %q, so the identity is not bound to them", u.ID, a.account()))
	}
	return a.finish(u, m, MatchBinding, true)
}

// emailIdentifierUnvouched returns why the identity's email, used as the SSO
// identifier (IdentifierEmail), may not link a member automatically, or "".
func (a *attempt) emailIdentifierUnvouched() string {
	c := a.conn()
	if c.Identifier != "" && c.Identifier != IdentifierEmail {
		return ""
	}
	if d := sso.EmailDomain(a.email); !a.req.Account.Claims(d) {
		return fmt.Sprintf("the identifier is the identity's email, whose domain %q account %q does not claim, so it is not linked automatically", d, a.account())
	}
	if !a.id.EmailVerified {
		return "the identifier is the identity's email, which the identity provider does not vouch for (the identity's email is not verified: the connection's protocol settings say whether it trusts the provider's emails), so it is not linked automatically"
	}
	return ""
}

// emailCandidate returns the user matched by email, or nil.
func (a *attempt) emailCandidate(ident string) (*User, error) {
	if ident != "" && ident != a.email && a.conn().Identifier != "" && a.conn().Identifier != IdentifierEmail {
		// A member without an SSO identifier is identified by the email,
		// compared exactly (SmartRecruiters' default ssoIdentifier).
		u, err := a.tx.FindUserByEmail(a.ctx, ident)
		if err == nil && u.Email == ident {
			return u, nil
		} else if err != nil && !notFound(err) {
			return nil, a.storeErr("find a user by email", err)
		}
	}
	if a.email == "" {
		return nil, nil
	}
	u, err := a.tx.FindUserByEmail(a.ctx, a.email)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, a.storeErr("find a user by email", err)
	}
	return u, nil
}

// unvouched returns why u may not be linked by email automatically, or "".
func (a *attempt) unvouched(u *User) string {
	d := sso.EmailDomain(EmailKey(u.Email))
	if !a.req.Account.Claims(d) {
		return fmt.Sprintf("user %q has this email, but account %q does not claim its domain %q, so it is not linked automatically", u.ID, a.account(), d)
	}
	if !(a.id.EmailVerified && EmailKey(a.id.Email) == EmailKey(u.Email)) {
		return fmt.Sprintf("user %q has this email, but the identity provider does not vouch for it (the identity's email is not verified: the connection's protocol settings say whether it trusts the provider's emails), so it is not linked automatically", u.ID)
	}
	return ""
}

// create creates the user just in time.
func (a *attempt) create() error {
	id := a.id
	u := &User{
		Email:       a.email,
		GivenName:   id.GivenName,
		FamilyName:  id.FamilyName,
		DisplayName: id.DisplayName,
		Language:    id.FirstAttribute(a.conn().languageAttributes()...),
		Created:     a.now,
		Updated:     a.now,
	}
	// Resolve the organisation first: a refusal there writes nothing.
	m, err := a.newMembership()
	if err != nil {
		return err
	}
	if err := a.tx.CreateUser(a.ctx, u); err != nil {
		return a.storeErr("create the user", err)
	}
	m.User = u.ID
	a.created, a.joined = true, true
	a.events = append(a.events, a.event(sso.EventUserCreated, u.ID, map[string]string{"email": u.Email}))
	return a.finish(u, m, MatchCreated, true)
}

// newMembership returns a membership of the account with the JIT defaults,
// creating the organisation if so configured. Its User is not set.
func (a *attempt) newMembership() (*Membership, error) {
	c := a.conn()
	m := &Membership{Account: a.account(), Status: c.JIT.DefaultStatus, Created: a.now, Updated: a.now}
	if m.Status == "" {
		m.Status = StatusActive
	}
	for _, r := range c.JIT.DefaultRoles {
		m.Roles = addGrant(m.Roles, RoleGrant{Role: r, Source: RoleSourceDefault})
	}
	org, err := a.jitOrganisation()
	if err != nil {
		return nil, err
	}
	m.Organisation = org
	return m, nil
}

func (a *attempt) jitOrganisation() (string, error) {
	c := a.conn()
	if dept := a.department(); c.Updates.Organisation && dept != "" {
		org, err := a.findOrCreateOrganisation(dept, c.JIT.CreateOrganisation)
		if err != nil || org != nil {
			return orgID(org), err
		}
	}
	if c.JIT.DefaultOrganisation == "" {
		return "", nil
	}
	org, err := a.findOrCreateOrganisation(c.JIT.DefaultOrganisation, c.JIT.CreateOrganisation)
	if err != nil {
		return "", err
	}
	if org == nil {
		return "", a.refuse(sso.ReasonInvalidConfig, fmt.Sprintf("JIT.DefaultOrganisation %q names no organisation of account %q; create it, or turn on JIT.CreateOrganisation", c.JIT.DefaultOrganisation, a.account()))
	}
	return org.ID, nil
}

// department returns the identity's organisation name, from the
// connection's OrganisationAttributes.
func (a *attempt) department() string {
	return a.id.FirstAttribute(a.conn().organisationAttributes()...)
}

func orgID(o *Organisation) string {
	if o == nil {
		return ""
	}
	return o.ID
}

// findOrCreateOrganisation returns the account's organisation named name,
// creating it when create is set; nil when missing and not created.
func (a *attempt) findOrCreateOrganisation(name string, create bool) (*Organisation, error) {
	org, err := a.tx.FindOrganisationByName(a.ctx, a.account(), name)
	if err == nil {
		return org, nil
	}
	if !notFound(err) {
		return nil, a.storeErr("find an organisation", err)
	}
	if !create {
		return nil, nil
	}
	org = &Organisation{Account: a.account(), Name: name, Status: a.conn().JIT.OrganisationStatus, Created: a.now}
	if err := a.tx.CreateOrganisation(a.ctx, org); err != nil {
		return nil, a.storeErr("create organisation "+name, err)
	}
	a.events = append(a.events, a.event(sso.EventOrganisationCreated, "", map[string]string{"organisation": org.ID, "name": org.Name}))
	return org, nil
}

// finish completes a login matched to u: checks that u may log in, joins the
// account if m is nil (JIT only), links the identity if link is set, applies
// updates and stores the result.
func (a *attempt) finish(u *User, m *Membership, match Match, link bool) error {
	c := a.conn()
	if u.Disabled {
		return a.refuse(sso.ReasonUserDisabled, fmt.Sprintf("user %q is disabled", u.ID))
	}
	if m != nil && m.Status == StatusDisabled {
		return a.refuse(sso.ReasonUserDisabled, fmt.Sprintf("user %q is disabled in account %q", u.ID, a.account()))
	}
	if m == nil {
		if !c.JIT.Enabled {
			return a.refuse(sso.ReasonUserNotProvisioned, fmt.Sprintf("user %q is not a member of account %q and just-in-time creation is off", u.ID, a.account()))
		}
		var err error
		if m, err = a.newMembership(); err != nil {
			return err
		}
		m.User = u.ID
		a.joined = true
	}
	if link {
		l := &Link{Connection: c.ID, Subject: a.id.Subject, User: u.ID, Issuer: a.id.Issuer, Created: a.now}
		if err := a.tx.CreateLink(a.ctx, l); err != nil {
			return a.storeErr("link the identity", err)
		}
		a.linked = true
		a.events = append(a.events, a.event(sso.EventUserLinked, u.ID, map[string]string{"match": string(match)}))
	}

	userChanged, updated, err := a.update(u, m)
	if err != nil {
		return err
	}
	if userChanged && !a.created {
		u.Updated = a.now
		if err := a.tx.UpdateUser(a.ctx, u); err != nil {
			return a.storeErr("update the user", err)
		}
	}
	if a.joined || len(updated) > 0 {
		if !a.joined {
			m.Updated = a.now
		}
		if err := a.tx.PutMembership(a.ctx, m); err != nil {
			return a.storeErr("store the membership", err)
		}
	}
	if len(updated) > 0 && !a.created {
		a.events = append(a.events, a.event(sso.EventUserUpdated, u.ID, map[string]string{"updated": strings.Join(updated, ",")}))
	}
	a.res = &Result{
		User:       *u,
		Membership: *m,
		Accounts:   []string{a.account()},
		Match:      match,
		Created:    a.created,
		Joined:     a.joined,
		Linked:     a.linked,
		Warnings:   a.warnings,
	}
	if !a.created {
		a.res.Updated = updated
	}
	if m.Organisation != "" {
		if org, err := a.tx.FindOrganisation(a.ctx, m.Organisation); err == nil {
			a.res.Organisation = org
		} else if !notFound(err) {
			return a.storeErr("find the organisation", err)
		}
	}
	return nil
}

// update applies the connection's attribute updates to u and m. It reports
// whether u changed and which values changed.
func (a *attempt) update(u *User, m *Membership) (userChanged bool, updated []string, err error) {
	c, id := a.conn(), a.id
	if c.Updates.Names {
		set := func(field *string, v, name string) {
			if v != "" && *field != v {
				*field = v
				userChanged = true
				updated = append(updated, name)
			}
		}
		set(&u.GivenName, id.GivenName, "given_name")
		set(&u.FamilyName, id.FamilyName, "family_name")
		set(&u.DisplayName, id.DisplayName, "display_name")
	}
	if c.Updates.Roles {
		if roles, present := c.roles(id); present {
			grants := make([]RoleGrant, 0, len(m.Roles)+len(roles))
			for _, g := range m.Roles {
				if g.Source != RoleSourceIdP {
					grants = append(grants, g)
				}
			}
			for _, r := range roles {
				grants = addGrant(grants, RoleGrant{Role: r, Source: RoleSourceIdP})
			}
			if !sameGrants(grants, m.Roles) {
				m.Roles = grants
				updated = append(updated, "roles")
			}
		}
	}
	if dept := a.department(); c.Updates.Organisation && dept != "" && !a.joined {
		org, err := a.tx.FindOrganisationByName(a.ctx, a.account(), dept)
		switch {
		case err == nil:
			if org.ID != m.Organisation {
				m.Organisation = org.ID
				updated = append(updated, "organisation")
			}
		case notFound(err):
			a.warnings = append(a.warnings, sso.Warning{Reason: sso.ReasonNotFound,
				Detail: fmt.Sprintf("the department %q names no organisation of account %q; the user's organisation was left unchanged", dept, a.account())})
		default:
			return false, nil, a.storeErr("find an organisation", err)
		}
	}
	return userChanged, updated, nil
}

func addGrant(gs []RoleGrant, g RoleGrant) []RoleGrant {
	if slices.Contains(gs, g) {
		return gs
	}
	return append(gs, g)
}

func sameGrants(a, b []RoleGrant) bool {
	if len(a) != len(b) {
		return false
	}
	for _, g := range a {
		if !slices.Contains(b, g) {
			return false
		}
	}
	return true
}
