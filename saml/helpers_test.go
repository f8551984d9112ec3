package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/ssokit/sso"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/ssotest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	spEntity = "https://app.example.test/saml/c1/metadata"
	acsURL   = "https://app.example.test/saml/c1/acs"
	browser  = "browser-binding-cookie-value"
)

type env struct {
	t      *testing.T
	clock  *ssotest.Clock
	idp    *samltest.Server
	sp     *saml.ServiceProvider
	cfg    saml.Config
	events *eventLog
}

// newEnv builds a samltest IdP (whose messages the tests take without
// HTTP) and a connection to it, sharing a clock set to t0. mod adjusts the
// connection's Config before New.
func newEnv(t *testing.T, idpCfg samltest.Config, mod func(*saml.Config)) *env {
	t.Helper()
	clock := ssotest.NewClock(t0)
	if idpCfg.EntityID == "" {
		idpCfg.EntityID = "https://idp.example.test/metadata"
	}
	idpCfg.Now = clock.Now
	idp := samltest.Start(t, idpCfg)
	cfg := idp.ConnectionConfig("c1", spEntity, acsURL)
	ev := &eventLog{}
	cfg.Events = ev.record
	cfg.Now = clock.Now
	if mod != nil {
		mod(&cfg)
	}
	sp, err := saml.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return &env{t: t, clock: clock, idp: idp, sp: sp, cfg: cfg, events: ev}
}

// begin starts an SP-initiated login and returns the RelayState and the
// AuthnRequest ID.
func (e *env) begin(req sso.BeginRequest) (relay, requestID string, step *sso.Step) {
	e.t.Helper()
	if req.Binding == "" {
		req.Binding = browser
	}
	step, err := e.sp.Begin(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Begin: %v", err)
	}
	var xml []byte
	switch step.Kind {
	case sso.StepRedirect:
		u, _ := url.Parse(step.URL)
		relay = u.Query().Get("RelayState")
		xml = inflate(e.t, u.Query().Get("SAMLRequest"))
	case sso.StepPostForm:
		relay = step.Form.Get("RelayState")
		xml, _ = base64.StdEncoding.DecodeString(step.Form.Get("SAMLRequest"))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		e.t.Fatalf("AuthnRequest: %v", err)
	}
	return relay, doc.Root().SelectAttrValue("ID", ""), step
}

func inflate(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// response builds an encoded response from the env's IdP.
func (e *env) response(opts samltest.ResponseOptions) string {
	e.t.Helper()
	if opts.User == "" && opts.NameID == "" {
		opts.User = "alice@example.com"
	}
	s, err := e.idp.EncodedResponse(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) complete(samlResponse, relay, binding string) (*sso.Identity, error) {
	return e.sp.Complete(context.Background(), sso.CompleteRequest{
		Binding: binding,
		Params:  url.Values{"SAMLResponse": {samlResponse}, "RelayState": {relay}},
	})
}

// login runs Begin, a response to it and Complete.
func (e *env) login(opts samltest.ResponseOptions) (*sso.Identity, error) {
	e.t.Helper()
	relay, id, _ := e.begin(sso.BeginRequest{})
	opts.InResponseTo = id
	return e.complete(e.response(opts), relay, browser)
}

func wantReason(t *testing.T, err error, want sso.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil; want %s", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v (reason %s); want %s", err, sso.ReasonOf(err), want)
	}
	var e *sso.Error
	if !errors.As(err, &e) || e.Detail == "" {
		t.Fatalf("err %v carries no *sso.Error with a Detail", err)
	}
}

type eventLog struct {
	mu     sync.Mutex
	events []sso.Event
}

func (l *eventLog) record(_ context.Context, e sso.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) of(typ sso.EventType) []sso.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sso.Event
	for _, e := range l.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// recordingReplay is a ReplayCache that records what it is asked.
type recordingReplay struct {
	sso.ReplayCache
	mu    sync.Mutex
	keys  []string
	until []time.Time
}

func (r *recordingReplay) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	r.mu.Lock()
	r.keys = append(r.keys, key)
	r.until = append(r.until, until)
	r.mu.Unlock()
	return r.ReplayCache.Seen(ctx, key, until)
}
