// Package storetest holds a conformance test for implementations of
// provisioning.Store, in the manner of testing/slogtest. A host that keeps
// users in its own tables runs it against its implementation:
//
//	func TestUserStore(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T) provisioning.Store {
//			return newEmptyStore(t)
//		})
//	}
//
// Besides the store's own rules (lookups, uniqueness, copies, rollback,
// isolation of concurrent transactions) it runs a Provisioner against the
// store with a failure injected at every write of a login, and checks that
// each failed login left nothing behind.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// Factory returns a fresh, empty store.
type Factory func(t *testing.T) provisioning.Store

// base is the time stamps in the tests are built from; stores must keep at
// least microseconds.
var base = time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)

// TestStore runs the conformance tests against stores made by newStore.
func TestStore(t *testing.T, newStore Factory) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("Memberships", func(t *testing.T) { testMemberships(t, newStore(t)) })
	t.Run("Organisations", func(t *testing.T) { testOrganisations(t, newStore(t)) })
	t.Run("ConfusableKeys", func(t *testing.T) { testConfusableKeys(t, newStore(t)) })
	t.Run("Links", func(t *testing.T) { testLinks(t, newStore(t)) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, newStore(t)) })
	t.Run("RollbackOnPanic", func(t *testing.T) { testRollbackOnPanic(t, newStore(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, newStore(t)) })
	t.Run("ProvisionIsAtomic", func(t *testing.T) { testProvisionAtomic(t, newStore) })
	t.Run("ProvisionUpdateIsAtomic", func(t *testing.T) { testProvisionUpdateAtomic(t, newStore(t)) })
	t.Run("ProvisionConcurrentFirstLogin", func(t *testing.T) { testProvisionConcurrent(t, newStore(t)) })
	t.Run("PreviewChangesNothing", func(t *testing.T) { testPreview(t, newStore(t)) })
	t.Run("RefusedLoginWritesNothing", func(t *testing.T) { testRefusedWritesNothing(t, newStore(t)) })
}

// tx runs fn in a transaction and fails the test on error.
func tx(t *testing.T, s provisioning.Store, fn func(tx provisioning.Tx) error) {
	t.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

func wantReason(t *testing.T, what string, err error, r sso.Reason) {
	t.Helper()
	if !errors.Is(err, r) {
		t.Fatalf("%s: err = %v; want one matching %s", what, err, r)
	}
}

func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func testUsers(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	u := &provisioning.User{Email: "Olly@Example.com", GivenName: "Olly", FamilyName: "Ng", DisplayName: "Olly Ng", Language: "en", Created: base, Updated: base}
	tx(t, s, func(tx provisioning.Tx) error { return tx.CreateUser(ctx, u) })
	if u.ID == "" {
		t.Fatal("CreateUser did not assign an ID")
	}
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if got.Email != u.Email || got.GivenName != "Olly" || got.FamilyName != "Ng" || got.DisplayName != "Olly Ng" || got.Language != "en" || got.Disabled {
			t.Errorf("FindUser = %+v; want %+v", got, u)
		}
		if !sameTime(got.Created, base) || !sameTime(got.Updated, base) {
			t.Errorf("times = %v, %v; want %v", got.Created, got.Updated, base)
		}
		for _, e := range []string{"olly@example.com", "OLLY@EXAMPLE.COM", "Olly@Example.com"} {
			got, err := tx.FindUserByEmail(ctx, e)
			if err != nil || got.ID != u.ID {
				t.Errorf("FindUserByEmail(%q) = %v, %v; want user %s (case-insensitive)", e, got, err, u.ID)
			}
		}
		_, err = tx.FindUserByEmail(ctx, "other@example.com")
		wantReason(t, "FindUserByEmail(unknown)", err, sso.ReasonNotFound)
		_, err = tx.FindUserByEmail(ctx, "")
		wantReason(t, "FindUserByEmail(\"\")", err, sso.ReasonNotFound)
		_, err = tx.FindUser(ctx, "no-such-user")
		wantReason(t, "FindUser(unknown)", err, sso.ReasonNotFound)
		return nil
	})

	// Email is unique, ignoring case.
	err := s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.CreateUser(ctx, &provisioning.User{Email: "OLLY@example.com"})
	})
	wantReason(t, "CreateUser(duplicate email)", err, sso.ReasonConflict)

	// Users without email may be many.
	tx(t, s, func(tx provisioning.Tx) error {
		for i := 0; i < 2; i++ {
			if err := tx.CreateUser(ctx, &provisioning.User{GivenName: "No Mail"}); err != nil {
				return err
			}
		}
		return nil
	})

	// A caller-chosen ID is kept.
	tx(t, s, func(tx provisioning.Tx) error {
		if err := tx.CreateUser(ctx, &provisioning.User{ID: "chosen-id", Email: "chosen@example.com"}); err != nil {
			return err
		}
		_, err := tx.FindUser(ctx, "chosen-id")
		return err
	})

	// Update replaces the values, including the email and its index.
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindUser(ctx, u.ID)
		if err != nil {
			return err
		}
		got.Email = "olly.ng@example.com"
		got.GivenName = "Oliver"
		got.Disabled = true
		got.Updated = base.Add(time.Hour)
		return tx.UpdateUser(ctx, got)
	})
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindUserByEmail(ctx, "OLLY.NG@example.com")
		if err != nil {
			return err
		}
		if got.ID != u.ID || got.GivenName != "Oliver" || !got.Disabled || !sameTime(got.Updated, base.Add(time.Hour)) {
			t.Errorf("after UpdateUser: %+v", got)
		}
		_, err = tx.FindUserByEmail(ctx, "olly@example.com")
		wantReason(t, "FindUserByEmail(old email)", err, sso.ReasonNotFound)
		return nil
	})
	err = s.Tx(ctx, func(tx provisioning.Tx) error {
		got, err := tx.FindUser(ctx, "chosen-id")
		if err != nil {
			return err
		}
		got.Email = "Olly.Ng@Example.com"
		return tx.UpdateUser(ctx, got)
	})
	wantReason(t, "UpdateUser(taking another user's email)", err, sso.ReasonConflict)

	// Values returned are copies.
	tx(t, s, func(tx provisioning.Tx) error {
		got, _ := tx.FindUser(ctx, u.ID)
		got.GivenName = "Changed"
		again, _ := tx.FindUser(ctx, u.ID)
		if again.GivenName != "Oliver" {
			t.Errorf("changing a returned user changed the store: %q", again.GivenName)
		}
		return nil
	})
}

