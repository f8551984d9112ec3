package demoapp

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/saml"
)

// routes returns the application's handler: the login handler's routes,
// the start page, /me, /healthz and the admin pages.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	login := a.metrics.Handler(a.login)
	for _, p := range a.login.Routes() {
		mux.Handle(p, login)
	}
	mux.Handle("GET /metrics", a.metricsHandler())
	mux.HandleFunc("GET /{$}", a.startPage)
	mux.HandleFunc("GET /me", a.me)
	mux.HandleFunc("GET /healthz", a.healthz)
	cop := http.NewCrossOriginProtection()
	mux.HandleFunc("GET /admin/{account}", a.adminPage)
	mux.Handle("POST /admin/{account}/policy", cop.Handler(http.HandlerFunc(a.adminPolicy)))
	mux.Handle("POST /admin/{account}/metadata", cop.Handler(http.HandlerFunc(a.adminMetadata)))
	return securityHeaders(mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"

func (a *App) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		a.log.Error("template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// healthz serves GET /healthz: 200 "ok" when the database answers.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.store.DB().PingContext(ctx); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// meJSON is the answer of GET /me.
type meJSON struct {
	User                 userJSON            `json:"user"`
	Method               string              `json:"method"`
	Accounts             []string            `json:"accounts"`
	Roles                map[string][]string `json:"roles"`
	Refused              []refusedJSON       `json:"refused,omitempty"`
	Identity             *identityJSON       `json:"identity,omitempty"`
	Provisioning         *provisioningJSON   `json:"provisioning,omitempty"`
	SecondFactorRequired bool                `json:"second_factor_required"`
	LoggedInAt           time.Time           `json:"logged_in_at"`
}

type userJSON struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	GivenName   string `json:"given_name,omitempty"`
	FamilyName  string `json:"family_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

type refusedJSON struct {
	Account string      `json:"account"`
	Reason  sso.Reason  `json:"reason"`
	Rule    policy.Rule `json:"rule"`
}

type identityJSON struct {
	Connection    string              `json:"connection"`
	Protocol      sso.Protocol        `json:"protocol"`
	Issuer        string              `json:"issuer"`
	Subject       string              `json:"subject"`
	SubjectFormat string              `json:"subject_format,omitempty"`
	Email         string              `json:"email,omitempty"`
	EmailVerified bool                `json:"email_verified"`
	GivenName     string              `json:"given_name,omitempty"`
	FamilyName    string              `json:"family_name,omitempty"`
	DisplayName   string              `json:"display_name,omitempty"`
	Department    string              `json:"department,omitempty"`
	Module        string              `json:"module,omitempty"`
	Groups        []string            `json:"groups,omitempty"`
	Attributes    map[string][]string `json:"attributes,omitempty"`
	IdPInitiated  bool                `json:"idp_initiated"`
	AuthTime      time.Time           `json:"auth_time,omitzero"`
	Warnings      []string            `json:"warnings,omitempty"`
}

type provisioningJSON struct {
	Match        provisioning.Match `json:"match"`
	Created      bool               `json:"created"`
	Linked       bool               `json:"linked"`
	Updated      []string           `json:"updated,omitempty"`
	Organisation string             `json:"organisation,omitempty"`
}

// me serves GET /me: the session's user, identity and accounts as JSON, or
// 401 when logged out.
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	s := a.host.current(r)
	if s == nil {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"not logged in"}` + "\n"))
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(a.meOf(r.Context(), s))
}

