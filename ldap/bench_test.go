package ldap_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/ssokit/sso/internal/slapdtest"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
)

// benchDirectory returns the StartTLS URL and CA of slapd when it is
// installed, of an ldaptest server otherwise.
func benchDirectory(b *testing.B) (url string, ca []byte, search *ldap.Search) {
	_, errSlapd := exec.LookPath("slapd")
	if _, err := os.Stat("/usr/sbin/slapd"); err == nil {
		errSlapd = nil
	}
	_, errAdd := exec.LookPath("ldapadd")
	if errSlapd == nil && errAdd == nil {
		srv := slapdtest.Shared(b)
		b.Logf("directory: slapd at %s (StartTLS)", srv.URL)
		return srv.URL, srv.CACertPEM, slapdSearch(true)
	}
	srv := ldaptest.Start(b, ldaptest.SampleConfig())
	b.Logf("directory: ldaptest at %s (StartTLS); slapd is not installed", srv.URL())
	return srv.URL(), srv.CACertPEM(), serviceSearch()
}

// BenchmarkLogin measures complete logins (search as the service account,
// bind as the user, read of names and groups) over StartTLS, with the
// connection pools and with a new connection per login.
func BenchmarkLogin(b *testing.B) {
	url, ca, search := benchDirectory(b)
	for _, mode := range []struct {
		name    string
		disable bool
	}{{"pooled", false}, {"dial-per-login", true}} {
		b.Run(mode.name, func(b *testing.B) {
			a := newAuth(b, ldap.Config{URLs: []string{url}, CACertPEM: ca, Search: search, DisablePooling: mode.disable})
			if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
				b.Fatal(err)
			}
			b.Run("sequential", func(b *testing.B) {
				for b.Loop() {
					if _, err := login(a, "alice@example.com", "alice-password"); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := login(a, "bob@example.com", "bob-password"); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
			})
		})
	}
}
