package scenariotest

import (
	"errors"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// refusalWorld has an account with one connection per stage, and an
// account whose policy knows none of its connections.
func refusalWorld(t *testing.T) *world {
	w := newWorld(t,
		account{
			disc: discovery.Account{ID: "acme", Aliases: []string{"acme"}, Domains: domains("acme.example"),
				Connections: []discovery.Connection{
					{ID: "acme-live", Protocol: sso.ProtocolSAML, Issuers: []string{"https://idp.acme.example"}, Module: "Live"},
					{ID: "acme-testing", Protocol: sso.ProtocolOIDC},
					{ID: "acme-draft", Protocol: sso.ProtocolSAML},
					{ID: "acme-jit", Protocol: sso.ProtocolOIDC},
				}},
			policy: policy.Policy{Mode: policy.ModeSSORequired, Scope: policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"acme.example"}},
				Connections: []policy.Connection{
					{ID: "acme-live", Stage: policy.StageLive},
					{ID: "acme-testing", Stage: policy.StageTesting, TestUserEmails: []string{"tester@acme.example"}},
					{ID: "acme-draft", Stage: policy.StageDraft},
					{ID: "acme-jit", Stage: policy.StageLive},
				}},
			conns: map[string]provisioning.Connection{
				"acme-live": {RequireEmail: true},
				"acme-jit":  {JIT: provisioning.JIT{Enabled: true, DefaultOrganisation: "Nowhere"}},
			},
		},
		account{
			disc:   discovery.Account{ID: "pw", Domains: domains("pw.example"), Connections: []discovery.Connection{{ID: "pw-saml", Protocol: sso.ProtocolSAML}}},
			policy: policy.Policy{},
		},
		account{
			// A connection under test, its testers named by user ID: who
			// may log in is known only once provisioning found the user.
			disc: discovery.Account{ID: "beta", Domains: domains("beta.example"), Connections: []discovery.Connection{{ID: "beta-jit", Protocol: sso.ProtocolOIDC}}},
			policy: policy.Policy{Mode: policy.ModeSSOOptional, Connections: []policy.Connection{
				{ID: "beta-jit", Stage: policy.StageTesting, TestUserIDs: []string{"tester-id"}}}},
			trustEmail: []string{"beta-jit"},
			conns: map[string]provisioning.Connection{"beta-jit": {
				JIT:     provisioning.JIT{Enabled: true, DefaultRoles: []string{"Member"}},
				Updates: provisioning.Updates{Roles: true, Names: true},
				Roles:   provisioning.RoleMapping{PassThrough: true}}},
		},
		account{
			disc:   discovery.Account{ID: "unlisted", Domains: domains("unlisted.example"), Connections: []discovery.Connection{{ID: "unlisted-saml", Protocol: sso.ProtocolSAML}}},
			policy: policy.Policy{Mode: policy.ModeSSOOptional},
		},
	)
	w.addUser("olly@acme.example", member{account: "acme", roles: []string{adminRole}})
	w.addUser("set@acme.example", member{account: "acme", identifier: "SET-1"})
	w.addUser("off@acme.example", member{account: "acme", status: provisioning.StatusDisabled})
	w.addUser("ext@gmail.example", member{account: "acme"})
	w.addUser("outsider@other.example", member{account: "pw"})
	w.addUser("member@beta.example", member{account: "beta"})
	return w
}