func (a *App) meOf(ctx context.Context, s *session) *meJSON {
	res := s.Result
	out := &meJSON{Method: res.Method.String(), Accounts: res.Accounts, Roles: map[string][]string{},
		SecondFactorRequired: res.SecondFactorRequired, LoggedInAt: s.Created}
	out.User = userJSON{ID: res.User, Email: res.Email}
	_ = a.store.Tx(ctx, func(tx provisioning.Tx) error {
		if u, err := tx.FindUser(ctx, res.User); err == nil {
			out.User = userJSON{ID: u.ID, Email: u.Email, GivenName: u.GivenName, FamilyName: u.FamilyName, DisplayName: u.DisplayName}
		}
		return nil
	})
	for _, acct := range res.Accounts {
		if m := a.membership(ctx, res.User, acct); m != nil {
			out.Roles[acct] = m.RoleNames()
		}
	}
	for _, d := range res.Refused {
		out.Refused = append(out.Refused, refusedJSON{Account: d.Account, Reason: d.Reason, Rule: d.Rule})
	}
	if id := res.Identity; id != nil {
		ij := &identityJSON{Connection: id.Connection, Protocol: id.Protocol, Issuer: id.Issuer, Subject: id.Subject, SubjectFormat: id.SubjectFormat,
			Email: id.Email, EmailVerified: id.EmailVerified, GivenName: id.GivenName, FamilyName: id.FamilyName, DisplayName: id.DisplayName,
			Department: id.FirstAttribute(provisioning.DefaultOrganisationAttributes...), Module: id.FirstAttribute(login.DefaultModuleAttributes...), Groups: id.Groups, Attributes: id.Attributes, IdPInitiated: id.IdPInitiated, AuthTime: id.AuthTime}
		for _, w := range id.Warnings {
			ij.Warnings = append(ij.Warnings, w.String())
		}
		out.Identity = ij
	}
	if p := res.Provisioning; p != nil {
		pj := &provisioningJSON{Match: p.Match, Created: p.Created, Linked: p.Linked, Updated: p.Updated}
		if p.Organisation != nil {
			pj.Organisation = p.Organisation.Name
		}
		out.Provisioning = pj
	}
	return out
}

// Start page data.
type startData struct {
	BaseURL string
	// LoggedOut is the logged_out query value that logout redirects
	// (single logout, the provider's post-logout redirect, a connection's
	// logout redirect URL) carry here.
	LoggedOut string
	Me        *meJSON
	Admin     []string // accounts the session may administer
	Others    []otherAccount
	Accounts  []accountView
	// IdPLogoutURL is the mock SAML IdP's link that logs the session's
	// identity out there, starting a single logout at the application.
	IdPLogoutURL string
	Mocks        bool
	MockSAML     string
	MockOIDC     string
	MockLDAP     string
	IdPUsers     []mockUser
}

type otherAccount struct {
	ID, Name    string
	NeedsReauth bool
	Reason      string
	LoginURL    string
}

type accountView struct {
	ID, Name, Comment string
	Aliases           []string
	Domains           []string
	Mode              policy.Mode
	Connections       []connView
	Users             []UserConfig
}

type connView struct {
	ID, DisplayName, Module string
	Protocol                sso.Protocol
	Stage                   policy.Stage
	IdPStartURL             string // IdP-initiated login at the mock IdP
}

// startPage serves GET /: who is logged in, and every account with its
// connections and test users.
func (a *App) startPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &startData{BaseURL: a.baseURL, Mocks: a.mocks != nil, LoggedOut: r.URL.Query().Get("logged_out")}
	if a.mocks != nil {
		d.MockSAML, d.MockOIDC, d.MockLDAP = a.mocks.samlURL, a.mocks.oidcURL, a.mocks.ldapURL
		d.IdPUsers = mockUsers
	}
	if s := a.host.current(r); s != nil {
		d.Me = a.meOf(ctx, s)
		if id := s.Result.Identity; id != nil && a.mocks != nil {
			a.mu.Lock()
			ci := a.connOf[id.Connection]
			a.mu.Unlock()
			if sp, ok := ci.authenticator().(*saml.ServiceProvider); ok && sp.IdP().EntityID == a.mocks.saml.EntityID() && ci.samlCfg.SLOURL != "" {
				d.IdPLogoutURL = a.mocks.saml.LogoutURL(sp.EntityID(), s.Result.Email)
			}
		}
		for _, acct := range s.Result.Accounts {
			if a.canAdminister(r, acct) {
				d.Admin = append(d.Admin, acct)
			}
		}
		d.Others = a.otherAccounts(ctx, s)
	}
	a.mu.Lock()
	for _, ac := range a.cfg.Accounts {
		v := accountView{ID: ac.ID, Name: ac.Name, Comment: ac.Comment, Aliases: ac.Aliases}
		for _, dm := range ac.Domains {
			v.Domains = append(v.Domains, dm.Name)
		}
		if pol, ok := a.reg.Policy(ac.ID); ok {
			v.Mode = pol.Mode
			for _, pc := range pol.Connections {
				ci := a.connOf[pc.ID]
				if ci == nil {
					continue
				}
				cv := connView{ID: pc.ID, DisplayName: ci.cfg.DisplayName, Module: ci.cfg.Module, Protocol: ci.cfg.Protocol, Stage: pc.Stage}
				if sp, ok := ci.auth.(*saml.ServiceProvider); ok && a.mocks != nil && ci.cfg.SAML.AllowIdPInitiated && sp.IdP().EntityID == a.mocks.saml.EntityID() {
					cv.IdPStartURL = a.mocks.saml.StartURL(sp.EntityID(), "/")
				}
				v.Connections = append(v.Connections, cv)
			}
		}
		for _, u := range a.cfg.Users {
			if len(u.Memberships) > 0 && u.Memberships[0].Account == ac.ID {
				if a.mocks == nil {
					u.Password = "" // a real setup's passwords are not shown
				}
				v.Users = append(v.Users, u)
			}
		}
		d.Accounts = append(d.Accounts, v)
	}
	a.mu.Unlock()
	a.render(w, http.StatusOK, startTmpl, d)
}

