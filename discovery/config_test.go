package discovery_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

func conn(id string) discovery.Connection {
	return discovery.Connection{ID: id, Protocol: sso.ProtocolSAML}
}

func acct(id string, domains ...string) discovery.Account {
	a := discovery.Account{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Connections: []discovery.Connection{conn(id + "-idp")}}
	for _, d := range domains {
		a.Domains = append(a.Domains, discovery.Domain{Name: d})
	}
	return a
}

func TestConfigValidate(t *testing.T) {
	const token = "0123456789abcdefghij"
	tests := []struct {
		name string
		cfg  discovery.Config
		want string // substring of the error; "" when valid
	}{
		{"empty", discovery.Config{}, ""},
		{"valid", discovery.Config{Accounts: []discovery.Account{acct("acme", "acme.example"), acct("globex", "globex.example")}}, ""},
		{"account id empty", discovery.Config{Accounts: []discovery.Account{{ID: ""}}}, `account id "" is empty`},
		{"account id with space", discovery.Config{Accounts: []discovery.Account{{ID: "a b"}}}, `account id "a b"`},
		{"account id too long", discovery.Config{Accounts: []discovery.Account{{ID: strings.Repeat("a", 256)}}}, "too long"},
		{"duplicate account", discovery.Config{Accounts: []discovery.Account{{ID: "acme"}, {ID: "acme"}}}, `account id "acme" is used by two accounts`},
		{"connection id empty", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{{Protocol: sso.ProtocolSAML}}}}}, `connection id "" is empty`},
		{"unknown protocol", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{{ID: "c", Protocol: "saml2"}}}}}, `protocol "saml2" is unknown`},
		{"connection twice in an account", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{conn("c"), conn("c")}}}}, `connection "c" is listed twice`},
		{"connection in two accounts", discovery.Config{Accounts: []discovery.Account{
			{ID: "a", Connections: []discovery.Connection{conn("shared-idp")}},
			{ID: "b", Connections: []discovery.Connection{conn("shared-idp")}}}}, `connection "shared-idp" of account "b" is also a connection of account "a"`},
		{"javascript logo", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolOIDC, LogoURL: "javascript:alert(1)"}}}}}, "logo_url"},
		{"http logo", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolOIDC, LogoURL: "http://cdn.example/x.png"}}}}}, "logo_url"},
		{"scheme-relative logo", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolOIDC, LogoURL: "//evil.example/x.png"}}}}}, "logo_url"},
		{"good logos", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolOIDC, LogoURL: "https://cdn.example/x.png"},
			{ID: "d", Protocol: sso.ProtocolLDAP, LogoURL: "/logos/d.svg"}}}}}, ""},
		{"issuer with spaces", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolSAML, Issuers: []string{" https://idp.example "}}}}}}, "surrounding spaces"},
		{"issuer twice", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolSAML, Issuers: []string{"https://idp.example", "https://idp.example"}}}}}}, "listed twice"},
		{"module twice", discovery.Config{Accounts: []discovery.Account{{ID: "a", Connections: []discovery.Connection{
			{ID: "c", Protocol: sso.ProtocolSAML, Module: "SAML2"}, {ID: "d", Protocol: sso.ProtocolSAML, Module: "saml2"}}}}}, "same module"},
		{"malformed domain", discovery.Config{Accounts: []discovery.Account{acct("a", "@acme.example")}}, `domain "@acme.example" is not a valid email domain`},
		{"wildcard domain", discovery.Config{Accounts: []discovery.Account{acct("a", "*.acme.example")}}, "not a valid email domain"},
		{"dotless domain", discovery.Config{Accounts: []discovery.Account{acct("a", "localhost")}}, "not a valid email domain"},
		{"domain twice after normalisation", discovery.Config{Accounts: []discovery.Account{acct("a", "bücher.example", "XN--BCHER-KVA.example")}}, "is the same as"},
		{"domain of two accounts", discovery.Config{Accounts: []discovery.Account{acct("a", "acme.example"), acct("b", "ACME.example")}},
			`domain "acme.example" is claimed by accounts "a" and "b"; mark it shared`},
		{"shared by one side only", discovery.Config{Accounts: []discovery.Account{
			{ID: "a", Domains: []discovery.Domain{{Name: "acme.example", Shared: true}}},
			{ID: "b", Domains: []discovery.Domain{{Name: "acme.example"}}}}}, "claimed by accounts"},
		{"shared by the second claim only", discovery.Config{Accounts: []discovery.Account{
			{ID: "a", Domains: []discovery.Domain{{Name: "acme.example"}}},
			{ID: "b", Domains: []discovery.Domain{{Name: "acme.example", Shared: true}}}}}, "claimed by accounts"},
		{"shared by both", discovery.Config{Accounts: []discovery.Account{
			{ID: "a", Domains: []discovery.Domain{{Name: "acme.example", Shared: true}}},
			{ID: "b", Domains: []discovery.Domain{{Name: "acme.example", Shared: true}}}}}, ""},
		{"bad alias", discovery.Config{Accounts: []discovery.Account{{ID: "a", Aliases: []string{"acme corp"}}}}, `alias "acme corp" is not a valid SSO domain`},
		{"alias twice", discovery.Config{Accounts: []discovery.Account{{ID: "a", Aliases: []string{"acme", "ACME"}}}}, "is the same as"},
		{"alias of two accounts", discovery.Config{Accounts: []discovery.Account{{ID: "a", Aliases: []string{"acme"}}, {ID: "b", Aliases: []string{"Acme"}}}},
			`alias "Acme" is used by accounts "a" and "b"`},
		{"alias is another account's domain", discovery.Config{Accounts: []discovery.Account{acct("a", "acme.example"), {ID: "b", Aliases: []string{"acme.example"}}}},
			`alias "acme.example" of account "b" is an email domain claimed by "a"`},
		{"alias is its own domain", discovery.Config{Accounts: []discovery.Account{{ID: "a", Aliases: []string{"acme.example"}, Domains: []discovery.Domain{{Name: "acme.example"}}}}}, ""},
		{"bad proof token", discovery.Config{Accounts: []discovery.Account{{ID: "a", Domains: []discovery.Domain{{Name: "acme.example", ProofToken: "short"}}}}}, "proof_token must be"},
		{"proof required without token", discovery.Config{RequireDomainProof: true, Accounts: []discovery.Account{acct("a", "acme.example")}}, "has no proof_token"},
		{"proof required with token", discovery.Config{RequireDomainProof: true, Accounts: []discovery.Account{
			{ID: "a", Domains: []discovery.Domain{{Name: "acme.example", ProofToken: token}}}}}, ""},
		{"unproven claims do not conflict", discovery.Config{Accounts: []discovery.Account{
			acct("victim", "acme.example"),
			{ID: "squatter", Domains: []discovery.Domain{{Name: "acme.example", ProofToken: token}}}}}, ""},
		{"proven claims do conflict", discovery.Config{Accounts: []discovery.Account{
			acct("a", "acme.example"),
			{ID: "b", Domains: []discovery.Domain{{Name: "acme.example", ProofToken: token, VerifiedAt: time.Unix(1, 0)}}}}}, "claimed by accounts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, errNew := discovery.New(tc.cfg)
			if tc.want == "" {
				if err != nil || errNew != nil {
					t.Fatalf("Validate = %v, New = %v", err, errNew)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v; want it to contain %q", err, tc.want)
			}
			var e *sso.Error
			if !errors.Is(err, sso.ReasonInvalidConfig) || !errors.As(err, &e) || e.Op != "discovery.Config.Validate" {
				t.Fatalf("not an invalid_config *sso.Error: %#v", err)
			}
			if !errors.Is(errNew, sso.ReasonInvalidConfig) || !strings.Contains(errNew.Error(), tc.want) {
				t.Fatalf("New = %v; want the same problem", errNew)
			}
		})
	}
}

