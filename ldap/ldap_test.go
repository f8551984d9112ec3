package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

const sampleBase = ldaptest.SampleBaseDN

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newAuth(t testing.TB, cfg ldap.Config) *ldap.Authenticator {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = "corp"
	}
	a, err := ldap.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func serviceSearch() *ldap.Search {
	return &ldap.Search{BaseDN: sampleBase, ObjectClass: "inetOrgPerson",
		BindDN: ldaptest.SampleServiceDN, BindPassword: ldaptest.SampleServicePassword}
}

func login(a *ldap.Authenticator, email, password string) (*sso.Identity, error) {
	return a.Complete(context.Background(), sso.CompleteRequest{Email: email, Password: sso.Secret(password)})
}

func wantReason(t testing.TB, err error, want sso.Reason) *sso.Error {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v; want reason %s", err, want)
	}
	var se *sso.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %T; want *sso.Error", err)
	}
	if se.Op != "ldap.Complete" || se.Connection == "" {
		t.Fatalf("err Op/Connection = %q/%q", se.Op, se.Connection)
	}
	return se
}

func TestBegin(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
	if a.ID() != "corp" || a.Protocol() != sso.ProtocolLDAP {
		t.Fatalf("ID/Protocol = %q/%q", a.ID(), a.Protocol())
	}
	step, err := a.Begin(context.Background(), sso.BeginRequest{ReturnTo: "/app"})
	if err != nil || step.Kind != sso.StepPasswordPrompt {
		t.Fatalf("Begin = %+v, %v; want a password prompt", step, err)
	}
	if _, err := a.Begin(context.Background(), sso.BeginRequest{ReturnTo: "//evil.example"}); !errors.Is(err, sso.ReasonInvalidRequest) {
		t.Fatalf("Begin(unsafe ReturnTo) = %v; want invalid_request", err)
	}
	if srv.Stats().Connections != 0 {
		t.Fatalf("Begin connected to the directory")
	}
}

func TestSearchLogin(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	for _, tc := range []struct {
		name    string
		url     string
		search  *ldap.Search
		boundAs string
	}{
		{"service account, StartTLS", srv.URL(), serviceSearch(), ldaptest.SampleServiceDN},
		{"service account, LDAPS", srv.LDAPSURL(), serviceSearch(), ldaptest.SampleServiceDN},
		{"anonymous", srv.URL(), &ldap.Search{BaseDN: sampleBase, ObjectClass: "inetOrgPerson"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetStats()
			a := newAuth(t, ldap.Config{URLs: []string{tc.url}, CACertPEM: srv.CACertPEM(), Search: tc.search,
				TrustEmail: true, Now: func() time.Time { return fixedNow }})
			id, err := login(a, "  alice@EXAMPLE.com ", "alice-password")
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			want := &sso.Identity{
				Connection:    "corp",
				Protocol:      sso.ProtocolLDAP,
				Issuer:        tc.url,
				Subject:       "uid=alice,ou=people,dc=example,dc=com",
				Email:         "alice@example.com",
				EmailVerified: true,
				GivenName:     "Alice",
				FamilyName:    "Liddell",
				DisplayName:   "Alice Liddell",
				Groups:        []string{"admins", "staff"},
				AuthTime:      fixedNow,
			}
			got := *id
			got.Attributes = nil
			if !reflect.DeepEqual(&got, want) {
				t.Fatalf("identity =\n%+v\nwant\n%+v", &got, want)
			}
			if id.Attribute("mail") != "alice@example.com" || len(id.Attributes["memberOf"]) != 2 {
				t.Fatalf("Attributes = %v", id.Attributes)
			}
			searches := srv.Searches()
			if len(searches) != 1 {
				t.Fatalf("server saw %d searches; want 1: %+v", len(searches), searches)
			}
			s := searches[0]
			if s.BoundDN != tc.boundAs || s.BaseDN != sampleBase || s.Scope != 2 ||
				s.Filter != "(&(objectClass=inetOrgPerson)(mail=alice@example.com))" {
				t.Fatalf("search = %+v", s)
			}
		})
	}
}