func createUser(t *testing.T, s provisioning.Store, email string) string {
	t.Helper()
	u := &provisioning.User{Email: email, Created: base, Updated: base}
	tx(t, s, func(tx provisioning.Tx) error { return tx.CreateUser(context.Background(), u) })
	return u.ID
}

func testMemberships(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	alice := createUser(t, s, "alice@example.com")
	bob := createUser(t, s, "bob@example.com")
	var org string
	tx(t, s, func(tx provisioning.Tx) error {
		o := &provisioning.Organisation{Account: "acct-b", Name: "Shipping"}
		err := tx.CreateOrganisation(ctx, o)
		org = o.ID
		return err
	})
	m := &provisioning.Membership{User: alice, Account: "acct-b", SSOIdentifier: "Alice.X", Status: provisioning.StatusActive, Organisation: org,
		Roles:   []provisioning.RoleGrant{{Role: "Clerk", Source: provisioning.RoleSourceIdP}, {Role: "Admin", Source: provisioning.RoleSourceAdmin}, {Role: "Clerk", Source: provisioning.RoleSourceAdmin}},
		Created: base, Updated: base}
	tx(t, s, func(tx provisioning.Tx) error {
		if err := tx.PutMembership(ctx, m); err != nil {
			return err
		}
		return tx.PutMembership(ctx, &provisioning.Membership{User: alice, Account: "acct-a", Status: "pending", Created: base, Updated: base})
	})
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindMembership(ctx, alice, "acct-b")
		if err != nil {
			return err
		}
		if got.User != alice || got.Account != "acct-b" || got.SSOIdentifier != "Alice.X" || got.Status != provisioning.StatusActive || got.Organisation != org {
			t.Errorf("FindMembership = %+v", got)
		}
		if !sameGrants(got.Roles, m.Roles) {
			t.Errorf("roles = %v; want %v (each with its source)", got.Roles, m.Roles)
		}
		if !sameTime(got.Created, base) {
			t.Errorf("Created = %v; want %v", got.Created, base)
		}
		// Copies.
		got.Roles[0].Role = "Changed"
		again, _ := tx.FindMembership(ctx, alice, "acct-b")
		if !sameGrants(again.Roles, m.Roles) {
			t.Errorf("changing returned roles changed the store: %v", again.Roles)
		}

		// SSO identifier: exact, per account, explicit only.
		got, err = tx.FindMembershipBySSOIdentifier(ctx, "acct-b", "Alice.X")
		if err != nil || got.User != alice {
			t.Errorf("FindMembershipBySSOIdentifier = %v, %v; want alice", got, err)
		}
		for _, c := range [][2]string{{"acct-b", "alice.x"}, {"acct-b", "ALICE.X"}, {"acct-a", "Alice.X"}, {"acct-a", ""}, {"acct-a", "alice@example.com"}} {
			_, err := tx.FindMembershipBySSOIdentifier(ctx, c[0], c[1])
			wantReason(t, fmt.Sprintf("FindMembershipBySSOIdentifier(%q, %q)", c[0], c[1]), err, sso.ReasonNotFound)
		}
		_, err = tx.FindMembership(ctx, bob, "acct-b")
		wantReason(t, "FindMembership(not a member)", err, sso.ReasonNotFound)

		list, err := tx.ListMemberships(ctx, alice)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].Account != "acct-a" || list[1].Account != "acct-b" || list[0].Status != "pending" {
			t.Errorf("ListMemberships = %+v; want acct-a (pending), acct-b", list)
		}
		if list, err := tx.ListMemberships(ctx, bob); err != nil || len(list) != 0 {
			t.Errorf("ListMemberships(bob) = %v, %v; want none", list, err)
		}
		return nil
	})

	// A membership needs an existing user.
	err0 := s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.PutMembership(ctx, &provisioning.Membership{User: "no-such-user", Account: "acct-b"})
	})
	wantReason(t, "PutMembership(unknown user)", err0, sso.ReasonNotFound)

	// The identifier is unique within an account, not across accounts.
	err := s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.PutMembership(ctx, &provisioning.Membership{User: bob, Account: "acct-b", SSOIdentifier: "Alice.X"})
	})
	wantReason(t, "PutMembership(duplicate identifier)", err, sso.ReasonConflict)
	tx(t, s, func(tx provisioning.Tx) error {
		if err := tx.PutMembership(ctx, &provisioning.Membership{User: bob, Account: "acct-c", SSOIdentifier: "Alice.X"}); err != nil {
			return err
		}
		// Case differs: a different identifier.
		return tx.PutMembership(ctx, &provisioning.Membership{User: bob, Account: "acct-b", SSOIdentifier: "alice.x"})
	})

	// Replacing a membership replaces roles and the identifier index.
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindMembership(ctx, alice, "acct-b")
		if err != nil {
			return err
		}
		got.SSOIdentifier = "A-42"
		got.Roles = []provisioning.RoleGrant{{Role: "Manager", Source: provisioning.RoleSourceIdP}}
		got.Organisation = ""
		got.Status = provisioning.StatusDisabled
		return tx.PutMembership(ctx, got)
	})
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindMembershipBySSOIdentifier(ctx, "acct-b", "A-42")
		if err != nil {
			return err
		}
		if got.User != alice || got.Organisation != "" || got.Status != provisioning.StatusDisabled ||
			!sameGrants(got.Roles, []provisioning.RoleGrant{{Role: "Manager", Source: provisioning.RoleSourceIdP}}) {
			t.Errorf("after replace: %+v", got)
		}
		_, err = tx.FindMembershipBySSOIdentifier(ctx, "acct-b", "Alice.X")
		wantReason(t, "old identifier", err, sso.ReasonNotFound)
		return nil
	})
}

