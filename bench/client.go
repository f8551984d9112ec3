package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// Attempt is one login by a Client: its outcome, the Reasons of the audit
// events it caused, and where its time went.
type Attempt struct {
	// Protocol and Email say who logged in where.
	Protocol sso.Protocol
	Email    string
	// Tampered is set when the client changed the identity provider's
	// answer (one character of the signed SAML NameID) before posting it.
	Tampered bool
	// OK is set when the application started a session for Email.
	OK bool
	// Wrong is set when a session was started for someone else, or for
	// a tampered answer: something was accepted that should not be.
	Wrong bool
	// Status is the application's last HTTP status; Err a transport or
	// protocol error on the client's side (the IdP's page missing...).
	Status int
	Err    error
	// Reasons are the sso.Reasons of the events the login caused.
	Reasons []sso.Reason
	// App is the time spent in the application's handler, less the time
	// it waited for the provider's token endpoint; IdP the time spent at
	// the identity provider (its pages, and the token endpoint).
	App, IdP time.Duration
	// NewConns counts connections the application opened to a provider
	// during the login (a reused keep-alive connection does not count).
	NewConns int

	mu sync.Mutex
}

// Client is a browser with its cookies: the application's handler is
// called in process, the identity providers over loopback HTTPS.
type Client struct {
	w   *World
	jar http.CookieJar
	idp *http.Client
}

// NewClient returns a browser with no cookies.
func (w *World) NewClient() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{w: w, jar: jar, idp: &http.Client{Transport: w.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// app sends one request to the handler as the browser would, and adds the
// handler's time to a.App.
func (c *Client) app(a *Attempt, method, target string, form url.Values, crossSiteFrom string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if crossSiteFrom != "" {
			req.Header.Set("Origin", crossSiteFrom)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		} else {
			req.Header.Set("Origin", AppOrigin)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
	}
	for _, ck := range c.jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	// The provider's share of the handler's time: the token endpoint,
	// from the request written to its first response byte.
	var wrote time.Time
	var waited time.Duration
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				mu.Lock()
				a.NewConns++
				mu.Unlock()
			}
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { mu.Lock(); wrote = time.Now(); mu.Unlock() },
		GotFirstResponseByte: func() {
			mu.Lock()
			if !wrote.IsZero() {
				waited += time.Since(wrote)
				wrote = time.Time{}
			}
			mu.Unlock()
		},
	}
	ctx := httptrace.WithClientTrace(context.WithValue(req.Context(), eventsKey{}, a), trace)
	req = req.WithContext(ctx)
	rec := httptest.NewRecorder()
	start := time.Now()
	c.w.Handler.ServeHTTP(rec, req)
	total := time.Since(start)
	mu.Lock()
	a.App += total - waited
	a.IdP += waited
	mu.Unlock()
	c.jar.SetCookies(req.URL, rec.Result().Cookies())
	a.Status = rec.Code
	return rec
}

// idpDo sends a request to an identity provider and adds its time to
// a.IdP.
func (c *Client) idpDo(a *Attempt, req *http.Request) (*http.Response, string, error) {
	start := time.Now()
	defer func() { a.IdP += time.Since(start) }()
	resp, err := c.idp.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), err
}

// start posts the email to the login page and returns the handler's
// redirect, or "" with a.Err set.
func (c *Client) start(a *Attempt) string {
	rec := c.app(a, http.MethodPost, AppBase+"/login", url.Values{"email": {a.Email}}, "")
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || loc == "" {
		a.Err = fmt.Errorf("login start: status %d, no redirect", rec.Code)
		return ""
	}
	return loc
}

// finish checks the handler's last answer: a redirect after a session
// for a.Email was started.
func (c *Client) finish(a *Attempt, rec *httptest.ResponseRecorder) {
	if rec.Code != http.StatusSeeOther {
		return
	}
	var sid string
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "sid" {
			sid = ck.Value
		}
	}
	if sid == "" {
		return
	}
	res := c.w.Host.session(sid)
	if res == nil || res.Identity == nil {
		return
	}
	if res.Identity.Email != a.Email || a.Tampered {
		a.Wrong = true
		return
	}
	a.OK = true
}