func TestSearchLoginFailures(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.Users = append(cfg.Users,
		ldaptest.User{DN: "uid=dup1,ou=people," + sampleBase, Password: "x", Attributes: map[string][]string{"mail": {"shared@example.com"}}},
		ldaptest.User{DN: "uid=dup2,ou=people," + sampleBase, Password: "x", Attributes: map[string][]string{"mail": {"shared@example.com"}}},
		ldaptest.User{DN: "uid=dup3,ou=people," + sampleBase, Password: "x", Attributes: map[string][]string{"mail": {"shared@example.com"}}},
	)
	srv := ldaptest.Start(t, cfg)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
	tests := []struct {
		email, password string
		reason          sso.Reason
		detail          string
	}{
		{"alice@example.com", "wrong", sso.ReasonInvalidCredentials, `refused the password for "uid=alice,ou=people,dc=example,dc=com"`},
		{"nobody@example.com", "x", sso.ReasonLDAPUserNotFound, "no entry under"},
		{"shared@example.com", "x", sso.ReasonLDAPAmbiguousUser, "several entries match"},
		{"alice@example.com", "", sso.ReasonPasswordEmpty, "password is empty"},
		{"not-an-email", "x", sso.ReasonInvalidEmail, "no @"},
		{"", "x", sso.ReasonInvalidEmail, "empty"},
	}
	for _, tt := range tests {
		_, err := login(a, tt.email, tt.password)
		se := wantReason(t, err, tt.reason)
		if !strings.Contains(se.Detail, tt.detail) {
			t.Errorf("%s: Detail = %q; want it to contain %q", tt.email, se.Detail, tt.detail)
		}
	}
}

// TestNothingSentBeforeValidation: an empty password or an invalid email is
// refused before any connection is made. An empty password matters most:
// LDAP treats it as an unauthenticated bind, which Active Directory answers
// with success.
func TestNothingSentBeforeValidation(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	srv := ldaptest.Start(t, cfg)
	for _, ac := range []ldap.Config{
		{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()},
		{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{}},
		{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}},
	} {
		a := newAuth(t, ac)
		for _, c := range []struct {
			email, password string
			reason          sso.Reason
		}{
			{"alice@example.com", "", sso.ReasonPasswordEmpty},
			{"alice)(uid=*@example.com", "x", sso.ReasonInvalidEmail},
			{"ali\x00ce@example.com", "x", sso.ReasonInvalidEmail},
			{"alice,ou=admins@example.com", "x", sso.ReasonInvalidEmail},
			{"alice@exa*mple.com", "x", sso.ReasonInvalidEmail},
		} {
			_, err := login(a, c.email, c.password)
			wantReason(t, err, c.reason)
		}
	}
	if st := srv.Stats(); st.Connections != 0 {
		t.Fatalf("server saw %d connections; want none", st.Connections)
	}
}

// TestFilterInjection: an email with a wildcard must match only itself.
// Without escaping, (mail=*@example.com) would match alice and bob.
func TestFilterInjection(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(),
		GroupSearch: &ldap.GroupSearch{BaseDN: sampleBase}})
	for _, email := range []string{"*@example.com", "a*@example.com", "*e*@example.com"} {
		_, err := login(a, email, "alice-password")
		wantReason(t, err, sso.ReasonLDAPUserNotFound)
	}
	var filters []string
	for _, s := range srv.Searches() {
		filters = append(filters, s.Filter)
	}
	want := []string{
		`(&(objectClass=inetOrgPerson)(mail=\2a@example.com))`,
		`(&(objectClass=inetOrgPerson)(mail=a\2a@example.com))`,
		`(&(objectClass=inetOrgPerson)(mail=\2ae\2a@example.com))`,
	}
	if !reflect.DeepEqual(filters, want) {
		t.Fatalf("filters sent =\n%q\nwant\n%q", filters, want)
	}
}

