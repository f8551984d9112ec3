package provisioning_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// trapStore fails the test when a transaction writes: Preview must keep its
// writes to itself. (Preview's transaction is rolled
// back, which restores it).
type trapStore struct {
	provisioning.Store
	t *testing.T
}

func (s trapStore) Tx(ctx context.Context, fn func(provisioning.Tx) error) error {
	return s.Store.Tx(ctx, func(tx provisioning.Tx) error { return fn(trapTx{tx, s.t}) })
}

type trapTx struct {
	provisioning.Tx
	t *testing.T
}

func (x trapTx) wrote(what string) error {
	x.t.Errorf("Preview wrote to the store: %s", what)
	return errors.New("write refused by the test")
}
func (x trapTx) CreateLink(context.Context, *provisioning.Link) error { return x.wrote("CreateLink") }
func (x trapTx) CreateUser(context.Context, *provisioning.User) error { return x.wrote("CreateUser") }
func (x trapTx) UpdateUser(context.Context, *provisioning.User) error { return x.wrote("UpdateUser") }
func (x trapTx) PutMembership(context.Context, *provisioning.Membership) error {
	return x.wrote("PutMembership")
}
func (x trapTx) CreateOrganisation(context.Context, *provisioning.Organisation) error {
	return x.wrote("CreateOrganisation")
}

