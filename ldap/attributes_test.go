package ldap_test

import (
	"slices"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// TestAttributeLists: each field of Config.Attributes is a list of names
// tried in order, as in package saml and oidc; the groups of every listed
// attribute are read; unset fields keep the defaults (cn stands in for an
// empty displayName).
func TestAttributeLists(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.Users = append(cfg.Users, ldaptest.User{DN: "uid=lists,ou=people," + sampleBase, Password: "lists-password",
		Attributes: map[string][]string{"uid": {"lists"}, "cn": {"List Person"}, "mail": {"lists@example.com"},
			"description": {"Lee"}, "memberOf": {"cn=staff,ou=groups," + sampleBase}, "businessCategory": {"cn=editors,ou=groups," + sampleBase}}})
	srv := ldaptest.Start(t, cfg)
	for _, tc := range []struct {
		name  string
		attrs sso.AttributeMap
		given string
		disp  string
		grps  []string
	}{
		{"defaults", sso.AttributeMap{}, "", "List Person", []string{"staff"}},
		{"first present name", sso.AttributeMap{GivenName: []string{"givenName", "description"}}, "Lee", "List Person", []string{"staff"}},
		{"every group attribute", sso.AttributeMap{Groups: []string{"memberOf", "businessCategory"}}, "", "List Person", []string{"staff", "editors"}},
		{"no display name", sso.AttributeMap{DisplayName: []string{}}, "", "", []string{"staff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Attributes: tc.attrs,
				Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}})
			id, err := login(a, "lists@example.com", "lists-password")
			if err != nil {
				t.Fatal(err)
			}
			if id.GivenName != tc.given || id.DisplayName != tc.disp || !slices.Equal(id.Groups, tc.grps) {
				t.Fatalf("identity %q %q %v; want %q %q %v", id.GivenName, id.DisplayName, id.Groups, tc.given, tc.disp, tc.grps)
			}
		})
	}
	if _, err := ldap.New(ldap.Config{ID: "x", URLs: []string{srv.URL()}, UPN: &ldap.UPN{}, Attributes: sso.AttributeMap{Email: []string{"unicodePwd"}}}); sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("reading a password attribute: %v", err)
	}
}