// TestGroupSearchEscapesDN: a DN with filter syntax in it stays one value in
// the group filter.
func TestGroupSearchEscapesDN(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	eve := "uid=eve)(uid=*,ou=people," + sampleBase
	cfg.Users = append(cfg.Users, ldaptest.User{DN: eve, Password: "eve-password",
		Attributes: map[string][]string{"objectClass": {"inetOrgPerson"}, "mail": {"eve@example.com"}, "cn": {"Eve"}}})
	cfg.Groups = append(cfg.Groups, ldaptest.Group{DN: "cn=eve-group,ou=groups," + sampleBase, Members: []string{eve}})
	srv := ldaptest.Start(t, cfg)
	for _, asDN := range []bool{false, true} {
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(),
			GroupSearch: &ldap.GroupSearch{BaseDN: "ou=groups," + sampleBase}, GroupsAsDN: asDN})
		id, err := login(a, "eve@example.com", "eve-password")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"eve-group"}
		if asDN {
			want = []string{"cn=eve-group,ou=groups," + sampleBase}
		}
		if !reflect.DeepEqual(id.Groups, want) {
			t.Fatalf("Groups = %q; want %q", id.Groups, want)
		}
		if id.Subject != `uid=eve)(uid\=*,ou=people,dc=example,dc=com` {
			t.Fatalf("Subject = %q", id.Subject)
		}
		id, err = login(a, "alice@example.com", "alice-password")
		if err != nil {
			t.Fatal(err)
		}
		if len(id.Groups) != 2 {
			t.Fatalf("alice's groups = %q", id.Groups)
		}
	}
}

func TestTemplateLogin(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.Users = append(cfg.Users, ldaptest.User{DN: `uid=o\+brien,ou=people,` + sampleBase, Password: "pat-password",
		Attributes: map[string][]string{"uid": {"o+brien"}, "cn": {"Pat O'Brien"}, "mail": {"pat@example.com"}}})
	srv := ldaptest.Start(t, cfg)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(),
		Templates: map[string]string{
			"example.com":      "uid={},ou=people,dc=example,dc=com",
			"Example.org":      "uid={},ou=people,dc=example,dc=com",
			"xn--bcher-kva.ch": "uid={},ou=people,dc=example,dc=com",
		}})
	id, err := login(a, "alice@example.com", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "uid=alice,ou=people,dc=example,dc=com" || id.DisplayName != "Alice Liddell" ||
		!reflect.DeepEqual(id.Groups, []string{"admins", "staff"}) || id.Issuer != srv.URL() {
		t.Fatalf("identity = %+v", id)
	}
	// The entry is read as the user, on the connection bound as the user.
	last := srv.Searches()[len(srv.Searches())-1]
	if last.BoundDN != "uid=alice,ou=people,dc=example,dc=com" || last.Scope != 0 {
		t.Fatalf("entry read = %+v", last)
	}
	if _, err := login(a, "bob@EXAMPLE.ORG", "bob-password"); err != nil {
		t.Fatalf("second domain: %v", err)
	}
	// The local part is DN-escaped: "o+brien" binds as uid=o\+brien, and
	// the entry's own mail replaces the login email.
	id, err = login(a, "o+brien@example.com", "pat-password")
	if err != nil {
		t.Fatalf("o+brien: %v", err)
	}
	if id.Subject != `uid=o\+brien,ou=people,dc=example,dc=com` || id.Email != "pat@example.com" {
		t.Fatalf("o+brien identity = %+v", id)
	}
	// A local part that would be hex-encoded BER ("#...") or a second RDN
	// value ("alice+cn=x") stays a literal value and matches no entry.
	for _, email := range []string{"#0405616c696365@example.com", "alice+cn=x@example.com", "alice=x@example.com"} {
		_, err := login(a, email, "alice-password")
		wantReason(t, err, sso.ReasonInvalidCredentials)
	}
	_, err = login(a, "alice@other.example", "alice-password")
	se := wantReason(t, err, sso.ReasonLDAPDomainNotConfigured)
	if !strings.Contains(se.Detail, `"other.example"`) || !strings.Contains(se.Detail, "example.com, example.org, xn--bcher-kva.ch") {
		t.Fatalf("Detail = %q", se.Detail)
	}
	_, err = login(a, "alice@example.com", "wrong")
	wantReason(t, err, sso.ReasonInvalidCredentials)
}

