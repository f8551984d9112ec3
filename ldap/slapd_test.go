package ldap_test

import (
	"crypto/tls"
	"crypto/x509"
	"reflect"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/slapdtest"
	"github.com/ssokit/sso/ldap"
)

// TestMain stops the shared slapd after the tests.
func TestMain(m *testing.M) { slapdtest.Main(m) }

func slapdSearch(service bool) *ldap.Search {
	s := &ldap.Search{BaseDN: slapdtest.BaseDN, ObjectClass: "inetOrgPerson"}
	if service {
		s.BindDN, s.BindPassword = slapdtest.ServiceDN, slapdtest.ServicePassword
	}
	return s
}

func TestSlapdSearch(t *testing.T) {
	srv := slapdtest.Shared(t)
	for _, tc := range []struct {
		name    string
		url     string
		service bool
	}{
		{"StartTLS, service account", srv.URL, true},
		{"StartTLS, anonymous", srv.URL, false},
		{"LDAPS, service account", srv.LDAPSURL, true},
		{"LDAPS, anonymous", srv.LDAPSURL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuth(t, ldap.Config{URLs: []string{tc.url}, CACertPEM: srv.CACertPEM, Search: slapdSearch(tc.service)})
			id, err := login(a, "alice@example.com", "alice-password")
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "uid=alice,ou=people,dc=example,dc=com" || id.Issuer != tc.url || id.Email != "alice@example.com" ||
				id.GivenName != "Alice" || id.FamilyName != "Liddell" || id.DisplayName != "Alice Liddell" ||
				!reflect.DeepEqual(id.Groups, []string{"admins", "staff"}) {
				t.Fatalf("identity = %+v", id)
			}
			_, err = login(a, "alice@example.com", "alice-passwort")
			wantReason(t, err, sso.ReasonInvalidCredentials)
			_, err = login(a, "nobody@example.com", "x")
			wantReason(t, err, sso.ReasonLDAPUserNotFound)
			_, err = login(a, "shared@example.com", "dup1-password")
			wantReason(t, err, sso.ReasonLDAPAmbiguousUser)
			if st := a.Stats(); st.Service.Dials != 1 || st.Bind.Dials != 1 {
				t.Fatalf("Stats = %+v; want one connection per pool", st)
			}
		})
	}
}

func TestSlapdTemplate(t *testing.T) {
	srv := slapdtest.Shared(t)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM,
		Templates: map[string]string{"example.com": "uid={},ou=people,dc=example,dc=com"}})
	id, err := login(a, "alice@example.com", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "uid=alice,ou=people,dc=example,dc=com" || !reflect.DeepEqual(id.Groups, []string{"admins", "staff"}) {
		t.Fatalf("identity = %+v", id)
	}
	// "+" must be escaped for the bind DN to name the entry uid=o\+brien.
	id, err = login(a, "o+brien@example.com", "o+brien-password")
	if err != nil {
		t.Fatalf("o+brien: %v", err)
	}
	if id.Subject != `uid=o\+brien,ou=people,dc=example,dc=com` || id.DisplayName != "Pat O'Brien" {
		t.Fatalf("o+brien identity = %+v", id)
	}
	// Unescaped, "#0405616c696365" would be the BER encoding of "alice"
	// and bind as alice; escaped it is a literal uid that does not exist.
	_, err = login(a, "#0405616c696365@example.com", "alice-password")
	wantReason(t, err, sso.ReasonInvalidCredentials)
	_, err = login(a, "alice@example.com", "wrong")
	wantReason(t, err, sso.ReasonInvalidCredentials)
	_, err = login(a, "alice@example.org", "alice-password")
	wantReason(t, err, sso.ReasonLDAPDomainNotConfigured)
}

// TestSlapdUPN: slapd needs a DN as bind name, so the UPN method fails with
// a Detail that tells the administrator to choose another method.
func TestSlapdUPN(t *testing.T) {
	srv := slapdtest.Shared(t)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM, UPN: &ldap.UPN{BaseDN: slapdtest.BaseDN}})
	_, err := login(a, "alice@example.com", "alice-password")
	se := wantReason(t, err, sso.ReasonInvalidConfig)
	if !strings.Contains(se.Detail, "not Active Directory") {
		t.Fatalf("Detail = %q", se.Detail)
	}
}

