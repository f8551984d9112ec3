package ldap_test

import (
	"strings"
	"testing"

	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// TestMailPreferenceFoldsASCIIOnly: of several mail values the one equal to
// the login email is preferred, ignoring the case of ASCII letters only. A
// value spelt with the Kelvin sign U+212A is another address, not the one
// the person logged in with.
func TestMailPreferenceFoldsASCIIOnly(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.Users = append(cfg.Users, ldaptest.User{DN: "uid=alike,ou=people," + sampleBase, Password: "alike-password",
		Attributes: map[string][]string{"uid": {"alike"}, "cn": {"Alike"}, "mail": {"ali\u212Ae@example.com", "Alike@example.com"}}})
	srv := ldaptest.Start(t, cfg)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), TrustEmail: true,
		Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}})
	id, err := login(a, "alike@example.com", "alike-password")
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "Alike@example.com" || !id.EmailVerified {
		t.Fatalf("Email = %q (verified %v); want the entry's own Alike@example.com, verified", id.Email, id.EmailVerified)
	}
}

// TestUPNIsNotAVerifiedEmail: against Active Directory, a user without a
// mail attribute who logs in by UPN gets the UPN as her email, so that she
// can still be found, but it is verified only when the connection declares
// with TrustUPNAsEmail that its UPNs are real addresses. A UPN is an
// account name whose suffix a domain administrator may choose freely;
// trusted as an email it would let her be linked to the application's user
// of that address.
func TestUPNIsNotAVerifiedEmail(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	cfg.Users = append(cfg.Users,
		// No mail attribute: the UPN is all there is.
		ldaptest.User{DN: "cn=Legacy User,ou=people," + sampleBase, Password: "legacy-password",
			Attributes: map[string][]string{"sAMAccountName": {"legacy"}, "userPrincipalName": {"Legacy@Example.com"}, "cn": {"Legacy User"}}},
		// A UPN spelt with the Kelvin sign U+212A, which this directory (like
		// one matching with Unicode case folding) finds for "bok@...".
		ldaptest.User{DN: "cn=Bok,ou=people," + sampleBase, Password: "bok-password",
			Attributes: map[string][]string{"sAMAccountName": {"bok"}, "userPrincipalName": {"bo\u212A@example.com"}, "cn": {"Bok"}}},
	)
	srv := ldaptest.Start(t, cfg)
	upn := func(trustEmail, trustUPN bool) ldap.Config {
		return ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{}, TrustEmail: trustEmail, TrustUPNAsEmail: trustUPN}
	}
	tests := []struct {
		name     string
		cfg      ldap.Config
		login    string
		email    string
		verified bool
	}{
		{"UPN without mail, TrustEmail", upn(true, false), "legacy@example.com", "legacy@example.com", false},
		{"UPN without mail, TrustUPNAsEmail", upn(true, true), "legacy@example.com", "Legacy@example.com", true},
		{"UPN without mail, nothing trusted", upn(false, false), "legacy@example.com", "legacy@example.com", false},
		{"mail attribute, TrustEmail", upn(true, false), "alice@example.com", "alice@example.com", true},
		{"mail attribute, TrustUPNAsEmail", upn(true, true), "alice@example.com", "alice@example.com", true},
		{"mail attribute, nothing trusted", upn(false, false), "alice@example.com", "alice@example.com", false},
		// The directory matched a UPN that is not the address she typed:
		// TrustUPNAsEmail vouches for the entry's own UPN only.
		{"UPN matched by Unicode folding, TrustUPNAsEmail", upn(true, true), "bok@example.com", "bok@example.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuth(t, tc.cfg)
			id, err := login(a, tc.login, strings.SplitN(tc.login, "@", 2)[0]+"-password")
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != tc.email || id.EmailVerified != tc.verified {
				t.Fatalf("Email = %q, EmailVerified = %v; want %q, %v", id.Email, id.EmailVerified, tc.email, tc.verified)
			}
		})
	}
}

// TestLoginEmailIsNotAVerifiedEmail: with Search or Templates, an entry
// without a mail value gets the login email, which TrustEmail does not
// vouch for: the directory never stated it as an address (a search by
// userPrincipalName, or a DN built from the local part).
func TestLoginEmailIsNotAVerifiedEmail(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.Users = append(cfg.Users, ldaptest.User{DN: "uid=nomail,ou=people," + sampleBase, Password: "nomail-password",
		Attributes: map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"nomail"}, "cn": {"No Mail"}, "userPrincipalName": {"nomail@example.com"}}})
	srv := ldaptest.Start(t, cfg)
	byUPN := serviceSearch()
	byUPN.MailAttribute = "userPrincipalName"
	for name, c := range map[string]ldap.Config{
		"search by userPrincipalName": {Search: byUPN},
		"template":                    {Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}},
	} {
		t.Run(name, func(t *testing.T) {
			c.URLs, c.CACertPEM, c.TrustEmail = []string{srv.URL()}, srv.CACertPEM(), true
			a := newAuth(t, c)
			id, err := login(a, "nomail@example.com", "nomail-password")
			if err != nil {
				t.Fatal(err)
			}
			if id.Email != "nomail@example.com" || id.EmailVerified {
				t.Fatalf("Email = %q, EmailVerified = %v; want the login email, not verified", id.Email, id.EmailVerified)
			}
			// The same connection still vouches for a mail attribute.
			id, err = login(a, "alice@example.com", "alice-password")
			if err != nil {
				t.Fatal(err)
			}
			if !id.EmailVerified {
				t.Fatalf("alice (mail attribute): EmailVerified = false; want true")
			}
		})
	}
}