func sameGrants(a, b []provisioning.RoleGrant) bool {
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

func testOrganisations(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	o := &provisioning.Organisation{Account: "acct-a", Name: "Shipping  Dept", Status: "active", Created: base}
	tx(t, s, func(tx provisioning.Tx) error { return tx.CreateOrganisation(ctx, o) })
	if o.ID == "" {
		t.Fatal("CreateOrganisation did not assign an ID")
	}
	tx(t, s, func(tx provisioning.Tx) error {
		for _, n := range []string{"Shipping  Dept", "shipping dept", " SHIPPING DEPT "} {
			got, err := tx.FindOrganisationByName(ctx, "acct-a", n)
			if err != nil || got.ID != o.ID || got.Name != "Shipping  Dept" || got.Status != "active" || got.Account != "acct-a" {
				t.Errorf("FindOrganisationByName(%q) = %+v, %v", n, got, err)
			}
		}
		_, err := tx.FindOrganisationByName(ctx, "acct-b", "Shipping Dept")
		wantReason(t, "FindOrganisationByName(other account)", err, sso.ReasonNotFound)
		_, err = tx.FindOrganisation(ctx, "no-such-org")
		wantReason(t, "FindOrganisation(unknown)", err, sso.ReasonNotFound)
		got, err := tx.FindOrganisation(ctx, o.ID)
		if err != nil || got.Name != o.Name || !sameTime(got.Created, base) {
			t.Errorf("FindOrganisation = %+v, %v", got, err)
		}
		// Same name in another account is another organisation.
		return tx.CreateOrganisation(ctx, &provisioning.Organisation{Account: "acct-b", Name: "Shipping Dept"})
	})
	err := s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.CreateOrganisation(ctx, &provisioning.Organisation{Account: "acct-a", Name: "shipping dept"})
	})
	wantReason(t, "CreateOrganisation(duplicate name)", err, sso.ReasonConflict)
}

