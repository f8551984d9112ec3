package provisioning_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/provisioning/storetest"
	"github.com/ssokit/sso/ssotest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) provisioning.Store {
		return provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	})
}

// env is a provisioner over a memory store with a settable clock and an
// event recorder.
type env struct {
	t      *testing.T
	store  *provisioning.MemoryStore
	p      *provisioning.Provisioner
	clock  *ssotest.Clock
	mu     sync.Mutex
	events []sso.Event
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, clock: ssotest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	e.store = provisioning.NewMemoryStore(provisioning.MemoryOptions{Now: e.clock.Now})
	p, err := provisioning.New(provisioning.Config{Store: e.store, Now: e.clock.Now, Events: func(_ context.Context, ev sso.Event) {
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

func (e *env) takeEvents() []sso.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	ev := e.events
	e.events = nil
	return ev
}

func eventTypes(evs []sso.Event) []string {
	var out []string
	for _, e := range evs {
		s := string(e.Type)
		if e.Reason != "" {
			s += ":" + string(e.Reason)
		}
		out = append(out, s)
	}
	return out
}

// addUser creates a user with memberships; each membership is
// account[:identifier[:role,role]].
func (e *env) addUser(email string, memberships ...provisioning.Membership) string {
	e.t.Helper()
	u := &provisioning.User{Email: email, GivenName: "Given", FamilyName: "Family"}
	err := e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		if err := tx.CreateUser(context.Background(), u); err != nil {
			return err
		}
		for _, m := range memberships {
			m.User = u.ID
			if m.Status == "" {
				m.Status = provisioning.StatusActive
			}
			if err := tx.PutMembership(context.Background(), &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func (e *env) membership(user, account string) *provisioning.Membership {
	e.t.Helper()
	var m *provisioning.Membership
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		var err error
		m, err = tx.FindMembership(context.Background(), user, account)
		return err
	})
	return m
}

func (e *env) user(id string) *provisioning.User {
	e.t.Helper()
	var u *provisioning.User
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		var err error
		u, err = tx.FindUser(context.Background(), id)
		return err
	})
	return u
}

func (e *env) provision(req provisioning.Request) (*provisioning.Result, error) {
	return e.p.Provision(context.Background(), req)
}

func acme() provisioning.Account {
	return provisioning.Account{ID: "acme", Domains: []string{"acme.example"}}
}

func ident(subject, email string) *sso.Identity {
	return &sso.Identity{Connection: "acme-saml", Protocol: sso.ProtocolSAML, Issuer: "https://idp.acme.example", Subject: subject, Email: email}
}

// vouched is ident with an email the identity provider vouches for, as a
// protocol package reports it for a connection that trusts its emails.
func vouched(subject, email string) *sso.Identity {
	id := ident(subject, email)
	id.EmailVerified = true
	return id
}

func req(conn provisioning.Connection, id *sso.Identity) provisioning.Request {
	if conn.ID == "" {
		conn.ID = "acme-saml"
	}
	return provisioning.Request{Account: acme(), Connection: conn, Identity: id}
}

func wantReason(t *testing.T, err error, r sso.Reason) {
	t.Helper()
	if !errors.Is(err, r) {
		t.Fatalf("err = %v; want %s", err, r)
	}
	var se *sso.Error
	if !errors.As(err, &se) || se.Detail == "" {
		t.Fatalf("err = %#v; want an *sso.Error with a Detail for the administrator", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := provisioning.New(provisioning.Config{}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("New without store: %v", err)
	}
}

func TestConnectionValidate(t *testing.T) {
	for name, c := range map[string]provisioning.Connection{
		"no ID":                     {},
		"attribute without name":    {ID: "c", Identifier: provisioning.IdentifierAttribute},
		"unknown identifier source": {ID: "c", Identifier: "nameid"},
		"JIT creates disabled":      {ID: "c", JIT: provisioning.JIT{Enabled: true, DefaultStatus: provisioning.StatusDisabled}},
		"empty default role":        {ID: "c", JIT: provisioning.JIT{DefaultRoles: []string{" "}}},
		"binding window too long":   {ID: "c", LoginBinding: provisioning.LoginBinding{Enabled: true, Window: 2 * time.Hour}},
		"role updates without map":  {ID: "c", Updates: provisioning.Updates{Roles: true}},
		"empty mapped role":         {ID: "c", Roles: provisioning.RoleMapping{Map: map[string][]string{"g": {""}}}},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.Validate()
			wantReason(t, err, sso.ReasonInvalidConfig)
			// Provision refuses such settings too.
			e := newEnv(t)
			_, err = e.provision(provisioning.Request{Account: acme(), Connection: c, Identity: &sso.Identity{Subject: "s"}})
			wantReason(t, err, sso.ReasonInvalidConfig)
		})
	}
	ok := provisioning.Connection{ID: "c", Identifier: provisioning.IdentifierAttribute, IdentifierAttribute: "UID",
		Updates: provisioning.Updates{Roles: true}, Roles: provisioning.RoleMapping{PassThrough: true}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRequestRefusals(t *testing.T) {
	e := newEnv(t)
	conn := provisioning.Connection{ID: "acme-saml", JIT: provisioning.JIT{Enabled: true}}
	cases := []struct {
		name string
		req  provisioning.Request
		want sso.Reason
	}{
		{"no identity", provisioning.Request{Account: acme(), Connection: conn}, sso.ReasonInvalidRequest},
		{"no account", provisioning.Request{Connection: conn, Identity: ident("s", "a@acme.example")}, sso.ReasonInvalidConfig},
		{"identity of another connection", provisioning.Request{Account: acme(), Connection: conn, Identity: &sso.Identity{Connection: "other", Subject: "s", Email: "a@acme.example"}}, sso.ReasonInvalidRequest},
		{"no subject", req(conn, ident("", "a@acme.example")), sso.ReasonSubjectMissing},
		{"malformed email", req(conn, ident("s", "not an email")), sso.ReasonInvalidEmail},
		{"email outside the claimed domains", req(conn, ident("s", "a@gmail.example")), sso.ReasonEmailDomainNotAllowed},
		{"subdomain not claimed", req(conn, ident("s", "a@eu.acme.example")), sso.ReasonEmailDomainNotAllowed},
		{"look-alike domain", req(conn, ident("s", "a@acme.example.evil.example")), sso.ReasonEmailDomainNotAllowed},
		{"email required", req(provisioning.Connection{ID: "acme-saml", RequireEmail: true, JIT: provisioning.JIT{Enabled: true}}, ident("s", "")), sso.ReasonEmailMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.provision(c.req)
			wantReason(t, err, c.want)
			evs := e.takeEvents()
			if len(evs) != 1 || evs[0].Type != sso.EventLoginFailed || evs[0].Reason != c.want {
				t.Fatalf("events = %v; want one login_failed with %s", eventTypes(evs), c.want)
			}
		})
	}
	if users, _, _, _ := e.store.Len(); users != 0 {
		t.Fatalf("%d users created by refused logins", users)
	}

	// The domain rule can be lifted per connection, and the domain's case
	// does not matter.
	conn.AllowEmailOutsideDomains = true
	if _, err := e.provision(req(conn, ident("s1", "a@gmail.example"))); err != nil {
		t.Fatalf("AllowEmailOutsideDomains: %v", err)
	}
	if _, err := e.provision(req(provisioning.Connection{ID: "acme-saml", JIT: provisioning.JIT{Enabled: true}}, ident("s2", "b@ACME.Example"))); err != nil {
		t.Fatalf("upper-case claimed domain: %v", err)
	}
	// Without an email (and without RequireEmail) the domain rule has
	// nothing to check.
	if _, err := e.provision(req(provisioning.Connection{ID: "acme-saml", JIT: provisioning.JIT{Enabled: true}}, ident("s3", ""))); err != nil {
		t.Fatalf("no email: %v", err)
	}
}

func TestNotProvisioned(t *testing.T) {
	e := newEnv(t)
	e.addUser("other@acme.example", provisioning.Membership{Account: "acme"})
	_, err := e.provision(req(provisioning.Connection{}, ident("s", "new@acme.example")))
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	if errors.Is(err, provisioning.ErrBindingPossible) {
		t.Fatal("binding possible although login binding is off")
	}
	// A user of another account is not a member here.
	e.addUser("elsewhere@acme.example", provisioning.Membership{Account: "other"})
	_, err = e.provision(req(provisioning.Connection{}, ident("s", "elsewhere@acme.example")))
	wantReason(t, err, sso.ReasonUserNotProvisioned)
}

func TestMatchByLink(t *testing.T) {
	e := newEnv(t)
	uid := e.addUser("olly@acme.example", provisioning.Membership{Account: "acme"})
	conn := provisioning.Connection{}
	res, err := e.provision(req(conn, vouched("nameid-1", "olly@acme.example")))
	if err != nil || res.Match != provisioning.MatchEmail || !res.Linked || res.User.ID != uid {
		t.Fatalf("first login = %+v, %v; want an email match that links", res, err)
	}
	// The IdP changes the email (even to one no user has): the link wins.
	res, err = e.provision(req(conn, ident("nameid-1", "o.ng@acme.example")))
	if err != nil || res.Match != provisioning.MatchLink || res.Linked || res.User.ID != uid {
		t.Fatalf("second login = %+v, %v; want the link", res, err)
	}
	// The subject is compared exactly.
	_, err = e.provision(req(provisioning.Connection{}, ident("NAMEID-1", "o.ng@acme.example")))
	wantReason(t, err, sso.ReasonUserNotProvisioned)

	// Removed from the account: the link alone does not let them in...
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		m, _ := tx.FindMembership(context.Background(), uid, "acme")
		m.Account = "elsewhere"
		_ = tx.PutMembership(context.Background(), m)
		return nil
	})
	e2 := newEnv(t)
	uid2 := e2.addUser("x@acme.example")
	_ = e2.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		return tx.CreateLink(context.Background(), &provisioning.Link{Connection: "acme-saml", Subject: "linked", User: uid2})
	})
	_, err = e2.provision(req(provisioning.Connection{}, ident("linked", "x@acme.example")))
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	// ...unless just-in-time creation may add them.
	res, err = e2.provision(req(provisioning.Connection{JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"Viewer"}}}, ident("linked", "x@acme.example")))
	if err != nil || !res.Joined || res.Created || !slices.Equal(res.Roles(), []string{"Viewer"}) {
		t.Fatalf("link + JIT = %+v, %v; want joined with the default role", res, err)
	}
}

