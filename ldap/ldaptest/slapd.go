package ldaptest

import (
	"testing"

	"github.com/ssokit/sso/internal/slapdtest"
)

// Slapd is a running OpenLDAP slapd (Debian's package) with the same sample
// directory as [SampleConfig]: base, service account and passwords are
// [SampleBaseDN], [SampleServiceDN] and [SampleServicePassword]; alice and
// bob bind with "alice-password" and "bob-password".
type Slapd struct {
	// URL is "ldap://127.0.0.1:port", with StartTLS.
	URL string
	// LDAPSURL is "ldaps://127.0.0.1:port".
	LDAPSURL string
	// CACertPEM is the CA certificate of the server's certificate.
	CACertPEM []byte
}

// StartSlapd starts a slapd of its own for tb, stopped when tb ends, for
// benchmarks and tests outside this module that need a real directory
// server. It skips tb when slapd or ldapadd is missing, and fails it when
// the environment variable CI is "true".
func StartSlapd(tb testing.TB) *Slapd {
	tb.Helper()
	s := slapdtest.Start(tb, slapdtest.Options{})
	return &Slapd{URL: s.URL, LDAPSURL: s.LDAPSURL, CACertPEM: s.CACertPEM}
}
