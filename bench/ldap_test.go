package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// ldapLogin is a complete directory login: search as the service account,
// bind as the user, read of names and groups.
func ldapLogin(a *ldap.Authenticator, email, password string) (*sso.Identity, error) {
	return a.Complete(context.Background(), sso.CompleteRequest{Email: email, Password: sso.Secret(password)})
}

func newLDAP(tb testing.TB, srv *ldaptest.Slapd, dialPerLogin bool) *ldap.Authenticator {
	tb.Helper()
	a, err := ldap.New(ldap.Config{ID: "dir", URLs: []string{srv.URL}, CACertPEM: srv.CACertPEM, DisablePooling: dialPerLogin,
		Search: &ldap.Search{BaseDN: ldaptest.SampleBaseDN, ObjectClass: "inetOrgPerson",
			BindDN: ldaptest.SampleServiceDN, BindPassword: ldaptest.SampleServicePassword}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	return a
}

func ldapAcceptAndRefuse(tb testing.TB, a *ldap.Authenticator) {
	tb.Helper()
	id, err := ldapLogin(a, "alice@example.com", "alice-password")
	if err != nil || id.Email != "alice@example.com" {
		tb.Fatalf("the right password is refused: %v", err)
	}
	_, err = ldapLogin(a, "alice@example.com", "alice-passwore")
	if !errors.Is(err, sso.ReasonInvalidCredentials) {
		tb.Fatalf("a wrong password: err = %v; want %s", err, sso.ReasonInvalidCredentials)
	}
}

func TestLDAPAcceptsAndRefuses(t *testing.T) {
	srv := ldaptest.StartSlapd(t)
	for _, dial := range []bool{false, true} {
		ldapAcceptAndRefuse(t, newLDAP(t, srv, dial))
	}
}

// BenchmarkLDAPLogin times complete logins against slapd over StartTLS,
// with ssokit's connection pools and with a new connection (TCP,
// StartTLS, service bind) per login, one client at a time.
func BenchmarkLDAPLogin(b *testing.B) {
	srv := ldaptest.StartSlapd(b)
	floorHere(b)
	for _, mode := range []struct {
		name string
		dial bool
	}{{"pooled", false}, {"dial-per-login", true}} {
		b.Run(mode.name, func(b *testing.B) {
			a := newLDAP(b, srv, mode.dial)
			ldapAcceptAndRefuse(b, a)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ldapLogin(a, "bob@example.com", "bob-password"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}
