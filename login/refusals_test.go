package login_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml/samltest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.Stop()
	os.Exit(code)
}

// TestRefusalsWriteNothing runs every kind of refusal the handler gives,
// through real protocol messages, on the memory store, SQLite and
// PostgreSQL, and checks after each that the user store is exactly as it
// was (users, memberships with their roles, organisations, links), that no
// session started, and that the refusal was reported with its Reason.
func TestRefusalsWriteNothing(t *testing.T) {
	type refusal struct {
		name string
		// setup may change the world before the store is compared.
		setup func(w *world)
		do    func(w *world, b *browser) *page
		// event is the refusal's event type and Reason.
		typ    sso.EventType
		reason sso.Reason
	}
	oidcAs := func(conn, who string) func(w *world, b *browser) *page {
		return func(w *world, b *browser) *page {
			return b.oidcLogin(b.post("/auth/login/start", form("connection", conn)), who)
		}
	}
	idpInitiated := func(conn, email string) func(w *world, b *browser) *page {
		return func(w *world, b *browser) *page {
			action, v := b.samlIdPLogin(b.get(w.idp.StartURL(w.base+"/auth/saml/"+conn+"/metadata", "")), email)
			p := b.postACS(action, v)
			if p.status == http.StatusSeeOther && p.loc == "/auth/login/continue" {
				p = b.get(p.loc)
			}
			return p
		}
	}
	bindPage := func(w *world, b *browser) *page {
		return b.samlLogin(b.post("/auth/login", form("email", "r.roberts@recruit.example")), "r.roberts@recruit.example")
	}
	testingByID := func(w *world) {
		// keyoidc under test, its tester named by user ID; Bob is a member
		// but no tester, and the connection passes IdP roles through.
		if err := w.setPolicy("keyoidc", policy.Policy{Mode: policy.ModeSSOOptional,
			Connections: []policy.Connection{{ID: "keyoidc", Stage: policy.StageTesting, TestUserIDs: []string{w.users["alice@example.com"]}}}}); err != nil {
			w.t.Fatal(err)
		}
		ctx := context.Background()
		if err := w.store.Tx(ctx, func(tx provisioning.Tx) error {
			return tx.PutMembership(ctx, &provisioning.Membership{User: w.users["bob@example.com"], Account: "keyoidc", Status: provisioning.StatusActive})
		}); err != nil {
			w.t.Fatal(err)
		}
	}
	cases := []refusal{
		{"invalid email", nil, func(w *world, b *browser) *page { return b.post("/auth/login", form("email", "not an email")) }, sso.EventLoginFailed, sso.ReasonInvalidEmail},
		{"wrong password", nil, func(w *world, b *browser) *page {
			return b.post("/auth/login", form("email", "ada@acme.example", "password", "wrong"))
		}, sso.EventLoginFailed, login.ReasonPasswordIncorrect},
		{"password where single sign-on is required", nil, func(w *world, b *browser) *page {
			return b.post("/auth/login", form("email", "olly@acme.example", "password", "olly-pw"))
		}, sso.EventPasswordRefused, sso.ReasonSSORequired},
		{"unknown SSO domain", nil, func(w *world, b *browser) *page { return b.get("/auth/login/sso/nosuch") }, sso.EventLoginFailed, sso.ReasonAccountNotFound},
		{"SSO domain with a draft connection only", nil, func(w *world, b *browser) *page { return b.get("/auth/login/sso/drafty") }, sso.EventLoginFailed, sso.ReasonNoSSO},
		{"unknown connection picked", nil, func(w *world, b *browser) *page { return b.post("/auth/login/start", form("connection", "nosuch")) }, sso.EventLoginFailed, sso.ReasonConnectionNotFound},
		{"test login by a non-administrator", nil, func(w *world, b *browser) *page { return b.get("/auth/login/test/acme-oidc") }, sso.EventLoginFailed, login.ReasonNotAdministrator},
		{"directory test login by a non-administrator", nil, func(w *world, b *browser) *page {
			return b.post("/auth/ldap/keyldap/login", form("email", "bob@example.com", "password", "bob-password", "test", "1"))
		}, sso.EventLoginFailed, login.ReasonNotAdministrator},
		{"callback without a pending login", nil, func(w *world, b *browser) *page { return b.get("/auth/oidc/acme-oidc/callback?state=x&code=y") }, sso.EventLoginFailed, sso.ReasonStateMissing},
		{"forged SAML response", nil, func(w *world, b *browser) *page {
			return b.postACS(w.base+"/auth/saml/grants-saml/acs", form("SAMLResponse", "PHNhbWxwOlJlc3BvbnNlLz4="))
		}, sso.EventLoginFailed, sso.ReasonMalformed},
		{"response signed with an untrusted key", func(w *world) { w.idp.Misbehave(samltest.Misbehavior{WrongKey: true}) }, func(w *world, b *browser) *page {
			defer w.idp.Misbehave(samltest.Misbehavior{})
			return b.samlLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example")
		}, sso.EventLoginFailed, sso.ReasonUntrustedKey},
		{"response completed in another browser", nil, func(w *world, b *browser) *page {
			action, v := b.samlIdPLogin(b.post("/auth/login", form("email", "sam@grants.example")), "sam@grants.example")
			return w.browser().postACS(action, v)
		}, sso.EventLoginFailed, sso.ReasonStateMissing},
		{"IdP-initiated where not allowed", nil, idpInitiated("grants-saml", "sam@grants.example"), sso.EventLoginFailed, sso.ReasonUnsolicited},
		{"SSOModule naming no connection", nil, idpInitiated("simple-staff", "eve@simple.example"), sso.EventLoginFailed, sso.ReasonConnectionNotFound},
		{"SSOModule of another IdP", nil, idpInitiated("simple-staff", "mallory@simple.example"), sso.EventLoginFailed, sso.ReasonIssuerMismatch},
		{"wrong directory password", nil, func(w *world, b *browser) *page {
			return b.post("/auth/ldap/keyldap/login", form("email", "alice@example.com", "password", "wrong"))
		}, sso.EventLoginFailed, sso.ReasonInvalidCredentials},
		{"cross-origin form", nil, func(w *world, b *browser) *page {
			return b.post("/auth/login", form("email", "ada@acme.example"), "Sec-Fetch-Site", "cross-site")
		}, sso.EventLoginFailed, login.ReasonCrossOrigin},
		{"not provisioned", nil, oidcAs("acme-oidc", "newbie"), sso.EventLoginFailed, sso.ReasonUserNotProvisioned},
		{"email outside the account's domains", nil, oidcAs("acme-oidc", "alice-0001"), sso.EventLoginFailed, sso.ReasonEmailDomainNotAllowed},
		{"draft connection", nil, func(w *world, b *browser) *page {
			return b.post("/auth/login/start", form("connection", "drafty-oidc"))
		}, sso.EventLoginFailed, sso.ReasonConnectionNotLive},
		{"connection turned draft during the login", nil, func(w *world, b *browser) *page {
			p := b.post("/auth/login/start", form("connection", "acme-oidc"))
			if err := w.setPolicy("acme", policy.Policy{Mode: policy.ModeSSOOptional,
				Connections: []policy.Connection{{ID: "acme-oidc", Stage: policy.StageDraft}}}); err != nil {
				w.t.Fatal(err)
			}
			return b.oidcLogin(p, "olly")
		}, sso.EventLoginFailed, sso.ReasonConnectionNotLive},
		{"testing connection, member who is no tester", testingByID, oidcAs("keyoidc", "bob-0002"), sso.EventLoginFailed, sso.ReasonConnectionNotLive},
		{"disabled member", func(w *world) {
			ctx := context.Background()
			if err := w.store.Tx(ctx, func(tx provisioning.Tx) error {
				m, err := tx.FindMembership(ctx, w.users["olly@acme.example"], "acme")
				if err != nil {
					return err
				}
				m.Status = provisioning.StatusDisabled
				return tx.PutMembership(ctx, m)
			}); err != nil {
				w.t.Fatal(err)
			}
		}, oidcAs("acme-oidc", "olly"), sso.EventLoginFailed, sso.ReasonUserDisabled},
		{"binding without a waiting identity", nil, func(w *world, b *browser) *page {
			return b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw"))
		}, sso.EventLoginFailed, sso.ReasonStateMissing},
		{"binding password of a non-member", nil, func(w *world, b *browser) *page {
			bindPage(w, b)
			return b.post("/auth/login/bind", form("email", "sam@grants.example", "password", "sam-pw"))
		}, sso.EventLoginFailed, login.ReasonPasswordIncorrect},
		{"binding confirmation with a forged token", nil, func(w *world, b *browser) *page {
			bindPage(w, b)
			b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw"))
			return b.post("/auth/login/bind/confirm", form("token", "forged"))
		}, sso.EventLoginFailed, sso.ReasonStateMismatch},
		{"binding after too many wrong passwords", nil, func(w *world, b *browser) *page {
			bindPage(w, b)
			var p *page
			for i := 0; i < login.DefaultMaxBindingTries; i++ {
				p = b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "wrong"))
			}
			return p
		}, sso.EventLoginFailed, sso.ReasonTooManyAttempts},
		{"binding cancelled", nil, func(w *world, b *browser) *page {
			bindPage(w, b)
			p := b.post("/auth/login/bind", form("email", "rita@recruit.example", "password", "rita-pw"))
			return b.post("/auth/login/bind/confirm", form("token", confirmToken(w.t, p), "cancel", "1"))
		}, "", ""},
	}
	for _, kind := range []string{"memory", "sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					w := newWorld(t, worldOptions{store: kind})
					if c.setup != nil {
						c.setup(w)
					}
					before := w.dump()
					w.events.mu.Lock()
					n := len(w.events.list)
					w.events.mu.Unlock()
					b := w.browser()
					p := c.do(w, b)
					if p.status < 400 && c.reason != "" {
						t.Fatalf("not refused: %d %q\n%s", p.status, p.loc, p.body)
					}
					if b.session() != nil {
						t.Fatal("a session started")
					}
					if after := w.dump(); after != before {
						t.Fatalf("the refusal changed the user store:\nbefore:\n%s\nafter:\n%s", before, after)
					}
					if c.reason == "" {
						return
					}
					w.events.mu.Lock()
					got := w.events.list[n:]
					w.events.mu.Unlock()
					found := false
					for _, e := range got {
						found = found || (e.Type == c.typ && e.Reason == c.reason)
					}
					if !found {
						t.Fatalf("no %s event with reason %s among %+v", c.typ, c.reason, got)
					}
				})
			}
		})
	}
}
