package slapdtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso/internal/slapdtest"
)

// A test that binds as a sample user over StartTLS against the shared
// slapd. The package's TestMain calls slapdtest.Main to stop it.
func ExampleShared() {
	testBind := func(t *testing.T) {
		srv := slapdtest.Shared(t) // skipped (failed under CI=true) without slapd
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(srv.CACertPEM)
		c, err := goldap.DialURL(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Bind("uid=alice,ou=people,"+slapdtest.BaseDN, "alice-password"); err != nil {
			t.Fatal(err)
		}
	}
	_ = testBind
}

// A server of the test's own, plain LDAP only, with an extra entry.
func ExampleStart() {
	testPlain := func(t *testing.T) {
		srv := slapdtest.Start(t, slapdtest.Options{NoTLS: true, ExtraLDIF: `
dn: uid=zed,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: zed
cn: Zed
sn: Zed
userPassword: zed-password
`})
		_ = srv.URL // ldap://127.0.0.1:port, StartTLS refused
	}
	_ = testPlain
}
