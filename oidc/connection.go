package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/defaults"
	"github.com/ssokit/sso/internal/flowstate"
	"github.com/ssokit/sso/internal/refresh"
	"github.com/ssokit/sso/internal/token"
)

// Connection is one configured OpenID provider. It implements
// [sso.Authenticator] and is safe for concurrent use.
type Connection struct {
	cfg      Config
	mapping  sso.AttributeMap
	algs     []string
	key      *clientKey
	client   *http.Client
	maxBytes int64
	replay   sso.ReplayCache

	// disc is the discovery document, fetched on first use; nil for a
	// connection configured by hand, whose provider is fixed.
	disc  *refresh.Source[*provider]
	fixed *provider

	discoveries, jwksFetches atomic.Int64 // for tests
}

// provider is what discovery (or the hand configuration) yields.
type provider struct {
	meta *Metadata
	rp   rp.RelyingParty
	keys *refresh.Source[*keySet] // the JWKS at meta.JWKSURI
	// authPrefix is the authorization URL up to the parameters that
	// change per login: the endpoint with client_id, redirect_uri,
	// response_type and scope, encoded once.
	authPrefix string
}

// relyingParty gives zitadel's OAuth-only relying party the userinfo and
// end-session endpoints, which it otherwise learns only from its own
// discovery.
type relyingParty struct {
	rp.RelyingParty
	userinfo, endSession string
}

// UserinfoEndpoint implements rp.RelyingParty.
func (r relyingParty) UserinfoEndpoint() string { return r.userinfo }

// GetEndSessionEndpoint implements rp.RelyingParty.
func (r relyingParty) GetEndSessionEndpoint() string { return r.endSession }

var _ sso.Authenticator = (*Connection)(nil)

// scopes every login requests.
var baseScopes = []string{"openid", "email", "profile"}

