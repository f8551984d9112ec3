package demoapp

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
)

// The admin page of an account: what a host application's SSO settings
// screen needs. Only administrators of the account whose current login
// grants it may use it. Its changes take effect at once and are kept in
// the database (see settings.go), so a restart with the same -db keeps
// them.

const maxMetadataUpload = 4 << 20

type adminData struct {
	ID, Name    string
	Me          string
	Policy      policy.Policy
	Message     string
	Error       string
	Connections []adminConn
	SAMLConns   []string
	Report      *saml.Report
	ReportXML   string
	WouldRefuse []string
	Events      []sso.Event
}

type adminConn struct {
	ID, DisplayName string
	Protocol        sso.Protocol
	Stage           policy.Stage
	TestUsers       string
	LiveAt          time.Time
	LiveBy          string
	SPMetadataURL   string
	TestLoginURL    string
	IdP             string
	Certificates    []saml.CertificateInfo
}

// admin returns the account if the request may administer it, or writes
// the refusal.
func (a *App) admin(w http.ResponseWriter, r *http.Request) (policy.Policy, bool) {
	id := r.PathValue("account")
	pol, ok := a.reg.Policy(id)
	if !ok {
		http.NotFound(w, r)
		return policy.Policy{}, false
	}
	if !a.canAdminister(r, id) {
		if a.host.current(r) == nil {
			http.Redirect(w, r, a.login.LoginURL("/admin/"+id), http.StatusSeeOther)
			return policy.Policy{}, false
		}
		http.Error(w, "Only administrators of "+id+" who logged in to it may see this page.", http.StatusForbidden)
		return policy.Policy{}, false
	}
	return pol, true
}

func (a *App) adminPage(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.admin(w, r)
	if !ok {
		return
	}
	a.renderAdmin(w, r, pol, http.StatusOK, &adminData{})
}

func (a *App) renderAdmin(w http.ResponseWriter, r *http.Request, pol policy.Policy, status int, d *adminData) {
	ctx := r.Context()
	d.ID, d.Policy = pol.Account, pol
	if ac := a.accounts[pol.Account]; ac != nil {
		d.Name = ac.Name
	}
	if s := a.host.current(r); s != nil {
		d.Me = s.Result.Email
	}
	a.mu.Lock()
	for _, pc := range pol.Connections {
		ci := a.connOf[pc.ID]
		if ci == nil {
			continue
		}
		c := adminConn{ID: pc.ID, DisplayName: ci.cfg.DisplayName, Protocol: ci.cfg.Protocol, Stage: pc.Stage, TestUsers: strings.Join(pc.TestUserEmails, ", "),
			LiveAt: pc.LiveAt, LiveBy: pc.LiveBy, TestLoginURL: a.login.TestLoginURL(pc.ID, "/admin/"+pol.Account)}
		switch auth := ci.auth.(type) {
		case *saml.ServiceProvider:
			info := auth.IdP()
			c.SPMetadataURL = a.login.MetadataURL(pc.ID) + "?download"
			c.IdP = info.EntityID + " (SSO " + info.SSO.Location + ")"
			c.Certificates = info.Certificates
			d.SAMLConns = append(d.SAMLConns, pc.ID)
		default:
			if ci.cfg.OIDC != nil {
				c.IdP = ci.cfg.OIDC.Issuer
			}
			if ci.cfg.LDAP != nil {
				c.IdP = strings.Join(ci.cfg.LDAP.URLs, ", ")
			}
		}
		d.Connections = append(d.Connections, c)
	}
	a.mu.Unlock()
	if pol.Mode != policy.ModePasswordOnly {
		enforced := pol
		enforced.Mode, enforced.DryRun = policy.ModeSSORequired, false
		var users []policy.User
		emails := map[string]string{}
		for _, id := range a.host.knownUsers(ctx, pol.Account) {
			if a.membership(ctx, id, pol.Account) == nil {
				continue
			}
			if f, err := a.users.Facts(ctx, id, pol.Account); err == nil {
				users = append(users, f)
				emails[id] = f.Email
			}
		}
		if ds, err := policy.WouldRefuse(enforced, users); err == nil {
			for _, dd := range ds {
				d.WouldRefuse = append(d.WouldRefuse, emails[dd.User])
			}
			sort.Strings(d.WouldRefuse)
		}
	}
	d.Events, _ = a.store.Recent(ctx, pol.Account, 30)
	a.render(w, status, adminTmpl, d)
}

