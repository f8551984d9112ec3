package demoapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
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
	login := withDeadline(a.metrics.Handler(a.login), requestDeadline)
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
	mux.Handle("POST /admin/{account}/connection", cop.Handler(http.HandlerFunc(a.adminConnection)))
	mux.Handle("POST /admin/{account}/metadata", cop.Handler(http.HandlerFunc(a.adminMetadata)))
	mux.Handle("POST /admin/{account}/heldback", cop.Handler(http.HandlerFunc(a.adminHeldBack)))
	mux.Handle("POST /admin/{account}/connections", cop.Handler(http.HandlerFunc(a.adminAddConnection)))
	mux.Handle("POST /admin/{account}/connections/remove", cop.Handler(http.HandlerFunc(a.adminRemoveConnection)))
	return securityHeaders(mux)
}

// requestDeadline bounds the work of one login request: a store or an
// identity provider that hangs fails the login (sso.ReasonUnavailable)
// after this long at most, rather than holding the browser.
const requestDeadline = 10 * time.Second

// withDeadline gives every request's context the deadline d.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
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

// copyScript gives the admin page's values their Copy buttons: without
// JavaScript the buttons stay hidden and the values are selectable text.
const copyScript = `document.querySelectorAll("button[data-copy]").forEach(function(b){if(!navigator.clipboard)return;b.hidden=false;` +
	`b.addEventListener("click",function(){var v=document.getElementById(b.dataset.copy);navigator.clipboard.writeText(v.textContent).then(function(){` +
	`document.getElementById("copy-status").textContent="Copied "+v.textContent;b.textContent="Copied";setTimeout(function(){b.textContent="Copy"},2000)})})});`

// adminCSP allows the copy script, by its hash, and nothing else.
var adminCSP = func() string {
	h := sha256.Sum256([]byte(copyScript))
	return strings.Replace(pageCSP, "default-src 'none';", "default-src 'none'; script-src 'sha256-"+base64.StdEncoding.EncodeToString(h[:])+"';", 1)
}()

func (a *App) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	a.renderWith(w, status, t, data, pageCSP)
}

