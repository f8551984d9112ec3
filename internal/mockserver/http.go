package mockserver

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// HTTP is an HTTP server on a loopback port: over TLS with a certificate
// of its own CA, or plain http.
type HTTP struct {
	srv       *httptest.Server
	url       string
	pki       *PKI
	transport *http.Transport
}

// NewHTTP listens on addr (host:port; a free port of 127.0.0.1 when
// empty), with a new CA named name unless noTLS. Serve starts serving;
// URL is known before.
func NewHTTP(name, addr string, noTLS bool) (*HTTP, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &HTTP{srv: httptest.NewUnstartedServer(nil), transport: &http.Transport{}}
	_ = s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Config.ReadHeaderTimeout = 10 * time.Second
	if noTLS {
		s.url = "http://" + ln.Addr().String()
		return s, nil
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if s.pki, err = NewPKI(name, host); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.srv.TLS = s.pki.ServerConfig()
	s.transport.TLSClientConfig = &tls.Config{RootCAs: s.pki.Pool, MinVersion: tls.VersionTLS12}
	s.url = "https://" + ln.Addr().String()
	return s, nil
}

// Serve starts serving h.
func (s *HTTP) Serve(h http.Handler) {
	s.srv.Config.Handler = h
	if s.pki == nil {
		s.srv.Start()
	} else {
		s.srv.StartTLS()
	}
}

// URL returns "https://host:port", or "http://host:port" for a plain
// server.
func (s *HTTP) URL() string { return s.url }

// Client returns a new HTTP client whose transport trusts the server's
// CA. Close closes the transport's idle connections.
func (s *HTTP) Client() *http.Client { return &http.Client{Transport: s.transport} }

// CACertPEM returns the CA certificate in PEM form; nil for a plain
// server.
func (s *HTTP) CACertPEM() []byte {
	if s.pki == nil {
		return nil
	}
	return append([]byte(nil), s.pki.CAPEM...)
}

// Close shuts the server down, blocking until the requests in flight are
// answered, and closes the clients' idle connections.
func (s *HTTP) Close() {
	s.srv.Close()
	s.transport.CloseIdleConnections()
}