// adminPolicy serves POST /admin/{account}/policy: the policy form, checked
// by policy.Update, which refuses changes that would lock every
// administrator out.
func (a *App) adminPolicy(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.admin(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	next := pol
	next.Mode = policy.Mode(f.Get("mode"))
	next.Scope = policy.Scope{Kind: policy.ScopeKind(f.Get("scope_kind"))}
	vals := splitList(f.Get("scope_values"))
	switch next.Scope.Kind {
	case policy.ScopeEmailDomains:
		next.Scope.Domains = vals
	case policy.ScopeRoles:
		next.Scope.Roles = vals
	}
	next.AdminsMayUsePassword = f.Get("admins_may_use_password") == "1"
	next.DryRun = f.Get("dry_run") == "1"
	next.Connections = nil
	for _, pc := range pol.Connections {
		pc.Stage = policy.Stage(f.Get("stage." + pc.ID))
		pc.TestUserEmails = splitList(f.Get("test_users." + pc.ID))
		next.Connections = append(next.Connections, pc)
	}
	var admins []policyUser
	for _, id := range a.host.knownUsers(ctx, pol.Account) {
		if facts, err := a.users.Facts(ctx, id, pol.Account); err == nil && facts.Admin {
			admins = append(admins, facts)
		}
	}
	s := a.host.current(r)
	// One change at a time, each checked against the policy it replaces.
	a.mu.Lock()
	if cur, ok := a.reg.Policy(pol.Account); ok {
		pol = cur
	}
	stored, change, err := policy.Update(pol, next, admins, s.Result.Email, time.Now())
	if err == nil {
		err = stored.Validate()
	}
	// Kept in the database first, so that what runs is never what a
	// restart would lose.
	if err == nil && !change.Empty() {
		if perr := a.settings.putPolicy(ctx, stored); perr != nil {
			err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonInternal, Detail: "the policy could not be saved in the database: " + perr.Error()}
		}
	}
	if err == nil {
		err = a.reg.SetPolicy(pol.Account, stored)
	}
	a.mu.Unlock()
	if err != nil {
		msg := err.Error()
		var se *sso.Error
		if errors.As(err, &se) {
			msg = se.Detail
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			var parts []string
			for _, e := range j.Unwrap() {
				if errors.As(e, &se) {
					parts = append(parts, se.Detail)
				}
			}
			msg = strings.Join(parts, " ")
		}
		// A refused change is part of the account's audit trail too.
		a.events(ctx, sso.Event{Type: sso.EventPolicyChanged, Time: time.Now(), Account: pol.Account, User: s.Result.User,
			Reason: sso.ReasonOf(err), Detail: "refused: " + msg})
		a.renderAdmin(w, r, pol, http.StatusConflict, &adminData{Error: "Not saved (" + string(sso.ReasonOf(err)) + "): " + msg})
		return
	}
	for _, e := range change.Events() {
		a.events(ctx, e)
	}
	msg := "Saved."
	if change.Empty() {
		msg = "Nothing changed."
	} else if len(change.Summary) > 0 {
		msg = "Saved: " + strings.Join(change.Summary, "; ") + "."
	}
	a.renderAdmin(w, r, stored, http.StatusOK, &adminData{Message: msg})
}

type policyUser = policy.User

