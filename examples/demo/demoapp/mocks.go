package demoapp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

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
	oidc    *oidctest.Provider
	oidcURL string
	ldap    *ldaptest.Server
	ldapURL string
	servers []*http.Server
}

// startMocks starts the mock SAML IdP, OpenID provider and LDAP directory
// with the sample users on the given loopback addresses (port 0: any free
// port).
func startMocks(addrs MockIdPs, log *slog.Logger) (m *mocks, err error) {
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
	serve := func(addr string, mk func(base string) (http.Handler, error)) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("mock identity provider on %s: %w (pick another port with the flags)", addr, err)
		}
		base := "http://" + ln.Addr().String()
		h, err := mk(base)
		if err != nil {
			ln.Close()
			return "", err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		m.servers = append(m.servers, srv)
		go func() { _ = srv.Serve(ln) }()
		return base, nil
	}
	// Plain http: a person's browser would refuse the mocks' own CA.
	if m.saml, err = samltest.NewServer(samltest.Config{Addr: addrs.SAMLAddr, NoTLS: true, Users: mockSAMLUsers()}); err != nil {
		return nil, fmt.Errorf("mock SAML IdP on %s: %w (pick another port with -saml-addr)", addrs.SAMLAddr, err)
	}
	m.samlURL = m.saml.URL()
	if m.oidcURL, err = serve(addrs.OIDCAddr, func(base string) (http.Handler, error) {
		m.oidc = oidctest.New(oidctest.Options{Issuer: base, Users: mockOIDCUsers()})
		return m.oidc, nil
	}); err != nil {
		return nil, err
	}
	dir := mockDirectory()
	dir.Addr = addrs.LDAPAddr
	if m.ldap, err = ldaptest.NewServer(dir); err != nil {
		return nil, fmt.Errorf("mock LDAP directory on %s: %w (pick another port with -ldap-addr)", addrs.LDAPAddr, err)
	}
	m.ldapURL = m.ldap.URL
	return m, nil
}

// Close stops the mock identity providers.
func (m *mocks) Close() {
	if m.saml != nil {
		m.saml.Close()
	}
	for _, s := range m.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Shutdown(ctx)
		cancel()
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