func TestSlapdFailover(t *testing.T) {
	srv := slapdtest.Shared(t)
	for _, service := range []bool{true, false} {
		a := newAuth(t, ldap.Config{URLs: []string{deadURL(t), srv.URL}, CACertPEM: srv.CACertPEM, Search: slapdSearch(service)})
		id, err := login(a, "bob@example.com", "bob-password")
		if err != nil || id.Issuer != srv.URL {
			t.Fatalf("login = %+v, %v; want the second URL to answer", id, err)
		}
	}
}

func TestSlapdFilterInjection(t *testing.T) {
	srv := slapdtest.Shared(t)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM, Search: slapdSearch(true),
		GroupSearch: &ldap.GroupSearch{BaseDN: "ou=groups," + slapdtest.BaseDN}})
	// Unescaped, (mail=*@example.com) matches every user.
	for _, email := range []string{"*@example.com", "a*@example.com", "*"} {
		_, err := login(a, email, "alice-password")
		if !strings.Contains(email, "@") {
			wantReason(t, err, sso.ReasonInvalidEmail)
			continue
		}
		wantReason(t, err, sso.ReasonLDAPUserNotFound)
	}
	for _, email := range []string{"alice)(uid=*@example.com", "*)(uid=*))(|(uid=*@example.com", "alice\x00@example.com"} {
		_, err := login(a, email, "alice-password")
		wantReason(t, err, sso.ReasonInvalidEmail)
	}
	// The DN "uid=eve)(uid=*,..." goes into the group filter as one value.
	id, err := login(a, "eve@example.com", "eve-password")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(id.Groups, []string{"eve-group"}) {
		t.Fatalf("eve's groups = %q", id.Groups)
	}

	// The escaped values reach slapd as literal assertion values.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM)
	c, err := goldap.DialURL(srv.LDAPSURL, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, v := range []string{"*", ")(uid=*", "*)(|(uid=*", "\x00", "alice\x00", "eve)(uid=*"} {
		filter := "(&(objectClass=inetOrgPerson)(uid=" + ldap.EscapeFilterValue(v) + "))"
		res, err := c.Search(goldap.NewSearchRequest(slapdtest.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, 0, false, filter, []string{"uid"}, nil))
		if err != nil {
			t.Fatalf("search %q: %v", filter, err)
		}
		want := 0
		if v == "eve)(uid=*" {
			want = 1 // the one entry whose uid really is that string
		}
		if len(res.Entries) != want {
			t.Fatalf("search %q found %d entries; want %d", filter, len(res.Entries), want)
		}
	}
}

func TestSlapdTLSRequired(t *testing.T) {
	plain := slapdtest.Start(t, slapdtest.Options{NoTLS: true})
	srv := slapdtest.Shared(t)
	a := newAuth(t, ldap.Config{URLs: []string{plain.URL}, Search: slapdSearch(true)})
	_, err := login(a, "alice@example.com", "alice-password")
	wantReason(t, err, sso.ReasonTLSRequired)

	a = newAuth(t, ldap.Config{URLs: []string{plain.URL}, InsecureNoTLS: true, Search: slapdSearch(true)})
	if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
		t.Fatalf("InsecureNoTLS: %v", err)
	}

	// The real server's certificate without its CA is refused too.
	for _, url := range []string{srv.URL, srv.LDAPSURL} {
		a = newAuth(t, ldap.Config{URLs: []string{url}, Search: slapdSearch(true)})
		_, err = login(a, "alice@example.com", "alice-password")
		wantReason(t, err, sso.ReasonTLSRequired)
	}
}

func TestSlapdPasswordPolicy(t *testing.T) {
	srv := slapdtest.Shared(t)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM, Search: slapdSearch(true)})
	_, err := login(a, "carol@example.com", "carol-password")
	wantReason(t, err, sso.ReasonPasswordMustChange)
	_, err = login(a, "dave@example.com", "dave-password")
	wantReason(t, err, sso.ReasonAccountLocked)
}

func TestSlapdGroupSearch(t *testing.T) {
	srv := slapdtest.Shared(t)
	a := newAuth(t, ldap.Config{URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM, Search: slapdSearch(true),
		GroupSearch: &ldap.GroupSearch{BaseDN: slapdtest.BaseDN}, GroupsAsDN: true})
	id, err := login(a, "alice@example.com", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cn=admins,ou=groups,dc=example,dc=com", "cn=staff,ou=groups,dc=example,dc=com"}
	if !reflect.DeepEqual(id.Groups, want) {
		t.Fatalf("Groups = %q; want %q", id.Groups, want)
	}
}