// New validates cfg, parses its keys and certificates, and returns the
// Connection. It does no network I/O: the discovery document and the JWKS
// are fetched on first use (or by [Connection.Refresh]) and cached.
func New(cfg Config) (*Connection, error) {
	p, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	cfg.IssuerAliases = slices.Clone(cfg.IssuerAliases)
	cfg.TrustedAudiences = slices.Clone(cfg.TrustedAudiences)
	cfg.Attributes = cfg.Attributes.Or(DefaultAttributes)
	if cfg.AuthMethod == "" {
		cfg.AuthMethod = AuthClientSecretBasic
	}
	if cfg.Userinfo == "" {
		cfg.Userinfo = UserinfoWhenNeeded
	}
	defaults.Set(&cfg.ClockSkew, DefaultClockSkew)
	defaults.Set(&cfg.FlowLifetime, DefaultFlowLifetime)
	defaults.Set(&cfg.Timeout, DefaultTimeout)
	defaults.Set(&cfg.MetadataMaxAge, DefaultMetadataMaxAge)
	defaults.Set(&cfg.JWKSMaxAge, DefaultJWKSMaxAge)
	defaults.Set(&cfg.JWKSMinRefetchInterval, DefaultJWKSMinRefetchInterval)
	defaults.Set(&cfg.MaxResponseBytes, DefaultMaxResponseBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StateStore == nil {
		cfg.StateStore = sso.NewMemoryStateStore(sso.MemoryOptions{Now: cfg.Now})
	}
	c := &Connection{
		cfg:      cfg,
		mapping:  cfg.Attributes,
		algs:     p.algs,
		key:      p.key,
		maxBytes: cfg.MaxResponseBytes,
		replay:   cfg.ReplayCache,
	}
	if c.replay == nil {
		c.replay = sso.NewMemoryReplayCache(sso.MemoryOptions{Now: cfg.Now})
	}
	c.client = newHTTPClient(cfg.netConfig(p.roots))
	if e := cfg.Endpoints; e.manual() {
		m := &Metadata{Issuer: cfg.Issuer, AuthorizationEndpoint: e.Authorization, TokenEndpoint: e.Token,
			UserinfoEndpoint: e.Userinfo, JWKSURI: e.JWKS, EndSessionEndpoint: e.EndSession}
		c.fixed, err = c.newProvider(m, nil)
	} else {
		c.disc, err = cached(c, cfg.MetadataMaxAge, "discovery refresh failed; keeping the cached document: ", c.fetchProvider)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ID returns the connection ID.
func (c *Connection) ID() string { return c.cfg.ID }

// Protocol returns sso.ProtocolOIDC.
func (c *Connection) Protocol() sso.Protocol { return sso.ProtocolOIDC }

// Issuer returns the configured issuer.
func (c *Connection) Issuer() string { return c.cfg.Issuer }

// Endpoints returns the connection's redirect URI as the Callback.
func (c *Connection) Endpoints() sso.Endpoints { return sso.Endpoints{Callback: c.cfg.RedirectURL} }

// Debug reports Config.Debug.
func (c *Connection) Debug() bool { return c.cfg.Debug }

var _ sso.ConnectionInfo = (*Connection)(nil)

// PostLogoutRedirectURL returns the configured post-logout redirect URL.
// The login handler sends a logging-out user to the provider's
// end_session_endpoint only when it is set, since the provider must know it.
func (c *Connection) PostLogoutRedirectURL() string { return c.cfg.PostLogoutRedirectURL }

// Metadata returns the provider's configuration, fetching the discovery
// document if it is not cached yet. The result must not be modified.
func (c *Connection) Metadata(ctx context.Context) (*Metadata, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	return p.meta, nil
}

// Refresh fetches the discovery document (unless the connection is
// configured by hand) and the JWKS now, replacing the cached ones. Hosts may
// call it after New to find configuration problems before the first login.
func (c *Connection) Refresh(ctx context.Context) error {
	p := c.fixed
	if c.disc != nil {
		if err := c.disc.Refresh(ctx); err != nil {
			return c.waitError(ctx, err, "the discovery document")
		}
		p = c.disc.Current()
	}
	return c.waitError(ctx, p.keys.Refresh(ctx), "the JWKS")
}

// provider returns the provider configuration: the fixed one, or the
// discovery document's, fetched on first use and again on the first use
// after MetadataMaxAge. Concurrent fetches are shared; while a stale
// document is being refreshed, other logins use it, and a failed refresh
// keeps it (and is retried after JWKSMinRefetchInterval).
func (c *Connection) provider(ctx context.Context) (*provider, error) {
	if c.disc == nil {
		return c.fixed, nil
	}
	p, err := c.disc.Get(ctx)
	return p, c.waitError(ctx, err, "the discovery document")
}

// cached returns a lazy refresh.Source for the discovery document or the
// JWKS: fetched on first use and again on the first use after maxAge, by a
// fetch no caller's ctx can cancel, bounded by Config.Timeout. A failed
// refresh keeps the cached copy, is retried after JWKSMinRefetchInterval
// and is reported as an EventMetadataRefreshError whose detail starts with
// failed.
func cached[T comparable](c *Connection, maxAge time.Duration, failed string, fetch func(context.Context) (T, time.Time, error)) (*refresh.Source[T], error) {
	var src *refresh.Source[T]
	var zero T
	cfg := refresh.Config[T]{
		Fetch:    fetch,
		Interval: maxAge, MinInterval: maxAge, MaxInterval: maxAge,
		RetryInterval: c.cfg.JWKSMinRefetchInterval, MaxRetryInterval: c.cfg.JWKSMinRefetchInterval,
		FetchTimeout: c.cfg.Timeout,
		Now:          c.cfg.Now,
		OnEvent: func(ev refresh.Event) {
			// A failed first fetch is the error of the logins that wait
			// for it, not an event.
			if ev.Kind == refresh.EventFailed && src.Current() != zero {
				c.cfg.Events.Emit(context.Background(), sso.Event{Type: sso.EventMetadataRefreshError, Time: ev.Time, Connection: c.cfg.ID,
					Reason: sso.ReasonOf(ev.Err), Detail: failed + ev.Err.Error()})
			}
		},
	}
	var err error
	src, err = refresh.NewLazy(cfg)
	return src, err
}

// waitError turns an error of a refresh.Source into an *sso.Error: the
// fetch's own errors are; an ended ctx means the caller gave up waiting.
func (c *Connection) waitError(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil // before se, whose address escapes: no allocation per login
	}
	var se *sso.Error
	switch {
	case err == nil || errors.As(err, &se):
		return err
	case ctx.Err() != nil:
		return &sso.Error{Op: "oidc.Connection", Reason: sso.ReasonUnavailable, Connection: c.cfg.ID, Detail: "gave up waiting for " + what, Err: ctx.Err()}
	}
	return &sso.Error{Op: "oidc.Connection", Reason: sso.ReasonInternal, Connection: c.cfg.ID, Detail: "fetching " + what + " failed", Err: err}
}

// fetchProvider is the discovery Source's fetch.
func (c *Connection) fetchProvider(ctx context.Context) (*provider, time.Time, error) {
	c.discoveries.Add(1)
	m, err := discover(ctx, c.client, c.cfg.Issuer, c.cfg.DiscoveryURL, c.cfg.InsecureAllowHTTP, c.maxBytes, c.cfg.Now())
	if err != nil {
		e := err.(*sso.Error)
		e.Connection = c.cfg.ID
		return nil, time.Time{}, e
	}
	p, err := c.newProvider(m, c.disc.Current())
	if err != nil {
		return nil, time.Time{}, err
	}
	c.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventMetadataRefreshed, Time: c.cfg.Now(), Connection: c.cfg.ID, Detail: "discovery document fetched",
		Attrs: map[string]string{"url": m.DiscoveryURL}})
	if len(m.TokenEndpointAuthMethodsSupported) > 0 && !slices.Contains(m.TokenEndpointAuthMethodsSupported, string(c.cfg.AuthMethod)) {
		c.cfg.Events.Emit(ctx, sso.Event{Type: sso.EventWarning, Time: c.cfg.Now(), Connection: c.cfg.ID, Reason: sso.ReasonInvalidConfig,
			Detail: "the provider does not list " + string(c.cfg.AuthMethod) + " among its token endpoint authentication methods (" + joinComma(m.TokenEndpointAuthMethodsSupported) + ")"})
	}
	return p, time.Time{}, nil
}

