package slapdtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso/internal/slapdtest"
)

func TestMain(m *testing.M) { slapdtest.Main(m) }

func dial(t *testing.T, s *slapdtest.Server, ldaps bool) *goldap.Conn {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM) {
		t.Fatal("no CA certificate")
	}
	tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	var c *goldap.Conn
	var err error
	if ldaps {
		c, err = goldap.DialURL(s.LDAPSURL, goldap.DialWithTLSConfig(tc))
	} else if c, err = goldap.DialURL(s.URL); err == nil {
		err = c.StartTLS(tc)
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetTimeout(5 * time.Second)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestShared(t *testing.T) {
	start := time.Now()
	s := slapdtest.Shared(t)
	t.Logf("shared slapd ready in %v", time.Since(start))
	if s2 := slapdtest.Shared(t); s2 != s {
		t.Fatal("Shared started a second server")
	}
	for _, ldaps := range []bool{false, true} {
		c := dial(t, s, ldaps)
		if err := c.Bind(slapdtest.ServiceDN, slapdtest.ServicePassword); err != nil {
			t.Fatalf("service bind: %v", err)
		}
		res, err := c.Search(goldap.NewSearchRequest(slapdtest.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(mail=alice@example.com)", []string{"memberOf"}, nil))
		if err != nil || len(res.Entries) != 1 || len(res.Entries[0].GetAttributeValues("memberOf")) != 2 {
			t.Fatalf("alice with memberOf: %+v, %v", res, err)
		}
		if err := c.Bind("uid=bob,ou=people,"+slapdtest.BaseDN, "bob-password"); err != nil {
			t.Fatalf("user bind: %v", err)
		}
		if err := c.Bind("uid=bob,ou=people,"+slapdtest.BaseDN, "wrong"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
}

func TestStartOptions(t *testing.T) {
	start := time.Now()
	s := slapdtest.Start(t, slapdtest.Options{NoTLS: true, ExtraLDIF: `
dn: uid=zed,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: zed
cn: Zed
sn: Zed
userPassword: zed-password
`})
	t.Logf("plain slapd ready in %v", time.Since(start))
	if s.LDAPSURL != "" || s.CACertPEM != nil {
		t.Fatalf("NoTLS server has TLS: %+v", s)
	}
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("uid=zed,ou=people,"+slapdtest.BaseDN, "zed-password"); err != nil {
		t.Fatalf("ExtraLDIF user: %v", err)
	}
	if err := s.AddLDIF("dn: uid=amy,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: amy\ncn: Amy\nsn: Amy\nuserPassword: amy-password\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind("uid=amy,ou=people,"+slapdtest.BaseDN, "amy-password"); err != nil {
		t.Fatalf("AddLDIF user: %v", err)
	}
	if err := s.AddLDIF("dn: nonsense\n"); err == nil {
		t.Fatal("AddLDIF accepted an invalid entry")
	}
	c2, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.StartTLS(&tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Fatal("a server without certificate accepted StartTLS")
	}
}