func splitList(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// adminMetadata serves POST /admin/{account}/metadata: pasted or uploaded
// IdP metadata gets the compatibility report; with action=apply and a
// report without errors it replaces the IdP of one of the account's SAML
// connections at once (logins in flight finish with the old one).
func (a *App) adminMetadata(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.admin(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxMetadataUpload+64<<10)
	var data []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(maxMetadataUpload); err != nil {
			a.renderAdmin(w, r, pol, http.StatusRequestEntityTooLarge, &adminData{Error: "The upload is too large or malformed (at most 4 MiB)."})
			return
		}
		if f, _, err := r.FormFile("file"); err == nil {
			data, _ = io.ReadAll(io.LimitReader(f, maxMetadataUpload))
			f.Close()
		}
	} else if err := r.ParseForm(); err != nil {
		a.renderAdmin(w, r, pol, http.StatusRequestEntityTooLarge, &adminData{Error: "The metadata is too large (at most 4 MiB)."})
		return
	}
	if len(data) == 0 {
		data = []byte(strings.TrimSpace(r.PostFormValue("metadata")))
	}
	if len(data) == 0 {
		a.renderAdmin(w, r, pol, http.StatusBadRequest, &adminData{Error: "Paste the IdP's metadata XML or choose a file."})
		return
	}
	report := saml.CheckMetadata(data, saml.CheckOptions{})
	d := &adminData{Report: report, ReportXML: string(data)}
	if r.PostFormValue("action") != "apply" {
		a.renderAdmin(w, r, pol, http.StatusOK, d)
		return
	}
	conn := r.PostFormValue("connection")
	if !report.OK() {
		d.Error = "Not applied: the metadata has errors (see the report)."
		a.renderAdmin(w, r, pol, http.StatusUnprocessableEntity, d)
		return
	}
	a.mu.Lock()
	ci := a.connOf[conn]
	if ci == nil || ci.account != pol.Account || ci.cfg.Protocol != sso.ProtocolSAML {
		a.mu.Unlock()
		d.Error = "Choose one of this account's SAML connections."
		a.renderAdmin(w, r, pol, http.StatusBadRequest, d)
		return
	}
	sc := ci.samlCfg
	sc.IdPMetadataURL, sc.IdPEntityID, sc.IdPMetadataXML = "", "", data
	sp, err := saml.New(ctx, sc)
	if err != nil {
		a.mu.Unlock()
		d.Error = "Not applied: " + err.Error()
		a.renderAdmin(w, r, pol, http.StatusUnprocessableEntity, d)
		return
	}
	// Kept in the database first; put back if the change cannot be made.
	prev, err := a.settings.get(ctx, metadataKeyPrefix+conn)
	if err == nil {
		err = a.settings.put(ctx, metadataKeyPrefix+conn, data)
	}
	if err != nil {
		a.mu.Unlock()
		_ = sp.Close()
		d.Error = "Not applied: the database did not take the metadata: " + err.Error()
		a.renderAdmin(w, r, pol, http.StatusInternalServerError, d)
		return
	}
	entry, _, _ := a.reg.Connection(conn)
	entry.Authenticator = sp
	prevConn, _, err := a.reg.SetConnection(ci.account, entry)
	if err == nil {
		nci := *ci
		nci.auth, nci.samlCfg = sp, sc
		a.connOf[conn] = &nci
	} else {
		_ = a.settings.put(ctx, metadataKeyPrefix+conn, prev)
	}
	a.mu.Unlock()
	if err != nil {
		_ = sp.Close()
		d.Error = "Not applied: " + err.Error()
		a.renderAdmin(w, r, pol, http.StatusInternalServerError, d)
		return
	}
	if c, ok := prevConn.Authenticator.(io.Closer); ok {
		_ = c.Close()
	}
	a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: conn,
		Detail: "IdP metadata replaced from the admin page", Attrs: map[string]string{"idp_entity_id": sp.IdP().EntityID}})
	d.Message = "Applied to " + conn + ": its IdP is now " + sp.IdP().EntityID + ". Run a test login."
	d.ReportXML = ""
	a.renderAdmin(w, r, pol, http.StatusOK, d)
}