func TestMatchByIdentifier(t *testing.T) {
	e := newEnv(t)
	// SmartSimple: UID attribute, an employee number; the email does not
	// matter and the domain need not be claimed.
	uid := e.addUser("david@shipping.example", provisioning.Membership{Account: "acme", SSOIdentifier: "T5014CD"})
	conn := provisioning.Connection{Identifier: provisioning.IdentifierAttribute, IdentifierAttribute: "UID", AllowEmailOutsideDomains: true}
	id := ident("nameid-x", "")
	id.Attributes = map[string][]string{"UID": {"T5014CD"}}
	res, err := e.provision(req(conn, id))
	if err != nil || res.Match != provisioning.MatchIdentifier || res.User.ID != uid || !res.Linked {
		t.Fatalf("login = %+v, %v; want identifier match", res, err)
	}
	// Case-sensitive.
	id2 := ident("nameid-y", "")
	id2.Attributes = map[string][]string{"UID": {"t5014cd"}}
	_, err = e.provision(req(conn, id2))
	wantReason(t, err, sso.ReasonUserNotProvisioned)

	// Identifier from the subject (SmartRecruiters' ssoIdentifier).
	uid3 := e.addUser("sam@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "Sam.Smith@acme.example"})
	conn = provisioning.Connection{Identifier: provisioning.IdentifierSubject}
	res, err = e.provision(req(conn, ident("Sam.Smith@acme.example", "")))
	if err != nil || res.User.ID != uid3 || res.Match != provisioning.MatchIdentifier {
		t.Fatalf("subject identifier = %+v, %v", res, err)
	}
	// An identifier set in another account does not match here.
	e.addUser("kim@acme.example", provisioning.Membership{Account: "other", SSOIdentifier: "kim-1"})
	_, err = e.provision(req(conn, ident("kim-1", "")))
	wantReason(t, err, sso.ReasonUserNotProvisioned)
}

// An SSO identifier that is the identity's email (the default source) is
// only as good as the email: linked automatically under the email rule
// (claimed domain, vouched email), else only with proof.
func TestEmailIdentifierNeedsVouchedEmail(t *testing.T) {
	cases := []struct {
		name     string
		conn     provisioning.Connection
		email    string
		verified bool
		want     sso.Reason // "" = linked
	}{
		{"verified email", provisioning.Connection{}, "olly@acme.example", true, ""},
		{"unvouched email", provisioning.Connection{}, "olly@acme.example", false, sso.ReasonLinkRequiresProof},
		{"unvouched email, JIT on (no second user)", provisioning.Connection{JIT: provisioning.JIT{Enabled: true}}, "olly@acme.example", false, sso.ReasonLinkRequiresProof},
		{"unclaimed domain, allowed in", provisioning.Connection{AllowEmailOutsideDomains: true}, "olly@gmail.example", true, sso.ReasonLinkRequiresProof},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			// The user's own email differs from the identifier an
			// administrator set, so only the identifier can match.
			uid := e.addUser("o.ng@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: c.email})
			id := ident("idp-sub-1", c.email)
			id.EmailVerified = c.verified
			res, err := e.provision(req(c.conn, id))
			if c.want == "" {
				if err != nil || res.Match != provisioning.MatchIdentifier || res.User.ID != uid || !res.Linked {
					t.Fatalf("= %+v, %v; want linked by the SSO identifier", res, err)
				}
				return
			}
			wantReason(t, err, c.want)
			if !strings.Contains(err.Error(), `has the SSO identifier "`+c.email+`"`) {
				t.Fatalf("detail = %v; want it to name the identifier", err)
			}
			if users, _, _, links := e.store.Len(); users != 1 || links != 0 {
				t.Fatalf("users=%d links=%d after refusal; want 1, 0", users, links)
			}
		})
	}
	// A confirmed password login in the same browser is the proof.
	e := newEnv(t)
	uid := e.addUser("o.ng@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "olly@acme.example"})
	r := req(provisioning.Connection{LoginBinding: provisioning.LoginBinding{Enabled: true}}, ident("idp-sub-1", "olly@acme.example"))
	_, err := e.provision(r)
	if !errors.Is(err, sso.ReasonLinkRequiresProof) || !errors.Is(err, provisioning.ErrBindingPossible) {
		t.Fatalf("err = %v; want link_requires_proof with a binding possible", err)
	}
	r.BindTo = uid
	if res, err := e.provision(r); err != nil || res.User.ID != uid || !res.Linked || res.Match != provisioning.MatchBinding {
		t.Fatalf("bound = %+v, %v", res, err)
	}
}

func TestEmailLinkingNeedsClaimedDomainAndVouchedEmail(t *testing.T) {
	cases := []struct {
		name    string
		email   string // the existing user's and the identity's email
		conn    provisioning.Connection
		verfied bool
		want    sso.Reason // "" = linked
	}{
		{"verified email", "olly@acme.example", provisioning.Connection{}, true, ""},
		{"unvouched email", "olly@acme.example", provisioning.Connection{}, false, sso.ReasonLinkRequiresProof},
		{"unclaimed domain, allowed in", "olly@gmail.example", provisioning.Connection{AllowEmailOutsideDomains: true}, true, sso.ReasonLinkRequiresProof},
		{"unvouched, JIT on (no duplicate user)", "olly@acme.example", provisioning.Connection{JIT: provisioning.JIT{Enabled: true}}, false, sso.ReasonLinkRequiresProof},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			uid := e.addUser(c.email, provisioning.Membership{Account: "acme"})
			id := ident("s-1", strings.ToUpper(c.email[:1])+c.email[1:]) // case-insensitive
			id.EmailVerified = c.verfied
			res, err := e.provision(req(c.conn, id))
			if c.want == "" {
				if err != nil || res.Match != provisioning.MatchEmail || res.User.ID != uid || !res.Linked {
					t.Fatalf("= %+v, %v; want linked by email", res, err)
				}
				return
			}
			wantReason(t, err, c.want)
			if users, _, _, links := e.store.Len(); users != 1 || links != 0 {
				t.Fatalf("users=%d links=%d after refusal; want 1, 0", users, links)
			}
		})
	}
}