func (a *App) renderWith(w http.ResponseWriter, status int, t *template.Template, data any, csp string) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		a.log.Error("template", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// problemData is the data of the refusal and not-found pages.
type problemData struct {
	Title, Text string
	// Account and AccountName name the account an administrator page
	// was asked for; Me is who is logged in.
	Account, AccountName, Me string
	LoginURL                 string
	Forbidden                bool
}

// renderForbidden answers a logged-in person who may not administer the
// account: a page that says why and how to go on.
func (a *App) renderForbidden(w http.ResponseWriter, r *http.Request, account, name string) {
	d := &problemData{Title: "You cannot change " + name + "'s settings", Account: account, AccountName: name, Forbidden: true,
		LoginURL: a.login.LoginURL("/admin/" + account)}
	if s := a.host.current(r); s != nil {
		d.Me = s.Result.Email
	}
	a.render(w, http.StatusForbidden, problemTmpl, d)
}

func (a *App) renderProblem(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	d := &problemData{Title: title, Text: text}
	if s := a.host.current(r); s != nil {
		d.Me = s.Result.Email
	}
	a.render(w, status, problemTmpl, d)
}

var problemTmpl = template.Must(template.New("problem").Funcs(funcs).Parse(layoutHead + `
<div class="narrow">
<h1>{{.Title}}</h1>
{{if .Forbidden}}<p class="notice notice-bad" role="alert">Only administrators of {{.AccountName}} who logged in to it may open its single sign-on settings{{if .Me}}, and you are logged in as <strong>{{.Me}}</strong>{{end}}.</p>
<p>If you administer {{.AccountName}} with another address, or your login was for another account, log out, log in again to {{.AccountName}}, and open its settings from the start page. Otherwise ask one of its administrators.</p>
<div class="actions">
<form method="post" action="/logout"><button type="submit" id="forbidden-relogin">Log out</button></form>
<a class="button secondary" href="/" id="forbidden-home">Back to the start page</a>
</div>
{{else}}<p class="notice notice-bad" role="alert">{{.Text}}</p>
<div class="actions"><a class="button" href="/" id="problem-home">Back to the start page</a></div>{{end}}
</div>
</main></body></html>`))

// healthz serves GET /healthz: one line per dependency (the database,
// Redis, the settings' sync), "ok" or what is wrong with it; 200 when all
// are ok, 503 naming the one that is down otherwise. A load balancer takes
// a replica out while its stores are down; logins on it are refused
// meanwhile (sso.ReasonUnavailable), never let in unchecked.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var lines, down []string
	for _, d := range a.dependencies() {
		if err := d.ping(ctx); err != nil {
			down = append(down, d.name)
			lines = append(lines, d.name+": down: "+d.desc+" cannot be reached: "+err.Error())
		} else {
			lines = append(lines, d.name+": ok")
		}
	}
	if a.sync != nil {
		st, ok := a.sync.status()
		if !ok {
			down = append(down, "settings")
		}
		lines = append(lines, "settings: "+st)
	}
	first, status := "ok", http.StatusOK
	if len(down) > 0 {
		first, status = "down: "+strings.Join(down, ", "), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, first+"\n"+strings.Join(lines, "\n")+"\n")
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

// layoutHead is the start of every page of the demo's own: the focus
// ring (#1a56db, 6.4:1 on white) is drawn outside controls, controls are
// at least 44px tall (checkboxes and radios 24px, with labels that widen
// the target), and nothing is wider than a 320px screen: tables become
// cards on narrow screens and long values wrap.
const layoutHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{block "title" .}}ssokit demo{{end}}</title>
<style>
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;line-height:1.5;color:#1a1a1a;background:#f6f7f9}
main{max-width:64rem;margin:0 auto;padding:1rem 1.5rem 3rem;overflow-wrap:anywhere}
.narrow{max-width:36rem;margin:2rem auto;background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:1.5rem}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0}
h2{font-size:1.3rem;margin:0 0 .75rem}h3{font-size:1.15rem;margin:0}h4{font-size:1rem;margin:1.25rem 0 .5rem}h5{font-size:1rem;margin:.5rem 0}
a{color:#1a4fa0;text-underline-offset:2px}
code{font-family:ui-monospace,monospace;font-size:.92em;background:#eef1f5;padding:0 .25rem;border-radius:3px;overflow-wrap:anywhere}
:focus-visible{outline:3px solid #1a56db;outline-offset:2px}
section,.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
section>.card{margin:1rem 0;border-color:#c4cad4}
.top{display:flex;justify-content:space-between;flex-wrap:wrap;gap:.5rem}.top p{margin:.5rem 0}
.card-head{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem}
.pill{display:inline-block;padding:0 .6rem;border-radius:999px;background:#e0e8f5;color:#1f3b66;font-size:.85rem;font-weight:600}
.note,.hint{color:#4a5160}.hint{font-size:.93rem}
label{font-weight:600}
input[type=text],input:not([type]),input[type=email],input[type=password],select,textarea{font:inherit;min-height:44px;padding:.45rem .6rem;border:1px solid #596273;border-radius:6px;background:#fff;color:#1a1a1a;max-width:100%}
textarea{width:100%;min-height:6rem;font-family:ui-monospace,monospace;font-size:.9rem}
input[type=file]{display:block;width:100%;min-height:44px;padding:.5rem 0;font:inherit}
label+input,label+select,label+textarea{display:block;width:100%;margin-top:.25rem}
input[type=checkbox],input[type=radio]{width:24px;height:24px;margin:0 .5rem 0 0;flex:none;accent-color:#1f4e8c}
.radio,.check{display:flex;align-items:center;min-height:44px}
.radio label,.check label{font-weight:400;cursor:pointer;padding:.5rem 0}
.indent{margin-left:2rem;width:calc(100% - 2rem)}
fieldset{border:1px solid #d8dce3;border-radius:6px;margin:0 0 1rem;padding:.5rem 1rem}legend{font-weight:600;padding:0 .25rem}
button,.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;padding:.45rem 1.1rem;font:inherit;font-weight:600;border-radius:6px;border:2px solid #1f4e8c;background:#1f4e8c;color:#fff;cursor:pointer;text-decoration:none;text-align:center}
button.secondary,.button.secondary{background:#fff;color:#1f4e8c}
button[hidden]{display:none}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.75rem 0}.actions form{margin:0;display:flex;flex-wrap:wrap;gap:.5rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}.row input{flex:1 1 14rem}
.inline-form{margin-top:.75rem}
input[aria-invalid=true],textarea[aria-invalid=true]{border:2px solid #b42318}
.field-error{color:#b42318;font-weight:600;margin:.25rem 0}
.notice{padding:.75rem 1rem;border:1px solid;border-left-width:6px;border-radius:6px;margin:.75rem 0}
.notice p{margin:.25rem 0}.notice-title{font-weight:700}
.notice-ok{border-color:#067647;background:#ecfdf3;color:#054f31}
.notice-bad{border-color:#b42318;background:#fef3f2;color:#7a271a}
.fixes{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.5rem}.fixes form{margin:0}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:999px;font-size:.85rem;font-weight:600;border:1px solid}
.badge-ok{background:#ecfdf3;color:#054f31;border-color:#067647}
.badge-warn{background:#fffaeb;color:#7a2e0e;border-color:#b54708}
.badge-bad{background:#fef3f2;color:#7a271a;border-color:#b42318}
.badge-info{background:#eef1f5;color:#2f3643;border-color:#8a93a3}
.stepper{list-style:none;display:flex;flex-wrap:wrap;gap:.5rem;padding:0;margin:.5rem 0;counter-reset:step}
.stepper li{flex:1 1 10rem;border:2px solid #c4cad4;border-radius:6px;padding:.4rem .6rem;counter-increment:step}
.stepper li .step-label{display:block;font-weight:700}.stepper li .step-label::before{content:counter(step) ". "}
.stepper li.done{border-color:#067647;background:#ecfdf3}
.stepper li.now{border-color:#1f4e8c;background:#e0e8f5}
.checks{list-style:none;padding:0;margin:.25rem 0}
.checks li{position:relative;padding:.3rem 0 .3rem 2rem;border-bottom:1px solid #eef0f3}
.checks li::before{position:absolute;left:0;top:.3rem;width:1.5rem;text-align:center;font-weight:700}
.checks li.ok::before{content:"✓";color:#067647}.checks li.bad::before{content:"✗";color:#b42318}.checks li.warn::before{content:"!";color:#b54708}
details{margin:.75rem 0}summary{cursor:pointer;min-height:44px;display:flex;align-items:center;font-weight:600;color:#1a4fa0}
details.guide{margin:.25rem 0 .25rem 1rem}
dl.values{margin:.5rem 0}dl.values>div{display:grid;grid-template-columns:minmax(10rem,16rem) 1fr;gap:.5rem;padding:.4rem 0;border-bottom:1px solid #eef0f3}
dl.values dt{font-weight:600}dl.values dd{margin:0;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
dl.values code.value{user-select:all;flex:1 1 16rem}
button.copy{min-height:44px;padding:.2rem .8rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;table-layout:fixed}
th,td{border-bottom:1px solid #d8dce3;padding:.4rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:#eef1f5}
tr.changed th,tr.changed td{background:#fffaeb}
table.compare code{white-space:pre-wrap}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}.filters>div{flex:1 1 10rem}
.filters .filter-buttons{flex:0 0 auto;display:flex;gap:.75rem;align-items:center}
.filters label{display:block}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:44rem){
main{padding:.5rem .75rem 2rem}
section,.card{padding:.75rem}
dl.values>div{grid-template-columns:1fr}
table.cards thead,table.events thead,table.compare thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards,table.cards tbody,table.cards tr,table.cards td,table.events,table.events tbody,table.events tr,table.events td,table.compare,table.compare tbody,table.compare tr,table.compare th,table.compare td{display:block;width:100%}
table.cards tr,table.events tr,table.compare tr{border:1px solid #d8dce3;border-radius:6px;margin:.5rem 0;padding:.25rem .5rem}
table.cards td,table.events td,table.compare td{border:0;padding:.2rem 0}
table.cards td[data-label]::before,table.events td[data-label]::before{content:attr(data-label) ": ";font-weight:600;color:#4a5160}
}
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
<div class="actions">{{range .Admin}}<a class="button" href="/admin/{{.}}" id="admin-{{.}}">Administer {{.}}</a>{{end}}
<form method="post" action="/logout" id="logout-form"><button type="submit" id="logout" class="secondary">Log out</button></form></div>
<p><a href="/me" id="me-link">/me as JSON</a></p>
{{if .IdPLogoutURL}}<p><a href="{{.IdPLogoutURL}}" id="idp-logout">Log out at the identity provider</a>: it sends its own single logout request here, which ends every session of this identity.</p>{{end}}
</section>{{else}}<div class="actions"><a class="button" href="/login" id="login-link">Log in</a></div><p>With an email address (and password), or with an organisation's <a href="/login/sso">SSO domain</a>. <a href="/me">/me</a> answers 401 until you do.</p>{{end}}

<p class="note">An application embedding ssokit: every account below stands for a customer of one of five kinds of business application, with its own identity provider and login policy.
{{if .Mocks}}The identity providers are built in: a SAML IdP at <a href="{{.MockSAML}}">{{.MockSAML}}</a>, an OpenID provider at <code>{{.MockOIDC}}</code> and an LDAP directory at <code>{{.MockLDAP}}</code>, on 127.0.0.1 while the application is on localhost, so the identity provider is another site as in real life.{{end}}</p>

{{range .Accounts}}<section aria-labelledby="acct-{{.ID}}"><h2 id="acct-{{.ID}}">{{.Name}} <small>({{.ID}}, {{.Mode}})</small></h2>
{{if .Comment}}<p>{{.Comment}}</p>{{end}}
<p>Email domains: {{join .Domains}}.{{range .Aliases}} SSO domain: <a href="/login/sso/{{.}}">/login/sso/{{.}}</a>.{{end}}</p>
<table class="cards"><thead><tr><th scope="col">Connection</th><th scope="col">Protocol</th><th scope="col">Stage</th><th scope="col">IdP-initiated</th></tr></thead><tbody>
{{range .Connections}}<tr><td data-label="Connection">{{.DisplayName}} <code>{{.ID}}</code>{{if .Module}} (SSOModule {{.Module}}){{end}}</td><td data-label="Protocol">{{.Protocol}}</td><td data-label="Stage">{{.Stage}}</td><td data-label="IdP-initiated">{{if .IdPStartURL}}<a href="{{.IdPStartURL}}" id="idp-start-{{.ID}}">start at the IdP</a>{{else}}—{{end}}</td></tr>
{{end}}</tbody></table>
{{if .Users}}<table class="cards"><thead><tr><th scope="col">Test user</th><th scope="col">Application password</th><th scope="col">What it shows</th></tr></thead><tbody>
{{range .Users}}<tr><td data-label="Test user"><a href="{{loginURL .Email}}">{{.Email}}</a></td><td data-label="Password">{{if .Password}}<code>{{reveal .Password}}</code>{{else}}—{{end}}</td><td data-label="What it shows">{{.Comment}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>{{end}}

{{if .IdPUsers}}<section aria-labelledby="idp-users"><h2 id="idp-users">People at the mock identity providers</h2>
<table class="cards"><thead><tr><th scope="col">Identity provider</th><th scope="col">Email</th><th scope="col">IdP password</th><th scope="col">Note</th></tr></thead><tbody>
{{range .IdPUsers}}<tr><td data-label="Identity provider">{{.Protocol}}</td><td data-label="Email">{{.Email}}</td><td data-label="IdP password">{{if .Password}}<code>{{.Password}}</code>{{else}}(pick on its page){{end}}</td><td data-label="Note">{{.Note}}</td></tr>
{{end}}</tbody></table></section>{{end}}
</main></body></html>`))
