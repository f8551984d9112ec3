package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/token"
)

// tokenResponse is the token endpoint's answer to an authorization code
// (RFC 6749 section 5.1, OpenID Connect Core section 3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	// ExpiresIn is in seconds; providers send a number or a string.
	ExpiresIn json.Number `json:"expires_in"`
	// The error answer (RFC 6749 section 5.2).
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorURI         string `json:"error_uri"`
}

// tokenType returns the token type as the Authorization header spells it
// ("Bearer" when the provider named none), as oauth2.Token.Type does.
func (t *tokenResponse) tokenType() string {
	return (&oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType}).Type()
}

// expiresIn returns the access token's lifetime, 0 when not given.
func (t *tokenResponse) expiresIn() time.Duration {
	f, err := t.ExpiresIn.Float64()
	if err != nil || f <= 0 || f > 1<<31 {
		return 0
	}
	return time.Duration(f) * time.Second
}

// maxTokenResponse bounds the token response read, as golang.org/x/oauth2
// does, for a client injected without a size cap.
const maxTokenResponse = 1 << 20

// exchange redeems the code at the token endpoint (RFC 6749 section
// 4.1.3) with the PKCE verifier and the client authentication configured:
// client_secret_basic (form-encoded ID and secret in the Authorization
// header, RFC 6749 section 2.3.1), client_secret_post, or private_key_jwt
// (a signed assertion, RFC 7523). An error answer is reported as an
// *oauth2.RetrieveError wrapped in an *sso.Error, as golang.org/x/oauth2,
// which this replaces on the login path, reported it.
func (c *Connection) exchange(ctx context.Context, p *provider, code, verifier string, now time.Time) (*tokenResponse, error) {
	const op = "oidc.Complete"
	// The client's own timeout may be absent (Config.HTTPClient): bound
	// the request here too.
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body strings.Builder
	body.Grow(256 + len(code) + len(verifier) + len(c.cfg.RedirectURL))
	add := func(k, v string) {
		if body.Len() > 0 {
			body.WriteByte('&')
		}
		body.WriteString(k)
		body.WriteByte('=')
		body.WriteString(url.QueryEscape(v))
	}
	add("grant_type", "authorization_code")
	add("code", code)
	add("redirect_uri", c.cfg.RedirectURL)
	add("code_verifier", verifier)
	switch {
	case c.key != nil:
		jti, err := token.Random(c.cfg.Rand, 16)
		if err != nil {
			return nil, err
		}
		aud := c.cfg.AssertionAudience
		if aud == "" {
			aud = p.meta.TokenEndpoint
		}
		a, err := c.key.assertion(c.cfg.ClientID, aud, jti, now)
		if err != nil {
			return nil, &sso.Error{Op: op, Reason: sso.ReasonInternal, Connection: c.cfg.ID, Detail: "cannot sign the client assertion", Err: err}
		}
		add("client_id", c.cfg.ClientID)
		add("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		add("client_assertion", a)
	case c.cfg.AuthMethod == AuthClientSecretPost:
		add("client_id", c.cfg.ClientID)
		add("client_secret", c.cfg.ClientSecret.Reveal())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.meta.TokenEndpoint, strings.NewReader(body.String()))
	if err != nil {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig, Connection: c.cfg.ID, Detail: "the token endpoint " + quote(p.meta.TokenEndpoint) + " is not a valid URL", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.key == nil && c.cfg.AuthMethod == AuthClientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret.Reveal()))
	}
	tok, err := c.tokenRoundTrip(req)
	if err != nil {
		return nil, c.exchangeError(err)
	}
	return tok, nil
}

// tokenRoundTrip sends req and reads the answer as golang.org/x/oauth2
// does: JSON, or a form-encoded body for a text/plain or form content
// type; an error status or error code is an *oauth2.RetrieveError.
func (c *Connection) tokenRoundTrip(req *http.Request) (*tokenResponse, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, err
	}
	failed := resp.StatusCode < 200 || resp.StatusCode > 299
	re := &oauth2.RetrieveError{Response: resp, Body: b}
	var tok tokenResponse
	content, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch content {
	case "application/x-www-form-urlencoded", "text/plain":
		vals, err := url.ParseQuery(string(b))
		if err != nil && !failed {
			return nil, err
		}
		tok = tokenResponse{AccessToken: vals.Get("access_token"), TokenType: vals.Get("token_type"), RefreshToken: vals.Get("refresh_token"),
			IDToken: vals.Get("id_token"), ExpiresIn: json.Number(vals.Get("expires_in")),
			Error: vals.Get("error"), ErrorDescription: vals.Get("error_description"), ErrorURI: vals.Get("error_uri")}
	default:
		if err := json.Unmarshal(b, &tok); err != nil {
			if failed {
				return nil, re
			}
			return nil, errors.New("oauth2: cannot parse json: " + err.Error())
		}
	}
	if failed || tok.Error != "" {
		re.ErrorCode, re.ErrorDescription, re.ErrorURI = tok.Error, tok.ErrorDescription, tok.ErrorURI
		return nil, re
	}
	if tok.AccessToken == "" {
		return nil, errors.New("oauth2: server response missing access_token")
	}
	if _, err := tok.ExpiresIn.Float64(); tok.ExpiresIn != "" && err != nil {
		return nil, errors.New("oauth2: expires_in is not a number: " + strconv.Quote(string(tok.ExpiresIn)))
	}
	return &tok, nil
}
