package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"

	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/ldap/ldaptest"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// The application the handler is mounted in, and its connections.
const (
	AppOrigin = "https://app.example"
	AppBase   = AppOrigin + "/auth"

	SAMLConnection = "acme-saml"
	OIDCConnection = "globex-oidc"
	LDAPConnection = "initech-ldap"

	SAMLDomain = "acme.example"
	OIDCDomain = "globex.example"
	LDAPDomain = "example.com" // the sample directory's mail domain
)

// WorldConfig configures a World.
type WorldConfig struct {
	// Users is the number of users at the SAML IdP and the OpenID
	// provider (user0@..., user1@...); 16 when zero.
	Users int
	// Timeout bounds the application's requests to the providers and the
	// directory; the libraries' defaults when zero.
	Timeout time.Duration
	// MetadataMaxAge, when set, makes the SAML connection fetch its IdP
	// metadata from a URL (served by World.Metadata, which can fail) and
	// refresh it this often; otherwise the metadata is embedded.
	MetadataMaxAge time.Duration
}

// World is an application with login.Handler mounted at AppBase and,
// in process, the identity providers and directory its three accounts
// use: a SAML IdP (samltest), an OpenID provider (oidctest) and an LDAP
// directory (ldaptest). The handler is called directly (no listener), so
// that its time is the application's; the providers are reached over
// loopback TLS as in production.
type World struct {
	Handler  *login.Handler
	Registry *login.Registry
	SAML     *samltest.Server
	OIDC     *oidctest.Server
	Dir      *ldaptest.Server
	// Metadata serves the SAML IdP's metadata when
	// WorldConfig.MetadataMaxAge is set; nil otherwise.
	Metadata *FaultyServer
	// Host is the application's session store.
	Host *Host
	// Transport is the browsers': it trusts the providers' CAs.
	Transport *http.Transport

	users      int
	closers    []func()
	bgMu       sync.Mutex
	background map[sso.Reason]int
}

// Host is the application's part: sessions, by a cookie.
type Host struct {
	mu       sync.Mutex
	sessions map[string]*login.Result
	started  atomic.Int64
}

// StartSession implements login.Sessions.
func (h *Host) StartSession(w http.ResponseWriter, _ *http.Request, res *login.Result) error {
	sid := sso.NewBinding()
	h.mu.Lock()
	h.sessions[sid] = res
	h.mu.Unlock()
	h.started.Add(1)
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// EndSession implements login.Sessions.
func (h *Host) EndSession(w http.ResponseWriter, r *http.Request) (*sso.Identity, error) {
	c, err := r.Cookie("sid")
	if err != nil {
		return nil, nil
	}
	h.mu.Lock()
	res := h.sessions[c.Value]
	delete(h.sessions, c.Value)
	h.mu.Unlock()
	if res == nil {
		return nil, nil
	}
	return res.Identity, nil
}

// CurrentUser implements login.Sessions.
func (h *Host) CurrentUser(r *http.Request) string {
	if res := h.Session(r); res != nil {
		return res.User
	}
	return ""
}

// Session returns the session of the request's cookie, or nil.
func (h *Host) Session(r *http.Request) *login.Result {
	c, err := r.Cookie("sid")
	if err != nil {
		return nil
	}
	return h.session(c.Value)
}

func (h *Host) session(sid string) *login.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[sid]
}

// Started returns the number of sessions started.
func (h *Host) Started() int64 { return h.started.Load() }

// Drop forgets every session (a long run would otherwise keep them all).
func (h *Host) Drop() {
	h.mu.Lock()
	h.sessions = map[string]*login.Result{}
	h.mu.Unlock()
}

// eventsKey carries an *Attempt in a request's context, so that the
// handler's audit events land with the login they are about.
type eventsKey struct{}

// event records e with the login whose request caused it, or, for the
// background work of the connections (metadata refreshes), in the world's
// own count.
func (w *World) event(ctx context.Context, e sso.Event) {
	if e.Reason == "" {
		return
	}
	if a, _ := ctx.Value(eventsKey{}).(*Attempt); a != nil {
		a.mu.Lock()
		a.Reasons = append(a.Reasons, e.Reason)
		a.mu.Unlock()
		return
	}
	w.bgMu.Lock()
	w.background[e.Reason]++
	w.bgMu.Unlock()
}

