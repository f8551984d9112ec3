package demoapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso"
	exhost "github.com/ssokit/sso/examples/internal/host"
	"github.com/ssokit/sso/ldap"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/metrics"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/store/sqlstore"
)

// Options are the demo's command-line settings. The zero value of each
// field means its flag's default.
type Options struct {
	// Addr is where the application listens; "localhost:8080" when empty.
	// Port 0 picks a free port (see app.URL).
	Addr string
	// BaseURL overrides the public URL (Config.BaseURL).
	BaseURL string
	// ConfigFile replaces the built-in setup.
	ConfigFile string
	// DB overrides the SQLite file (Config.Database).
	DB string
	// Postgres overrides Config.Postgres: the PostgreSQL URL the replicas
	// share, in place of the SQLite file.
	Postgres string
	// Redis overrides Config.Redis: a redis:// URL for the replay records
	// and the identities waiting on the login pages.
	Redis string
	// SyncInterval is how often the application checks the database for
	// the admin page's changes made by other replicas, besides being told
	// at once by PostgreSQL (LISTEN/NOTIFY); DefaultSyncInterval when zero.
	SyncInterval time.Duration
	// MockIdPsOf makes the application use the mock identity providers
	// another App in this process started, rather than start its own:
	// several replicas of one setup in one process (tests). The other App
	// must have mock_idps and outlive this one.
	MockIdPsOf *App
	// SAMLAddr, OIDCAddr and LDAPAddr override the mock identity
	// providers' addresses (Config.MockIdPs); port 0 picks a free port.
	SAMLAddr, OIDCAddr, LDAPAddr string
	// Logger receives the application's logs; a text logger on stderr when
	// nil.
	Logger *slog.Logger
}

// App is the running demo: the host application around the login handler,
// its mock identity providers and its database. It is safe for concurrent
// use.
type App struct {
	opts    Options
	cfg     *Config
	log     *slog.Logger
	baseURL string
	ln      net.Listener
	srv     *http.Server
	mocks   *mocks
	// ownMocks is false when the mocks belong to Options.MockIdPsOf.
	ownMocks bool
	store    *sqlstore.Store
	dbPath   string // the SQLite file, or "" on PostgreSQL
	tmpDir   string
	// sqlDB is the PostgreSQL pool (nil on SQLite); redis the Redis client
	// (nil without Redis). dbName and redisName name them in messages.
	sqlDB      *sql.DB
	pgURL      string
	redis      *redis.Client
	dbName     string
	redisName  string
	state      sso.StateStore
	replay     sso.ReplayCache
	trips      counters
	cookieKeys [][]byte
	// settingsVersion is the version of the settings applied (guarded by
	// mu); sync watches for newer ones.
	settingsVersion int64
	sync            *syncer

	// settings keeps the admin page's changes; keptPolicies and
	// keptMetadata are what it held at start.
	settings     *settings
	keptPolicies map[string]policy.Policy
	keptMetadata map[string][]byte
	// keptConns are the connections added on the admin page, by ID.
	keptConns map[string]storedConnection

	reg *login.Registry
	// metrics counts the events; promReg serves them at /metrics.
	metrics *metrics.Metrics
	promReg *prometheus.Registry
	prov    *provisioning.Provisioner
	users   login.StoreUsers
	pw      *exhost.Passwords
	login   *login.Handler
	host    *host
	events  sso.EventFunc

	closeOnce sync.Once
	stop      chan struct{} // closed by Close; ends the daily certificate check
	daily     sync.WaitGroup

	mu       sync.Mutex // guards the maps below and serialises admin changes
	accounts map[string]*AccountConfig
	connOf   map[string]*connInfo
	// candidates are the candidate IdP metadata each connection's
	// Candidate was built from.
	candidates map[string][]byte
	// refused are the settings (by key) this replica could not apply at
	// its last sync, with why.
	refused map[string]error
}

// authenticator returns the connection's authenticator, or nil for a
// nil connInfo.
func (ci *connInfo) authenticator() sso.Authenticator {
	if ci == nil {
		return nil
	}
	return ci.auth
}