func TestAccountAndConnectionValidate(t *testing.T) {
	a := acct("acme", "acme.example")
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	a.Domains = append(a.Domains, discovery.Domain{Name: "nope"})
	if err := a.Validate(); !errors.Is(err, sso.ReasonInvalidConfig) || !strings.Contains(err.Error(), `account "acme": domain "nope"`) {
		t.Fatalf("Account.Validate = %v", err)
	}
	c := discovery.Connection{ID: "c"}
	if err := c.Validate(); !errors.Is(err, sso.ReasonInvalidConfig) || !strings.Contains(err.Error(), "protocol") {
		t.Fatalf("Connection.Validate = %v", err)
	}
}

func TestValidateCapsProblems(t *testing.T) {
	var cfg discovery.Config
	for i := 0; i < 50; i++ {
		cfg.Accounts = append(cfg.Accounts, discovery.Account{ID: "a", Aliases: []string{"bad alias"}})
	}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "more problems") || strings.Count(err.Error(), "\n") > 21 {
		t.Fatalf("Validate = %v", err)
	}
}

func TestConfigJSON(t *testing.T) {
	src := `{"accounts": [{
	  "id": "acme", "name": "Acme", "aliases": ["acme"],
	  "domains": ["acme.example", {"name": "group.example", "shared": true, "proof_token": "0123456789abcdefghij", "verified_at": "2026-03-01T09:00:00Z"}],
	  "connections": [{"id": "acme-entra", "protocol": "saml", "display_name": "Acme staff", "issuers": ["https://sts.windows.net/t/"], "module": "SAML2"}]
	}]}`
	var cfg discovery.Config
	if err := json.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	d := cfg.Accounts[0].Domains
	if len(d) != 2 || d[0].Name != "acme.example" || !d[1].Shared || d[1].VerifiedAt.IsZero() {
		t.Fatalf("domains = %+v", d)
	}
	tab, err := discovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Domains() != 2 {
		t.Fatalf("Domains() = %d", tab.Domains())
	}
	var bad discovery.Config
	if err := json.Unmarshal([]byte(`{"accounts":[{"id":"a","domains":[7]}]}`), &bad); err == nil {
		t.Fatal("a number was accepted as a domain")
	}
}
