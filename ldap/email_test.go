package ldap_test

import (
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
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM, TrustEmail: true,
		Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}})
	id, err := login(a, "alike@example.com", "alike-password")
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "Alike@example.com" || !id.EmailVerified {
		t.Fatalf("Email = %q (verified %v); want the entry's own Alike@example.com, verified", id.Email, id.EmailVerified)
	}
}
