// Package browser is a small scripted web browser for the examples' tests.
// It keeps cookies, follows redirects, finds HTML forms and submits them as
// a browser does (with the Origin and Sec-Fetch-Site headers that Go's
// http.CrossOriginProtection checks), and runs the one script ssokit's
// pages use: the auto-submitting form that carries a SAML message to the
// identity provider or back to the application.
//
// It does not enforce SameSite cookie rules; the browser end-to-end tests
// (package e2e) drive a real Chromium for that.
package browser

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/sso/examples/internal/host"
	"golang.org/x/net/html"
)

// maxRedirects bounds a redirect chain.
const maxRedirects = 20

// autoSubmit is the script of an auto-submitting form (sso.Step.Write).
const autoSubmit = "document.forms[0].submit();"

// Browser is one browser profile: its own cookies. Its methods fail the
// test on a network error or a missing form or button.
type Browser struct {
	t testing.TB
	c *http.Client
	// Visited lists the URLs of every response since the last Reset, in
	// order: the redirect chain and auto-submitted forms included.
	Visited []string
}

// New returns a browser with an empty cookie jar.
func New(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page is a loaded page.
type Page struct {
	b      *Browser
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
	doc    *html.Node
}

// Get opens u as if typed into the address bar.
func (b *Browser) Get(u string) *Page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	req.Header.Set("Sec-Fetch-Site", "none")
	return b.do(req)
}

// JSON GETs u and decodes a JSON answer into v; it returns the status.
func (b *Browser) JSON(u string, v any) int {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			b.t.Fatalf("GET %s: decoding JSON: %v", u, err)
		}
	}
	return resp.StatusCode
}

// Cookies returns the cookies the browser would send to u.
func (b *Browser) Cookies(u string) []*http.Cookie {
	p, err := url.Parse(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.c.Jar.Cookies(p)
}

// do sends req, follows redirects and auto-submitted forms, and returns the
// final page.
func (b *Browser) do(req *http.Request) *Page {
	b.t.Helper()
	for range maxRedirects {
		resp, err := b.c.Do(req)
		if err != nil {
			b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			b.t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
		}
		b.Visited = append(b.Visited, req.URL.String())
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next, err := req.URL.Parse(loc)
			if err != nil {
				b.t.Fatalf("%s %s: bad Location %q: %v", req.Method, req.URL, loc, err)
			}
			req, _ = http.NewRequest(http.MethodGet, next.String(), nil)
			req.Header.Set("Sec-Fetch-Site", fetchSite(resp.Request.URL, next))
			continue
		}
		p := &Page{b: b, URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			p.doc, _ = html.Parse(strings.NewReader(p.Body))
		}
		if p.doc != nil && strings.Contains(p.Body, autoSubmit) {
			forms := p.forms()
			if len(forms) == 0 {
				b.t.Fatalf("%s: an auto-submitting page without a form", p.URL)
			}
			req = forms[0].request()
			continue
		}
		return p
	}
	b.t.Fatalf("more than %d redirects, last at %s", maxRedirects, req.URL)
	return nil
}

// fetchSite returns the Sec-Fetch-Site value of a request from a page at
// from to to: same-origin, or cross-site (the examples' identity providers
// run on 127.0.0.1, the applications on localhost).
func fetchSite(from, to *url.URL) string {
	if from.Scheme == to.Scheme && from.Host == to.Host {
		return "same-origin"
	}
	return "cross-site"
}

// Text returns the page's visible text with white space collapsed (HTML
// entities decoded), for assertions on messages.
func (p *Page) Text() string {
	if p.doc == nil {
		return strings.Join(strings.Fields(p.Body), " ")
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.doc)
	return strings.Join(strings.Fields(sb.String()), " ")
}

// Contains reports whether the page's text contains s.
func (p *Page) Contains(s string) bool { return strings.Contains(p.Text(), s) }

// Want fails the test unless the page has the status and its text contains
// each of texts.
func (p *Page) Want(status int, texts ...string) *Page {
	p.b.t.Helper()
	if p.Status != status {
		p.b.t.Fatalf("%s: status %d, want %d; page text: %s", p.URL, p.Status, status, p.Text())
	}
	for _, s := range texts {
		if !p.Contains(s) {
			p.b.t.Fatalf("%s: the page lacks %q; page text: %s", p.URL, s, p.Text())
		}
	}
	return p
}

// WantAt fails the test unless the page was loaded from a URL starting with
// prefix.
func (p *Page) WantAt(prefix string) *Page {
	p.b.t.Helper()
	if !strings.HasPrefix(p.URL.String(), prefix) {
		p.b.t.Fatalf("at %s, want a page at %s...; page text: %s", p.URL, prefix, p.Text())
	}
	return p
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(sb.String()), " ")
}

// Me returns the session of the example application at base as its /me
// endpoint reports it, failing the test unless someone is logged in.
func (b *Browser) Me(base string) host.Me {
	b.t.Helper()
	var m host.Me
	if st := b.JSON(base+"/me", &m); st != http.StatusOK {
		b.t.Fatalf("%s/me: status %d, want 200 (logged in)", base, st)
	}
	return m
}

// WantLoggedOut fails the test unless the /me endpoint of the application
// at base answers 401.
func (b *Browser) WantLoggedOut(base string) {
	b.t.Helper()
	if st := b.JSON(base+"/me", &host.Me{}); st != http.StatusUnauthorized {
		b.t.Fatalf("%s/me: status %d, want 401 (logged out)", base, st)
	}
}