func TestEmailDoesNotOverrideSetIdentifier(t *testing.T) {
	e := newEnv(t)
	e.addUser("olly@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "OllyNg"})
	conn := provisioning.Connection{Identifier: provisioning.IdentifierSubject}
	id := ident("ollyng", "olly@acme.example")
	id.EmailVerified = true
	_, err := e.provision(req(conn, id))
	wantReason(t, err, sso.ReasonLinkRequiresProof)
}

func TestDefaultIdentifierIsEmailExactly(t *testing.T) {
	// SmartRecruiters: a user created without ssoIdentifier is identified by
	// the email, case-sensitively; the IdP sends only the NameID.
	e := newEnv(t)
	uid := e.addUser("Pat.Lee@acme.example", provisioning.Membership{Account: "acme"})
	conn := provisioning.Connection{Identifier: provisioning.IdentifierSubject}
	_, err := e.provision(req(conn, ident("pat.lee@acme.example", "")))
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	res, err := e.provision(req(conn, vouched("Pat.Lee@acme.example", "Pat.Lee@acme.example")))
	if err != nil || res.User.ID != uid || res.Match != provisioning.MatchEmail {
		t.Fatalf("= %+v, %v; want linked by the default identifier", res, err)
	}
	// A verified email vouches only for itself, not for the identifier.
	id := ident("Pat.Lee@acme.example", "someone.else@acme.example")
	id.EmailVerified = true
	e1 := newEnv(t)
	e1.addUser("Pat.Lee@acme.example", provisioning.Membership{Account: "acme"})
	_, err = e1.provision(req(provisioning.Connection{Identifier: provisioning.IdentifierSubject}, id))
	wantReason(t, err, sso.ReasonLinkRequiresProof)
	// Without TrustEmail the default identifier is only an email: proof needed.
	e2 := newEnv(t)
	e2.addUser("Pat.Lee@acme.example", provisioning.Membership{Account: "acme"})
	_, err = e2.provision(req(provisioning.Connection{Identifier: provisioning.IdentifierSubject}, ident("Pat.Lee@acme.example", "")))
	wantReason(t, err, sso.ReasonLinkRequiresProof)
}

func jitConn() provisioning.Connection {
	return provisioning.Connection{
		JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"Applicant"}, DefaultStatus: "pending",
			DefaultOrganisation: "Unassigned", CreateOrganisation: true, OrganisationStatus: "new"},
		Updates: provisioning.Updates{Names: true, Roles: true, Organisation: true},
		Roles:   provisioning.RoleMapping{Attribute: "Roles", SplitCommas: true, Map: map[string][]string{"Clerk": {"Clerk"}, "Mgr": {"Manager", "Reviewer"}}},
	}
}