var (
	reLoginHandle = regexp.MustCompile(`name="login" value="([^"]+)"`)
	reFormAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reHidden      = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// LoginSAML runs an SP-initiated SAML login: the email, the IdP's login
// page and form, and the POST of its response to the ACS. With tamper,
// one character of the signed NameID is changed first.
func (c *Client) LoginSAML(email string, tamper bool) *Attempt {
	a := &Attempt{Protocol: sso.ProtocolSAML, Email: email, Tampered: tamper}
	loc := c.start(a)
	if loc == "" {
		return a
	}
	req, _ := http.NewRequest(http.MethodGet, loc, nil)
	_, page, err := c.idpDo(a, req)
	if err != nil {
		a.Err = err
		return a
	}
	m := reLoginHandle.FindStringSubmatch(page)
	if m == nil {
		a.Err = fmt.Errorf("no IdP login page")
		return a
	}
	form := url.Values{"login": {html.UnescapeString(m[1])}, "email": {email}, "password": {samltest.DefaultPassword}}
	req, _ = http.NewRequest(http.MethodPost, c.w.SAML.URL()+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, page, err = c.idpDo(a, req)
	if err != nil {
		a.Err = err
		return a
	}
	action, fields, err := autoPost(page)
	if err != nil {
		a.Err = err
		return a
	}
	if tamper {
		raw, err := base64.StdEncoding.DecodeString(fields.Get("SAMLResponse"))
		if err != nil {
			a.Err = err
			return a
		}
		s := strings.Replace(string(raw), email+"</", "m"+email[1:]+"</", 1)
		fields.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(s)))
	}
	c.finish(a, c.app(a, http.MethodPost, action, fields, c.w.SAML.URL()))
	return a
}

func autoPost(page string) (string, url.Values, error) {
	m := reFormAction.FindStringSubmatch(page)
	if m == nil {
		return "", nil, fmt.Errorf("no auto-POST form from the IdP")
	}
	v := url.Values{}
	for _, f := range reHidden.FindAllStringSubmatch(page, -1) {
		v.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return html.UnescapeString(m[1]), v, nil
}

// LoginOIDC runs an OpenID Connect login: the email, the provider's
// authorization and login page, and the callback, where the handler
// redeems the code at the token endpoint.
func (c *Client) LoginOIDC(email string) *Attempt {
	a := &Attempt{Protocol: sso.ProtocolOIDC, Email: email}
	loc := c.start(a)
	if loc == "" {
		return a
	}
	start := time.Now()
	cb, err := oidctest.LoginAs(c.idp, loc, email)
	a.IdP += time.Since(start)
	if err != nil {
		a.Err = err
		return a
	}
	c.finish(a, c.app(a, http.MethodGet, cb.String(), nil, ""))
	return a
}

// LoginLDAP runs a directory login: the email, the directory form, and
// its POST with the password.
func (c *Client) LoginLDAP(email, password string) *Attempt {
	a := &Attempt{Protocol: sso.ProtocolLDAP, Email: email}
	loc := c.start(a)
	if loc == "" {
		return a
	}
	u, err := url.Parse(loc)
	if err != nil {
		a.Err = err
		return a
	}
	target := AppOrigin + u.RequestURI()
	if rec := c.app(a, http.MethodGet, target, nil, ""); rec.Code != http.StatusOK {
		a.Err = fmt.Errorf("directory form: status %d", rec.Code)
		return a
	}
	c.finish(a, c.app(a, http.MethodPost, AppOrigin+u.Path, url.Values{"email": {email}, "password": {password}}, ""))
	return a
}

// loginAs runs one login of user i through the handler.
func loginAs(c *Client, proto sso.Protocol, i int, tamper bool) *Attempt {
	switch proto {
	case sso.ProtocolSAML:
		return c.LoginSAML(UserEmail(i, SAMLDomain), tamper)
	case sso.ProtocolOIDC:
		return c.LoginOIDC(UserEmail(i, OIDCDomain))
	}
	return c.LoginLDAP("alice@"+LDAPDomain, "alice-password")
}
