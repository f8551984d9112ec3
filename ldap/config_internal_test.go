package ldap

import (
	"strings"
	"testing"
	"time"
)

// TestConfigDefaults: zero limits take the documented defaults; set ones
// are kept.
func TestConfigDefaults(t *testing.T) {
	base := Config{ID: "corp", URLs: []string{"ldaps://ldap.example.com"}, UPN: &UPN{}}
	s, err := base.settings()
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.DialTimeout, s.OpTimeout, s.MaxConns, s.IdleTimeout, s.HealthCheckAfter, s.RetryDownAfter,
		strings.Join(s.attrs.Email, ","), strings.Join(s.attrs.GivenName, ","), strings.Join(s.attrs.FamilyName, ","),
		strings.Join(s.attrs.DisplayName, ","), strings.Join(s.attrs.Groups, ","), s.UPN.Attribute}
	want := []any{5 * time.Second, 10 * time.Second, 8, 2 * time.Minute, 15 * time.Second, 30 * time.Second,
		"mail", "givenName", "sn", "displayName,cn", "memberOf", "userPrincipalName"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("default %d = %v; want %v", i, got[i], want[i])
		}
	}
	if s.Now == nil {
		t.Error("Now has no default")
	}

	set := base
	set.DialTimeout, set.OpTimeout, set.MaxConns = time.Second, 2*time.Second, 3
	set.IdleTimeout, set.HealthCheckAfter, set.RetryDownAfter = 4*time.Second, 5*time.Second, 6*time.Second
	s, err = set.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.DialTimeout != time.Second || s.OpTimeout != 2*time.Second || s.MaxConns != 3 ||
		s.IdleTimeout != 4*time.Second || s.HealthCheckAfter != 5*time.Second || s.RetryDownAfter != 6*time.Second {
		t.Errorf("set limits changed: %+v", s.Config)
	}

	search := base
	search.UPN, search.Search = nil, &Search{BaseDN: "dc=example,dc=com", ObjectClass: "inetOrgPerson"}
	search.GroupSearch = &GroupSearch{BaseDN: "ou=groups,dc=example,dc=com"}
	s, err = search.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Search.MailAttribute != "mail" || s.GroupSearch.Filter != DefaultGroupFilter || s.GroupSearch.NameAttribute != "cn" {
		t.Errorf("search defaults = %+v, %+v", s.Search, s.GroupSearch)
	}
	if search.Search.MailAttribute != "" || search.GroupSearch.Filter != "" {
		t.Error("settings wrote the defaults into the caller's Config")
	}
}
