package oidc_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/ssotest"
)

const (
	clientID    = "ssokit-app"
	secret      = "s3cret+/=&%"
	redirectURL = "https://app.example/oidc/acme/callback"
)

// env is a relying party connected to an oidctest provider.
type env struct {
	t       testing.TB
	op      *oidctest.Server
	conn    *oidc.Connection
	cfg     oidc.Config
	clock   *ssotest.Clock
	binding string
	events  *eventLog
}

// eventLog collects events; EventFuncs must be safe for concurrent use.
type eventLog struct {
	mu   sync.Mutex
	list []sso.Event
}

func (l *eventLog) add(_ context.Context, e sso.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, e)
}

func (l *eventLog) has(t sso.EventType) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.list {
		if e.Type == t {
			return true
		}
	}
	return false
}

// newEnv starts a provider with one client and a connection to it. mutate
// may change the connection's config before New.
func newEnv(t testing.TB, opts oidctest.Config, mutate func(*oidc.Config)) *env {
	t.Helper()
	clock := ssotest.NewClock(time.Now())
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	op := oidctest.Start(t, opts)
	op.AddClient(oidctest.Client{ID: clientID, Secret: secret, RedirectURIs: []string{redirectURL},
		PostLogoutRedirectURIs: []string{"https://app.example/logged-out"}})
	e := &env{t: t, op: op, clock: clock, binding: sso.NewBinding(), events: &eventLog{}}
	e.cfg = oidc.Config{
		ID:                          "acme",
		Issuer:                      op.Issuer(),
		ClientID:                    clientID,
		ClientSecret:                secret,
		RedirectURL:                 redirectURL,
		CACertPEM:                   op.CACertPEM(),
		InsecureAllowPrivateNetwork: true,
		StateStore:                  sso.NewMemoryStateStore(sso.MemoryOptions{Now: clock.Now}),
		Now:                         clock.Now,
		Events:                      e.events.add,
	}
	if mutate != nil {
		mutate(&e.cfg)
	}
	conn, err := oidc.New(e.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.conn = conn
	return e
}

// begin starts a login and returns the authorization URL.
func (e *env) begin(req sso.BeginRequest) *sso.Step {
	e.t.Helper()
	if req.Binding == "" {
		req.Binding = e.binding
	}
	step, err := e.conn.Begin(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Begin: %v", err)
	}
	return step
}

// callback logs in at the provider as who and returns the callback query.
func (e *env) callback(step *sso.Step, who string) url.Values {
	e.t.Helper()
	u, err := oidctest.LoginAs(e.op.Client(), step.URL, who)
	if err != nil {
		e.t.Fatalf("LoginAs: %v", err)
	}
	if !strings.HasPrefix(u.String(), redirectURL+"?") {
		e.t.Fatalf("provider redirected to %s", u)
	}
	return u.Query()
}

func (e *env) complete(params url.Values) (*sso.Identity, error) {
	return e.conn.Complete(context.Background(), sso.CompleteRequest{Binding: e.binding, Params: params})
}

// login runs a whole login as who.
func (e *env) login(who string) (*sso.Identity, error) {
	e.t.Helper()
	return e.complete(e.callback(e.begin(sso.BeginRequest{}), who))
}

// wantReason fails unless err carries reason.
func wantReason(t testing.TB, err error, reason sso.Reason) {
	t.Helper()
	if !errorsIs(err, reason) {
		t.Fatalf("err = %v; want reason %s", err, reason)
	}
}

// newFetchedEnv is newEnv with the provider's discovery document and JWKS
// fetched, as after a first login.
func newFetchedEnv(t *testing.T) (*env, context.Context) {
	t.Helper()
	e := newEnv(t, oidctest.Config{}, nil)
	ctx := context.Background()
	if err := e.conn.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return e, ctx
}