// TestLoginSubjectNormalised: the Subject is the DN the directory returns,
// normalised, whatever the method and however the directory or the
// template spells it.
func TestLoginSubjectNormalised(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	cfg.Users = append(cfg.Users, ldaptest.User{DN: "UID=carol , OU=people,DC=example,DC=com", Password: "carol-password",
		Attributes: map[string][]string{"mail": {"carol@example.com"}, "userPrincipalName": {"carol@example.com"}, "cn": {"Carol"}}})
	srv := ldaptest.Start(t, cfg)
	for _, tc := range []struct {
		name string
		cfg  ldap.Config
	}{
		{"search", ldap.Config{Search: serviceSearch()}},
		{"template", ldap.Config{Templates: map[string]string{"example.com": "UID={}, OU=People,dc=example,dc=com"}}},
		{"upn", ldap.Config{UPN: &ldap.UPN{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.URLs, c.CACertPEM = []string{srv.URL()}, srv.CACertPEM()
			a := newAuth(t, c)
			id, err := login(a, "carol@example.com", "carol-password")
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "uid=carol,ou=people,dc=example,dc=com" {
				t.Fatalf("Subject = %q; want the directory's DN, normalised", id.Subject)
			}
		})
	}
}

// TestTemplateLoginUnreadableEntry: a user who may bind but not read the
// own entry still logs in, with the template's DN and a warning.
func TestTemplateLoginUnreadableEntry(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.Users[2].Hidden = true // bob
	srv := ldaptest.Start(t, cfg)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(),
		Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}})
	id, err := login(a, "bob@example.com", "bob-password")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "uid=bob,ou=people,dc=example,dc=com" || id.Email != "bob@example.com" || id.DisplayName != "" ||
		len(id.Warnings) != 1 || id.Warnings[0].Reason != sso.ReasonLDAPOperationFailed {
		t.Fatalf("identity = %+v", id)
	}
}

func TestUPNLogin(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	cfg.RequireBindForSearch = true
	cfg.Users = append(cfg.Users, ldaptest.User{DN: "cn=Legacy User,ou=people," + sampleBase, Password: "legacy-password",
		Attributes: map[string][]string{"sAMAccountName": {"legacy"}, "userPrincipalName": {"legacy@example.com"}, "cn": {"Legacy User"}}})
	srv := ldaptest.Start(t, cfg)
	for _, base := range []string{"", "ou=people," + sampleBase} {
		a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{BaseDN: base}})
		id, err := login(a, "Alice@Example.com", "alice-password")
		if err != nil {
			t.Fatalf("base %q: %v", base, err)
		}
		if id.Subject != "uid=alice,ou=people,dc=example,dc=com" || id.Email != "alice@example.com" || len(id.Groups) != 2 {
			t.Fatalf("identity = %+v", id)
		}
		last := srv.Searches()[len(srv.Searches())-1]
		if last.BoundDN != "uid=alice,ou=people,dc=example,dc=com" || last.Filter != "(userPrincipalName=Alice@example.com)" {
			t.Fatalf("lookup = %+v", last)
		}
		if _, err := login(a, "legacy@example.com", "legacy-password"); err != nil {
			t.Fatalf("legacy: %v", err)
		}
		_, err = login(a, "alice@example.com", "wrong")
		se := wantReason(t, err, sso.ReasonInvalidCredentials)
		if !strings.Contains(se.Detail, "data 52e") {
			t.Fatalf("Detail = %q", se.Detail)
		}
		_, err = login(a, "nobody@example.com", "x")
		wantReason(t, err, sso.ReasonLDAPUserNotFound)
	}
}