func TestJIT(t *testing.T) {
	e := newEnv(t)
	id := ident("T5014CD", "david@acme.example")
	id.GivenName, id.FamilyName = "David", "Smith"
	id.Attributes = map[string][]string{"Department": {"Shipping"}, "Language": {"1"}, "Roles": {"Clerk, Unknown"}}
	res, err := e.provision(req(jitConn(), id))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Joined || !res.Linked || res.Match != provisioning.MatchCreated {
		t.Fatalf("flags = %+v", res)
	}
	u := res.User
	if u.Email != "david@acme.example" || u.GivenName != "David" || u.FamilyName != "Smith" || u.Language != "1" || u.ID == "" {
		t.Fatalf("user = %+v", u)
	}
	if res.Membership.Status != "pending" || !slices.Equal(res.Roles(), []string{"Applicant", "Clerk"}) {
		t.Fatalf("membership = %+v; roles %v", res.Membership, res.Roles())
	}
	if res.Organisation == nil || res.Organisation.Name != "Shipping" || res.Organisation.Status != "new" {
		t.Fatalf("organisation = %+v; want Shipping created", res.Organisation)
	}
	if !slices.Equal(res.Accounts, []string{"acme"}) {
		t.Fatalf("accounts = %v", res.Accounts)
	}
	want := []string{"organisation_created", "user_created", "user_linked", "login_succeeded"}
	if got := eventTypes(e.takeEvents()); !slices.Equal(got, want) {
		t.Fatalf("events = %v; want %v", got, want)
	}
	// The stored state matches the result.
	if m := e.membership(u.ID, "acme"); m == nil || m.Organisation != res.Organisation.ID {
		t.Fatalf("stored membership = %+v", m)
	}

	// A second person of the same department joins the same organisation.
	id2 := ident("T2", "ann@acme.example")
	setDept(id2, "shipping")
	res2, err := e.provision(req(jitConn(), id2))
	if err != nil || res2.Organisation == nil || res2.Organisation.ID != res.Organisation.ID {
		t.Fatalf("second JIT = %+v, %v; want the existing organisation", res2, err)
	}
	// No department: the default organisation, created once.
	res3, err := e.provision(req(jitConn(), ident("T3", "bo@acme.example")))
	if err != nil || res3.Organisation == nil || res3.Organisation.Name != "Unassigned" {
		t.Fatalf("default organisation = %+v, %v", res3, err)
	}
	// Role attribute missing at creation: default role only.
	if !slices.Equal(res3.Roles(), []string{"Applicant"}) {
		t.Fatalf("roles = %v", res3.Roles())
	}
}

func TestJITOrganisationWithoutCreate(t *testing.T) {
	e := newEnv(t)
	conn := jitConn()
	conn.JIT.CreateOrganisation = false
	id := ident("s", "a@acme.example")
	setDept(id, "Nowhere")
	// Neither the department's nor the default organisation exists: refused
	// as misconfigured, and nothing is created.
	_, err := e.provision(req(conn, id))
	wantReason(t, err, sso.ReasonInvalidConfig)
	if users, _, orgs, _ := e.store.Len(); users != 0 || orgs != 0 {
		t.Fatalf("users=%d orgs=%d after refusal", users, orgs)
	}
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		return tx.CreateOrganisation(context.Background(), &provisioning.Organisation{Account: "acme", Name: "Unassigned"})
	})
	res, err := e.provision(req(conn, id))
	if err != nil || res.Organisation == nil || res.Organisation.Name != "Unassigned" {
		t.Fatalf("= %+v, %v; want the default organisation", res, err)
	}
	// Organisations are per account.
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		return tx.CreateOrganisation(context.Background(), &provisioning.Organisation{Account: "other", Name: "Nowhere"})
	})
	res, err = e.provision(req(conn, ident("s2", "b@acme.example")))
	if err != nil || res.Organisation.Name != "Unassigned" {
		t.Fatalf("= %+v, %v", res, err)
	}
}

