package login

import (
	"bytes"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/internal/defaults"
)

// Handler is the login flow as an http.Handler: email-first login, the SSO
// domain prompt, the provider picker, the protocol endpoints of every
// connection and logout. See the package documentation for its routes.
//
// A Handler is safe for concurrent use.
type Handler struct {
	cfg     Config
	base    string
	mux     *http.ServeMux
	cop     *http.CrossOriginProtection
	tmpl    *template.Template
	log     *slog.Logger
	states  sso.StateStore
	cookies *sso.Cookies
	now     func() time.Time
}

// New validates cfg, fills in the defaults and returns the Handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BasePath == "" {
		cfg.BasePath = cfg.Registry.basePath
	}
	if cfg.DefaultReturnPath == "" {
		cfg.DefaultReturnPath = DefaultReturnPath
	}
	if cfg.LogoutReturnPath == "" {
		cfg.LogoutReturnPath = cfg.DefaultReturnPath
	}
	defaults.Set(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	defaults.Set(&cfg.MaxSAMLBodyBytes, DefaultMaxACSBodyBytes)
	defaults.Set(&cfg.MaxBindingTries, DefaultMaxBindingTries)
	if cfg.ModuleAttributes == nil {
		cfg.ModuleAttributes = DefaultModuleAttributes
	}
	h := &Handler{cfg: cfg, base: cfg.BasePath, tmpl: cfg.Templates, log: cfg.Logger, states: cfg.StateStore, now: cfg.Now}
	if h.tmpl == nil {
		h.tmpl = DefaultTemplates()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.states == nil {
		h.states = sso.NewMemoryStateStore(sso.MemoryOptions{Capacity: 10_000, Now: cfg.Now})
	}
	if h.now == nil {
		h.now = time.Now
	}
	cookies, err := sso.NewCookies(sso.CookieConfig{Keys: cfg.CookieKeys, Prefix: cfg.CookiePrefix, Secure: cfg.SecureCookies, Now: h.now})
	if err != nil {
		return nil, err
	}
	h.cookies = cookies
	h.cop = http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := h.cop.AddTrustedOrigin(o); err != nil {
			return nil, &sso.Error{Op: "login.New", Reason: sso.ReasonInvalidConfig, Detail: "TrustedOrigins: " + err.Error()}
		}
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /login", h.loginPage)
	m.HandleFunc("POST /login", h.loginSubmit)
	m.HandleFunc("GET /login/sso", h.domainPrompt)
	m.HandleFunc("GET /login/sso/{domain}", h.domainStart)
	m.HandleFunc("POST /login/start", h.start)
	m.HandleFunc("GET /login/test/{connection}", h.testStart)
	m.HandleFunc("POST /login/bind", h.bindSubmit)
	m.HandleFunc("POST /login/bind/confirm", h.bindConfirm)
	m.HandleFunc("GET /login/continue", h.continuePage)
	m.HandleFunc("POST /login/continue", h.continueSubmit)
	m.HandleFunc("GET /saml/{connection}/metadata", h.samlMetadata)
	m.HandleFunc("POST /saml/{connection}/acs", h.samlACS)
	m.HandleFunc("GET /saml/{connection}/slo", h.samlSLO)
	m.HandleFunc("POST /saml/{connection}/slo", h.samlSLO)
	m.HandleFunc("GET /oidc/{connection}/callback", h.oidcCallback)
	m.HandleFunc("GET /ldap/{connection}/login", h.ldapPage)
	m.HandleFunc("POST /ldap/{connection}/login", h.ldapSubmit)
	m.HandleFunc("POST /logout", h.logout)
	h.mux = m
	return h, nil
}

// Routes returns the path patterns the handler serves, with BasePath, for
// routers that need them listed: with http.ServeMux,
//
//	for _, p := range h.Routes() { mux.Handle(p, h) }
//
// When BasePath is set, mounting the handler at BasePath+"/" is enough.
func (h *Handler) Routes() []string {
	return []string{h.base + "/login", h.base + "/login/", h.base + "/saml/", h.base + "/oidc/", h.base + "/ldap/", h.base + "/logout"}
}

// disc returns the registry's current discovery table.
func (h *Handler) disc() *discovery.Table { return h.cfg.Registry.Discovery() }

// entry returns the registered connection with the given ID.
func (h *Handler) entry(id string) (*entry, bool) {
	e, ok := h.cfg.Registry.load().conns[id]
	return e, ok
}

// account returns the registered account with the given ID, or an error
// matching sso.ReasonAccountNotFound.
func (h *Handler) account(id string) (*account, error) {
	if a, ok := h.cfg.Registry.load().accounts[id]; ok {
		return a, nil
	}
	return nil, &sso.Error{Op: "login", Reason: sso.ReasonAccountNotFound, Detail: "no account " + quote(id) + " in the registry"}
}

var (
	hdrNoStore    = []string{"no-store"}
	hdrNoSniff    = []string{"nosniff"}
	hdrNoReferrer = []string{"no-referrer"}
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Shared values (capacity 1, so an Add copies them): three fewer
	// allocations per request.
	hd["Cache-Control"] = hdrNoStore
	hd["X-Content-Type-Options"] = hdrNoSniff
	hd["Referrer-Policy"] = hdrNoReferrer
	p := r.URL.Path
	if h.base != "" && strings.HasPrefix(p, h.base+"/") {
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = strings.TrimPrefix(p, h.base)
		u.RawPath = ""
		r2.URL = &u
		r = r2
	}
	h.mux.ServeHTTP(w, r)
}

// LoginURL returns the login page's URL with the given return path (dropped
// when it is not a safe same-site path).
func (h *Handler) LoginURL(returnTo string) string {
	return h.withReturn(h.base+"/login", returnTo)
}

// DomainLoginURL returns the bookmarkable single sign-on URL of an SSO
// domain alias: BasePath + "/login/sso/" + domain.
func (h *Handler) DomainLoginURL(domain, returnTo string) string {
	return h.withReturn(h.base+"/login/sso/"+url.PathEscape(domain), returnTo)
}

// TestLoginURL returns the URL that runs an administrator's test login
// through the connection: the login runs as usual (ForceAuthn where the
// protocol has it) but ends on a page showing what the identity provider
// sent, what the policy decides and, when Config.Provisioner is a
// Previewer, what provisioning would do, without provisioning anything or
// starting a session.
// Only requests for which Config.CanAdminister reports true for the
// connection's account may use it.
func (h *Handler) TestLoginURL(connection, returnTo string) string {
	return h.withReturn(h.base+"/login/test/"+url.PathEscape(connection), returnTo)
}

// CandidateTestLoginURL returns the URL that runs an administrator's test
// login through the connection's Candidate (see Connection.Candidate), as
// TestLoginURL does through its Authenticator.
func (h *Handler) CandidateTestLoginURL(connection, returnTo string) string {
	u := h.TestLoginURL(connection, returnTo)
	if strings.Contains(u, "?") {
		return u + "&candidate=1"
	}
	return u + "?candidate=1"
}

// MetadataURL returns the path of a SAML connection's SP metadata.
func (h *Handler) MetadataURL(connection string) string {
	return h.base + "/saml/" + url.PathEscape(connection) + "/metadata"
}

// LogoutURL returns the path logout forms POST to.
func (h *Handler) LogoutURL() string { return h.base + "/logout" }

func (h *Handler) withReturn(u, returnTo string) string {
	if p, ok := sso.SafeReturnPath(returnTo); ok && p != h.cfg.DefaultReturnPath {
		return u + "?return_to=" + url.QueryEscape(p)
	}
	return u
}

// returnPath returns the checked return path from the request's return_to
// value, or "" when absent or unsafe.
func returnPath(v string) string {
	p, _ := sso.SafeReturnPath(v)
	return p
}

func (h *Handler) orDefault(p string) string {
	if p == "" {
		return h.cfg.DefaultReturnPath
	}
	return p
}

// parseForm caps the body at limit and parses it. It writes the error page
// and returns false on failure.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request, limit int64, connection string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			h.fail(w, r, failure{connection: connection, err: &sso.Error{Op: "login", Reason: sso.ReasonRequestTooLarge, Connection: connection,
				Detail: "the request body is larger than " + strconv.FormatInt(limit, 10) + " bytes"}})
			return false
		}
		h.fail(w, r, failure{connection: connection, err: &sso.Error{Op: "login", Reason: sso.ReasonInvalidRequest, Connection: connection, Detail: "the form could not be parsed", Err: err}})
		return false
	}
	return true
}

// checkOrigin applies cross-origin protection to a form POST. It writes the
// error page and returns false when the request is refused.
func (h *Handler) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	if err := h.cop.Check(r); err != nil {
		h.fail(w, r, failure{err: &sso.Error{Op: "login", Reason: ReasonCrossOrigin,
			Detail: "a cross-origin POST to a login form was refused (" + err.Error() + "); add the page's origin to Config.TrustedOrigins if it is yours"}})
		return false
	}
	return true
}

// render executes the named template into a buffer first, so a template
// error never leaves half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		h.log.Error("login: template failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", pageCSP)
	hd.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (h *Handler) page(title, returnTo, msg string) Page {
	return Page{Title: title, BasePath: h.base, ReturnTo: returnTo, Message: msg}
}
