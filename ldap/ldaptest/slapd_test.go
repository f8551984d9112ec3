package ldaptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso/ldap/ldaptest"
)

// TestStartSlapd binds to the slapd it starts over StartTLS as the sample
// service account and as alice, and is refused with a wrong password.
func TestStartSlapd(t *testing.T) {
	s := ldaptest.StartSlapd(t)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.CACertPEM) {
		t.Fatal("no CA certificate")
	}
	for _, tc := range []struct {
		dn, password string
		ok           bool
	}{
		{ldaptest.SampleServiceDN, ldaptest.SampleServicePassword, true},
		{"uid=alice,ou=people," + ldaptest.SampleBaseDN, "alice-password", true},
		{"uid=alice,ou=people," + ldaptest.SampleBaseDN, "wrong", false},
	} {
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartTLS(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		err = c.Bind(tc.dn, tc.password)
		c.Close()
		if (err == nil) != tc.ok {
			t.Errorf("bind %s: %v; want ok %v", tc.dn, err, tc.ok)
		}
	}
}