// TestPreviewMatchesProvision previews a login of every kind, checks that
// the preview wrote nothing and reported no event, then runs the login and
// checks that it did what the preview said.
func TestPreviewMatchesProvision(t *testing.T) {
	withID := func(id *sso.Identity, f func(*sso.Identity)) *sso.Identity { f(id); return id }
	cases := []struct {
		name   string
		setup  func(e *env) provisioning.Request
		match  provisioning.Match // "" for a refusal
		reason sso.Reason
	}{
		{"link", func(e *env) provisioning.Request {
			uid := e.addUser("olly@acme.example", provisioning.Membership{Account: "acme"})
			_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
				return tx.CreateLink(context.Background(), &provisioning.Link{Connection: "acme-saml", Subject: "s-1", User: uid})
			})
			return req(provisioning.Connection{}, ident("s-1", "olly@acme.example"))
		}, provisioning.MatchLink, ""},
		{"SSO identifier", func(e *env) provisioning.Request {
			e.addUser("david@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "T5014CD"})
			id := ident("nameid", "")
			id.Attributes = map[string][]string{"UID": {"T5014CD"}}
			return req(provisioning.Connection{Identifier: provisioning.IdentifierAttribute, IdentifierAttribute: "UID"}, id)
		}, provisioning.MatchIdentifier, ""},
		{"vouched email", func(e *env) provisioning.Request {
			e.addUser("olly@acme.example", provisioning.Membership{Account: "acme"})
			return req(provisioning.Connection{}, vouched("s-1", "olly@acme.example"))
		}, provisioning.MatchEmail, ""},
		{"attribute updates", func(e *env) provisioning.Request {
			e.addUser("dana@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "D1",
				Roles: []provisioning.RoleGrant{{Role: "Admin", Source: provisioning.RoleSourceAdmin}, {Role: "Old", Source: provisioning.RoleSourceIdP}}})
			c := jitConn()
			c.JIT.Enabled, c.Identifier = false, provisioning.IdentifierSubject
			return req(c, withID(ident("D1", "dana@acme.example"), func(id *sso.Identity) {
				id.GivenName = "Dana"
				id.Attributes = map[string][]string{"Roles": {"Mgr"}}
			}))
		}, provisioning.MatchIdentifier, ""},
		{"created with a new organisation", func(e *env) provisioning.Request {
			return req(jitConn(), withID(ident("T1", "new@acme.example"), func(id *sso.Identity) {
				id.Attributes = map[string][]string{"Roles": {"Clerk"}, "Department": {"Shipping"}}
			}))
		}, provisioning.MatchCreated, ""},
		{"created in an existing organisation", func(e *env) provisioning.Request {
			_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
				return tx.CreateOrganisation(context.Background(), &provisioning.Organisation{Account: "acme", Name: "Unassigned"})
			})
			return req(jitConn(), ident("T2", "bo@acme.example"))
		}, provisioning.MatchCreated, ""},
		{"existing user joins", func(e *env) provisioning.Request {
			e.addUser("kim@acme.example", provisioning.Membership{Account: "other"})
			id := ident("k", "kim@acme.example")
			id.EmailVerified = true
			return req(jitConn(), id)
		}, provisioning.MatchEmail, ""},
		{"login binding", func(e *env) provisioning.Request {
			uid := e.addUser("rita@acme.example", provisioning.Membership{Account: "acme"})
			r := req(bindingConn(), ident("Rita.R", ""))
			r.BindTo = uid
			return r
		}, provisioning.MatchBinding, ""},
		{"login binding possible", func(e *env) provisioning.Request {
			e.addUser("rita@acme.example", provisioning.Membership{Account: "acme"})
			return req(bindingConn(), ident("Rita.R", ""))
		}, "", sso.ReasonUserNotProvisioned},
		{"not provisioned", func(e *env) provisioning.Request {
			return req(provisioning.Connection{}, ident("s", "new@acme.example"))
		}, "", sso.ReasonUserNotProvisioned},
		{"email outside the claimed domains", func(e *env) provisioning.Request {
			return req(jitConn(), ident("s", "a@gmail.example"))
		}, "", sso.ReasonEmailDomainNotAllowed},
		{"unvouched email", func(e *env) provisioning.Request {
			e.addUser("olly@acme.example", provisioning.Membership{Account: "acme"})
			return req(provisioning.Connection{}, ident("s", "olly@acme.example"))
		}, "", sso.ReasonLinkRequiresProof},
		{"disabled member", func(e *env) provisioning.Request {
			e.addUser("off@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "off", Status: provisioning.StatusDisabled})
			return req(provisioning.Connection{Identifier: provisioning.IdentifierSubject}, ident("off", ""))
		}, "", sso.ReasonUserDisabled},
		{"default organisation missing", func(e *env) provisioning.Request {
			c := jitConn()
			c.JIT.CreateOrganisation = false
			return req(c, ident("s", "a@acme.example"))
		}, "", sso.ReasonInvalidConfig},
		{"invalid settings", func(e *env) provisioning.Request {
			return req(provisioning.Connection{Identifier: "nameid"}, ident("s", "a@acme.example"))
		}, "", sso.ReasonInvalidConfig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := c.setup(e)
			e.takeEvents()
			users, members, orgs, links := e.store.Len()

			pv, err := provisioning.New(provisioning.Config{Store: trapStore{e.store, t}, Now: e.clock.Now,
				Events: func(context.Context, sso.Event) { t.Error("Preview reported an event") }})
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pv.Preview(context.Background(), r)
			if err != nil {
				t.Fatalf("Preview: %v", err)
			}
			if u, m, o, l := e.store.Len(); u != users || m != members || o != orgs || l != links {
				t.Fatalf("Preview changed the store: users %d->%d members %d->%d orgs %d->%d links %d->%d", users, u, members, m, orgs, o, links, l)
			}

			res, err := e.provision(r)
			emitted := eventTypes(e.takeEvents())
			if got := eventTypes(plan.Events); !slices.Equal(got, emitted) {
				t.Errorf("plan events %v; Provision reported %v", got, emitted)
			}
			if c.match == "" {
				wantReason(t, err, c.reason)
				if plan.Allowed() || plan.Result != nil || plan.Reason != c.reason || !errors.Is(plan.Refusal, c.reason) {
					t.Fatalf("plan = %+v; want refused with %s", plan, c.reason)
				}
				if plan.Refusal.Error() != err.Error() {
					t.Errorf("plan refusal %q; Provision said %q", plan.Refusal, err)
				}
				if possible := errors.Is(err, provisioning.ErrBindingPossible); plan.BindingPossible != possible || errors.Is(plan.Refusal, provisioning.ErrBindingPossible) != possible {
					t.Errorf("plan BindingPossible %v; Provision %v", plan.BindingPossible, possible)
				}
				return
			}
			if err != nil {
				t.Fatalf("Provision: %v", err)
			}
			p := plan.Result
			if !plan.Allowed() || p == nil || plan.Reason != "" || plan.BindingPossible {
				t.Fatalf("plan = %+v; want allowed", plan)
			}
			if p.Match != c.match || res.Match != c.match {
				t.Errorf("match: plan %s, Provision %s; want %s", p.Match, res.Match, c.match)
			}
			if p.Created != res.Created || p.Joined != res.Joined || p.Linked != res.Linked || !slices.Equal(p.Updated, res.Updated) {
				t.Errorf("plan created/joined/linked/updated %v/%v/%v/%v; Provision %v/%v/%v/%v",
					p.Created, p.Joined, p.Linked, p.Updated, res.Created, res.Joined, res.Linked, res.Updated)
			}
			wantID := res.User.ID
			if res.Created {
				wantID = provisioning.PreviewID
			}
			if p.User.ID != wantID || p.User.Email != res.User.Email || p.User.GivenName != res.User.GivenName || p.Membership.User != wantID {
				t.Errorf("plan user %+v / member of %q; Provision %+v", p.User, p.Membership.User, res.User)
			}
			if !slices.Equal(p.Roles(), res.Roles()) || p.Membership.Status != res.Membership.Status || !slices.Equal(p.Accounts, res.Accounts) {
				t.Errorf("plan roles %v status %q accounts %v; Provision %v %q %v", p.Roles(), p.Membership.Status, p.Accounts, res.Roles(), res.Membership.Status, res.Accounts)
			}
			if (p.Organisation == nil) != (res.Organisation == nil) || p.Organisation != nil && p.Organisation.Name != res.Organisation.Name {
				t.Fatalf("plan organisation %+v; Provision %+v", p.Organisation, res.Organisation)
			}
			if p.Organisation != nil {
				created := slices.Contains(emitted, string(sso.EventOrganisationCreated))
				if (p.Organisation.ID == provisioning.PreviewID) != created || !created && p.Organisation.ID != res.Organisation.ID || p.Membership.Organisation != p.Organisation.ID {
					t.Errorf("plan organisation ID %q (member of %q), Provision %q, created %v", p.Organisation.ID, p.Membership.Organisation, res.Organisation.ID, created)
				}
			}
		})
	}
}

// failingTxStore fails every transaction.
type failingTxStore struct{}

func (failingTxStore) Tx(context.Context, func(provisioning.Tx) error) error {
	return errors.New("database unreachable")
}

func TestPreviewStoreFailure(t *testing.T) {
	p, err := provisioning.New(provisioning.Config{Store: failingTxStore{}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Preview(context.Background(), req(provisioning.Connection{}, ident("s", "a@acme.example")))
	if plan != nil || !errors.Is(err, sso.ReasonInternal) {
		t.Fatalf("Preview = %+v, %v; want no plan and an internal error", plan, err)
	}
	// A request Provision would refuse before reading the store is
	// described without reading it.
	plan, err = p.Preview(context.Background(), req(provisioning.Connection{}, ident("", "a@acme.example")))
	if err != nil || plan.Reason != sso.ReasonSubjectMissing || len(plan.Events) != 1 || plan.Events[0].Type != sso.EventLoginFailed {
		t.Fatalf("Preview = %+v, %v; want a refusal with subject_missing", plan, err)
	}
}