func TestJITJoinsExistingUserOnlyWhenVouched(t *testing.T) {
	// The person exists (member of another account); this account's SSO
	// with JIT adds a membership here, but only on a vouched email in a
	// claimed domain.
	e := newEnv(t)
	uid := e.addUser("kim@acme.example", provisioning.Membership{Account: "other", Roles: []provisioning.RoleGrant{{Role: "Admin", Source: provisioning.RoleSourceAdmin}}})
	conn := jitConn()
	_, err := e.provision(req(conn, ident("k", "kim@acme.example")))
	wantReason(t, err, sso.ReasonLinkRequiresProof)
	vouched := ident("k", "kim@acme.example")
	vouched.EmailVerified = true
	res, err := e.provision(req(conn, vouched))
	if err != nil || res.User.ID != uid || res.Created || !res.Joined || res.Match != provisioning.MatchEmail {
		t.Fatalf("= %+v, %v; want the existing user joined", res, err)
	}
	if !slices.Equal(res.Accounts, []string{"acme"}) || !slices.Equal(res.Roles(), []string{"Applicant"}) {
		t.Fatalf("accounts %v roles %v; want only acme with its default role", res.Accounts, res.Roles())
	}
	if m := e.membership(uid, "other"); m == nil || !slices.Equal(m.RoleNames(), []string{"Admin"}) {
		t.Fatalf("membership in the other account changed: %+v", m)
	}
}

func TestUpdates(t *testing.T) {
	e := newEnv(t)
	uid := e.addUser("dana@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "D1", Roles: []provisioning.RoleGrant{
		{Role: "Admin", Source: provisioning.RoleSourceAdmin},
		{Role: "Clerk", Source: provisioning.RoleSourceAdmin},
		{Role: "Old", Source: provisioning.RoleSourceIdP},
		{Role: "Applicant", Source: provisioning.RoleSourceDefault},
	}})
	var shipping, sales string
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		o1 := &provisioning.Organisation{Account: "acme", Name: "Shipping"}
		o2 := &provisioning.Organisation{Account: "acme", Name: "Sales"}
		_ = tx.CreateOrganisation(context.Background(), o1)
		_ = tx.CreateOrganisation(context.Background(), o2)
		shipping, sales = o1.ID, o2.ID
		return nil
	})
	conn := jitConn()
	conn.JIT.Enabled = false
	conn.Identifier = provisioning.IdentifierSubject
	login := func(mod func(id *sso.Identity)) *provisioning.Result {
		t.Helper()
		id := ident("D1", "dana@acme.example")
		mod(id)
		res, err := e.provision(req(conn, id))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// Names, roles (mapped; admin-granted Clerk also from IdP), organisation.
	res := login(func(id *sso.Identity) {
		id.GivenName, id.FamilyName, id.DisplayName = "Dana", "Ito", "Dana Ito"
		id.Attributes = map[string][]string{"Roles": {"Mgr,Clerk"}}
		setDept(id, "Shipping")
	})
	if u := res.User; u.GivenName != "Dana" || u.FamilyName != "Ito" || u.DisplayName != "Dana Ito" {
		t.Fatalf("names = %+v", u)
	}
	if !slices.Equal(res.Roles(), []string{"Admin", "Applicant", "Clerk", "Manager", "Reviewer"}) {
		t.Fatalf("roles = %v", res.Roles())
	}
	if res.Membership.Organisation != shipping || !slices.Equal(res.Updated, []string{"given_name", "family_name", "display_name", "roles", "organisation"}) {
		t.Fatalf("org %q updated %v", res.Membership.Organisation, res.Updated)
	}
	if got := eventTypes(e.takeEvents()); !slices.Equal(got, []string{"user_linked", "user_updated", "login_succeeded"}) {
		t.Fatalf("events = %v", got)
	}
	if u := e.user(uid); u.GivenName != "Dana" {
		t.Fatalf("stored user not updated: %+v", u)
	}

	// Attributes missing: nothing changes, no update event.
	res = login(func(id *sso.Identity) {})
	if len(res.Updated) != 0 || !slices.Equal(res.Roles(), []string{"Admin", "Applicant", "Clerk", "Manager", "Reviewer"}) || res.User.GivenName != "Dana" {
		t.Fatalf("missing attributes changed something: updated %v roles %v", res.Updated, res.Roles())
	}
	if got := eventTypes(e.takeEvents()); !slices.Equal(got, []string{"login_succeeded"}) {
		t.Fatalf("events = %v", got)
	}

	// Department naming no organisation: left alone, with a warning.
	res = login(func(id *sso.Identity) { setDept(id, "Nowhere") })
	if res.Membership.Organisation != shipping || len(res.Warnings) != 1 {
		t.Fatalf("org %q warnings %v", res.Membership.Organisation, res.Warnings)
	}
	res = login(func(id *sso.Identity) { setDept(id, "SALES") })
	if res.Membership.Organisation != sales {
		t.Fatalf("org %q; want sales", res.Membership.Organisation)
	}

	// Role attribute present but empty: IdP roles go, admin and default stay.
	res = login(func(id *sso.Identity) { id.Attributes = map[string][]string{"Roles": {}} })
	if !slices.Equal(res.Roles(), []string{"Admin", "Applicant", "Clerk"}) {
		t.Fatalf("roles after empty attribute = %v", res.Roles())
	}
	m := e.membership(uid, "acme")
	for _, g := range m.Roles {
		if g.Source == provisioning.RoleSourceIdP {
			t.Fatalf("IdP grant left: %+v", m.Roles)
		}
	}

	// Updates off: nothing changes even when attributes differ.
	conn.Updates = provisioning.Updates{}
	res = login(func(id *sso.Identity) {
		id.GivenName = "Other"
		id.Attributes = map[string][]string{"Roles": {"Mgr"}}
		setDept(id, "Shipping")
	})
	if len(res.Updated) != 0 || res.User.GivenName != "Dana" || res.Membership.Organisation != sales {
		t.Fatalf("updates off changed: %+v", res)
	}
}

