package oidctest

import (
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Server is a Provider running on an httptest server. Its issuer is the
// server's URL.
type Server struct {
	*Provider
	srv *httptest.Server
}

// Start runs a Provider on an httptest TLS server on a loopback port and
// closes it when the test ends. opts.Issuer is ignored. Use Client, or
// CACertPEM with the relying party's own client, to trust its certificate.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// StartHTTP is Start on plain http, for demos and for tests of
// InsecureAllowHTTP.
func StartHTTP(t testing.TB, opts Options) *Server {
	t.Helper()
	s := NewHTTPServer(opts)
	t.Cleanup(s.Close)
	return s
}

// NewServer is Start without a testing.TB; the caller must Close it.
func NewServer(opts Options) *Server { return newServer(opts, true) }

// NewHTTPServer is StartHTTP without a testing.TB; the caller must Close
// it.
func NewHTTPServer(opts Options) *Server { return newServer(opts, false) }

func newServer(opts Options, tls bool) *Server {
	s := &Server{}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Provider.ServeHTTP(w, r)
	}))
	if tls {
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	opts.Issuer = s.srv.URL
	s.Provider = New(opts)
	return s
}

// URL returns the server's base URL, which is also the issuer.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CACertPEM returns the server's certificate in PEM form, to configure a
// relying party's custom CA; "" for a plain http server.
func (s *Server) CACertPEM() []byte {
	c := s.srv.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

var (
	reAction  = regexp.MustCompile(`<form method="post" action="([^"]+)" id="login">`)
	reRequest = regexp.MustCompile(`name="request" value="([^"]+)"`)
)

// LoginAs drives the provider's login page as a browser would: it opens
// authURL (the redirect from the relying party's Begin), picks the user
// with the given subject or email, submits the form and returns the URL the
// provider redirects back to (the relying party's callback with code,
// state and iss, or an error). client must trust the provider; it is used
// without following redirects.
func LoginAs(client *http.Client, authURL, who string) (*url.URL, error) {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && loc != "" {
		return url.Parse(loc) // an error sent straight back
	}
	action, req := reAction.FindSubmatch(body), reRequest.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || action == nil || req == nil {
		return nil, &LoginError{Status: resp.StatusCode, Body: string(body)}
	}
	form := url.Values{"request": {html.UnescapeString(string(req[1]))}}
	if strings.Contains(who, "@") {
		form.Set("email", who)
	} else {
		form.Set("user", who)
	}
	resp, err = c.PostForm(html.UnescapeString(string(action[1])), form)
	if err != nil {
		return nil, err
	}
	body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc == "" {
		return nil, &LoginError{Status: resp.StatusCode, Body: string(body)}
	}
	return url.Parse(loc)
}

// LoginError is returned by LoginAs when the provider shows a page instead
// of redirecting back.
type LoginError struct {
	Status int
	Body   string
}

// Error returns the sentinel's message and the HTTP status.
func (e *LoginError) Error() string {
	return errNoRedirect.Error() + " (HTTP " + http.StatusText(e.Status) + ")"
}

// Unwrap returns the sentinel for errors.Is.
func (e *LoginError) Unwrap() error { return errNoRedirect }