// connInfo is what the demo keeps about a built connection.
type connInfo struct {
	account string
	cfg     ConnectionConfig
	field   string // its place in the configuration
	auth    sso.Authenticator
	samlCfg saml.Config // for rebuilding with new metadata
}

// Start builds the application and serves it in the background, with the
// mock identity providers when the configuration has mock_idps. Nothing is
// left running when it returns an error: a configuration with problems is
// a *ConfigError listing each field and its fix. ctx bounds the start only
// (fetching metadata, contacting providers); stop the application with
// Close.
func Start(ctx context.Context, opts Options) (_ *App, err error) {
	a := &App{opts: opts, log: opts.Logger, accounts: map[string]*AccountConfig{}, connOf: map[string]*connInfo{}, candidates: map[string][]byte{}, refused: map[string]error{}}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if opts.ConfigFile != "" {
		if a.cfg, err = LoadConfig(opts.ConfigFile); err != nil {
			return nil, err
		}
	} else {
		a.cfg = builtinConfig()
	}
	cfg := a.cfg
	var p problems
	cfg.check(&p)
	checkMockRefs(cfg, &p)
	if err := p.err(); err != nil {
		return nil, err
	}

	addr := opts.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	if a.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listening on %s: %w (pick another address with -addr)", addr, err)
	}
	a.baseURL = firstNonEmpty(opts.BaseURL, cfg.BaseURL)
	if a.baseURL == "" {
		host, _, _ := net.SplitHostPort(addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		a.baseURL = "http://" + net.JoinHostPort(host, fmt.Sprint(a.ln.Addr().(*net.TCPAddr).Port))
	}
	a.baseURL = strings.TrimRight(a.baseURL, "/")

	if other := opts.MockIdPsOf; other != nil && cfg.MockIdPs != nil {
		if other.mocks == nil {
			return nil, errors.New("Options.MockIdPsOf: that application runs no mock identity providers")
		}
		a.mocks = other.mocks
		resolveMockRefs(cfg, a.mocks)
	} else if cfg.MockIdPs != nil {
		a.ownMocks = true
		m := *cfg.MockIdPs
		m.SAMLAddr = firstNonEmpty(opts.SAMLAddr, m.SAMLAddr, DefaultSAMLAddr)
		m.OIDCAddr = firstNonEmpty(opts.OIDCAddr, m.OIDCAddr, DefaultOIDCAddr)
		m.LDAPAddr = firstNonEmpty(opts.LDAPAddr, m.LDAPAddr, DefaultLDAPAddr)
		if a.mocks, err = startMocks(m); err != nil {
			return nil, err
		}
		resolveMockRefs(cfg, a.mocks)
	}

	if err := a.openStores(ctx); err != nil {
		return nil, err
	}
	a.events = a.store.EventFunc(func(err error) { a.log.Error("event log", "err", err) })
	if err := a.startMetrics(); err != nil {
		return nil, err
	}
	if a.settings, err = openSettings(ctx, a.store.DB(), a.store.Dialect()); err != nil {
		return nil, fmt.Errorf("database %s: %w", a.dbName, err)
	}
	if a.keptPolicies, err = a.settings.policies(ctx); err != nil {
		return nil, fmt.Errorf("database %s: %w", a.dbName, err)
	}
	if a.keptMetadata, err = a.settings.all(ctx, metadataKeyPrefix); err != nil {
		return nil, fmt.Errorf("database %s: %w", a.dbName, err)
	}
	if a.keptConns, err = a.settings.storedConnections(ctx); err != nil {
		return nil, fmt.Errorf("database %s: %w", a.dbName, err)
	}
	a.addStoredConnections(cfg, a.keptConns)
	if a.cookieKeys, err = a.loadCookieKeys(ctx); err != nil {
		return nil, fmt.Errorf("database %s: %w", a.dbName, err)
	}
	if a.settingsVersion, err = a.settings.version(ctx); err != nil {
		return nil, fmt.Errorf("database %s: %w", a.dbName, err)
	}

	if err := a.build(ctx); err != nil {
		return nil, err
	}
	a.startSync()
	a.stop = make(chan struct{})
	a.daily.Add(1)
	go a.checkCertificatesDaily(24 * time.Hour)
	mux := a.routes()
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	go func() {
		if err := a.srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("server", "err", err)
		}
	}()
	return a, nil
}