var adminTmpl = template.Must(template.New("admin").Funcs(funcs).Parse(layoutHead + `
<h1>Single sign-on settings: {{.Name}} <small>({{.ID}})</small></h1>
<p><a href="/">Start page</a> · logged in as {{.Me}}</p>
{{if .Message}}<p class="message" id="admin-message" role="status">{{.Message}}</p>{{end}}
{{if .Error}}<p class="message" id="admin-error" role="alert">{{.Error}}</p>{{end}}

<section aria-labelledby="conns"><h2 id="conns">Connections</h2>
<table><thead><tr><th scope="col">Connection</th><th scope="col">Protocol</th><th scope="col">Stage</th><th scope="col">Identity provider</th><th scope="col">Actions</th></tr></thead><tbody>
{{range .Connections}}<tr><td>{{.DisplayName}}<br><code>{{.ID}}</code></td><td>{{.Protocol}}</td>
<td>{{.Stage}}{{if .TestUsers}}<br>test users: {{.TestUsers}}{{end}}{{if not .LiveAt.IsZero}}<br>live since {{since .LiveAt}} by {{.LiveBy}}{{end}}</td>
<td>{{.IdP}}{{range .Certificates}}<br><small>certificate {{.}}</small>{{end}}</td>
<td><a href="{{.TestLoginURL}}" id="test-login-{{.ID}}">Run a test login</a>{{if .SPMetadataURL}}<br><a href="{{.SPMetadataURL}}" id="sp-metadata-{{.ID}}">Download SP metadata</a>{{end}}</td></tr>
{{end}}</tbody></table></section>

<section aria-labelledby="policy"><h2 id="policy">Login policy</h2>
<form method="post" action="/admin/{{.ID}}/policy" id="policy-form">
<p><label for="mode">Mode</label>
<select id="mode" name="mode">
<option value="password_only"{{if eq .Policy.Mode "password_only" ""}} selected{{end}}>Passwords only</option>
<option value="sso_optional"{{if eq .Policy.Mode "sso_optional"}} selected{{end}}>Single sign-on optional</option>
<option value="sso_required"{{if eq .Policy.Mode "sso_required"}} selected{{end}}>Single sign-on required</option>
</select></p>
<p><label for="scope_kind">Required for</label>
<select id="scope_kind" name="scope_kind">
<option value="all_users"{{if eq .Policy.Scope.Kind "" "all_users"}} selected{{end}}>all users</option>
<option value="email_domains"{{if eq .Policy.Scope.Kind "email_domains"}} selected{{end}}>users with these email domains</option>
<option value="roles"{{if eq .Policy.Scope.Kind "roles"}} selected{{end}}>users with these roles</option>
</select>
<label for="scope_values">Domains or roles (comma-separated)</label>
<input id="scope_values" name="scope_values" value="{{join .Policy.Scope.Domains}}{{join .Policy.Scope.Roles}}"></p>
<p><input type="checkbox" id="admins_may_use_password" name="admins_may_use_password" value="1"{{if .Policy.AdminsMayUsePassword}} checked{{end}}>
<label for="admins_may_use_password">Account administrators can log in with password</label> <span class="note">(keeps a broken identity provider from locking you out)</span></p>
<p><input type="checkbox" id="dry_run" name="dry_run" value="1"{{if .Policy.DryRun}} checked{{end}}>
<label for="dry_run">Dry run: only report the passwords single sign-on would refuse</label></p>
{{range .Policy.Connections}}<fieldset><legend>Connection <code>{{.ID}}</code></legend>
<label for="stage.{{.ID}}">Stage</label>
<select id="stage.{{.ID}}" name="stage.{{.ID}}">
<option value="draft"{{if eq .Stage "draft" ""}} selected{{end}}>draft</option>
<option value="testing"{{if eq .Stage "testing"}} selected{{end}}>testing</option>
<option value="live"{{if eq .Stage "live"}} selected{{end}}>live</option>
</select>
<label for="test_users.{{.ID}}">Test users (emails)</label>
<input id="test_users.{{.ID}}" name="test_users.{{.ID}}" value="{{join .TestUserEmails}}">
</fieldset>{{end}}
<p><button type="submit" id="policy-save">Save policy</button></p>
</form>
{{if .WouldRefuse}}<p>If single sign-on were required for the scope above, these people's passwords would be refused: {{join .WouldRefuse}}.</p>{{end}}
</section>

<section aria-labelledby="md"><h2 id="md">Identity provider metadata</h2>
<form method="post" action="/admin/{{.ID}}/metadata" enctype="multipart/form-data" id="metadata-form">
<p><label for="metadata">Paste the IdP's metadata XML</label><br>
<textarea id="metadata" name="metadata" rows="6" cols="80">{{.ReportXML}}</textarea></p>
<p><label for="file">or upload the file</label> <input type="file" id="file" name="file" accept=".xml,application/xml,application/samlmetadata+xml"></p>
<p><button type="submit" name="action" value="check" id="metadata-check">Check compatibility</button>
{{if .SAMLConns}}<label for="connection">and apply to</label> <select id="connection" name="connection">{{range .SAMLConns}}<option>{{.}}</option>{{end}}</select>
<button type="submit" name="action" value="apply" id="metadata-apply">Check and apply</button>{{end}}</p>
</form>
{{with .Report}}<h3 id="report">Compatibility report</h3>
<p>{{if .OK}}<span class="ok">Compatible.</span>{{else}}<span class="bad">Not compatible.</span>{{end}} Entity ID <code>{{.EntityID}}</code>.</p>
<ul>{{range .SSO}}<li>single sign-on: {{.Binding}} {{.Location}}</li>{{end}}{{range .SLO}}<li>single logout: {{.Binding}} {{.Location}}</li>{{end}}
{{range .SigningCertificates}}<li>signing certificate {{.}}</li>{{end}}</ul>
{{if .Problems}}<table><thead><tr><th scope="col">Severity</th><th scope="col">Reason</th><th scope="col">Detail</th></tr></thead><tbody>
{{range .Problems}}<tr><td>{{.Severity}}</td><td><code>{{.Reason}}</code></td><td>{{.Detail}}</td></tr>{{end}}</tbody></table>{{end}}{{end}}
</section>

<section aria-labelledby="events"><h2 id="events">Recent login events</h2>
<table id="events-table"><thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Reason</th><th scope="col">Connection</th><th scope="col">User</th><th scope="col">Detail</th></tr></thead><tbody>
{{range .Events}}<tr><td>{{since .Time}}</td><td>{{.Type}}</td><td>{{if .Reason}}<code>{{.Reason}}</code>{{end}}</td><td>{{.Connection}}</td><td>{{.User}}{{if .Subject}} <small>{{.Subject}}</small>{{end}}</td><td>{{.Detail}}</td></tr>
{{else}}<tr><td colspan="6">No events yet.</td></tr>{{end}}</tbody></table>
</section>
</main></body></html>`))