func testLinks(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	u := createUser(t, s, "linked@example.com")
	tx(t, s, func(tx provisioning.Tx) error {
		return tx.CreateLink(ctx, &provisioning.Link{Connection: "conn-1", Subject: "Sub-1", User: u, Issuer: "https://idp.example", Created: base})
	})
	tx(t, s, func(tx provisioning.Tx) error {
		got, err := tx.FindLink(ctx, "conn-1", "Sub-1")
		if err != nil || got.User != u || got.Issuer != "https://idp.example" || !sameTime(got.Created, base) {
			t.Errorf("FindLink = %+v, %v", got, err)
		}
		for _, c := range [][2]string{{"conn-1", "sub-1"}, {"conn-2", "Sub-1"}, {"conn-1", ""}} {
			_, err := tx.FindLink(ctx, c[0], c[1])
			wantReason(t, fmt.Sprintf("FindLink(%q, %q)", c[0], c[1]), err, sso.ReasonNotFound)
		}
		return nil
	})
	err := s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.CreateLink(ctx, &provisioning.Link{Connection: "conn-1", Subject: "Sub-1", User: u})
	})
	wantReason(t, "CreateLink(duplicate)", err, sso.ReasonConflict)
	err = s.Tx(ctx, func(tx provisioning.Tx) error {
		return tx.CreateLink(ctx, &provisioning.Link{Connection: "conn-1", Subject: "Sub-2", User: "no-such-user"})
	})
	wantReason(t, "CreateLink(unknown user)", err, sso.ReasonNotFound)
}

// writeAll makes one change of every kind and returns fn's error.
func writeAll(ctx context.Context, tx provisioning.Tx, suffix string) error {
	u := &provisioning.User{Email: "rollback" + suffix + "@example.com"}
	if err := tx.CreateUser(ctx, u); err != nil {
		return err
	}
	o := &provisioning.Organisation{Account: "acct-r", Name: "Org " + suffix}
	if err := tx.CreateOrganisation(ctx, o); err != nil {
		return err
	}
	if err := tx.PutMembership(ctx, &provisioning.Membership{User: u.ID, Account: "acct-r", SSOIdentifier: "id" + suffix, Organisation: o.ID}); err != nil {
		return err
	}
	return tx.CreateLink(ctx, &provisioning.Link{Connection: "conn-r", Subject: "sub" + suffix, User: u.ID})
}

func checkNothing(t *testing.T, s provisioning.Store, suffix string) {
	t.Helper()
	ctx := context.Background()
	tx(t, s, func(tx provisioning.Tx) error {
		_, err := tx.FindUserByEmail(ctx, "rollback"+suffix+"@example.com")
		wantReason(t, "user after rollback", err, sso.ReasonNotFound)
		_, err = tx.FindOrganisationByName(ctx, "acct-r", "Org "+suffix)
		wantReason(t, "organisation after rollback", err, sso.ReasonNotFound)
		_, err = tx.FindMembershipBySSOIdentifier(ctx, "acct-r", "id"+suffix)
		wantReason(t, "membership after rollback", err, sso.ReasonNotFound)
		_, err = tx.FindLink(ctx, "conn-r", "sub"+suffix)
		wantReason(t, "link after rollback", err, sso.ReasonNotFound)
		return nil
	})
}