// otherAccounts lists the user's accounts this login did not grant, with
// whether switching to each needs another login (policy.NeedsReauth).
func (a *App) otherAccounts(ctx context.Context, s *session) []otherAccount {
	ids, err := a.users.Accounts(ctx, s.Result.User)
	if err != nil {
		return nil
	}
	var out []otherAccount
	for _, id := range ids {
		if slices.Contains(s.Result.Accounts, id) {
			continue
		}
		o := otherAccount{ID: id, Name: id, NeedsReauth: true}
		if ac := a.accounts[id]; ac != nil {
			o.Name = ac.Name
			if len(ac.Aliases) > 0 {
				o.LoginURL = a.login.DomainLoginURL(ac.Aliases[0], "/")
			}
		}
		if pol, ok := a.reg.Policy(id); ok {
			facts, _ := a.users.Facts(ctx, s.Result.User, id)
			need, dec := policy.NeedsReauth(pol, facts, policy.Session{Method: s.Result.Method})
			o.NeedsReauth, o.Reason = need, dec.Detail
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var funcs = template.FuncMap{
	"reveal":   func(s Secret) string { return string(s) },
	"loginURL": func(email string) string { return "/login?email=" + url.QueryEscape(email) },
	"join": func(s []string) string {
		out := ""
		for i, v := range s {
			if i > 0 {
				out += ", "
			}
			out += v
		}
		return out
	},
	"since": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}

const layoutHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{block "title" .}}ssokit demo{{end}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef}section{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
code{background:#f3f3f3;padding:0 .2rem}.note{color:#444}.ok{color:#155724}.bad{color:#8a1c1c}
.message{padding:.75rem;border:1px solid #b35900;background:#fff4e5;border-radius:4px}
button{padding:.3rem .8rem;font-size:1rem}label{font-weight:600}
:focus{outline:3px solid #f5a623;outline-offset:2px}
</style></head><body><main>`

var startTmpl = template.Must(template.New("start").Funcs(funcs).Parse(layoutHead + `
<h1>ssokit demo</h1>
{{if and .LoggedOut (not .Me)}}<p class="message" id="logged-out" role="status">You are logged out ({{.LoggedOut}}).</p>{{end}}
{{if .Me}}<section aria-labelledby="me" id="session"><h2 id="me">Logged in</h2>
<p>As <strong>{{.Me.User.Email}}</strong> ({{.Me.Method}}){{if .Me.Identity}}, identity <code>{{.Me.Identity.Subject}}</code> from <code>{{.Me.Identity.Issuer}}</code>{{if .Me.Identity.IdPInitiated}} (IdP-initiated){{end}}{{end}}.</p>
<p>This login grants: {{range .Me.Accounts}}<strong>{{.}}</strong> {{with index $.Me.Roles .}}(roles: {{join .}}){{end}} {{else}}no account{{end}}</p>
{{if .Me.Provisioning}}<p>Provisioning: matched by <strong>{{.Me.Provisioning.Match}}</strong>{{if .Me.Provisioning.Created}}, user created{{end}}{{if .Me.Provisioning.Linked}}, identity linked{{end}}{{if .Me.Provisioning.Updated}}, updated {{join .Me.Provisioning.Updated}}{{end}}{{if .Me.Provisioning.Organisation}}, organisation {{.Me.Provisioning.Organisation}}{{end}}.</p>{{end}}
{{range .Me.Refused}}<p class="bad">Not granted by this password login: {{.Account}} ({{.Reason}}).</p>{{end}}
{{range .Others}}<p>Also a member of <strong>{{.Name}}</strong>: {{if .NeedsReauth}}switching needs another login{{if .Reason}} ({{.Reason}}){{end}}{{if .LoginURL}}, <a href="{{.LoginURL}}">log in to {{.Name}}</a>{{end}}{{else}}switching needs no new login{{end}}.</p>{{end}}
{{range .Admin}}<p><a href="/admin/{{.}}" id="admin-{{.}}">Administer {{.}}</a></p>{{end}}
<p><a href="/me" id="me-link">/me as JSON</a></p>
<form method="post" action="/logout" id="logout-form"><button type="submit" id="logout">Log out</button></form>
{{if .IdPLogoutURL}}<p><a href="{{.IdPLogoutURL}}" id="idp-logout">Log out at the identity provider</a>: it sends its own single logout request here, which ends every session of this identity.</p>{{end}}
</section>{{else}}<p><a href="/login" id="login-link">Log in</a> with an email address (and password), or with an organisation's <a href="/login/sso">SSO domain</a>. <a href="/me">/me</a> answers 401 until you do.</p>{{end}}

<p class="note">An application embedding ssokit: every account below stands for a customer of one of five kinds of business application, with its own identity provider and login policy.
{{if .Mocks}}The identity providers are built in: a SAML IdP at <a href="{{.MockSAML}}">{{.MockSAML}}</a>, an OpenID provider at <code>{{.MockOIDC}}</code> and an LDAP directory at <code>{{.MockLDAP}}</code>, on 127.0.0.1 while the application is on localhost, so the identity provider is another site as in real life.{{end}}</p>

{{range .Accounts}}<section aria-labelledby="acct-{{.ID}}"><h2 id="acct-{{.ID}}">{{.Name}} <small>({{.ID}}, {{.Mode}})</small></h2>
{{if .Comment}}<p>{{.Comment}}</p>{{end}}
<p>Email domains: {{join .Domains}}.{{range .Aliases}} SSO domain: <a href="/login/sso/{{.}}">/login/sso/{{.}}</a>.{{end}}</p>
<table><thead><tr><th scope="col">Connection</th><th scope="col">Protocol</th><th scope="col">Stage</th><th scope="col">IdP-initiated</th></tr></thead><tbody>
{{range .Connections}}<tr><td>{{.DisplayName}} <code>{{.ID}}</code>{{if .Module}} (SSOModule {{.Module}}){{end}}</td><td>{{.Protocol}}</td><td>{{.Stage}}</td><td>{{if .IdPStartURL}}<a href="{{.IdPStartURL}}" id="idp-start-{{.ID}}">start at the IdP</a>{{end}}</td></tr>
{{end}}</tbody></table>
{{if .Users}}<table><thead><tr><th scope="col">Test user</th><th scope="col">Application password</th><th scope="col">What it shows</th></tr></thead><tbody>
{{range .Users}}<tr><td><a href="{{loginURL .Email}}">{{.Email}}</a></td><td>{{if .Password}}<code>{{reveal .Password}}</code>{{end}}</td><td>{{.Comment}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>{{end}}

{{if .IdPUsers}}<section aria-labelledby="idp-users"><h2 id="idp-users">People at the mock identity providers</h2>
<table><thead><tr><th scope="col">Identity provider</th><th scope="col">Email</th><th scope="col">IdP password</th><th scope="col">Note</th></tr></thead><tbody>
{{range .IdPUsers}}<tr><td>{{.Protocol}}</td><td>{{.Email}}</td><td>{{if .Password}}<code>{{.Password}}</code>{{else}}(pick on its page){{end}}</td><td>{{.Note}}</td></tr>
{{end}}</tbody></table></section>{{end}}
</main></body></html>`))