// newProvider checks m and builds zitadel's relying party for it. The JWKS
// of prev, the provider m replaces, is kept when jwks_uri is unchanged.
func (c *Connection) newProvider(m *Metadata, prev *provider) (*provider, error) {
	if err := m.usable(c.cfg.Issuer, c.cfg.IssuerAliases, c.cfg.InsecureAllowHTTP, c.algs); err != nil {
		e := err.(*sso.Error)
		e.Connection = c.cfg.ID
		return nil, e
	}
	oc := &oauth2.Config{
		ClientID:    c.cfg.ClientID,
		RedirectURL: c.cfg.RedirectURL,
		Scopes:      c.scopes(),
		Endpoint:    oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint},
	}
	style := oauth2.AuthStyleInParams
	switch c.cfg.AuthMethod {
	case AuthClientSecretBasic:
		style = oauth2.AuthStyleInHeader
		oc.ClientSecret = c.cfg.ClientSecret.Reveal()
	case AuthClientSecretPost:
		oc.ClientSecret = c.cfg.ClientSecret.Reveal()
	}
	// An OAuth-only relying party: zitadel builds the authorization URL
	// and exchanges the code; this package verifies the ID token.
	r, err := rp.NewRelyingPartyOAuth(oc, rp.WithHTTPClient(c.client), rp.WithAuthStyle(style))
	if err != nil {
		return nil, &sso.Error{Op: "oidc.New", Reason: sso.ReasonInvalidConfig, Connection: c.cfg.ID, Detail: "cannot build the relying party", Err: err}
	}
	p := &provider{meta: m, rp: relyingParty{RelyingParty: r, userinfo: m.UserinfoEndpoint, endSession: m.EndSessionEndpoint}}
	sep := "?"
	if strings.Contains(m.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	p.authPrefix = m.AuthorizationEndpoint + sep + url.Values{"response_type": {"code"}, "client_id": {oc.ClientID},
		"redirect_uri": {oc.RedirectURL}, "scope": {strings.Join(oc.Scopes, " ")}}.Encode()
	if prev != nil && prev.meta.JWKSURI == m.JWKSURI {
		p.keys = prev.keys
	} else if p.keys, err = c.newKeySource(m.JWKSURI); err != nil {
		return nil, err
	}
	return p, nil
}

func (c *Connection) scopes() []string {
	s := slices.Clone(baseScopes)
	for _, x := range c.cfg.Scopes {
		if !slices.Contains(s, x) {
			s = append(s, x)
		}
	}
	return s
}

// maxLoginHint bounds the login_hint sent to the provider.
const maxLoginHint = 256