func testRollback(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	errBoom := errors.New("boom")
	err := s.Tx(ctx, func(tx provisioning.Tx) error {
		if err := writeAll(ctx, tx, "1"); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.FindUserByEmail(ctx, "ROLLBACK1@example.com"); err != nil {
			t.Errorf("own write not visible inside the transaction: %v", err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Tx err = %v; want fn's error", err)
	}
	checkNothing(t, s, "1")
	// The same writes succeed afterwards: nothing half-done is in the way.
	tx(t, s, func(tx provisioning.Tx) error { return writeAll(ctx, tx, "1") })
}

func testRollbackOnPanic(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v; want the panic to propagate", r)
			}
		}()
		_ = s.Tx(ctx, func(tx provisioning.Tx) error {
			if err := writeAll(ctx, tx, "2"); err != nil {
				t.Errorf("writeAll: %v", err)
			}
			panic("boom")
		})
	}()
	checkNothing(t, s, "2")
	// The store is usable after the panic.
	tx(t, s, func(tx provisioning.Tx) error { return writeAll(ctx, tx, "2") })
}

func testConcurrentCreate(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	const n = 8
	var created atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.Tx(ctx, func(tx provisioning.Tx) error {
				_, err := tx.FindUserByEmail(ctx, "race@example.com")
				if err == nil {
					return nil
				}
				if !errors.Is(err, sso.ReasonNotFound) {
					return err
				}
				if err := tx.CreateUser(ctx, &provisioning.User{Email: "race@example.com"}); err != nil {
					return err
				}
				created.Add(1)
				return nil
			})
			if err != nil && !errors.Is(err, sso.ReasonConflict) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent transaction failed with %v; want success or sso.ReasonConflict", err)
	}
	var users int
	tx(t, s, func(tx provisioning.Tx) error {
		if _, err := tx.FindUserByEmail(ctx, "race@example.com"); err == nil {
			users = 1
		}
		return nil
	})
	if users != 1 || created.Load() < 1 {
		t.Fatalf("after concurrent creates: user found=%d, creates reported=%d", users, created.Load())
	}
}

// failingStore fails the n-th write (counting from 1) of each transaction
// with errInjected.
type failingStore struct {
	provisioning.Store
	failAt int
	writes atomic.Int32 // writes seen in the last transaction
}

var errInjected = errors.New("storetest: injected failure")

func (f *failingStore) Tx(ctx context.Context, fn func(provisioning.Tx) error) error {
	return f.Store.Tx(ctx, func(tx provisioning.Tx) error {
		ft := &failingTx{Tx: tx, f: f}
		f.writes.Store(0)
		return fn(ft)
	})
}

type failingTx struct {
	provisioning.Tx
	f *failingStore
}

func (t *failingTx) write() error {
	if n := t.f.writes.Add(1); int(n) == t.f.failAt {
		return errInjected
	}
	return nil
}

func (t *failingTx) CreateLink(ctx context.Context, l *provisioning.Link) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.CreateLink(ctx, l)
}
func (t *failingTx) CreateUser(ctx context.Context, u *provisioning.User) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.CreateUser(ctx, u)
}
func (t *failingTx) UpdateUser(ctx context.Context, u *provisioning.User) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.UpdateUser(ctx, u)
}
func (t *failingTx) PutMembership(ctx context.Context, m *provisioning.Membership) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.PutMembership(ctx, m)
}
func (t *failingTx) CreateOrganisation(ctx context.Context, o *provisioning.Organisation) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Tx.CreateOrganisation(ctx, o)
}
func jitRequest(subject, email string) provisioning.Request {
	return provisioning.Request{
		Account: provisioning.Account{ID: "acct-jit", Domains: []string{"example.org"}},
		Connection: provisioning.Connection{
			ID:      "conn-jit",
			JIT:     provisioning.JIT{Enabled: true, DefaultRoles: []string{"Member"}, DefaultOrganisation: "Head Office", CreateOrganisation: true},
			Updates: provisioning.Updates{Names: true, Roles: true, Organisation: true},
			Roles:   provisioning.RoleMapping{Map: map[string][]string{"staff": {"Clerk"}}},
		},
		Identity: &sso.Identity{Connection: "conn-jit", Subject: subject, Email: email, GivenName: "Jo", Attributes: map[string][]string{"Department": {"Shipping"}}, Groups: []string{"staff"}},
	}
}