// Run starts the application, logs its URLs and serves until ctx is done.
func Run(ctx context.Context, opts Options) error {
	a, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	a.log.Info("ssokit demo running", "url", a.baseURL)
	if a.mocks != nil {
		a.log.Info("mock identity providers", "saml", a.mocks.samlURL, "oidc", a.mocks.oidcURL, "ldap", a.mocks.ldapURL)
	}
	<-ctx.Done()
	return a.Close()
}

// URL returns the application's base URL, e.g. http://localhost:8080.
func (a *App) URL() string { return a.baseURL }

// ListenURL returns the URL of the application's own listener, e.g.
// http://localhost:41234: the same as URL unless a base URL (a load
// balancer in front of several replicas) was given.
func (a *App) ListenURL() string {
	host, _, _ := net.SplitHostPort(a.ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && strings.HasPrefix(a.baseURL, "http://localhost:") {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(a.ln.Addr().(*net.TCPAddr).Port))
}

// SAMLURL returns the base URL of the mock SAML IdP (its metadata is at
// SAMLURL()+"/metadata"), or "" when the configuration has no mock_idps.
func (a *App) SAMLURL() string {
	if a.mocks == nil {
		return ""
	}
	return a.mocks.samlURL
}

// OIDCURL returns the issuer URL of the mock OpenID provider, or "" when
// the configuration has no mock_idps.
func (a *App) OIDCURL() string {
	if a.mocks == nil {
		return ""
	}
	return a.mocks.oidcURL
}

// MockSAML returns the running mock SAML IdP, for tests that check what it
// received (its LogoutRequests) or start IdP-initiated logins; nil when the
// configuration has no mock_idps.
func (a *App) MockSAML() *samltest.Server {
	if a.mocks == nil {
		return nil
	}
	return a.mocks.saml
}

// MockOIDC returns the running mock OpenID provider, for tests that check
// what it received (its Logouts); nil when the configuration has no
// mock_idps.
func (a *App) MockOIDC() *oidctest.Server {
	if a.mocks == nil {
		return nil
	}
	return a.mocks.oidc
}

// LDAPURL returns the ldap:// URL of the mock LDAP directory, or "" when
// the configuration has no mock_idps.
func (a *App) LDAPURL() string {
	if a.mocks == nil {
		return ""
	}
	return a.mocks.ldapURL
}

// Close stops the server (waiting up to five seconds for requests in
// flight), the connections, the mocks and the database, and removes the
// temporary database. Calling it again does nothing.
func (a *App) Close() error {
	a.closeOnce.Do(a.close)
	return nil
}

// checkCertificatesDaily asks every SAML connection to check its IdP and SP
// certificates once a day, so that an expiry is reported as an event (and
// shows on the admin page) ahead of time even on a connection nobody logs
// in through.
func (a *App) checkCertificatesDaily(every time.Duration) {
	defer a.daily.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.checkCertificates()
		}
	}
}

