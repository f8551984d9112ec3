package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

func ExampleNew() {
	tab, err := discovery.New(discovery.Config{Accounts: []discovery.Account{{
		ID: "acme", Name: "Acme",
		Aliases: []string{"acme"},
		Domains: []discovery.Domain{{Name: "acme.example"}},
		Connections: []discovery.Connection{
			{ID: "acme-entra", Protocol: sso.ProtocolSAML, DisplayName: "Acme staff"},
			{ID: "acme-ldap", Protocol: sso.ProtocolLDAP, DisplayName: "Acme contractors"},
		},
	}}})
	if err != nil {
		panic(err)
	}
	r, err := tab.Lookup("  Olly@ACME.example ")
	fmt.Println(r.Key, err)
	for _, c := range r.Choices() {
		fmt.Println(c.Connection, c.Protocol, c.DisplayName)
	}
	_, err = tab.Lookup("olly@gmail.com")
	fmt.Println(errors.Is(err, sso.ReasonNoSSO))
	r, _ = tab.LookupAlias("ACME")
	fmt.Println(r.Choice(0).Account)
	// Output:
	// acme.example <nil>
	// acme-entra saml Acme staff
	// acme-ldap ldap Acme contractors
	// true
	// acme
}

func ExampleConfig_Validate() {
	cfg := discovery.Config{Accounts: []discovery.Account{
		{ID: "acme", Domains: []discovery.Domain{{Name: "acme.example"}}},
		{ID: "globex", Domains: []discovery.Domain{{Name: "ACME.example"}}},
	}}
	err := cfg.Validate()
	fmt.Println(errors.Is(err, sso.ReasonInvalidConfig))
	fmt.Println(err)
	// Output:
	// true
	// discovery.Config.Validate: invalid_config: domain "acme.example" is claimed by accounts "acme" and "globex"; mark it shared in both so that people choose between them, or remove one claim
}

func ExampleRouter() {
	r := discovery.NewRouter(nil)
	fmt.Println(r.Table().Domains())

	// A reload builds the new table aside and swaps it in atomically.
	err := r.Reload(discovery.Config{Accounts: []discovery.Account{{
		ID: "acme", Domains: []discovery.Domain{{Name: "acme.example"}},
		Connections: []discovery.Connection{{ID: "acme-okta", Protocol: sso.ProtocolOIDC}},
	}}})
	fmt.Println(err, r.Table().Domains())
	route, ok := r.LookupNormalized("olly@acme.example")
	fmt.Println(ok, route.Choice(0).Connection)

	// An invalid configuration is refused; the current table stays.
	err = r.Reload(discovery.Config{Accounts: []discovery.Account{{ID: ""}}})
	fmt.Println(errors.Is(err, sso.ReasonInvalidConfig), r.Table().Domains())
	// Output:
	// 0
	// <nil> 1
	// true acme-okta
	// true 1
}

func ExampleTable_LookupModule() {
	tab, _ := discovery.New(discovery.Config{Accounts: []discovery.Account{{
		ID: "shipping",
		Connections: []discovery.Connection{
			{ID: "shipping-staff", Protocol: sso.ProtocolSAML, Module: "SAML2", Issuers: []string{"https://idp.shipping.example"}},
			{ID: "shipping-partners", Protocol: sso.ProtocolSAML, Module: "Partners", Issuers: []string{"https://idp.shipping.example"}},
		},
	}}})
	// An IdP-initiated login: the issuer finds the account's connections,
	// the SSOModule attribute picks one.
	cs, _ := tab.LookupIssuer("https://idp.shipping.example")
	c, err := tab.LookupModule(cs[0].Account, "partners")
	fmt.Println(len(cs), c.Connection, err)
	// Output:
	// 2 shipping-partners <nil>
}

// staticDNS is a Resolver for the example.
type staticDNS map[string][]string

func (s staticDNS) LookupTXT(_ context.Context, name string) ([]string, error) { return s[name], nil }

func ExampleVerifyDomain() {
	const token = "k3Jx9wQp2mVb7nTz4rLd"
	name, value, _ := discovery.ProofRecord("acme.example", token)
	fmt.Println(name, value)

	dns := staticDNS{name: {value}}
	fmt.Println(discovery.VerifyDomain(context.Background(), dns, "acme.example", token))

	// ProveDomains stamps proven domains; only then do they route.
	cfg := discovery.Config{Accounts: []discovery.Account{{
		ID:          "acme",
		Domains:     []discovery.Domain{{Name: "acme.example", ProofToken: token}},
		Connections: []discovery.Connection{{ID: "acme-okta", Protocol: sso.ProtocolOIDC}},
	}}}
	before, _ := discovery.New(cfg)
	cfg, err := discovery.ProveDomains(context.Background(), dns, cfg, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	after, _ := discovery.New(cfg)
	fmt.Println(err, before.Domains(), after.Domains())
	// Output:
	// _ssokit.acme.example ssokit-verification=k3Jx9wQp2mVb7nTz4rLd
	// <nil>
	// <nil> 0 1
}