// testProvisionAtomic runs a just-in-time login (organisation, user,
// membership and link created) with a failure injected at each write in
// turn, and checks each failed login left nothing behind.
func testProvisionAtomic(t *testing.T, newStore Factory) {
	ctx := context.Background()
	inner := newStore(t)
	for failAt := 1; ; failAt++ {
		if failAt > 20 {
			t.Fatal("the login still fails after 20 injected failures")
		}
		fs := &failingStore{Store: inner, failAt: failAt}
		p, err := provisioning.New(provisioning.Config{Store: fs, ConflictRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		req := jitRequest("subject-atomic", "jo@example.org")
		res, err := p.Provision(ctx, req)
		if err == nil {
			if failAt < 4 {
				t.Fatalf("login succeeded with a failure injected at write %d; want at least 4 writes (organisation, user, membership, link)", failAt)
			}
			if !res.Created || res.Organisation == nil || res.Organisation.Name != "Shipping" {
				t.Fatalf("result = %+v", res)
			}
			break
		}
		if !errors.Is(err, errInjected) || !errors.Is(err, sso.ReasonInternal) {
			t.Fatalf("write %d: err = %v; want the injected failure as sso.ReasonInternal", failAt, err)
		}
		tx(t, inner, func(tx provisioning.Tx) error {
			if _, err := tx.FindUserByEmail(ctx, "jo@example.org"); !errors.Is(err, sso.ReasonNotFound) {
				t.Errorf("write %d failed, yet the user exists (err %v)", failAt, err)
			}
			if _, err := tx.FindOrganisationByName(ctx, "acct-jit", "Shipping"); !errors.Is(err, sso.ReasonNotFound) {
				t.Errorf("write %d failed, yet the organisation exists (err %v)", failAt, err)
			}
			if _, err := tx.FindLink(ctx, "conn-jit", "subject-atomic"); !errors.Is(err, sso.ReasonNotFound) {
				t.Errorf("write %d failed, yet the link exists (err %v)", failAt, err)
			}
			return nil
		})
	}
	// The user is complete: the next login finds it by its link.
	p, _ := provisioning.New(provisioning.Config{Store: inner})
	res, err := p.Provision(ctx, jitRequest("subject-atomic", "jo@example.org"))
	if err != nil || res.Match != provisioning.MatchLink || !slices.Contains(res.Roles(), "Member") || !slices.Contains(res.Roles(), "Clerk") {
		t.Fatalf("second login = %+v, %v; want a link match with roles Member and Clerk", res, err)
	}
}

// testProvisionConcurrent runs the first login of one person several times
// at once: exactly one user is created, and every login gets it.
func testProvisionConcurrent(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	p, err := provisioning.New(provisioning.Config{Store: s, ConflictRetries: 10})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := p.Provision(ctx, jitRequest("subject-race", "race@example.org"))
			errs[i] = err
			if err == nil {
				ids[i] = res.User.ID
			}
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("logins got different users: %v", ids)
		}
	}
}

