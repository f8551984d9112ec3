package ldaptest_test

import (
	"context"
	"fmt"
	"log"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// A directory on a free loopback port, reached with any LDAP client over
// StartTLS: TLSConfig trusts the server's own CA, and CACertPEM gives the
// CA to ldap.Config. In a test, ldaptest.Start(t, cfg) does the same and
// closes the server when the test ends.
func ExampleNewServer() {
	srv, err := ldaptest.NewServer(ldaptest.SampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := goldap.DialURL(srv.URL())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.TLSConfig()); err != nil {
		log.Fatal(err)
	}
	if err := c.Bind("uid=bob,ou=people,dc=example,dc=com", "bob-password"); err != nil {
		log.Fatal(err)
	}
	res, err := c.Search(goldap.NewSearchRequest("dc=example,dc=com", goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, "(memberOf=cn=admins,ou=groups,dc=example,dc=com)", []string{"mail"}, nil))
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range res.Entries {
		fmt.Println(e.DN, e.GetAttributeValue("mail"))
	}
	// Output:
	// uid=alice,ou=people,dc=example,dc=com alice@example.com
}

// An Active Directory that reports a locked-out account.
func ExampleADError() {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	cfg.Users[1].BindError = ldaptest.ADError("775") // alice
	srv, err := ldaptest.NewServer(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	auth, err := ldap.New(ldap.Config{ID: "ad", URLs: []string{srv.LDAPSURL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{}})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	_, err = auth.Complete(context.Background(), sso.CompleteRequest{Email: "alice@example.com", Password: "alice-password"})
	fmt.Println(sso.ReasonOf(err))
	// Output:
	// ldap_account_locked
}

// A directory that is down, then back.
func ExampleServer_SetDown() {
	srv, err := ldaptest.NewServer(ldaptest.SampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	auth, err := ldap.New(ldap.Config{ID: "corp", URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(),
		Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	login := func() error {
		_, err := auth.Complete(context.Background(), sso.CompleteRequest{Email: "bob@example.com", Password: "bob-password"})
		return err
	}
	_ = srv.SetDown(true)
	fmt.Println(sso.ReasonOf(login()))
	_ = srv.SetDown(false)
	fmt.Println(login())
	// Output:
	// unavailable
	// <nil>
}
