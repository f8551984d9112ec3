package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// Default addresses of the mock identity providers: loopback IP addresses,
// while the application runs on localhost, so that the identity provider is
// another site than the application, as in real life, and cookie or SameSite
// mistakes show.
const (
	defaultSAMLAddr = "127.0.0.1:8081"
	defaultOIDCAddr = "127.0.0.1:8082"
	defaultLDAPAddr = "127.0.0.1:8389"
)

// mocks are the running mock identity providers.
type mocks struct {
	saml    *samltest.IdP
	samlURL string
	oidc    *oidctest.Provider
	oidcURL string
	ldap    *ldaptest.Server
	ldapURL string
	servers []*http.Server
	fwd     *forwarder
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
	if m.samlURL, err = serve(addrs.SAMLAddr, func(base string) (http.Handler, error) {
		idp, err := samltest.New(samltest.Config{BaseURL: base, Users: mockSAMLUsers()})
		m.saml = idp
		return idp, err
	}); err != nil {
		return nil, err
	}
	if m.oidcURL, err = serve(addrs.OIDCAddr, func(base string) (http.Handler, error) {
		m.oidc = oidctest.New(oidctest.Options{Issuer: base, Users: mockOIDCUsers()})
		return m.oidc, nil
	}); err != nil {
		return nil, err
	}
	if m.ldap, err = ldaptest.NewServer(mockDirectory()); err != nil {
		return nil, fmt.Errorf("mock LDAP directory: %w", err)
	}
	m.ldapURL = m.ldap.URL
	if _, port, _ := net.SplitHostPort(addrs.LDAPAddr); port != "0" {
		if m.fwd, err = newForwarder(addrs.LDAPAddr, strings.TrimPrefix(m.ldap.URL, "ldap://")); err != nil {
			return nil, fmt.Errorf("mock LDAP directory on %s: %w (pick another port with -ldap-addr)", addrs.LDAPAddr, err)
		}
		m.ldapURL = "ldap://" + m.fwd.addr
	}
	return m, nil
}

// Close stops the mock identity providers.
func (m *mocks) Close() {
	for _, s := range m.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
	if m.fwd != nil {
		m.fwd.Close()
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

// forwarder passes TCP connections from a fixed address to the mock
// directory, which picks its own port. TLS (StartTLS) runs end to end
// through it.
type forwarder struct {
	addr    string
	backend string
	ln      net.Listener
	mu      sync.Mutex
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

func newForwarder(addr, backend string) (*forwarder, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &forwarder{addr: ln.Addr().String(), backend: backend, ln: ln, conns: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.DialTimeout("tcp", f.backend, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns[c], f.conns[b] = true, true
		f.mu.Unlock()
		f.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer f.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			f.mu.Lock()
			delete(f.conns, dst)
			delete(f.conns, src)
			f.mu.Unlock()
		}
		go pipe(b, c)
		go pipe(c, b)
	}
}

func (f *forwarder) Close() {
	_ = f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