// TestUPNLoginEntryNotFound: the bind succeeds but no entry carries the UPN
// (AD accepts sAMAccountName@domain too); the login fails with a Detail
// that tells the administrator what to set.
func TestUPNLoginEntryNotFound(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	cfg.Users = append(cfg.Users, ldaptest.User{DN: "cn=ghost,ou=people," + sampleBase, Password: "ghost-password",
		Attributes: map[string][]string{"userPrincipalName": {"ghost@example.com"}, "cn": {"ghost"}}})
	srv := ldaptest.Start(t, cfg)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{BaseDN: "ou=people," + sampleBase, Attribute: "mail"}})
	_, err := login(a, "ghost@example.com", "ghost-password")
	se := wantReason(t, err, sso.ReasonLDAPUserNotFound)
	if !strings.Contains(se.Detail, "the user bound") || !strings.Contains(se.Detail, "set the users' mail") {
		t.Fatalf("Detail = %q", se.Detail)
	}
}

func TestActiveDirectorySubcodes(t *testing.T) {
	tests := []struct {
		code   string
		reason sso.Reason
	}{
		{"52e", sso.ReasonInvalidCredentials},
		{"525", sso.ReasonLDAPUserNotFound},
		{"530", sso.ReasonAccountDisabled},
		{"531", sso.ReasonAccountDisabled},
		{"532", sso.ReasonPasswordExpired},
		{"533", sso.ReasonAccountDisabled},
		{"701", sso.ReasonAccountExpired},
		{"773", sso.ReasonPasswordMustChange},
		{"775", sso.ReasonAccountLocked},
		{"999", sso.ReasonInvalidCredentials},
	}
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	srv := ldaptest.Start(t, cfg)
	search := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
	upn := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{}})
	bob := cfg.Users[2]
	for _, tt := range tests {
		u := bob
		u.BindError = ldaptest.ADError(tt.code)
		if err := srv.SetUser(u); err != nil {
			t.Fatal(err)
		}
		for _, a := range []*ldap.Authenticator{search, upn} {
			_, err := login(a, "bob@example.com", "bob-password")
			se := wantReason(t, err, tt.reason)
			if !strings.Contains(se.Detail, tt.code) {
				t.Errorf("data %s: Detail = %q; want the sub-code", tt.code, se.Detail)
			}
		}
	}
}

func TestPasswordPolicyControl(t *testing.T) {
	tests := []struct {
		policy  ldaptest.PasswordPolicy
		reason  sso.Reason
		warning string
	}{
		{ldaptest.PasswordPolicy{Expired: true}, sso.ReasonPasswordExpired, ""},
		{ldaptest.PasswordPolicy{Locked: true}, sso.ReasonAccountLocked, ""},
		{ldaptest.PasswordPolicy{MustChange: true}, sso.ReasonPasswordMustChange, ""},
		{ldaptest.PasswordPolicy{ExpiresIn: time.Hour}, "", "expires in 1h0m0s"},
		{ldaptest.PasswordPolicy{GraceLogins: 2}, "", "2 grace logins left"},
	}
	cfg := ldaptest.SampleConfig()
	srv := ldaptest.Start(t, cfg)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()})
	for _, tt := range tests {
		u := cfg.Users[2]
		p := tt.policy
		u.PasswordPolicy = &p
		if err := srv.SetUser(u); err != nil {
			t.Fatal(err)
		}
		id, err := login(a, "bob@example.com", "bob-password")
		if tt.reason != "" {
			wantReason(t, err, tt.reason)
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", tt.policy, err)
		}
		if len(id.Warnings) != 1 || !strings.Contains(id.Warnings[0].Detail, tt.warning) {
			t.Fatalf("%+v: Warnings = %v", tt.policy, id.Warnings)
		}
	}
}

