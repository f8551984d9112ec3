package provisioning

import (
	"context"
	"errors"

	"github.com/ssokit/sso"
)

// PreviewID is the ID [Provisioner.Preview] gives a user or organisation
// that Provision would create; the store assigns the real ID at the login.
const PreviewID = "(new)"

// Plan is what [Provisioner.Preview] found that Provision would do for one
// login, without doing it.
type Plan struct {
	// Result is what Provision would return when the login would succeed:
	// the user and membership as they would be stored after the login,
	// how the user was found (Match), and what the login would create,
	// join, link and update. A user or organisation that would be created
	// has the ID PreviewID. Nil when the login would be refused.
	Result *Result
	// Refusal is the error Provision would return (an *sso.Error whose
	// Detail tells the administrator what to fix), nil when the login
	// would succeed.
	Refusal error
	// Reason is the Reason of Refusal, "" when the login would succeed.
	Reason sso.Reason
	// BindingPossible reports that a login binding could still let the
	// person in (Refusal then also matches [ErrBindingPossible]).
	BindingPossible bool
	// Events are the audit events Provision would report, in order, ending
	// with login_succeeded or login_failed. Preview reports none of them.
	Events []sso.Event
}

// Allowed reports whether Provision would let the login in.
func (p *Plan) Allowed() bool { return p.Refusal == nil }

// errPreview rolls back the transaction of a Preview.
var errPreview = errors.New("provisioning: preview only")

// Preview tells what [Provisioner.Provision] would do for req, without
// changing anything: which user the identity would be matched to and how
// (link, SSO identifier, email, just-in-time creation, login binding), what
// would be created, linked and updated, or the Reason and Detail of the
// refusal. It serves an administrator's test login, which shows the effect
// of a connection's provisioning settings before real users log in.
//
// Preview applies the same rules as Provision, in the same order, to the
// store's current data. It makes no change: writes stay inside Preview, and
// its store transaction, whose only change is the taking of a pending
// password login for login binding, is always rolled back. It reports no
// events; [Plan.Events] lists those Provision would report. A refusal is
// described by the Plan; the error is non-nil only when the store could not
// be read, and then matches sso.ReasonInternal (sso.ReasonConflict when
// concurrent changes outlasted the retries).
//
// A real login may still differ from its preview when the store changes in
// between (another login creates the user first, an administrator edits a
// membership). Preview does not run Request.Authorize.
func (p *Provisioner) Preview(ctx context.Context, req Request) (*Plan, error) {
	now := p.now()
	fail := loginFailed(&req, now)
	email, err := check(&req)
	if err != nil {
		return refusedPlan(fail, err), nil
	}
	var a *attempt
	var outcome error
	err = p.runTx(ctx, func(tx Tx) error {
		a = p.newAttempt(ctx, &previewTx{Tx: tx}, &req, email, now)
		outcome = a.provision()
		if storeFailure(outcome) {
			return outcome // retried after a conflict like Provision's
		}
		return errPreview
	})
	if err != nil && !errors.Is(err, errPreview) {
		return nil, err
	}
	if a == nil {
		return nil, &sso.Error{Op: "provisioning.Preview", Reason: sso.ReasonInternal, Detail: "the user store's Tx returned without running the transaction"}
	}
	if outcome != nil {
		return refusedPlan(fail, outcome), nil
	}
	return &Plan{Result: a.res, Events: a.successEvents()}, nil
}

func refusedPlan(fail sso.Event, err error) *Plan {
	fail = withFailure(fail, err)
	return &Plan{Refusal: err, Reason: fail.Reason, BindingPossible: errors.Is(err, ErrBindingPossible), Events: []sso.Event{fail}}
}

// storeFailure reports whether err is a failure of the store rather than a
// refusal of the login.
func storeFailure(err error) bool {
	r := sso.ReasonOf(err)
	return r == sso.ReasonInternal || r == sso.ReasonConflict
}

// previewTx passes the reads of a Preview through to the store's
// transaction and keeps its writes to itself, so that nothing reaches the
// store. An organisation it pretends to create is found again by the
// attempt's later reads.
type previewTx struct {
	Tx
	org *Organisation
}

func (t *previewTx) CreateLink(context.Context, *Link) error          { return nil }
func (t *previewTx) UpdateUser(context.Context, *User) error          { return nil }
func (t *previewTx) PutMembership(context.Context, *Membership) error { return nil }
func (t *previewTx) CreateUser(_ context.Context, u *User) error      { return previewID(&u.ID) }
func (t *previewTx) CreateOrganisation(_ context.Context, o *Organisation) error {
	err := previewID(&o.ID)
	c := *o
	t.org = &c
	return err
}

func previewID(id *string) error {
	if *id == "" {
		*id = PreviewID
	}
	return nil
}

func (t *previewTx) FindOrganisation(ctx context.Context, id string) (*Organisation, error) {
	if t.org != nil && t.org.ID == id {
		c := *t.org
		return &c, nil
	}
	return t.Tx.FindOrganisation(ctx, id)
}

func (t *previewTx) FindOrganisationByName(ctx context.Context, account, name string) (*Organisation, error) {
	if t.org != nil && t.org.Account == account && NameKey(t.org.Name) == NameKey(name) {
		c := *t.org
		return &c, nil
	}
	return t.Tx.FindOrganisationByName(ctx, account, name)
}