// testPreview previews a just-in-time login and a login bound to a password
// login in the same browser, checks that the previews left the store as it
// was (the pending password login is still there), then runs the logins.
func testPreview(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	p, err := provisioning.New(provisioning.Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	jit := jitRequest("subject-preview", "preview@example.org")
	plan, err := p.Preview(ctx, jit)
	if err != nil || !plan.Allowed() || plan.Result.Match != provisioning.MatchCreated || plan.Result.Organisation == nil ||
		plan.Result.Organisation.Name != "Shipping" || plan.Result.Organisation.ID != provisioning.PreviewID {
		t.Fatalf("Preview(JIT) = %+v, %v; want a creation in a new organisation Shipping", plan, err)
	}
	tx(t, s, func(tx provisioning.Tx) error {
		if _, err := tx.FindUserByEmail(ctx, "preview@example.org"); !errors.Is(err, sso.ReasonNotFound) {
			t.Errorf("Preview created the user (err %v)", err)
		}
		if _, err := tx.FindOrganisationByName(ctx, "acct-jit", "Shipping"); !errors.Is(err, sso.ReasonNotFound) {
			t.Errorf("Preview created the organisation (err %v)", err)
		}
		return nil
	})
	res, err := p.Provision(ctx, jit)
	if err != nil || res.Match != provisioning.MatchCreated || res.Organisation == nil || res.Organisation.Name != "Shipping" {
		t.Fatalf("Provision(JIT) after Preview = %+v, %v", res, err)
	}

	// Login binding: the user the person proved and confirmed.
	bind := provisioning.Request{
		Account:    provisioning.Account{ID: "acct-jit", Domains: []string{"example.org"}},
		Connection: provisioning.Connection{ID: "conn-bind", Identifier: provisioning.IdentifierSubject, LoginBinding: provisioning.LoginBinding{Enabled: true}},
		Identity:   &sso.Identity{Connection: "conn-bind", Subject: "unknown-at-the-idp"},
		BindTo:     res.User.ID,
	}
	for i := 0; i < 2; i++ {
		plan, err = p.Preview(ctx, bind)
		if err != nil || !plan.Allowed() || plan.Result.Match != provisioning.MatchBinding || plan.Result.User.ID != res.User.ID {
			t.Fatalf("Preview(binding) #%d = %+v, %v; want bound to %s", i+1, plan, err, res.User.ID)
		}
	}
	got, err := p.Provision(ctx, bind)
	if err != nil || got.Match != provisioning.MatchBinding || got.User.ID != res.User.ID {
		t.Fatalf("Provision(binding) after Preview = %+v, %v; want bound to %s", got, err, res.User.ID)
	}
}

// testRefusedWritesNothing: a login that Request.Authorize refuses, after
// provisioning found, created, linked and updated its user, leaves the
// store as it was: the refusal comes before the commit.
func testRefusedWritesNothing(t *testing.T, s provisioning.Store) {
	ctx := context.Background()
	p, err := provisioning.New(provisioning.Config{Store: s, Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	refusal := &sso.Error{Op: "test", Reason: sso.ReasonConnectionNotLive, Detail: "not a test user"}
	var seen *provisioning.Result
	deny := func(_ context.Context, res *provisioning.Result) error {
		seen = res
		return refusal
	}
	// A new user: JIT creation with an organisation and roles.
	jit := jitRequest("refused-new", "refused@example.org")
	jit.Identity.Groups = []string{"staff"}
	jit.Authorize = deny
	if _, err := p.Provision(ctx, jit); !errors.Is(err, sso.ReasonConnectionNotLive) {
		t.Fatalf("Provision = %v; want the Authorize refusal", err)
	}
	if seen == nil || !seen.Created || seen.User.Email != "refused@example.org" || !slices.Contains(seen.Roles(), "Clerk") {
		t.Fatalf("Authorize saw %+v; want the created user with their roles", seen)
	}
	tx(t, s, func(tx provisioning.Tx) error {
		if _, err := tx.FindUserByEmail(ctx, "refused@example.org"); !errors.Is(err, sso.ReasonNotFound) {
			t.Errorf("a refused login created its user (err %v)", err)
		}
		if _, err := tx.FindOrganisationByName(ctx, "acct-jit", "Shipping"); !errors.Is(err, sso.ReasonNotFound) {
			t.Errorf("a refused login created an organisation (err %v)", err)
		}
		if _, err := tx.FindLink(ctx, "conn-jit", "refused-new"); !errors.Is(err, sso.ReasonNotFound) {
			t.Errorf("a refused login linked its identity (err %v)", err)
		}
		return nil
	})
	// An existing member: linked by a vouched email, IdP roles granted.
	u := &provisioning.User{Email: "member@example.org", Created: base, Updated: base}
	tx(t, s, func(tx provisioning.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.PutMembership(ctx, &provisioning.Membership{User: u.ID, Account: "acct-jit", Status: provisioning.StatusActive, Created: base, Updated: base})
	})
	member := jitRequest("refused-member", "member@example.org")
	member.Identity.EmailVerified = true
	member.Identity.Groups = []string{"staff"}
	member.Identity.GivenName = "Changed"
	member.Authorize = deny
	if _, err := p.Provision(ctx, member); !errors.Is(err, sso.ReasonConnectionNotLive) {
		t.Fatalf("Provision = %v; want the Authorize refusal", err)
	}
	tx(t, s, func(tx provisioning.Tx) error {
		m, err := tx.FindMembership(ctx, u.ID, "acct-jit")
		if err != nil || len(m.Roles) != 0 {
			t.Errorf("a refused login granted roles: %+v, %v", m, err)
		}
		got, err := tx.FindUser(ctx, u.ID)
		if err != nil || got.GivenName != "" {
			t.Errorf("a refused login updated the user: %+v, %v", got, err)
		}
		if _, err := tx.FindLink(ctx, "conn-jit", "refused-member"); !errors.Is(err, sso.ReasonNotFound) {
			t.Errorf("a refused login linked its identity (err %v)", err)
		}
		return nil
	})
	// The same logins, allowed, do write.
	member.Authorize = nil
	if res, err := p.Provision(ctx, member); err != nil || !res.Linked || res.User.ID != u.ID {
		t.Fatalf("allowed login = %+v, %v", res, err)
	}
}

// testProvisionUpdateAtomic runs the first SSO login of an existing member
// (linked by a vouched email, names and IdP roles updated, moved to the
// department's organisation) with a failure injected at each write in turn,
// and checks each failed login left the user, membership and links as they
// were.
func testProvisionUpdateAtomic(t *testing.T, inner provisioning.Store) {
	ctx := context.Background()
	u := &provisioning.User{Email: "kim@example.org", GivenName: "Kim", Created: base, Updated: base}
	var shipping string
	tx(t, inner, func(tx provisioning.Tx) error {
		o := &provisioning.Organisation{Account: "acct-up", Name: "Shipping", Created: base}
		if err := tx.CreateOrganisation(ctx, o); err != nil {
			return err
		}
		shipping = o.ID
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.PutMembership(ctx, &provisioning.Membership{User: u.ID, Account: "acct-up", Status: provisioning.StatusActive, Created: base, Updated: base,
			Roles: []provisioning.RoleGrant{{Role: "Admin", Source: provisioning.RoleSourceAdmin}, {Role: "Old", Source: provisioning.RoleSourceIdP}}})
	})
	req := provisioning.Request{
		Account: provisioning.Account{ID: "acct-up", Domains: []string{"example.org"}},
		Connection: provisioning.Connection{ID: "conn-up",
			Updates: provisioning.Updates{Names: true, Roles: true, Organisation: true},
			Roles:   provisioning.RoleMapping{Map: map[string][]string{"staff": {"Clerk"}}}},
		Identity: &sso.Identity{Connection: "conn-up", Subject: "kim-at-idp", Email: "kim@example.org", GivenName: "Kimberly", EmailVerified: true,
			Attributes: map[string][]string{"Department": {"Shipping"}}, Groups: []string{"staff"}},
	}
	for failAt := 1; ; failAt++ {
		if failAt > 20 {
			t.Fatal("the login still fails after 20 injected failures")
		}
		fs := &failingStore{Store: inner, failAt: failAt}
		p, err := provisioning.New(provisioning.Config{Store: fs, ConflictRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Provision(ctx, req)
		if err == nil {
			if failAt < 4 {
				t.Fatalf("login succeeded with a failure injected at write %d; want 3 writes (link, user, membership)", failAt)
			}
			if res.Match != provisioning.MatchEmail || res.User.GivenName != "Kimberly" || res.Membership.Organisation != shipping ||
				!slices.Equal(res.Roles(), []string{"Admin", "Clerk"}) {
				t.Fatalf("result = %+v, roles %v", res, res.Roles())
			}
			break
		}
		if !errors.Is(err, errInjected) || !errors.Is(err, sso.ReasonInternal) {
			t.Fatalf("write %d: err = %v; want the injected failure as sso.ReasonInternal", failAt, err)
		}
		tx(t, inner, func(tx provisioning.Tx) error {
			if _, err := tx.FindLink(ctx, "conn-up", "kim-at-idp"); !errors.Is(err, sso.ReasonNotFound) {
				t.Errorf("write %d failed, yet the link exists (err %v)", failAt, err)
			}
			if got, err := tx.FindUser(ctx, u.ID); err != nil || got.GivenName != "Kim" || !sameTime(got.Updated, base) {
				t.Errorf("write %d failed, yet the user changed: %+v, %v", failAt, got, err)
			}
			m, err := tx.FindMembership(ctx, u.ID, "acct-up")
			if err != nil || m.Organisation != "" || !sameGrants(m.Roles, []provisioning.RoleGrant{{Role: "Admin", Source: provisioning.RoleSourceAdmin}, {Role: "Old", Source: provisioning.RoleSourceIdP}}) {
				t.Errorf("write %d failed, yet the membership changed: %+v, %v", failAt, m, err)
			}
			return nil
		})
	}
}