func (a *App) checkCertificates() {
	a.mu.Lock()
	var sps []*saml.ServiceProvider
	for _, ci := range a.connOf {
		if sp, ok := ci.auth.(*saml.ServiceProvider); ok {
			sps = append(sps, sp)
		}
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, sp := range sps {
		sp.CheckCertificates(ctx)
	}
}

func (a *App) close() {
	if a.stop != nil {
		close(a.stop)
		a.daily.Wait()
	}
	if a.sync != nil {
		a.sync.close()
	}
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.srv.Shutdown(ctx)
		cancel()
	} else if a.ln != nil {
		a.ln.Close()
	}
	for _, ci := range a.connOf {
		if c, ok := ci.auth.(io.Closer); ok {
			_ = c.Close()
		}
	}
	if a.mocks != nil && a.ownMocks {
		a.mocks.Close()
	}
	if a.store != nil {
		_ = a.store.Close()
	}
	if a.sqlDB != nil {
		_ = a.sqlDB.Close()
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
	if a.tmpDir != "" {
		_ = os.RemoveAll(a.tmpDir)
	}
}

// absolute makes a same-site path absolute on base.
func absolute(base, u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return base + u
	}
	return u
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// checkMockRefs reports {mock_...} references without mock_idps.
func checkMockRefs(cfg *Config, p *problems) {
	if cfg.MockIdPs != nil {
		return
	}
	walkRefs(cfg, func(field string, v *string) {
		if strings.Contains(*v, "{mock_") {
			p.add(field, "refers to the built-in mock identity providers (%s), but the configuration has no \"mock_idps\" section: add one, or point at your real identity provider", *v)
		}
	})
}

// resolveMockRefs replaces the {mock_...} references with the mocks' URLs.
func resolveMockRefs(cfg *Config, m *mocks) {
	r := strings.NewReplacer(mockSAMLRef, m.samlURL, mockOIDCRef, m.oidcURL, mockLDAPRef, m.ldapURL, mockLDAPCARef, string(m.ldap.CACertPEM()))
	walkRefs(cfg, func(_ string, v *string) { *v = r.Replace(*v) })
}

// walkRefs calls f for every configuration value that may refer to a mock.
func walkRefs(cfg *Config, f func(field string, v *string)) {
	for i := range cfg.Accounts {
		for j := range cfg.Accounts[i].Connections {
			c := &cfg.Accounts[i].Connections[j]
			cf := fmt.Sprintf("accounts[%d].connections[%d]", i, j)
			if c.SAML != nil {
				f(cf+".saml.idp_metadata_url", &c.SAML.IdPMetadataURL)
			}
			if c.OIDC != nil {
				f(cf+".oidc.issuer", &c.OIDC.Issuer)
			}
			if c.LDAP != nil {
				for k := range c.LDAP.URLs {
					f(fmt.Sprintf("%s.ldap.urls[%d]", cf, k), &c.LDAP.URLs[k])
				}
				f(cf+".ldap.ca_cert_pem", &c.LDAP.CACertPEM)
			}
		}
	}
}

// build constructs every connection, the routing table, the policies, the
// provisioner and the login handler from a.cfg, and seeds the users. Every
// problem is collected with its field; any problem fails the whole build.
func (a *App) build(ctx context.Context) error {
	cfg := a.cfg
	var p problems
	accounts := cfg.declare(&p, a.keptPolicies, a.dbName, func(field string, ac *AccountConfig, cc ConnectionConfig) (sso.Authenticator, error) {
		a.accounts[ac.ID] = ac
		ci := &connInfo{account: ac.ID, cfg: cc, field: field}
		if _, ok := a.keptConns[cc.ID]; ok {
			ci.field = connectionKeyPrefix + cc.ID
		}
		auth, err := a.newAuthenticator(ctx, ci)
		if err == nil {
			ci.auth = auth
			a.connOf[cc.ID] = ci
		} else if _, ok := a.keptConns[cc.ID]; ok {
			err = fmt.Errorf("the connection added on the admin page (kept in %s) is refused now: %v; start once with another database, "+
				"or remove it with the SQL statement DELETE FROM demo_settings WHERE key = '%s%s'", a.dbName, err, connectionKeyPrefix, cc.ID)
		}
		return auth, err
	})
	if err := p.err(); err != nil {
		return err
	}
	var err error
	if a.reg, err = login.NewRegistry(login.RegistryConfig{BaseURL: a.baseURL, Accounts: accounts}); err != nil {
		return &ConfigError{Problems: []Problem{{Field: "accounts", Fix: err.Error()}}}
	}
	if a.prov, err = provisioning.New(provisioning.Config{Store: a.store, Events: a.events}); err != nil {
		return err
	}
	adminRole := firstNonEmpty(cfg.AdminRole, "Administrator")
	a.host = newHost(a)
	a.users = login.StoreUsers{Store: a.store, AdminRoles: []string{adminRole}, SSOLogins: a.host.ssoLoginsOf}
	a.pw = exhost.NewPasswords(a.users)
	if err := a.seed(ctx); err != nil {
		return err
	}
	a.registerWithMocks()
	a.login, err = login.New(login.Config{
		Registry:       a.reg,
		TrustedProxies: trustedProxies(cfg.TrustedProxies),
		Provisioner:    a.prov,
		Users:          a.users,
		Sessions:       a.host,
		Passwords:      a.pw,
		StateStore:     a.state,
		CookieKeys:     a.cookieKeys,
		Templates:      loginTemplates(),
		CanAdminister:  a.canAdminister,
		Events:         a.events,
		Logger:         a.log,
		SecureCookies:  strings.HasPrefix(a.baseURL, "https://"),
	})
	return err
}

// trustedProxies converts the checked trusted_proxies.
func trustedProxies(vs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range vs {
		if p, ok := parsePrefix(v); ok {
			out = append(out, p)
		}
	}
	return out
}

// loginTemplates are the login handler's default pages with a link back to
// the start page in their shared "foot".
func loginTemplates() *template.Template {
	t := login.DefaultTemplates()
	template.Must(t.New("foot").Parse(`<p><a href="/">Back to the start page</a></p></main></body></html>
`))
	return t
}

// newAuthenticator builds a connection's authenticator, at the URLs the
// login handler serves for it.
func (a *App) newAuthenticator(ctx context.Context, ci *connInfo) (sso.Authenticator, error) {
	cc := ci.cfg
	pc, err := protocolConfig(cc, ci.account, a.baseURL)
	if err != nil {
		return nil, err
	}
	switch {
	case pc.saml != nil:
		sc := *pc.saml
		sc.Logger, sc.Events, sc.StateStore, sc.ReplayCache = a.log, a.events, a.state, a.replay
		kept := a.keptMetadata[cc.ID]
		if kept != nil {
			sc.IdPMetadataURL, sc.IdPEntityID, sc.IdPMetadataXML = "", "", kept
		}
		ci.samlCfg = sc
		sp, err := saml.New(ctx, sc)
		if err != nil && kept != nil {
			return nil, fmt.Errorf("the IdP metadata applied on the admin page (kept in %s) is refused now: %v; start once with another database, "+
				"or remove it with the SQL statement DELETE FROM demo_settings WHERE key = '%s%s'", a.dbName, err, metadataKeyPrefix, cc.ID)
		}
		return sp, err
	case pc.oidc != nil:
		oc := *pc.oidc
		oc.Events, oc.StateStore, oc.ReplayCache = a.events, a.state, a.replay
		c, err := oidc.New(oc)
		if err != nil {
			return nil, err
		}
		// Find a wrong issuer now rather than at the first login; an
		// unreachable provider is only a warning, as it may come back.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.Refresh(rctx); err != nil {
			a.log.Warn("OpenID provider not reachable yet", "connection", cc.ID, "issuer", oc.Issuer, "err", err)
		}
		return c, nil
	default:
		lc := *pc.ldap
		lc.Events = a.events
		return ldap.New(lc)
	}
}