// BackgroundReasons returns and resets the count of the Reasons of events
// no login caused (metadata refreshes).
func (w *World) BackgroundReasons() map[sso.Reason]int {
	w.bgMu.Lock()
	defer w.bgMu.Unlock()
	m := w.background
	w.background = map[sso.Reason]int{}
	return m
}

// UserEmail is the email of user i at the provider of domain.
func UserEmail(i int, domain string) string { return fmt.Sprintf("user%d@%s", i, domain) }

// NewWorld starts the providers and builds the handler. Close stops them.
func NewWorld(cfg WorldConfig) (w *World, err error) {
	if cfg.Users <= 0 {
		cfg.Users = 16
	}
	w = &World{users: cfg.Users, Host: &Host{sessions: map[string]*login.Result{}}, background: map[sso.Reason]int{}}
	defer func() {
		if err != nil {
			w.Close()
			w = nil
		}
	}()
	var samlUsers []samltest.User
	var oidcUsers []oidctest.User
	for i := 0; i < cfg.Users; i++ {
		samlUsers = append(samlUsers, samltest.User{Email: UserEmail(i, SAMLDomain), GivenName: "User", FamilyName: fmt.Sprint(i), Groups: []string{"staff"}})
		oidcUsers = append(oidcUsers, oidctest.User{Subject: fmt.Sprintf("sub-%04d", i), Email: UserEmail(i, OIDCDomain), GivenName: "User", FamilyName: fmt.Sprint(i)})
	}
	if w.SAML, err = samltest.NewServer(samltest.Config{Users: samlUsers}); err != nil {
		return nil, err
	}
	w.closers = append(w.closers, w.SAML.Close)
	if w.OIDC, err = oidctest.NewServer(oidctest.Config{Users: oidcUsers}); err != nil {
		return nil, err
	}
	w.closers = append(w.closers, w.OIDC.Close)
	if w.Dir, err = ldaptest.NewServer(ldaptest.SampleConfig()); err != nil {
		return nil, err
	}
	w.closers = append(w.closers, w.Dir.Close)

	roots := x509.NewCertPool()
	for _, ca := range [][]byte{w.SAML.CACertPEM(), w.OIDC.CACertPEM()} {
		roots.AppendCertsFromPEM(ca)
	}
	w.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: 64,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	w.closers = append(w.closers, w.Transport.CloseIdleConnections)

	ctx := context.Background()
	states := sso.NewMemoryStateStore(sso.MemoryOptions{})
	replay := sso.NewMemoryReplayCache(sso.MemoryOptions{})
	ep := login.EndpointsOf(AppBase, SAMLConnection)
	scfg := w.SAML.ConnectionConfig(SAMLConnection, ep.EntityID, ep.ACS)
	scfg.StateStore, scfg.ReplayCache, scfg.TrustEmail, scfg.Timeout = states, replay, true, cfg.Timeout
	scfg.Events, scfg.Logger = w.event, slog.New(slog.DiscardHandler)
	if cfg.MetadataMaxAge > 0 {
		w.Metadata, err = NewFaultyServer(w.SAML.Metadata(), "application/samlmetadata+xml")
		if err != nil {
			return nil, err
		}
		w.closers = append(w.closers, w.Metadata.Close)
		scfg.IdPMetadataXML, scfg.IdPMetadataURL = nil, w.Metadata.URL()
		scfg.InsecureAllowHTTP, scfg.InsecureAllowPrivateNetwork = true, true
		scfg.MetadataMaxAge, scfg.MetadataMinRefetchInterval = cfg.MetadataMaxAge, cfg.MetadataMaxAge
	}
	sp, err := saml.New(ctx, scfg)
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { _ = sp.Close() })

	ep = login.EndpointsOf(AppBase, OIDCConnection)
	w.OIDC.AddClient(oidctest.Client{ID: "globex-app", Secret: "globex-secret", RedirectURIs: []string{ep.Callback}})
	op, err := oidc.New(oidc.Config{ID: OIDCConnection, Issuer: w.OIDC.Issuer(), ClientID: "globex-app", ClientSecret: "globex-secret",
		RedirectURL: ep.Callback, CACertPEM: w.OIDC.CACertPEM(), InsecureAllowPrivateNetwork: true, TrustEmail: true,
		StateStore: states, ReplayCache: replay, Timeout: cfg.Timeout, Events: w.event})
	if err != nil {
		return nil, err
	}
	dir, err := ldap.New(ldap.Config{ID: LDAPConnection, URLs: []string{w.Dir.URL()}, CACertPEM: w.Dir.CACertPEM(), TrustEmail: true,
		DialTimeout: cfg.Timeout, OpTimeout: cfg.Timeout,
		Search: &ldap.Search{BaseDN: ldaptest.SampleBaseDN, ObjectClass: "inetOrgPerson", BindDN: ldaptest.SampleServiceDN, BindPassword: ldaptest.SampleServicePassword}})
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { _ = dir.Close() })

	jit := provisioning.Connection{JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"member"}}}
	live := policy.Connection{Stage: policy.StageLive}
	account := func(id, domain string, a sso.Authenticator) login.Account {
		return login.Account{ID: id, Name: id, Domains: []discovery.Domain{{Name: domain}},
			Policy:      policy.Policy{Mode: policy.ModeSSORequired},
			Connections: []login.Connection{{Authenticator: a, Policy: live, Provisioning: jit}}}
	}
	w.Registry, err = login.NewRegistry(login.RegistryConfig{BaseURL: AppBase, Accounts: []login.Account{
		account("acme", SAMLDomain, sp), account("globex", OIDCDomain, op), account("initech", LDAPDomain, dir),
	}})
	if err != nil {
		return nil, err
	}
	store := provisioning.NewMemoryStore(provisioning.MemoryOptions{})
	prov, err := provisioning.New(provisioning.Config{Store: store})
	if err != nil {
		return nil, err
	}
	w.Handler, err = login.New(login.Config{Registry: w.Registry, Provisioner: prov, Users: login.StoreUsers{Store: store},
		Sessions: w.Host, Events: w.event, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Close stops the providers and closes the connections' pools.
func (w *World) Close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
	w.closers = nil
}

// Users returns WorldConfig.Users.
func (w *World) Users() int { return w.users }

// FaultyServer serves one document over plain http on loopback, and can be
// told to be slow, to answer errors, to answer garbage or to be down
// (connections refused).
type FaultyServer struct {
	doc, ctype string
	mode       atomic.Value // Fault
	srv        *http.Server
	addr       string
	mu         sync.Mutex
	ln         net.Listener
	hits       atomic.Int64
}

// Fault is a FaultyServer's behaviour.
type Fault string

// Faults of a FaultyServer.
const (
	FaultNone    Fault = ""        // serves the document
	FaultSlow    Fault = "slow"    // waits 30 s first (longer than any timeout here)
	FaultError   Fault = "error"   // 500
	FaultGarbage Fault = "garbage" // 200 with a body that is not the document
	FaultDown    Fault = "down"    // the listener is closed: connection refused
)

// NewFaultyServer serves doc on a loopback port.
func NewFaultyServer(doc []byte, contentType string) (*FaultyServer, error) {
	f := &FaultyServer{doc: string(doc), ctype: contentType}
	f.mode.Store(FaultNone)
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.addr, f.ln = ln.Addr().String(), ln
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *FaultyServer) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	switch f.mode.Load().(Fault) {
	case FaultSlow:
		select {
		case <-time.After(30 * time.Second):
		case <-r.Context().Done():
			return
		}
	case FaultError:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case FaultGarbage:
		w.Header().Set("Content-Type", f.ctype)
		_, _ = io.WriteString(w, "<html><body>maintenance</body></html>")
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	_, _ = io.WriteString(w, f.doc)
}

// URL returns the document's URL.
func (f *FaultyServer) URL() string { return "http://" + f.addr + "/metadata" }

// Hits returns the number of requests served.
func (f *FaultyServer) Hits() int64 { return f.hits.Load() }

// Set changes the behaviour; FaultDown closes the listener, any other
// fault reopens it on the same address.
func (f *FaultyServer) Set(m Fault) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode.Store(m)
	if m == FaultDown {
		if f.ln != nil {
			err := f.ln.Close()
			f.ln = nil
			return err
		}
		return nil
	}
	if f.ln == nil {
		ln, err := net.Listen("tcp", f.addr)
		if err != nil {
			return err
		}
		f.ln = ln
		go func() { _ = f.srv.Serve(ln) }()
	}
	return nil
}

// Close stops the server.
func (f *FaultyServer) Close() {
	_ = f.srv.Close()
}
