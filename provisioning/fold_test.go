package provisioning_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/ssotest"
)

func TestEmailKeyFoldsASCIIOnly(t *testing.T) {
	for _, c := range ssotest.Confusables {
		if provisioning.EmailKey(c.Spelt) == provisioning.EmailKey(c.ASCII) {
			t.Errorf("%s: EmailKey(%q) = EmailKey(%q) = %q; want different keys", c.Name, c.Spelt, c.ASCII, provisioning.EmailKey(c.ASCII))
		}
		if upper := strings.ToUpper(c.ASCII); provisioning.EmailKey(upper) != provisioning.EmailKey(c.ASCII) {
			t.Errorf("%s: EmailKey(%q) != EmailKey(%q); ASCII case must not matter", c.Name, upper, c.ASCII)
		}
	}
	if got := provisioning.EmailKey("  Olly.Ng@ACME.example "); got != "olly.ng@acme.example" {
		t.Errorf("EmailKey = %q", got)
	}
	for name, want := range map[string]string{
		"  Key   Accounts ": "key accounts",
		"\u212Aey Accounts": "\u212Aey accounts",
		"\u00C4rzte":        "\u00C4rzte", // only ASCII letters are lower-cased
	} {
		if got := provisioning.NameKey(name); got != want {
			t.Errorf("NameKey(%q) = %q; want %q", name, got, want)
		}
	}
}

// corp is an account that claims corp.example.
func corp() provisioning.Account {
	return provisioning.Account{ID: "corp", Domains: []string{"corp.example"}}
}

// TestConfusableEmailDoesNotAutoLink: an identity provider vouches for an
// address spelt with a confusable character. It must not link to, or join,
// the existing user of the ASCII address, even on a connection that trusts
// its emails; an address that differs from hers in ASCII case only still
// links.
func TestConfusableEmailDoesNotAutoLink(t *testing.T) {
	trusting := provisioning.Connection{ID: "corp-saml"}
	for _, c := range ssotest.Confusables {
		t.Run(c.Name, func(t *testing.T) {
			for _, jit := range []bool{false, true} {
				e := newEnv(t)
				uid := e.addUser(c.ASCII, provisioning.Membership{Account: "corp"})
				conn := trusting
				conn.JIT.Enabled = jit
				id := &sso.Identity{Connection: "corp-saml", Protocol: sso.ProtocolSAML, Issuer: "https://idp.corp.example",
					Subject: "s-" + c.Spelt, Email: c.Spelt, EmailVerified: true}
				res, err := e.provision(provisioning.Request{Account: corp(), Connection: conn, Identity: id})
				if !jit {
					wantReason(t, err, sso.ReasonUserNotProvisioned)
					if users, _, _, links := e.store.Len(); users != 1 || links != 0 {
						t.Fatalf("users=%d links=%d after refusal; want 1, 0", users, links)
					}
					continue
				}
				if err != nil {
					t.Fatalf("JIT: %v", err)
				}
				if res.User.ID == uid || res.Match != provisioning.MatchCreated || res.User.Email != c.Spelt {
					t.Fatalf("JIT = match %s, user %+v; want a new user with %q, not %s (%q)", res.Match, res.User, c.Spelt, uid, c.ASCII)
				}
				if u := e.user(uid); u.Email != c.ASCII {
					t.Fatalf("existing user changed: %+v", u)
				}
			}

			// Control: ASCII case differences still find her.
			e := newEnv(t)
			uid := e.addUser(c.ASCII, provisioning.Membership{Account: "corp"})
			id := &sso.Identity{Connection: "corp-saml", Protocol: sso.ProtocolSAML, Issuer: "https://idp.corp.example",
				Subject: "s-upper", Email: strings.ToUpper(c.ASCII[:1]) + c.ASCII[1:], EmailVerified: true}
			res, err := e.provision(provisioning.Request{Account: corp(), Connection: trusting, Identity: id})
			if err != nil || res.User.ID != uid || res.Match != provisioning.MatchEmail {
				t.Fatalf("ASCII case variant = %+v, %v; want linked to %s by email", res, err, uid)
			}
		})
	}
}

// TestConfusableDepartmentIsAnotherOrganisation: the organisation named by
// the identity's department is matched by NameKey, so a name spelt with the
// Kelvin sign does not join "Key Accounts".
func TestConfusableDepartmentIsAnotherOrganisation(t *testing.T) {
	e := newEnv(t)
	var key provisioning.Organisation
	if err := e.store.Tx(context.Background(), func(tx provisioning.Tx) error {
		key = provisioning.Organisation{Account: "acme", Name: "Key Accounts"}
		return tx.CreateOrganisation(context.Background(), &key)
	}); err != nil {
		t.Fatal(err)
	}
	conn := jitConn()
	for _, tc := range []struct {
		dept string
		same bool
	}{
		{"KEY   accounts", true},
		{"\u212Aey Accounts", false},
	} {
		id := ident("s-"+tc.dept, "")
		id.Attributes = map[string][]string{"department": {tc.dept}}
		res, err := e.provision(req(conn, id))
		if err != nil || res.Organisation == nil {
			t.Fatalf("%q: %+v, %v", tc.dept, res, err)
		}
		if got := res.Organisation.ID == key.ID; got != tc.same {
			t.Errorf("department %q joined %q (%s); same organisation as %q: %v, want %v", tc.dept, res.Organisation.Name, res.Organisation.ID, key.Name, got, tc.same)
		}
	}
}

func TestAccountClaimsFoldsASCIIOnly(t *testing.T) {
	a := provisioning.Account{ID: "a", Domains: []string{"korp.example"}}
	for d, want := range map[string]bool{"KORP.example": true, "\u212Aorp.example": false} {
		if got := a.Claims(d); got != want {
			t.Errorf("Claims(%q) = %v; want %v", d, got, want)
		}
	}
}
