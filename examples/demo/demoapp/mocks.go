package demoapp

import (
	"fmt"
	"net"

	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// Default addresses: the application on localhost, the mock identity
// providers on loopback IP addresses, so that the identity provider is
// another site than the application, as in real life, and cookie or
// SameSite mistakes show.
const (
	// DefaultAddr is where the application listens.
	DefaultAddr = "localhost:8080"
	// DefaultSAMLAddr is where the mock SAML IdP listens.
	DefaultSAMLAddr = "127.0.0.1:8081"
	// DefaultOIDCAddr is where the mock OpenID provider listens.
	DefaultOIDCAddr = "127.0.0.1:8082"
	// DefaultLDAPAddr is where the mock LDAP directory listens.
	DefaultLDAPAddr = "127.0.0.1:8389"
)

// mocks are the running mock identity providers.
type mocks struct {
	saml    *samltest.Server
	samlURL string
	oidc    *oidctest.Server
	oidcURL string
	ldap    *ldaptest.Server
	ldapURL string
}

// startMocks starts the mock SAML IdP, OpenID provider and LDAP directory
// with the sample users on the given loopback addresses (port 0: any free
// port).
func startMocks(addrs MockIdPs) (m *mocks, err error) {
	m = new(mocks)
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	for _, a := range []string{addrs.SAMLAddr, addrs.OIDCAddr, addrs.LDAPAddr} {
		if host, _, err := net.SplitHostPort(a); err != nil || !isLoopback(host) {
			return nil, fmt.Errorf("mock identity provider address %q: use a loopback address such as 127.0.0.1:8081", a)
		}
	}
	// Plain http: a person's browser would refuse the mocks' own CA.
	if m.saml, err = samltest.NewServer(samltest.Config{Addr: addrs.SAMLAddr, NoTLS: true, Users: mockSAMLUsers()}); err != nil {
		return nil, fmt.Errorf("mock SAML IdP on %s: %w (pick another port with -saml-addr)", addrs.SAMLAddr, err)
	}
	m.samlURL = m.saml.URL()
	if m.oidc, err = oidctest.NewServer(oidctest.Config{Addr: addrs.OIDCAddr, NoTLS: true, Users: mockOIDCUsers()}); err != nil {
		return nil, fmt.Errorf("mock OpenID provider on %s: %w (pick another port with -oidc-addr)", addrs.OIDCAddr, err)
	}
	m.oidcURL = m.oidc.URL()
	dir := mockDirectory()
	dir.Addr = addrs.LDAPAddr
	if m.ldap, err = ldaptest.NewServer(dir); err != nil {
		return nil, fmt.Errorf("mock LDAP directory on %s: %w (pick another port with -ldap-addr)", addrs.LDAPAddr, err)
	}
	m.ldapURL = m.ldap.URL()
	return m, nil
}

// Close stops the mock identity providers.
func (m *mocks) Close() {
	if m.saml != nil {
		m.saml.Close()
	}
	if m.oidc != nil {
		m.oidc.Close()
	}
	if m.ldap != nil {
		m.ldap.Close()
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