// Begin starts a login: it keeps a pending login bound to the browser
// (req.Flows, or the StateStore store under req.Binding) and returns a
// redirect to the provider's authorization endpoint with the state (the
// pending login's ID), a nonce, a PKCE S256 challenge, the scopes,
// login_hint and, for req.ForceAuthn, prompt=login.
func (c *Connection) Begin(ctx context.Context, req sso.BeginRequest) (*sso.Step, error) {
	const op = "oidc.Begin"
	returnTo := ""
	if req.ReturnTo != "" {
		p, ok := sso.SafeReturnPath(req.ReturnTo)
		if !ok {
			return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidRequest, Connection: c.cfg.ID, Detail: "ReturnTo is not a same-site relative path"}
		}
		returnTo = p
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	var vals [3]string
	for i := range vals {
		if vals[i], err = token.Random(c.cfg.Rand, 32); err != nil {
			return nil, err
		}
	}
	state, nonce, verifier := vals[0], vals[1], vals[2]
	now := c.cfg.Now()
	f := &sso.Flow{ID: state, Connection: c.cfg.ID, Nonce: nonce, Verifier: verifier,
		ReturnTo: returnTo, LoginHint: req.LoginHint, Data: req.FlowData, Created: now, Expires: now.Add(c.cfg.FlowLifetime)}
	if err := flowstate.Of(req.Flows, c.cfg.StateStore, req.Binding).Save(ctx, f); err != nil {
		return nil, err
	}
	return &sso.Step{Kind: sso.StepRedirect, URL: c.authURL(p, state, nonce, verifier, req), State: state, Expires: f.Expires}, nil
}

