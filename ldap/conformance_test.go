package ldap_test

import (
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/ssotest"
)

func TestAuthenticatorConformance(t *testing.T) {
	dir := ldaptest.Start(t, ldaptest.SampleConfig())
	ssotest.TestAuthenticator(t, ssotest.Harness{
		New: func(t *testing.T) sso.Authenticator {
			a, err := ldap.New(ldap.Config{
				ID:        "conformance",
				URLs:      []string{dir.URL()},
				CACertPEM: dir.CACertPEM(),
				Search: &ldap.Search{BaseDN: "dc=example,dc=com", ObjectClass: "inetOrgPerson",
					BindDN: ldaptest.SampleServiceDN, BindPassword: ldaptest.SampleServicePassword},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			return a
		},
		Email:         "alice@example.com",
		Password:      "alice-password",
		WrongPassword: "not-her-password",
	})
}