// Every refusal of discovery, policy and provisioning, end to end: the
// Reason the login handler gets, and no user, membership, organisation or
// link left behind.
func TestRefusals(t *testing.T) {
	type step func(w *world) error
	sso1 := func(conn string, id *sso.Identity) step {
		return func(w *world) error { return w.sso(conn, id, "").err }
	}
	cases := []struct {
		name string
		run  step
		want sso.Reason
	}{
		// Discovery.
		{"malformed email typed", func(w *world) error { _, err := w.router.Lookup("olly at acme"); return err }, sso.ReasonInvalidEmail},
		{"domain without SSO", func(w *world) error { _, err := w.router.Lookup("x@nowhere.example"); return err }, sso.ReasonNoSSO},
		{"unknown SSO domain alias", func(w *world) error { _, err := w.router.LookupAlias("acme-corp"); return err }, sso.ReasonAccountNotFound},
		{"IdP-initiated from an unknown issuer", func(w *world) error { _, err := w.router.LookupIssuer("https://evil.example"); return err }, sso.ReasonUnknownIssuer},
		{"SSOModule naming no connection", func(w *world) error { _, err := w.router.LookupModule("acme", "Partners"); return err }, sso.ReasonConnectionNotFound},

		// Policy.
		{"password where SSO is required", func(w *world) error { d := w.password("acme", "olly@acme.example"); return d.Err() }, sso.ReasonSSORequired},
		{"SSO where the account is password-only", sso1("pw-saml", &sso.Identity{Subject: "s", Email: "a@pw.example"}), sso.ReasonPasswordOnly},
		{"draft connection", sso1("acme-draft", &sso.Identity{Subject: "s", Email: "olly@acme.example"}), sso.ReasonConnectionNotLive},
		{"testing connection, not a test user", sso1("acme-testing", &sso.Identity{Subject: "s", Email: "olly@acme.example", EmailVerified: true}), sso.ReasonConnectionNotLive},
		{"connection the policy does not list", sso1("unlisted-saml", &sso.Identity{Subject: "s", Email: "a@unlisted.example"}), sso.ReasonConnectionNotFound},
		{"change that locks the administrators out", func(w *world) error {
			next := w.policies["acme"]
			next.Scope = policy.Scope{}
			return w.setPolicy(next, "x", w.admins("acme", w.userByEmail("olly@acme.example").ID))
		}, sso.ReasonWouldLockOut},
		{"switching to an account that needs another login", func(w *world) error {
			_, d := policy.NeedsReauth(w.policies["acme"], w.facts(w.userByEmail("olly@acme.example").ID, "acme"), policy.Session{Method: policy.Password()})
			return d.Err()
		}, sso.ReasonReauthRequired},

		// Provisioning.
		{"email outside the claimed domains", sso1("acme-live", &sso.Identity{Subject: "s", Email: "ext@gmail.example"}), sso.ReasonEmailDomainNotAllowed},
		{"no email where required", sso1("acme-live", &sso.Identity{Subject: "s"}), sso.ReasonEmailMissing},
		{"malformed email from the IdP", sso1("acme-live", &sso.Identity{Subject: "s", Email: "olly@@acme.example"}), sso.ReasonInvalidEmail},
		{"no subject", sso1("acme-live", &sso.Identity{Email: "olly@acme.example"}), sso.ReasonSubjectMissing},
		{"not provisioned", sso1("acme-live", &sso.Identity{Subject: "s", Email: "new@acme.example"}), sso.ReasonUserNotProvisioned},
		{"email the IdP does not vouch for", sso1("acme-live", &sso.Identity{Subject: "s", Email: "olly@acme.example"}), sso.ReasonLinkRequiresProof},
		{"email matches a member whose identifier differs", sso1("acme-live", &sso.Identity{Subject: "s", Email: "set@acme.example", EmailVerified: true}), sso.ReasonLinkRequiresProof},
		{"disabled member", sso1("acme-live", &sso.Identity{Subject: "s", Email: "off@acme.example", EmailVerified: true}), sso.ReasonUserDisabled},
		{"JIT default organisation missing", sso1("acme-jit", &sso.Identity{Subject: "s", Email: "new@acme.example"}), sso.ReasonInvalidConfig},
		// A testing connection whose test users are named by user ID: the
		// refusal comes after provisioning found (or would create) the
		// user, and must still write nothing: no JIT user, no link, no
		// role from the IdP (an Administrator by pass-through).
		{"testing connection, JIT user who is no tester", sso1("beta-jit", &sso.Identity{Subject: "b1", Email: "new@beta.example", Groups: []string{adminRole}}), sso.ReasonConnectionNotLive},
		{"testing connection, IdP sends no email", sso1("beta-jit", &sso.Identity{Subject: "b2", Groups: []string{adminRole}}), sso.ReasonConnectionNotLive},
		{"testing connection, existing member who is no tester", func(w *world) error {
			err := w.sso("beta-jit", &sso.Identity{Subject: "b3", Email: "member@beta.example", GivenName: "Changed", Groups: []string{adminRole}}, "").err
			if f := w.facts(w.userByEmail("member@beta.example").ID, "beta"); len(f.Roles) != 0 || f.Admin {
				t.Errorf("a refused login granted roles: %+v", f)
			}
			if u := w.userByEmail("member@beta.example"); u.GivenName != "" {
				t.Errorf("a refused login updated the user: %+v", u)
			}
			return err
		}, sso.ReasonConnectionNotLive},
		{"binding to a user who is not a member", func(w *world) error {
			c := w.conns["acme-live"]
			c.LoginBinding = provisioning.LoginBinding{Enabled: true}
			w.conns["acme-live"] = c
			return w.sso("acme-live", &sso.Identity{Subject: "s", Email: "new@acme.example"}, w.userByEmail("outsider@other.example").ID).err
		}, sso.ReasonUserNotProvisioned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := refusalWorld(t)
			users, members, orgs, links := w.store.Len()
			err := c.run(w)
			wantErr(t, c.name, err, c.want)
			var se *sso.Error
			if !errors.As(err, &se) || se.Detail == "" {
				t.Fatalf("err = %#v; want an *sso.Error with a Detail for the administrator", err)
			}
			if msg := c.want.UserMessage(); msg == "" {
				t.Fatal("no user message")
			}
			u2, m2, o2, l2 := w.store.Len()
			if u2 != users || m2 != members || o2 != orgs || l2 != links {
				t.Fatalf("refused login changed the store: users %d->%d members %d->%d orgs %d->%d links %d->%d", users, u2, members, m2, orgs, o2, links, l2)
			}
			for _, e := range w.events {
				if e.Type != sso.EventLoginFailed {
					t.Fatalf("refusal reported %s", e.Type)
				}
			}
		})
	}
}
