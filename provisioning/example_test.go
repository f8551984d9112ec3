package provisioning_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// Just-in-time creation with a default role and organisation, and roles
// mapped from the identity provider's groups (SmartSimple).
func ExampleProvisioner_Provision() {
	ctx := context.Background()
	p, err := provisioning.New(provisioning.Config{Store: provisioning.NewMemoryStore(provisioning.MemoryOptions{})})
	if err != nil {
		panic(err)
	}
	req := provisioning.Request{
		Account: provisioning.Account{ID: "acme", Domains: []string{"acme.example"}},
		Connection: provisioning.Connection{
			ID:      "acme-saml",
			JIT:     provisioning.JIT{Enabled: true, DefaultRoles: []string{"Applicant"}, DefaultOrganisation: "Acme", CreateOrganisation: true},
			Updates: provisioning.Updates{Names: true, Roles: true},
			Roles:   provisioning.RoleMapping{Attribute: "Roles", SplitCommas: true, Map: map[string][]string{"Clerk": {"Clerk"}}},
		},
		Identity: &sso.Identity{
			Connection: "acme-saml",
			Subject:    "T5014CD",
			Email:      "david@acme.example",
			GivenName:  "David",
			Attributes: map[string][]string{"Roles": {"Clerk"}},
		},
	}
	res, err := p.Provision(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Match, res.User.ID, res.User.Email, res.Roles(), res.Organisation.Name, res.Accounts)

	// The next login finds the user by the link.
	res, _ = p.Provision(ctx, req)
	fmt.Println(res.Match, res.User.ID)
	// Output:
	// created user-1 david@acme.example [Applicant Clerk] Acme [acme]
	// link user-1
}

// Login binding (SmartRecruiters): the identity provider's identifier is
// unknown, so the login is refused with a binding still possible; the
// person proves with a password to be user-1 and confirms the link (package
// login runs that exchange), and the identity is provisioned again, bound to
// that user.
func ExampleRequest_bindTo() {
	ctx := context.Background()
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	// An administrator created the user earlier.
	_ = store.Tx(ctx, func(tx provisioning.Tx) error {
		u := &provisioning.User{Email: "rita@acme.example"}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.PutMembership(ctx, &provisioning.Membership{User: u.ID, Account: "acme", Status: provisioning.StatusActive})
	})
	p, _ := provisioning.New(provisioning.Config{Store: store})

	req := provisioning.Request{
		Account:    provisioning.Account{ID: "acme", Domains: []string{"acme.example"}},
		Connection: provisioning.Connection{ID: "acme-saml", Identifier: provisioning.IdentifierSubject, LoginBinding: provisioning.LoginBinding{Enabled: true}},
		Identity:   &sso.Identity{Connection: "acme-saml", Subject: "RITA-77"},
	}
	_, err := p.Provision(ctx, req)
	fmt.Println(sso.ReasonOf(err), errors.Is(err, provisioning.ErrBindingPossible))

	// The person typed user-1's password and confirmed the link:
	bound := req
	bound.BindTo = "user-1"
	res, err := p.Provision(ctx, bound)
	fmt.Println(res.Match, res.User.ID, err)

	// From now on the identifier is known.
	res, _ = p.Provision(ctx, req)
	fmt.Println(res.Match, res.User.ID)
	// Output:
	// user_not_provisioned true
	// binding user-1 <nil>
	// link user-1
}

// Automatic linking by email needs a claimed domain and an email the identity
// provider vouches for.
func ExampleProvisioner_Provision_vouchedEmail() {
	ctx := context.Background()
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	_ = store.Tx(ctx, func(tx provisioning.Tx) error {
		u := &provisioning.User{Email: "olly@acme.example"}
		_ = tx.CreateUser(ctx, u)
		return tx.PutMembership(ctx, &provisioning.Membership{User: u.ID, Account: "acme"})
	})
	p, _ := provisioning.New(provisioning.Config{Store: store})
	req := provisioning.Request{
		Account:    provisioning.Account{ID: "acme", Domains: []string{"acme.example"}},
		Connection: provisioning.Connection{ID: "acme-oidc"},
		Identity:   &sso.Identity{Connection: "acme-oidc", Subject: "00u1", Email: "Olly@acme.example"},
	}
	_, err := p.Provision(ctx, req)
	fmt.Println(sso.ReasonOf(err))

	req.Identity.EmailVerified = true // email_verified: true
	res, err := p.Provision(ctx, req)
	fmt.Println(res.Match, res.User.ID, err)
	// Output:
	// link_requires_proof
	// email user-1 <nil>
}

// An administrator's test login previews what the login would do, without
// creating anything: here a just-in-time user in a new organisation, then a
// refusal whose Detail says what to change.
func ExampleProvisioner_Preview() {
	ctx := context.Background()
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	p, _ := provisioning.New(provisioning.Config{Store: store})
	req := provisioning.Request{
		Account: provisioning.Account{ID: "acme", Domains: []string{"acme.example"}},
		Connection: provisioning.Connection{ID: "acme-saml",
			JIT:     provisioning.JIT{Enabled: true, DefaultRoles: []string{"Applicant"}, CreateOrganisation: true},
			Updates: provisioning.Updates{Organisation: true}},
		Identity: &sso.Identity{Connection: "acme-saml", Subject: "T5014CD", Email: "david@acme.example",
			Attributes: map[string][]string{"Department": {"Shipping"}}},
	}
	plan, err := p.Preview(ctx, req)
	if err != nil {
		panic(err)
	}
	r := plan.Result
	fmt.Println(plan.Allowed(), r.Match, r.User.ID, r.User.Email, r.Roles(), r.Organisation.Name, r.Organisation.ID)
	for _, e := range plan.Events {
		fmt.Println(" ", e.Type)
	}
	users, _, orgs, _ := store.Len()
	fmt.Println("stored users and organisations:", users, orgs)

	req.Identity.Email = "david@gmail.example"
	plan, _ = p.Preview(ctx, req)
	fmt.Println(plan.Allowed(), plan.Reason)
	// Output:
	// true created (new) david@acme.example [Applicant] Shipping (new)
	//   organisation_created
	//   user_created
	//   user_linked
	//   login_succeeded
	// stored users and organisations: 0 0
	// false email_domain_not_allowed
}
