package ldaptest_test

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ssokit/sso/ldap/ldaptest"
)

const base = ldaptest.SampleBaseDN

// connect dials srv over StartTLS (or LDAPS) trusting its CA.
func connect(t *testing.T, srv *ldaptest.Server, ldaps bool) *goldap.Conn {
	t.Helper()
	tc := srv.TLSConfig()
	var c *goldap.Conn
	var err error
	if ldaps {
		c, err = goldap.DialURL(srv.LDAPSURL(), goldap.DialWithTLSConfig(tc))
	} else {
		c, err = goldap.DialURL(srv.URL())
		if err == nil {
			err = c.StartTLS(tc)
		}
	}
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	c.SetTimeout(5 * time.Second)
	t.Cleanup(func() { c.Close() })
	return c
}

func search(c *goldap.Conn, baseDN string, scope int, filter string, sizeLimit int, attrs ...string) (*goldap.SearchResult, error) {
	return c.Search(goldap.NewSearchRequest(baseDN, scope, goldap.NeverDerefAliases, sizeLimit, 0, false, filter, attrs, nil))
}

func dns(res *goldap.SearchResult) string {
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.DN)
	}
	return strings.Join(out, "; ")
}

func TestFilters(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	c := connect(t, srv, false)
	alice := "uid=alice,ou=people," + base
	bob := "uid=bob,ou=people," + base
	tests := []struct {
		filter string
		want   string
	}{
		{"(uid=alice)", alice},
		{"(UID=ALICE)", alice},
		{"(mail=alice@example.com)", alice},
		{"(mail=*@example.com)", alice + "; " + bob},
		{"(mail=\\2a@example.com)", ""},
		{"(uid=*)", alice + "; " + bob},
		{"(cn=*Lidd*)", alice},
		{"(cn=Alice*)", alice},
		{"(cn=*ell)", alice},
		{"(cn=A*x)", ""},
		{"(|(uid=alice)(uid=bob))", alice + "; " + bob},
		{"(&(objectClass=inetOrgPerson)(!(uid=alice)))", bob},
		{"(&(objectClass=inetOrgPerson)(uid=alice)(mail=bob@example.com))", ""},
		{"(memberOf=cn=admins,ou=groups,dc=example,dc=com)", alice},
		{"(memberOf=CN=Staff, OU=groups,DC=example,DC=com)", alice + "; " + bob},
		{"(member=UID=alice, OU=people,dc=example,dc=com)", "cn=admins,ou=groups," + base + "; cn=staff,ou=groups," + base},
		{"(uid>=b)", bob},
		{"(uid<=b)", alice},
		{"(uid~=alice)", alice},
		{"(uid:caseExactMatch:=alice)", ""},
		{"(uid=alice\\00)", ""},
		{"(objectClass=organizationalUnit)", "ou=services," + base + "; ou=people," + base + "; ou=groups," + base},
	}
	for _, tt := range tests {
		res, err := search(c, base, goldap.ScopeWholeSubtree, tt.filter, 0, "1.1")
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		if got := dns(res); got != tt.want {
			t.Errorf("%s found %q; want %q", tt.filter, got, tt.want)
		}
	}
}

func TestSearchScopesAndAttributes(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	c := connect(t, srv, true)
	res, err := search(c, "ou=people,"+base, goldap.ScopeSingleLevel, "(objectClass=*)", 0)
	if err != nil || len(res.Entries) != 2 {
		t.Fatalf("one level = %q, %v", dns(res), err)
	}
	res, err = search(c, "uid=alice,ou=people,"+base, goldap.ScopeBaseObject, "(objectClass=*)", 0, "mail", "MEMBEROF")
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("base = %q, %v", dns(res), err)
	}
	e := res.Entries[0]
	if len(e.Attributes) != 2 || e.GetAttributeValue("mail") != "alice@example.com" || len(e.GetEqualFoldAttributeValues("memberof")) != 2 {
		t.Fatalf("attributes = %+v", e.Attributes)
	}
	if e.GetAttributeValue("userPassword") != "" {
		t.Fatalf("the password is readable")
	}
	_, err = search(c, "ou=missing,"+base, goldap.ScopeWholeSubtree, "(objectClass=*)", 0)
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		t.Fatalf("missing base: %v", err)
	}
	res, err = search(c, base, goldap.ScopeWholeSubtree, "(objectClass=*)", 2)
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || len(res.Entries) != 2 {
		t.Fatalf("size limit: %d entries, %v", len(res.Entries), err)
	}
	res, err = search(c, "", goldap.ScopeBaseObject, "(objectClass=*)", 0)
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("defaultNamingContext") != base ||
		res.Entries[0].GetAttributeValue("supportedExtension") != "1.3.6.1.4.1.1466.20037" {
		t.Fatalf("root DSE = %+v, %v", res, err)
	}
	log := srv.Searches()
	if len(log) != 5 || log[1].BaseDN != "uid=alice,ou=people,"+base || log[1].Scope != 0 || log[1].BoundDN != "" {
		t.Fatalf("search log = %+v", log)
	}
}

