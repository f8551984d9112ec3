package ldap_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// A connection that finds the user with a search as a service account.
func Example() {
	dir, err := ldaptest.NewServer(ldaptest.SampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer dir.Close()

	auth, err := ldap.New(ldap.Config{
		ID:        "acme-ldap",
		URLs:      []string{dir.URL()}, // ldap://: StartTLS at once
		CACertPEM: dir.CACertPEM(),
		Search: &ldap.Search{
			BaseDN:       "dc=example,dc=com",
			ObjectClass:  "inetOrgPerson",
			BindDN:       ldaptest.SampleServiceDN,
			BindPassword: ldaptest.SampleServicePassword,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	ctx := context.Background()
	step, _ := auth.Begin(ctx, sso.BeginRequest{})
	fmt.Println(step.Kind)

	id, err := auth.Complete(ctx, sso.CompleteRequest{Email: "alice@example.com", Password: "alice-password"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.Subject)
	fmt.Println(id.DisplayName, id.Email, id.Groups)

	_, err = auth.Complete(ctx, sso.CompleteRequest{Email: "alice@example.com", Password: "guess"})
	fmt.Println(sso.ReasonOf(err))
	fmt.Println(sso.ReasonOf(err).UserMessage())
	// Output:
	// password_prompt
	// uid=alice,ou=people,dc=example,dc=com
	// Alice Liddell alice@example.com [admins staff]
	// ldap_invalid_credentials
	// The email address or password is incorrect.
}

// A connection that builds the DN from the email's local part.
func Example_templates() {
	dir, err := ldaptest.NewServer(ldaptest.SampleConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer dir.Close()

	auth, err := ldap.New(ldap.Config{
		ID:        "acme-ldap",
		URLs:      []string{dir.LDAPSURL()},
		CACertPEM: dir.CACertPEM(),
		Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	id, err := auth.Complete(context.Background(), sso.CompleteRequest{Email: "bob@example.com", Password: "bob-password"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.Subject, id.Groups)

	_, err = auth.Complete(context.Background(), sso.CompleteRequest{Email: "bob@example.org", Password: "bob-password"})
	fmt.Println(sso.ReasonOf(err))
	// Output:
	// uid=bob,ou=people,dc=example,dc=com [staff]
	// ldap_domain_not_configured
}

func ExampleConfig_Validate() {
	cfg := ldap.Config{
		ID:        "acme-ldap",
		URLs:      []string{"ldaps://ldap.example.com"},
		Templates: map[string]string{"example.com": "uid=name,ou=people,dc=example,dc=com"},
	}
	err := cfg.Validate()
	fmt.Println(sso.ReasonOf(err))
	fmt.Println(err)
	// Output:
	// invalid_config
	// ldap.New: connection "acme-ldap": invalid_config: Templates["example.com"] = "uid=name,ou=people,dc=example,dc=com": the template must contain the placeholder {} exactly once
}

func ExampleEscapeFilterValue() {
	fmt.Println("(mail=" + ldap.EscapeFilterValue("*)(uid=*") + ")")
	fmt.Println("(cn=" + ldap.EscapeFilterValue("Jörg\x00") + ")")
	// Output:
	// (mail=\2a\29\28uid=\2a)
	// (cn=J\c3\b6rg\00)
}

func ExampleEscapeDNValue() {
	fmt.Println("uid=" + ldap.EscapeDNValue("#admin+cn=x ") + ",dc=example,dc=com")
	// Output:
	// uid=\#admin\+cn\=x\ ,dc=example,dc=com
}

func ExampleNormalizeDN() {
	dn, _ := ldap.NormalizeDN("UID=alice, OU=People,DC=example,DC=com")
	fmt.Println(dn)
	// Output:
	// uid=alice,ou=People,dc=example,dc=com
}

func ExampleParseADBindError() {
	code, ok := ldap.ParseADBindError("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 775, v3839")
	fmt.Println(code, ok)
	// Output:
	// 775 true
}