// toProvisioning converts the JSON settings.
func (pc ProvisioningConfig) toProvisioning(id string) (provisioning.Connection, error) {
	c := provisioning.Connection{
		ID: id, Identifier: provisioning.IdentifierSource(pc.Identifier), IdentifierAttribute: pc.IdentifierAttribute,
		AllowEmailOutsideDomains: pc.AllowEmailOutsideDomains,
		LoginBinding:             provisioning.LoginBinding{Enabled: pc.LoginBinding, AllowIdPInitiated: pc.LoginBindingIdPInitiated},
		Updates:                  provisioning.Updates{Names: pc.UpdateNames, Roles: pc.UpdateRoles, Organisation: pc.UpdateOrganisation},
		Roles:                    provisioning.RoleMapping{Attribute: pc.RolesAttribute, SplitCommas: pc.RolesSplitCommas, Map: pc.RolesMap, PassThrough: pc.RolesPassThrough},
	}
	if pc.JIT != nil {
		c.JIT = provisioning.JIT{Enabled: true, DefaultRoles: pc.JIT.DefaultRoles, DefaultOrganisation: pc.JIT.DefaultOrganisation, CreateOrganisation: pc.JIT.CreateOrganisation}
	}
	return c, c.Validate()
}

// registerWithMocks registers the connections that use the mock identity
// providers with them: SAML service providers (for IdP-initiated logins
// and single logout) and OpenID clients (with their post-logout redirect
// URLs).
func (a *App) registerWithMocks() {
	if a.mocks == nil {
		return
	}
	for _, ci := range a.connOf {
		switch auth := ci.auth.(type) {
		case *saml.ServiceProvider:
			if strings.HasPrefix(ci.cfg.SAML.IdPMetadataURL, a.mocks.samlURL) {
				_ = a.mocks.saml.AddServiceProvider(samltest.ServiceProvider{EntityID: auth.EntityID(), ACSURL: auth.ACSURL(), SLOURL: ci.samlCfg.SLOURL})
			}
		case *oidc.Connection:
			if ci.cfg.OIDC.Issuer == a.mocks.oidcURL {
				method := ci.cfg.OIDC.AuthMethod
				c := oidctest.Client{ID: ci.cfg.OIDC.ClientID, Secret: string(ci.cfg.OIDC.ClientSecret), AuthMethod: method,
					RedirectURIs: []string{auth.Endpoints().Callback}}
				if u := auth.PostLogoutRedirectURL(); u != "" {
					c.PostLogoutRedirectURIs = []string{u}
				}
				a.mocks.oidc.AddClient(c)
			}
		}
	}
}