func TestBinds(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	c := connect(t, srv, false)
	if err := c.Bind("uid=alice,ou=people,"+base, "alice-password"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := c.Bind("UID=Alice, OU=People,"+base, "alice-password"); err != nil {
		t.Fatalf("bind with another spelling: %v", err)
	}
	if err := c.Bind("uid=alice,ou=people,"+base, "wrong"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Bind("uid=nobody,ou=people,"+base, "x"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Fatalf("unknown DN: %v", err)
	}
	if err := c.Bind("alice@example.com", "alice-password"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidDNSyntax) {
		t.Fatalf("UPN without ActiveDirectory: %v", err)
	}
	if err := c.UnauthenticatedBind("uid=alice,ou=people," + base); !goldap.IsErrorWithCode(err, goldap.LDAPResultUnwillingToPerform) {
		t.Fatalf("unauthenticated bind: %v", err)
	}
	// A bound search is logged with its identity.
	if err := c.Bind(ldaptest.SampleServiceDN, ldaptest.SampleServicePassword); err != nil {
		t.Fatal(err)
	}
	if _, err := search(c, base, goldap.ScopeWholeSubtree, "(uid=alice)", 0); err != nil {
		t.Fatal(err)
	}
	if log := srv.Searches(); log[len(log)-1].BoundDN != ldaptest.SampleServiceDN {
		t.Fatalf("log = %+v", log)
	}
	if st := srv.Stats(); st.Connections != 1 || st.StartTLS != 1 || st.Binds != 7 || st.Searches != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestActiveDirectory(t *testing.T) {
	cfg := ldaptest.SampleConfig()
	cfg.ActiveDirectory = true
	cfg.RequireBindForSearch = true
	cfg.Users[1].BindError = ldaptest.ADError("773")
	srv := ldaptest.Start(t, cfg)
	c := connect(t, srv, false)
	if err := c.Bind("bob@example.com", "bob-password"); err != nil {
		t.Fatalf("UPN bind: %v", err)
	}
	var le *goldap.Error
	err := c.Bind("bob@example.com", "wrong")
	if !errors.As(err, &le) || le.ResultCode != 49 || !strings.Contains(le.Err.Error(), "data 52e") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Bind("nobody@example.com", "x"); err == nil || !strings.Contains(err.Error(), "data 525") {
		t.Fatalf("unknown user: %v", err)
	}
	if err := c.Bind("alice@example.com", "alice-password"); err == nil || !strings.Contains(err.Error(), "data 773") {
		t.Fatalf("BindError: %v", err)
	}
	// Like Active Directory, a name without password "succeeds"
	// anonymously: the reason clients must refuse empty passwords.
	if err := c.UnauthenticatedBind("bob@example.com"); err != nil {
		t.Fatalf("unauthenticated bind: %v", err)
	}
	_, err = search(c, base, goldap.ScopeWholeSubtree, "(uid=bob)", 0)
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultOperationsError) || !strings.Contains(err.Error(), "000004DC") {
		t.Fatalf("anonymous search: %v", err)
	}
}

func TestTLSModes(t *testing.T) {
	plainCfg := ldaptest.SampleConfig()
	plainCfg.NoTLS = true
	plain := ldaptest.Start(t, plainCfg)
	if plain.LDAPSURL() != "" || plain.CACertPEM() != nil || plain.TLSConfig() != nil {
		t.Fatalf("plain server offers TLS: %+v", plain)
	}
	c, err := goldap.DialURL(plain.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); !goldap.IsErrorWithCode(err, goldap.LDAPResultProtocolError) {
		t.Fatalf("StartTLS on a plain server: %v", err)
	}
	// go-ldap's connection does not read again after a refused StartTLS.
	c, err = goldap.DialURL(plain.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("uid=bob,ou=people,"+base, "bob-password"); err != nil {
		t.Fatalf("plain bind: %v", err)
	}

	strictCfg := ldaptest.SampleConfig()
	strictCfg.RequireTLS = true
	strict := ldaptest.Start(t, strictCfg)
	c2, err := goldap.DialURL(strict.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Bind("uid=bob,ou=people,"+base, "bob-password"); !goldap.IsErrorWithCode(err, goldap.LDAPResultConfidentialityRequired) {
		t.Fatalf("plain bind on a TLS-only server: %v", err)
	}
	c3 := connect(t, strict, false)
	if err := c3.Bind("uid=bob,ou=people,"+base, "bob-password"); err != nil {
		t.Fatalf("bind after StartTLS: %v", err)
	}
	c4 := connect(t, strict, true)
	if err := c4.Bind("uid=bob,ou=people,"+base, "bob-password"); err != nil {
		t.Fatalf("bind over LDAPS: %v", err)
	}
}

func TestSwitches(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.SampleConfig())
	c := connect(t, srv, false)

	srv.SetDelay(100 * time.Millisecond)
	start := time.Now()
	if err := c.Bind("uid=bob,ou=people,"+base, "bob-password"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("bind took %v with a 100ms delay", d)
	}
	srv.SetDelay(0)

	srv.DropConnections()
	deadline := time.Now().Add(2 * time.Second)
	for !c.IsClosing() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !c.IsClosing() {
		t.Fatal("the connection survived DropConnections")
	}

	if err := srv.SetDown(true); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{srv.URL(), srv.LDAPSURL()} {
		addr := strings.TrimPrefix(strings.TrimPrefix(u, "ldaps://"), "ldap://")
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Fatalf("%s accepts connections while down", u)
		}
	}
	if err := srv.SetDown(false); err != nil {
		t.Fatal(err)
	}
	c = connect(t, srv, true)
	if err := c.Bind("uid=bob,ou=people,"+base, "bob-password"); err != nil {
		t.Fatalf("after coming back up: %v", err)
	}
}

func TestSetUserAndGroup(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Config{})
	if err := srv.SetUser(ldaptest.User{DN: "uid=zoe,ou=staff,dc=example,dc=com", Password: "zoe-pw"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetGroup(ldaptest.Group{DN: "cn=ops,ou=groups,dc=example,dc=com", Members: []string{"uid=zoe,ou=staff,dc=example,dc=com"}}); err != nil {
		t.Fatal(err)
	}
	c := connect(t, srv, false)
	if err := c.Bind("uid=zoe,ou=staff,dc=example,dc=com", "zoe-pw"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetUser(ldaptest.User{DN: "UID=zoe,OU=staff,dc=example,dc=com", Password: "new-pw"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind("uid=zoe,ou=staff,dc=example,dc=com", "new-pw"); err != nil {
		t.Fatalf("after replacing the user: %v", err)
	}
	res, err := search(c, "dc=example,dc=com", goldap.ScopeWholeSubtree, "(memberOf=cn=ops,ou=groups,dc=example,dc=com)", 0)
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("memberOf search = %q, %v", dns(res), err)
	}
	if err := srv.SetUser(ldaptest.User{DN: "uid=x,dc=other,dc=org"}); err == nil {
		t.Fatal("a user outside the base DN was accepted")
	}
	if err := srv.SetGroup(ldaptest.Group{DN: "cn=ops,ou=groups,dc=example,dc=com", Members: []string{"not a dn"}}); err == nil {
		t.Fatal("a group with an invalid member was accepted")
	}
	// The refused changes left the directory as it was and usable.
	if err := srv.SetUser(ldaptest.User{DN: "uid=yan,ou=staff,dc=example,dc=com", Password: "yan-pw"}); err != nil {
		t.Fatalf("after a refused change: %v", err)
	}
	if err := c.Bind("uid=yan,ou=staff,dc=example,dc=com", "yan-pw"); err != nil {
		t.Fatal(err)
	}
	res, err = search(c, "dc=example,dc=com", goldap.ScopeWholeSubtree, "(memberOf=cn=ops,ou=groups,dc=example,dc=com)", 0)
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("after a refused group change: %q, %v", dns(res), err)
	}
	if _, err := ldaptest.NewServer(ldaptest.Config{BaseDN: "not a dn"}); err == nil {
		t.Fatal("an invalid base DN was accepted")
	}
}

func TestFixedAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := ldaptest.SampleConfig()
	cfg.Addr = addr
	srv := ldaptest.Start(t, cfg)
	if srv.URL() != "ldap://"+addr {
		t.Fatalf("URL = %q; want ldap://%s", srv.URL(), addr)
	}
	c, err := goldap.DialURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.TLSConfig()); err != nil {
		t.Fatalf("StartTLS on the fixed address: %v", err)
	}
	// The address is taken while the server runs.
	if _, err := ldaptest.NewServer(cfg); err == nil {
		t.Fatal("a second server on the same address started")
	}
}