// authURL returns the authorization request of one login: the provider's
// fixed prefix, then state, nonce, the PKCE S256 challenge of verifier
// and, as req asks, login_hint, prompt=login and acr_values.
func (c *Connection) authURL(p *provider, state, nonce, verifier string, req sso.BeginRequest) string {
	sum := sha256.Sum256([]byte(verifier))
	var b strings.Builder
	b.Grow(len(p.authPrefix) + 200)
	b.WriteString(p.authPrefix)
	add := func(k, v string) {
		b.WriteByte('&')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	add("state", state)
	add("nonce", nonce)
	add("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	add("code_challenge_method", "S256")
	if h := req.LoginHint; h != "" && len(h) <= maxLoginHint {
		add("login_hint", h)
	}
	if req.ForceAuthn {
		add("prompt", "login")
	}
	if len(c.cfg.ACRValues) > 0 {
		add("acr_values", strings.Join(c.cfg.ACRValues, " "))
	}
	return b.String()
}

// Tokens are the tokens of a completed login. The host needs IDToken for
// an RP-initiated logout (id_token_hint); the others only if it calls APIs
// of the provider.
type Tokens struct {
	IDToken      sso.Secret
	AccessToken  sso.Secret
	RefreshToken sso.Secret
	// Expiry is when the access token expires, if the provider said.
	Expiry time.Time
	// Claims is the verified ID token.
	Claims *IDToken
}

// Complete finishes a login from the callback's query: it consumes the
// flow named by state (checking the browser binding), checks the RFC 9207
// iss parameter, exchanges the code with the PKCE verifier, verifies the ID
// token, consults userinfo as configured and returns the Identity.
func (c *Connection) Complete(ctx context.Context, req sso.CompleteRequest) (*sso.Identity, error) {
	id, _, err := c.CompleteWithTokens(ctx, req)
	return id, err
}

// CompleteWithTokens is Complete that also returns the tokens.
func (c *Connection) CompleteWithTokens(ctx context.Context, req sso.CompleteRequest) (*sso.Identity, *Tokens, error) {
	const op = "oidc.Complete"
	fail := func(reason sso.Reason, detail string, cause error) (*sso.Identity, *Tokens, error) {
		return nil, nil, &sso.Error{Op: op, Reason: reason, Connection: c.cfg.ID, Detail: detail, Err: cause}
	}
	q := req.Params
	for _, k := range []string{"state", "code", "iss", "error", "error_description"} {
		if len(q[k]) > 1 {
			return fail(sso.ReasonInvalidRequest, "the callback repeats the "+k+" parameter", nil)
		}
	}
	// The flow is consumed first, so that no failure below leaves it
	// usable.
	var f *sso.Flow
	var flowErr error
	if state := q.Get("state"); state != "" || q.Get("error") == "" {
		f, flowErr = flowstate.Take(ctx, flowstate.Of(req.Flows, c.cfg.StateStore, req.Binding), state, c.cfg.ID, c.cfg.Now())
	}
	p, err := c.provider(ctx)
	if err != nil {
		return nil, nil, err
	}
	if e := q.Get("error"); e != "" {
		if err := c.checkCallbackIssuer(q, p.meta); err != nil {
			return nil, nil, err
		}
		pe := &ProviderError{Endpoint: "authorization", Code: e, Description: q.Get("error_description"), URI: q.Get("error_uri")}
		return fail(callbackReason(e), "the provider refused the login"+callbackHint(e), pe)
	}
	if flowErr != nil {
		return nil, nil, flowErr
	}
	if err := c.checkCallbackIssuer(q, p.meta); err != nil {
		return nil, nil, err
	}
	code := q.Get("code")
	if code == "" {
		return fail(sso.ReasonInvalidRequest, "the callback has neither code nor error", nil)
	}
	now := c.cfg.Now()
	tok, err := c.exchange(ctx, p, code, f.Verifier, now)
	if err != nil {
		return nil, nil, err
	}
	rawID := tok.IDToken
	if rawID == "" {
		return fail(sso.ReasonTokenExchangeFailed, "the token response has no id_token; check that the client may use the openid scope", nil)
	}
	idt, err := c.verifyIDToken(ctx, rawID, f.Nonce)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAccessTokenHash(tok.AccessToken, idt); err != nil {
		return fail(sso.ReasonSignatureInvalid, "the ID token's at_hash does not match the access token (token substitution?)", err)
	}
	// Replay records are written only now, for what the token endpoint
	// accepted (the code) and the provider signed (the nonce, which is
	// also the pending login's: it completes once).
	for _, k := range []struct{ key, detail string }{
		{"oidc:code:" + c.cfg.ID + ":" + digest(code), "this authorization code was redeemed before"},
		{"oidc:nonce:" + c.cfg.ID + ":" + digest(f.Nonce), "an ID token with this nonce (this pending login's) was accepted before"},
	} {
		if seen, err := c.replay.Seen(ctx, k.key, idt.Expiry.Add(c.cfg.ClockSkew)); err != nil {
			return fail(flowstate.ReplayFailure(err), "the replay cache failed, so the login cannot be checked for replay", err)
		} else if seen {
			return fail(sso.ReasonReplayed, k.detail, nil)
		}
	}

	claims := idt.Claims
	if c.wantsUserinfo(p, claims) {
		ui, err := c.userinfo(ctx, p, tok, idt.Subject)
		if err != nil {
			return nil, nil, err
		}
		if c.cfg.Userinfo == UserinfoPreferred {
			claims = mergeClaims(ui, claims, c.mapping.Email)
			claims["sub"] = idt.Claims["sub"]
		} else {
			claims = mergeClaims(claims, ui, c.mapping.Email)
		}
	}
	id, err := c.identity(idt.Issuer, idt.Subject, claims, f)
	if err != nil {
		return nil, nil, err
	}
	// Subjects are issuer-scoped: report the configured issuer even when
	// the token used an alias.
	id.Issuer = c.cfg.Issuer
	if id.AuthTime.IsZero() {
		id.AuthTime = idt.AuthTime
	}
	id.IDToken = sso.Secret(rawID)
	id.SignedBy = idt.KeyID
	toks := &Tokens{IDToken: sso.Secret(rawID), AccessToken: sso.Secret(tok.AccessToken), RefreshToken: sso.Secret(tok.RefreshToken), Claims: idt}
	if d := tok.expiresIn(); d > 0 {
		toks.Expiry = now.Add(d)
	}
	return id, toks, nil
}

// checkCallbackIssuer applies RFC 9207: an iss parameter must name the
// issuer, and must be present when the provider says it sends one.
func (c *Connection) checkCallbackIssuer(q url.Values, m *Metadata) error {
	iss, present := q.Get("iss"), q.Has("iss")
	switch {
	case present && c.issVerifier(iss) != nil:
		return &sso.Error{Op: "oidc.Complete", Reason: sso.ReasonIssuerMismatch, Connection: c.cfg.ID,
			Detail: "the callback's iss parameter names another provider (RFC 9207; a mix-up attack or a misrouted callback)", Expected: c.cfg.Issuer, Actual: iss}
	case !present && m.AuthorizationResponseIssParameterSupported:
		return &sso.Error{Op: "oidc.Complete", Reason: sso.ReasonIssuerMismatch, Connection: c.cfg.ID,
			Detail: "the provider advertises authorization_response_iss_parameter_supported but the callback has no iss parameter (RFC 9207)", Expected: c.cfg.Issuer}
	}
	return nil
}

func (c *Connection) exchangeError(err error) error {
	const op = "oidc.Complete"
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode == "" && re.Response != nil && re.Response.StatusCode >= 500 {
			return &sso.Error{Op: op, Reason: sso.ReasonUnavailable, Connection: c.cfg.ID, Detail: "the token endpoint answered HTTP " + strconv.Itoa(re.Response.StatusCode), Err: briefError{err}}
		}
		detail := "the token endpoint refused the code"
		var cause error = briefError{err}
		if re.ErrorCode != "" {
			cause = &ProviderError{Endpoint: "token", Code: re.ErrorCode, Description: re.ErrorDescription, URI: re.ErrorURI, Err: err}
		} else if re.Response != nil {
			detail += " with HTTP " + strconv.Itoa(re.Response.StatusCode)
		}
		switch re.ErrorCode {
		case "invalid_client", "unauthorized_client":
			detail += "; check the client ID, the secret or key, and the authentication method (" + string(c.cfg.AuthMethod) + ")"
		case "invalid_grant":
			detail += "; the code expired, was used, or the redirect URL or PKCE verifier differ"
		}
		return &sso.Error{Op: op, Reason: sso.ReasonTokenExchangeFailed, Connection: c.cfg.ID, Detail: detail, Err: cause}
	}
	return transportError(op, c.cfg.ID, "token endpoint", sso.ReasonTokenExchangeFailed, err)
}

// transportError classifies an error that is not a protocol answer.
func transportError(op, conn, what string, def sso.Reason, err error) error {
	var se *sso.Error
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &se) && se.Reason == sso.ReasonAddressNotAllowed:
		return &sso.Error{Op: op, Reason: sso.ReasonAddressNotAllowed, Connection: conn, Detail: "the " + what + " address is not allowed: " + guardDetail(se.Detail), Expected: se.Expected, Actual: se.Actual, Err: se.Err}
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return &sso.Error{Op: op, Reason: sso.ReasonUnavailable, Connection: conn, Detail: "the " + what + " timed out", Err: err}
	case errors.As(err, &se):
		return &sso.Error{Op: op, Reason: sso.ReasonUnavailable, Connection: conn, Detail: "the " + what + " failed: " + se.Detail, Err: se.Err}
	case errors.As(err, &ue):
		return &sso.Error{Op: op, Reason: sso.ReasonUnavailable, Connection: conn, Detail: "the " + what + " could not be reached", Err: briefError{err}}
	}
	return &sso.Error{Op: op, Reason: def, Connection: conn, Detail: "the " + what + " failed", Err: briefError{err}}
}