// seed creates the configured users and memberships the database lacks.
func (a *App) seed(ctx context.Context) error {
	now := time.Now()
	for i, u := range a.cfg.Users {
		email, _ := sso.NormalizeEmail(u.Email)
		err := a.store.Tx(ctx, func(tx provisioning.Tx) error {
			usr, err := tx.FindUserByEmail(ctx, email)
			if sso.ReasonOf(err) == sso.ReasonNotFound {
				usr = &provisioning.User{Email: email, GivenName: u.GivenName, FamilyName: u.FamilyName,
					DisplayName: strings.TrimSpace(u.GivenName + " " + u.FamilyName), Created: now, Updated: now}
				err = tx.CreateUser(ctx, usr)
			}
			if err != nil {
				return err
			}
			for _, m := range u.Memberships {
				if _, err := tx.FindMembership(ctx, usr.ID, m.Account); err == nil {
					continue
				} else if sso.ReasonOf(err) != sso.ReasonNotFound {
					return err
				}
				pm := &provisioning.Membership{User: usr.ID, Account: m.Account, SSOIdentifier: m.SSOIdentifier, Status: provisioning.StatusActive, Created: now, Updated: now}
				for _, r := range m.Roles {
					pm.Roles = append(pm.Roles, provisioning.RoleGrant{Role: r, Source: provisioning.RoleSourceAdmin})
				}
				for _, r := range m.IdPRoles {
					pm.Roles = append(pm.Roles, provisioning.RoleGrant{Role: r, Source: provisioning.RoleSourceIdP})
				}
				if m.Organisation != "" {
					org, err := tx.FindOrganisationByName(ctx, m.Account, m.Organisation)
					if sso.ReasonOf(err) == sso.ReasonNotFound {
						org = &provisioning.Organisation{Account: m.Account, Name: m.Organisation, Created: now}
						err = tx.CreateOrganisation(ctx, org)
					}
					if err != nil {
						return err
					}
					pm.Organisation = org.ID
				}
				if err := tx.PutMembership(ctx, pm); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return &ConfigError{Problems: []Problem{{Field: fmt.Sprintf("users[%d]", i), Fix: "could not be created: " + err.Error()}}}
		}
		if u.Password != "" {
			a.pw.Set(email, string(u.Password))
		}
	}
	return nil
}

// Check checks the configuration of opts (the built-in setup, or
// opts.ConfigFile) without starting anything or contacting identity
// providers. Problems are a *ConfigError naming each field and its fix.
// Start checks the same and more (metadata, issuers, certificates).
func Check(opts Options) error {
	cfg := builtinConfig()
	if opts.ConfigFile != "" {
		var err error
		if cfg, err = LoadConfig(opts.ConfigFile); err != nil {
			return err
		}
	}
	var p problems
	cfg.check(&p)
	checkMockRefs(cfg, &p)
	if len(p.list) == 0 {
		cfg.checkDeclarations(context.Background(), &p)
	}
	return p.err()
}