func TestServiceAccountErrors(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	s := serviceSearch()
	s.BindPassword = "wrong-service-secret-123"
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: s})
	_, err := login(a, "alice@example.com", "alice-password")
	se := wantReason(t, err, sso.ReasonInvalidConfig)
	if !strings.Contains(se.Detail, "service account") || strings.Contains(err.Error(), "wrong-service-secret") {
		t.Fatalf("err = %v", err)
	}

	s = &ldap.Search{BaseDN: "ou=missing," + sampleBase, ObjectClass: "inetOrgPerson"}
	a = newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: s})
	_, err = login(a, "alice@example.com", "alice-password")
	se = wantReason(t, err, sso.ReasonLDAPOperationFailed)
	if !strings.Contains(se.Detail, "base DN does not exist") {
		t.Fatalf("Detail = %q", se.Detail)
	}

	// Active Directory and Samba AD refuse an anonymous search with
	// different diagnostics; both get the same hint.
	for _, samba := range []bool{false, true} {
		cfg := ldaptest.SampleConfig()
		cfg.RequireBindForSearch, cfg.SambaDiagnostics = true, samba
		ad := ldaptest.Start(t, cfg)
		a = newAuth(t, ldap.Config{URLs: []string{ad.URL()}, CACertPEM: ad.CACertPEM(), Search: &ldap.Search{BaseDN: sampleBase, ObjectClass: "user"}})
		_, err = login(a, "alice@example.com", "alice-password")
		se = wantReason(t, err, sso.ReasonLDAPOperationFailed)
		if !strings.Contains(se.Detail, "configure a service account") {
			t.Fatalf("samba %v: Detail = %q", samba, se.Detail)
		}
	}
}

// TestErrorsNeverEchoThePassword runs failing logins of every kind and
// checks that no rendering of the error contains the password.
func TestErrorsNeverEchoThePassword(t *testing.T) {
	const pw = "Pa55-w0rd-that-must-not-leak"
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	u := cfg.Users[2]
	u.Password = pw
	u.BindError = ldaptest.ADError("775")
	cfg.Users[2] = u
	srv := ldaptest.Start(t, cfg)
	plain := ldaptest.Start(t, ldaptest.Config{NoTLS: true})
	slow := ldaptest.Start(t, ldaptest.SampleConfig())
	slow.SetDelay(time.Second)
	configs := []ldap.Config{
		{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch()},
		{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), UPN: &ldap.UPN{}},
		{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}},
		{URLs: []string{plain.URL()}, UPN: &ldap.UPN{}},
		{URLs: []string{slow.URL()}, CACertPEM: slow.CACertPEM(), UPN: &ldap.UPN{}, OpTimeout: 50 * time.Millisecond, DialTimeout: 50 * time.Millisecond},
	}
	for i, c := range configs {
		a := newAuth(t, c)
		for _, email := range []string{"bob@example.com", "alice@example.com", "nobody@example.com", "bob@other.example", "bad"} {
			for _, p := range []string{pw, pw + "x"} {
				_, err := login(a, email, p)
				if err == nil {
					t.Fatalf("config %d: %s logged in", i, email)
				}
				var se *sso.Error
				errors.As(err, &se)
				for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", se), se.Detail, se.Expected, se.Actual} {
					if strings.Contains(s, "Pa55") {
						t.Fatalf("config %d, %s: the error shows the password: %s", i, email, s)
					}
				}
			}
		}
	}
}

func TestConcurrentLogins(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL()}, CACertPEM: srv.CACertPEM(), Search: serviceSearch(), MaxConns: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			user, pw := "alice", "alice-password"
			if i%2 == 1 {
				user, pw = "bob", "bob-password"
			}
			if i%5 == 0 {
				pw = "wrong"
			}
			id, err := login(a, user+"@example.com", pw)
			switch {
			case i%5 == 0 && !errors.Is(err, sso.ReasonInvalidCredentials):
				errs <- fmt.Errorf("login %d: %v; want invalid credentials", i, err)
			case i%5 != 0 && (err != nil || id.Subject != "uid="+user+",ou=people,dc=example,dc=com"):
				errs <- fmt.Errorf("login %d as %s: %+v, %v", i, user, id, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := a.Stats()
	if st.Service.Open > 3 || st.Bind.Open > 3 || srv.Stats().Connections > 6 {
		t.Fatalf("pool exceeded MaxConns 3: %+v, server saw %d connections", st, srv.Stats().Connections)
	}
	// Every search ran as the service account, never as a user.
	for _, s := range srv.Searches() {
		if s.BoundDN != ldaptest.SampleServiceDN {
			t.Fatalf("a search ran bound as %q", s.BoundDN)
		}
	}
}