func TestGroupsPresence(t *testing.T) {
	e := newEnv(t)
	e.addUser("g@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "G", Roles: []provisioning.RoleGrant{{Role: "editor", Source: provisioning.RoleSourceIdP}}})
	conn := provisioning.Connection{Identifier: provisioning.IdentifierSubject, Updates: provisioning.Updates{Roles: true},
		Roles: provisioning.RoleMapping{Map: map[string][]string{"cn=editors,ou=groups,dc=acme": {"editor"}}, PassThrough: false}}
	// nil Groups: not sent, roles stay.
	res, err := e.provision(req(conn, ident("G", "")))
	if err != nil || !slices.Equal(res.Roles(), []string{"editor"}) {
		t.Fatalf("= %v, %v", res.Roles(), err)
	}
	// A DN with commas is one group when SplitCommas is off; unmapped groups
	// grant nothing.
	id := ident("G", "")
	id.Groups = []string{"cn=editors,ou=groups,dc=acme", "cn=admins,ou=groups,dc=acme"}
	res, _ = e.provision(req(conn, id))
	if !slices.Equal(res.Roles(), []string{"editor"}) {
		t.Fatalf("roles = %v", res.Roles())
	}
	// Empty non-nil Groups: sent and empty.
	id.Groups = []string{}
	res, _ = e.provision(req(conn, id))
	if len(res.Roles()) != 0 {
		t.Fatalf("roles = %v; want none", res.Roles())
	}
	// PassThrough uses names as roles.
	conn.Roles.PassThrough = true
	id.Groups = []string{"Reviewer"}
	res, _ = e.provision(req(conn, id))
	if !slices.Equal(res.Roles(), []string{"Reviewer"}) {
		t.Fatalf("roles = %v", res.Roles())
	}
}

func TestDisabled(t *testing.T) {
	e := newEnv(t)
	e.addUser("off@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "off", Status: provisioning.StatusDisabled})
	uid := e.addUser("gone@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "gone"})
	_ = e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		u, _ := tx.FindUser(context.Background(), uid)
		u.Disabled = true
		return tx.UpdateUser(context.Background(), u)
	})
	conn := provisioning.Connection{Identifier: provisioning.IdentifierSubject}
	for _, s := range []string{"off", "gone"} {
		_, err := e.provision(req(conn, ident(s, "")))
		wantReason(t, err, sso.ReasonUserDisabled)
	}
	if _, _, _, links := e.store.Len(); links != 0 {
		t.Fatalf("%d links made for disabled users", links)
	}
	// A host status other than disabled is passed through.
	e.addUser("p@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "p", Status: "pending"})
	res, err := e.provision(req(conn, ident("p", "")))
	if err != nil || res.Membership.Status != "pending" {
		t.Fatalf("= %+v, %v", res, err)
	}
}

func TestSSOLoginGrantsOnlyItsAccount(t *testing.T) {
	e := newEnv(t)
	uid := e.addUser("olly@acme.example",
		provisioning.Membership{Account: "acme"},
		provisioning.Membership{Account: "acme-east"},
		provisioning.Membership{Account: "password-only"})
	res, err := e.provision(req(provisioning.Connection{}, vouched("o", "olly@acme.example")))
	if err != nil || res.User.ID != uid || !slices.Equal(res.Accounts, []string{"acme"}) {
		t.Fatalf("= %+v, %v; want only acme granted", res, err)
	}
}

func bindingConn() provisioning.Connection {
	return provisioning.Connection{Identifier: provisioning.IdentifierSubject, LoginBinding: provisioning.LoginBinding{Enabled: true, Window: 5 * time.Minute}}
}

func TestLoginBinding(t *testing.T) {
	e := newEnv(t)
	uid := e.addUser("rita@acme.example", provisioning.Membership{Account: "acme", SSOIdentifier: "rita.r"})
	r := req(bindingConn(), ident("Rita.R", ""))
	_, err := e.provision(r)
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	if !errors.Is(err, provisioning.ErrBindingPossible) {
		t.Fatalf("err = %v; want ErrBindingPossible", err)
	}
	if users, _, _, links := e.store.Len(); users != 1 || links != 0 {
		t.Fatalf("a refusal wrote: users=%d links=%d", users, links)
	}
	e.takeEvents()

	// A user who is not a member of the account cannot take it.
	outsider := e.addUser("x@other.example", provisioning.Membership{Account: "other"})
	r.BindTo = outsider
	_, err = e.provision(r)
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	if !strings.Contains(err.Error(), "is not a member of account") || e.membership(outsider, "acme") != nil {
		t.Fatalf("non-member: %v", err)
	}
	r.BindTo = "no-such-user"
	_, err = e.provision(r)
	wantReason(t, err, sso.ReasonUserNotProvisioned)

	r.BindTo = uid
	res, err := e.provision(r)
	if err != nil || res.Match != provisioning.MatchBinding || !res.Linked || res.User.ID != uid || !slices.Equal(res.Accounts, []string{"acme"}) {
		t.Fatalf("bound = %+v, %v", res, err)
	}
	evs := e.takeEvents()
	if got := eventTypes(evs); !slices.Equal(got, []string{"login_failed:user_not_provisioned", "login_failed:user_not_provisioned", "user_linked", "login_succeeded"}) {
		t.Fatalf("events = %v", got)
	}
	// The next SSO login is recognised without a password.
	res, err = e.provision(req(bindingConn(), ident("Rita.R", "")))
	if err != nil || res.Match != provisioning.MatchLink || res.User.ID != uid {
		t.Fatalf("next login = %+v, %v", res, err)
	}
	// Once linked, a binding to another user is a conflict, not a second
	// user for one identity.
	other := e.addUser("bob@acme.example", provisioning.Membership{Account: "acme"})
	r.BindTo = other
	_, err = e.provision(r)
	wantReason(t, err, sso.ReasonConflict)
}

func TestLoginBindingOffOrIdPInitiated(t *testing.T) {
	e := newEnv(t)
	uid := e.addUser("rita@acme.example", provisioning.Membership{Account: "acme"})
	// Binding off: BindTo is never used.
	off := req(bindingConn(), ident("Rita.R", ""))
	off.Connection.LoginBinding.Enabled = false
	off.BindTo = uid
	_, err := e.provision(off)
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	if errors.Is(err, provisioning.ErrBindingPossible) {
		t.Fatal("binding possible with binding off")
	}
	// An IdP-initiated identity is bound only where the connection allows.
	idp := req(bindingConn(), ident("Rita.R", ""))
	idp.Identity.IdPInitiated = true
	_, err = e.provision(idp)
	wantReason(t, err, sso.ReasonUserNotProvisioned)
	if errors.Is(err, provisioning.ErrBindingPossible) || !strings.Contains(err.Error(), "AllowIdPInitiated") {
		t.Fatalf("IdP-initiated: %v", err)
	}
	idp.BindTo = uid
	if _, err := e.provision(idp); err == nil {
		t.Fatal("an IdP-initiated identity was bound without AllowIdPInitiated")
	}
	idp.Connection.LoginBinding.AllowIdPInitiated = true
	idp.BindTo = ""
	if _, err := e.provision(idp); !errors.Is(err, provisioning.ErrBindingPossible) {
		t.Fatalf("IdP-initiated with AllowIdPInitiated: %v", err)
	}
	idp.BindTo = uid
	if res, err := e.provision(idp); err != nil || res.Match != provisioning.MatchBinding {
		t.Fatalf("IdP-initiated bound = %+v, %v", res, err)
	}
	if _, _, _, links := e.store.Len(); links != 1 {
		t.Fatalf("links = %d; want 1", links)
	}
}

func TestLinkRequiresProofThenBinding(t *testing.T) {
	// An unvouched email matches a user: no automatic link, but a confirmed
	// password login proves it.
	e := newEnv(t)
	uid := e.addUser("olly@acme.example", provisioning.Membership{Account: "acme"})
	conn := provisioning.Connection{LoginBinding: provisioning.LoginBinding{Enabled: true}}
	r := req(conn, ident("o-1", "olly@acme.example"))
	_, err := e.provision(r)
	wantReason(t, err, sso.ReasonLinkRequiresProof)
	if !errors.Is(err, provisioning.ErrBindingPossible) {
		t.Fatal("no binding possible")
	}
	r.BindTo = uid
	res, err := e.provision(r)
	if err != nil || res.User.ID != uid {
		t.Fatalf("= %+v, %v", res, err)
	}
}

// TestAuthorize: Request.Authorize sees the user as the login would leave
// them and its refusal leaves the store as it was.
func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	id := ident("T1", "new@acme.example")
	setDept(id, "Shipping")
	id.Groups = []string{"Admins"}
	r := req(jitConn(), id)
	r.Connection.Roles = provisioning.RoleMapping{PassThrough: true}
	r.Connection.Updates.Roles = true
	var saw *provisioning.Result
	r.Authorize = func(_ context.Context, res *provisioning.Result) error {
		saw = res
		return &sso.Error{Op: "policy", Reason: sso.ReasonConnectionNotLive, Detail: "not a test user"}
	}
	_, err := e.provision(r)
	wantReason(t, err, sso.ReasonConnectionNotLive)
	if saw == nil || !saw.Created || !slices.Contains(saw.Roles(), "Admins") {
		t.Fatalf("Authorize saw %+v", saw)
	}
	if users, members, orgs, links := e.store.Len(); users+members+orgs+links != 0 {
		t.Fatalf("a refused login wrote: users=%d members=%d orgs=%d links=%d", users, members, orgs, links)
	}
	if got := eventTypes(e.takeEvents()); !slices.Equal(got, []string{"login_failed:connection_not_live"}) {
		t.Fatalf("events = %v", got)
	}
	r.Authorize = func(context.Context, *provisioning.Result) error { return nil }
	if res, err := e.provision(r); err != nil || !res.Created {
		t.Fatalf("allowed = %+v, %v", res, err)
	}
}

// failStore fails every transaction's CreateLink.
type failStore struct{ provisioning.Store }

func (f failStore) Tx(ctx context.Context, fn func(provisioning.Tx) error) error {
	return f.Store.Tx(ctx, func(tx provisioning.Tx) error { return fn(failLinkTx{tx}) })
}

type failLinkTx struct{ provisioning.Tx }

func (failLinkTx) CreateLink(context.Context, *provisioning.Link) error {
	return errors.New("disk full")
}

func TestFailedLoginLeavesNothing(t *testing.T) {
	mem := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	var events []sso.Event
	p, _ := provisioning.New(provisioning.Config{Store: failStore{mem}, Events: func(_ context.Context, e sso.Event) { events = append(events, e) }})
	id := ident("s", "new@acme.example")
	setDept(id, "Shipping")
	_, err := p.Provision(context.Background(), req(jitConn(), id))
	wantReason(t, err, sso.ReasonInternal)
	if users, members, orgs, links := mem.Len(); users+members+orgs+links != 0 {
		t.Fatalf("after a failed login: users=%d members=%d orgs=%d links=%d", users, members, orgs, links)
	}
	// Only the failure is reported: no user_created for a user that is not there.
	if got := eventTypes(events); !slices.Equal(got, []string{"login_failed:internal"}) {
		t.Fatalf("events = %v", got)
	}
}

func TestAccountClaims(t *testing.T) {
	a := provisioning.Account{ID: "a", Domains: []string{"Example.COM", "b.example."}}
	for d, want := range map[string]bool{"example.com": true, "b.example": true, "sub.example.com": false, "": false, "xample.com": false} {
		if got := a.Claims(d); got != want {
			t.Errorf("Claims(%q) = %v; want %v", d, got, want)
		}
	}
}

// TestEventContents checks what the host's audit log gets: who, through
// which connection, for which account, when, and why a login failed.
func TestEventContents(t *testing.T) {
	e := newEnv(t)
	id := ident("T9", "eve@acme.example")
	id.Attributes = map[string][]string{"Roles": {"Clerk"}}
	setDept(id, "Shipping")
	res, err := e.provision(req(jitConn(), id))
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	evs := e.takeEvents()
	if got := eventTypes(evs); !slices.Equal(got, []string{"organisation_created", "user_created", "user_linked", "login_succeeded"}) {
		t.Fatalf("events = %v", got)
	}
	for _, ev := range evs {
		if ev.Account != "acme" || ev.Connection != "acme-saml" || ev.Subject != "T9" || !ev.Time.Equal(now) || ev.Reason != "" {
			t.Errorf("%s: %+v; want account acme, connection acme-saml, subject T9, time %v, no reason", ev.Type, ev, now)
		}
		if ev.Type != sso.EventOrganisationCreated && ev.User != res.User.ID {
			t.Errorf("%s: user %q; want %q", ev.Type, ev.User, res.User.ID)
		}
	}
	if evs[0].Attrs["name"] != "Shipping" || evs[0].Attrs["organisation"] != res.Organisation.ID || evs[1].Attrs["email"] != "eve@acme.example" ||
		evs[2].Attrs["match"] != "created" || evs[3].Attrs["match"] != "created" {
		t.Errorf("attrs = %v / %v / %v / %v", evs[0].Attrs, evs[1].Attrs, evs[2].Attrs, evs[3].Attrs)
	}

	// An update names what changed.
	id.Attributes = map[string][]string{"Roles": {"Mgr"}}
	if _, err := e.provision(req(jitConn(), id)); err != nil {
		t.Fatal(err)
	}
	evs = e.takeEvents()
	if len(evs) != 2 || evs[0].Type != sso.EventUserUpdated || evs[0].Attrs["updated"] != "roles" || evs[1].Attrs["match"] != "link" {
		t.Fatalf("events after an update = %+v", evs)
	}

	// A refusal carries the Reason and the administrator's Detail.
	_, err = e.provision(req(jitConn(), ident("T10", "eve@gmail.example")))
	evs = e.takeEvents()
	if len(evs) != 1 || evs[0].Type != sso.EventLoginFailed || evs[0].Reason != sso.ReasonEmailDomainNotAllowed ||
		evs[0].Account != "acme" || evs[0].Connection != "acme-saml" || evs[0].Subject != "T10" || evs[0].User != "" ||
		!strings.Contains(evs[0].Detail, `"gmail.example" is not claimed`) || !errors.Is(err, sso.ReasonEmailDomainNotAllowed) {
		t.Fatalf("refusal events = %+v", evs)
	}
}

// setDept sets the department attribute an identity provider sends.
func setDept(id *sso.Identity, dept string) {
	if id.Attributes == nil {
		id.Attributes = map[string][]string{}
	}
	id.Attributes["Department"] = []string{dept}
}

// TestEventAttrs: the request's EventAttrs (the login's reference) reach
// every event it reports, success and refusal, without replacing the
// event's own attributes.
func TestEventAttrs(t *testing.T) {
	e := newEnv(t)
	r := req(jitConn(), ident("T11", "fay@acme.example"))
	r.EventAttrs = map[string]string{sso.AttrReference: "K7Q2-M4XD", "match": "not this"}
	if _, err := e.provision(r); err != nil {
		t.Fatal(err)
	}
	evs := e.takeEvents()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, ev := range evs {
		if ev.Attrs[sso.AttrReference] != "K7Q2-M4XD" {
			t.Errorf("%s: attrs %v, want the reference", ev.Type, ev.Attrs)
		}
	}
	if last := evs[len(evs)-1]; last.Attrs["match"] != "created" {
		t.Errorf("login_succeeded attrs %v: the event's own match was replaced", last.Attrs)
	}
	r = req(jitConn(), ident("T12", "fay@gmail.example"))
	r.EventAttrs = map[string]string{sso.AttrReference: "AB12-CD34"}
	_, _ = e.provision(r)
	evs = e.takeEvents()
	if len(evs) != 1 || evs[0].Type != sso.EventLoginFailed || evs[0].Attrs[sso.AttrReference] != "AB12-CD34" {
		t.Fatalf("refusal events = %+v", evs)
	}
}
