package samltest

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
)

var (
	reLoginAction = regexp.MustCompile(`<form method="post" action="([^"]+)" id="login">`)
	reLoginHandle = regexp.MustCompile(`name="login" value="([^"]+)"`)
	rePostAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	rePostField   = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// LoginAs drives the IdP's login page as a browser would: it opens
// loginURL (the redirect from the service provider's Begin), signs in as
// email with password (DefaultPassword when empty) and returns what the
// IdP's page then posts to the service provider: the ACS URL and the form
// (SAMLResponse and RelayState). Posting it is left to the caller, who
// may post it anywhere, or twice. client is used without following
// redirects.
func LoginAs(client *http.Client, loginURL, email, password string) (acs string, form url.Values, err error) {
	if password == "" {
		password = DefaultPassword
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	page, status, err := fetch(&c, http.MethodGet, loginURL, nil)
	if err != nil {
		return "", nil, err
	}
	action, handle := reLoginAction.FindStringSubmatch(page), reLoginHandle.FindStringSubmatch(page)
	if status != http.StatusOK || action == nil || handle == nil {
		return "", nil, fmt.Errorf("samltest.LoginAs: no login page at %s (HTTP %d)", loginURL, status)
	}
	target, err := url.Parse(loginURL)
	if err != nil {
		return "", nil, err
	}
	post, err := target.Parse(html.UnescapeString(action[1]))
	if err != nil {
		return "", nil, err
	}
	page, status, err = fetch(&c, http.MethodPost, post.String(), url.Values{
		"login": {html.UnescapeString(handle[1])}, "email": {email}, "password": {password}})
	if err != nil {
		return "", nil, err
	}
	am := rePostAction.FindStringSubmatch(page)
	if status != http.StatusOK || am == nil {
		return "", nil, fmt.Errorf("samltest.LoginAs: the IdP did not post a response (HTTP %d)", status)
	}
	form = url.Values{}
	for _, f := range rePostField.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	if form.Get("SAMLResponse") == "" {
		return "", nil, errors.New("samltest.LoginAs: the IdP's form has no SAMLResponse")
	}
	return html.UnescapeString(am[1]), form, nil
}

func fetch(c *http.Client, method, u string, form url.Values) (string, int, error) {
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), resp.StatusCode, err
}
