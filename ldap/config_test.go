package ldap_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
)

func validSearchConfig() ldap.Config {
	return ldap.Config{
		ID:     "corp-ldap",
		URLs:   []string{"ldaps://ldap.example.com"},
		Search: &ldap.Search{BaseDN: "dc=example,dc=com", ObjectClass: "inetOrgPerson"},
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *ldap.Config)
		detail string // substring of the Detail; "" means valid
	}{
		{"valid search", func(c *ldap.Config) {}, ""},
		{"valid service account", func(c *ldap.Config) {
			c.Search.BindDN, c.Search.BindPassword = "cn=svc,dc=example,dc=com", "pw"
		}, ""},
		{"valid template", func(c *ldap.Config) {
			c.Search = nil
			c.Templates = map[string]string{"Example.COM": "uid={},ou=users,dc=example,dc=com"}
		}, ""},
		{"valid upn", func(c *ldap.Config) { c.Search, c.UPN = nil, &ldap.UPN{} }, ""},
		{"valid several urls", func(c *ldap.Config) { c.URLs = []string{"ldap://a:389", "ldaps://b:636/"} }, ""},
		{"no id", func(c *ldap.Config) { c.ID = " " }, "ID is empty"},
		{"no urls", func(c *ldap.Config) { c.URLs = nil }, "URLs is empty"},
		{"http url", func(c *ldap.Config) { c.URLs = []string{"http://ldap.example.com"} }, "scheme must be ldaps or ldap"},
		{"ldapi url", func(c *ldap.Config) { c.URLs = []string{"ldapi:///var/run/slapd"} }, "scheme must be ldaps or ldap"},
		{"no host", func(c *ldap.Config) { c.URLs = []string{"ldaps://"} }, "has no host"},
		{"url with base dn", func(c *ldap.Config) { c.URLs = []string{"ldap://h/dc=example,dc=com"} }, "only scheme, host and port"},
		{"url with user", func(c *ldap.Config) { c.URLs = []string{"ldap://u:p@h"} }, "only scheme, host and port"},
		{"bad port", func(c *ldap.Config) { c.URLs = []string{"ldap://h:99999"} }, "invalid port"},
		{"bad ca", func(c *ldap.Config) { c.CACertPEM = []byte("not pem") }, "CACertPEM holds no PEM certificate"},
		{"no method", func(c *ldap.Config) { c.Search = nil }, "exactly one of Search, Templates and UPN (got 0)"},
		{"two methods", func(c *ldap.Config) { c.UPN = &ldap.UPN{} }, "exactly one of Search, Templates and UPN (got 2)"},
		{"no base dn", func(c *ldap.Config) { c.Search.BaseDN = "" }, "Search.BaseDN"},
		{"bad base dn", func(c *ldap.Config) { c.Search.BaseDN = "dc=example,,dc=com" }, "not a valid DN"},
		{"no object class", func(c *ldap.Config) { c.Search.ObjectClass = "" }, "Search.ObjectClass is empty"},
		{"bad mail attribute", func(c *ldap.Config) { c.Search.MailAttribute = "mail)(uid=*" }, "not an attribute name"},
		{"bind dn without password", func(c *ldap.Config) { c.Search.BindDN = "cn=svc,dc=example,dc=com" }, "a bind with an empty password is anonymous"},
		{"password without bind dn", func(c *ldap.Config) { c.Search.BindPassword = "pw" }, "without Search.BindDN"},
		{"bad bind dn", func(c *ldap.Config) { c.Search.BindDN, c.Search.BindPassword = "svc", "pw" }, "Search.BindDN"},
		{"template without placeholder", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "uid=x,dc=example,dc=com"}
		}, "placeholder {} exactly once"},
		{"template with two placeholders", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "uid={},cn={},dc=example,dc=com"}
		}, "placeholder {} exactly once"},
		{"template placeholder inside a value", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "uid=x{},dc=example,dc=com"}
		}, "whole attribute value"},
		{"template placeholder as attribute type", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "{}=x,dc=example,dc=com"}
		}, "whole attribute value"},
		{"template placeholder followed by text", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "uid={}x,dc=example,dc=com"}
		}, "whole attribute value"},
		{"template invalid dn", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "uid={},,dc=com"}
		}, "not a valid DN"},
		{"template bad domain", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"localhost": "uid={},dc=example,dc=com"}
		}, "not a valid domain"},
		{"template duplicate domain", func(c *ldap.Config) {
			c.Search, c.Templates = nil, map[string]string{"example.com": "uid={},dc=a", "EXAMPLE.com": "uid={},dc=b"}
		}, "listed twice"},
		{"upn bad base", func(c *ldap.Config) { c.Search, c.UPN = nil, &ldap.UPN{BaseDN: "nope"} }, "UPN.BaseDN"},
		{"valid upn trusted as email", func(c *ldap.Config) {
			c.Search, c.UPN, c.TrustEmail, c.TrustUPNAsEmail = nil, &ldap.UPN{}, true, true
		}, ""},
		{"upn trusted as email without upn login", func(c *ldap.Config) { c.TrustEmail, c.TrustUPNAsEmail = true, true }, "does not log in by UPN"},
		{"upn trusted as email without TrustEmail", func(c *ldap.Config) {
			c.Search, c.UPN, c.TrustUPNAsEmail = nil, &ldap.UPN{}, true
		}, "without TrustEmail"},
		{"password attribute", func(c *ldap.Config) { c.ExtraAttributes = []string{"userPassword"} }, "password hashes"},
		{"bad extra attribute", func(c *ldap.Config) { c.ExtraAttributes = []string{"a b"} }, "not an attribute name"},
		{"group search without base", func(c *ldap.Config) { c.GroupSearch = &ldap.GroupSearch{} }, "GroupSearch.BaseDN"},
		{"group filter without placeholder", func(c *ldap.Config) {
			c.GroupSearch = &ldap.GroupSearch{BaseDN: "dc=example,dc=com", Filter: "(objectClass=groupOfNames)"}
		}, "neither {dn} nor {email}"},
		{"group filter invalid", func(c *ldap.Config) {
			c.GroupSearch = &ldap.GroupSearch{BaseDN: "dc=example,dc=com", Filter: "(member={dn}"}
		}, "not a valid LDAP filter"},
		{"negative timeout", func(c *ldap.Config) { c.OpTimeout = -1 }, "OpTimeout is negative"},
		{"negative pool", func(c *ldap.Config) { c.MaxConns = -1 }, "MaxConns is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validSearchConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.detail == "" {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				a, err := ldap.New(c)
				if err != nil {
					t.Fatalf("New() = %v", err)
				}
				a.Close()
				return
			}
			if !errors.Is(err, sso.ReasonInvalidConfig) {
				t.Fatalf("Validate() = %v; want invalid_config", err)
			}
			var se *sso.Error
			if !errors.As(err, &se) || !strings.Contains(se.Detail, tt.detail) || se.Connection != c.ID {
				t.Fatalf("Validate() = %#v; want Detail containing %q and the connection ID", err, tt.detail)
			}
			if _, err := ldap.New(c); !errors.Is(err, sso.ReasonInvalidConfig) {
				t.Fatalf("New() = %v; want invalid_config", err)
			}
		})
	}
}

func TestConfigNeverEchoesServicePassword(t *testing.T) {
	c := validSearchConfig()
	c.Search.BindDN = "bad dn"
	c.Search.BindPassword = "very-secret-service-password"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "very-secret") {
		t.Fatalf("Validate() = %v; want an error without the password", err)
	}
}
