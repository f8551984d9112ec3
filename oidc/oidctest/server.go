package oidctest

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ssokit/sso/internal/mockserver"
)

// Start starts a Server for cfg and closes it when the test ends. It
// fails the test if the server cannot start.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a Server for cfg on a loopback port: https with a
// certificate of its own CA (see Client and CACertPEM), or plain http with
// cfg.NoTLS. The issuer is URL. The caller must Close it.
func NewServer(cfg Config) (*Server, error) {
	p, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	if p.srv, err = mockserver.NewHTTP("oidctest", cfg.Addr, cfg.NoTLS); err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	p.issuer = p.srv.URL() + p.path
	p.srv.Serve(http.HandlerFunc(p.serveHTTP))
	return p, nil
}

// URL returns the server's base URL, which is also the issuer, e.g.
// "https://127.0.0.1:41234" or, with Config.Path "/realms/acme",
// "https://127.0.0.1:41234/realms/acme"; "http://..." with Config.NoTLS.
func (p *Server) URL() string { return p.issuer }

// Client returns a new HTTP client that trusts the server's TLS
// certificate. Close closes its idle connections.
func (p *Server) Client() *http.Client { return p.srv.Client() }

// CACertPEM returns the certificate of the CA that signed the server's
// TLS certificate, in PEM form, for a relying party's own client (such as
// oidc.Config.CACertPEM); nil with Config.NoTLS.
func (p *Server) CACertPEM() []byte { return p.srv.CACertPEM() }

// Close shuts the server down, blocking until the requests in flight are
// answered.
func (p *Server) Close() { p.srv.Close() }

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