// briefError shortens the message of a library error, which may quote a
// whole response body, and keeps the error for errors.Is and errors.As.
type briefError struct{ err error }

// Error returns the cause's message, cut to 300 bytes.
func (e briefError) Error() string {
	s := e.err.Error()
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}

// Unwrap returns the cause.
func (e briefError) Unwrap() error { return e.err }

// wantsUserinfo applies the UserinfoMode.
func (c *Connection) wantsUserinfo(p *provider, claims map[string]any) bool {
	if p.meta.UserinfoEndpoint == "" {
		return false
	}
	switch c.cfg.Userinfo {
	case UserinfoAlways, UserinfoPreferred:
		return true
	case UserinfoWhenNeeded:
		return lacksProfile(c.mapping, claims)
	}
	return false
}

// userinfo calls the userinfo endpoint with zitadel's rp.Userinfo, which
// also checks that its sub equals the ID token's.
func (c *Connection) userinfo(ctx context.Context, p *provider, tok *tokenResponse, sub string) (map[string]any, error) {
	const op = "oidc.Complete"
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	ui, err := rp.Userinfo[claimMap](ctx, tok.AccessToken, tok.tokenType(), sub, p.rp)
	if err != nil {
		var oe *zoidc.Error
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.As(err, &te):
			// The JSON error alone: zitadel's message quotes the body,
			// which holds the user's claims.
			var cause error = se
			if se == nil {
				cause = te
			}
			return nil, &sso.Error{Op: op, Reason: sso.ReasonMalformed, Connection: c.cfg.ID,
				Detail: "the userinfo answer is not a JSON object; signed or encrypted userinfo responses are not supported: configure the client at the provider to receive plain JSON", Err: cause}
		case errors.Is(err, rp.ErrUserInfoSubNotMatching):
			return nil, &sso.Error{Op: op, Reason: sso.ReasonSubjectMismatch, Connection: c.cfg.ID,
				Detail: "the userinfo response is about another subject than the ID token's " + quote(sub)}
		case errors.As(err, &oe):
			return nil, &sso.Error{Op: op, Reason: sso.ReasonIdPError, Connection: c.cfg.ID,
				Detail: "the userinfo endpoint refused the access token",
				Err:    &ProviderError{Endpoint: "userinfo", Code: string(oe.ErrorType), Description: oe.Description, Err: err}}
		}
		return nil, transportError(op, c.cfg.ID, "userinfo endpoint", sso.ReasonUnavailable, err)
	}
	return map[string]any(ui), nil
}

// LogoutRequest describes an RP-initiated logout.
type LogoutRequest struct {
	// IDTokenHint is the ID token of the session (Tokens.IDToken);
	// recommended, and required by some providers.
	IDTokenHint sso.Secret
	// LogoutHint is an optional hint of who logs out (an email, a sid).
	LogoutHint string
	// PostLogoutRedirectURL overrides Config.PostLogoutRedirectURL; it must
	// be registered at the provider.
	PostLogoutRedirectURL string
	// State is returned to the post-logout redirect URL.
	State string
}

// Logout returns a redirect to the provider's end_session_endpoint
// (OpenID Connect RP-Initiated Logout), or an error with
// sso.ReasonLogoutNotSupported when the provider has none. The host ends
// its own session first.
func (c *Connection) Logout(ctx context.Context, req LogoutRequest) (*sso.Step, error) {
	const op = "oidc.Logout"
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	if p.meta.EndSessionEndpoint == "" {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonLogoutNotSupported, Connection: c.cfg.ID, Detail: "the provider has no end_session_endpoint"}
	}
	u, err := url.Parse(p.meta.EndSessionEndpoint)
	if err != nil {
		return nil, &sso.Error{Op: op, Reason: sso.ReasonMetadataInvalid, Connection: c.cfg.ID, Detail: "end_session_endpoint is not a URL", Err: err}
	}
	q := u.Query()
	q.Set("client_id", c.cfg.ClientID)
	if req.IDTokenHint != "" {
		q.Set("id_token_hint", req.IDTokenHint.Reveal())
	}
	if req.LogoutHint != "" {
		q.Set("logout_hint", req.LogoutHint)
	}
	redirect := req.PostLogoutRedirectURL
	if redirect == "" {
		redirect = c.cfg.PostLogoutRedirectURL
	}
	if redirect != "" {
		if ru, err := url.Parse(redirect); err != nil || !ru.IsAbs() || (ru.Scheme != "https" && ru.Scheme != "http") {
			return nil, &sso.Error{Op: op, Reason: sso.ReasonInvalidRequest, Connection: c.cfg.ID, Detail: "PostLogoutRedirectURL is not an absolute http(s) URL"}
		}
		q.Set("post_logout_redirect_uri", redirect)
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	u.RawQuery = q.Encode()
	return &sso.Step{Kind: sso.StepRedirect, URL: u.String()}, nil
}

// digest keys replay entries without storing codes and nonces.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// StartLogout implements sso.LogoutStarter: RP-initiated logout with the
// session's ID token as id_token_hint (its email as logout_hint when it
// has none). A connection without PostLogoutRedirectURL does not log out
// at the provider (sso.ReasonLogoutNotSupported): ending the provider's
// session for every application is a choice made per connection, and the
// provider must know where to send the browser back.
func (c *Connection) StartLogout(ctx context.Context, req sso.LogoutRequest) (*sso.Step, error) {
	if c.cfg.PostLogoutRedirectURL == "" {
		return nil, &sso.Error{Op: "oidc.Logout", Reason: sso.ReasonLogoutNotSupported, Connection: c.cfg.ID,
			Detail: "the connection has no PostLogoutRedirectURL, so it does not log out at the provider"}
	}
	lr := LogoutRequest{IDTokenHint: req.Identity.IDToken}
	if lr.IDTokenHint == "" {
		lr.LogoutHint = req.Identity.Email
	}
	return c.Logout(ctx, lr)
}

var _ sso.LogoutStarter = (*Connection)(nil)
