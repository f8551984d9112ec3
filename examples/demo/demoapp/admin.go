package demoapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/safehttp"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/oidc"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
)

// The admin page of an account: what a host application's SSO settings
// screen needs. Only administrators of the account whose current login
// grants it may use it. One card per connection says what to enter at the
// identity provider, where the connection stands (draft, testing, live)
// and what is still missing before it goes live; new IdP metadata goes to
// the connection's candidate (login.Connection.Candidate), which only test
// logins use, and is promoted once a test login through it passed. The
// login method and each connection's stage are saved separately. Changes
// are kept in the database (see settings.go).

const maxMetadataUpload = 4 << 20

// candidateKeyPrefix + connection ID: the IdP metadata XML of the
// connection's candidate, kept in demo_settings until it is promoted or
// discarded.
const candidateKeyPrefix = "idp_metadata_candidate/"

type adminData struct {
	ID, Name string
	Me       string
	Policy   policy.Policy
	// Notice is the answer to the last change; its Section says where it
	// shows ("policy", or a connection ID).
	Notice *notice
	// Form is what the login method form shows: the policy, or what was
	// submitted when a change was refused.
	Form        policyForm
	Connections []*adminConn
	// WouldRefuse lists whose passwords single sign-on would refuse, shown
	// while it is optional or a dry run.
	WouldRefuse     []string
	ShowWouldRefuse bool
	Events          []eventRow
	EventsTotal     int
	Filter          eventFilter
	ConnOptions     []option
	// Add is the "Add a connection" form.
	Add *addForm
}

// notice is a success (green) or a refusal (red) with the fixes it offers.
type notice struct {
	OK      bool
	Section string
	Title   string
	Lines   []string
	Fixes   []fix
}

// fix is one way out of a refusal: a form that submits the change again
// with one thing different, or a link.
type fix struct {
	Label  string
	Action string
	Link   string
	Fields []field
}

type field struct{ Name, Value string }

// policyForm holds the values of the login method form.
type policyForm struct {
	Mode, ScopeKind, Domains, Roles string
	BreakGlass, DryRun              bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type adminConn struct {
	ID, DisplayName string
	Protocol        sso.Protocol
	ProtocolLabel   string
	Stage           policy.Stage
	Steps           []stageStep
	TestUsers       string
	LiveAt          time.Time
	LiveBy          string
	TestLoginURL    string
	// Removable: added on the admin page, so it can be removed there.
	Removable     bool
	SPMetadataURL string
	Setup         []setupValue
	SetupNote     string
	Guides        []guide
	IdP           []setupValue
	Certificates  []certBadge
	// KeyOfLastLogin names the provider key (OpenID Connect kid) that
	// signed the latest login, and KeyOfLastLoginAgo when.
	KeyOfLastLogin, KeyOfLastLoginAgo string
	Checklist                         []checkItem
	Ready                             bool
	// SAML connections: the metadata form, its report and the candidate.
	SAML      bool
	Report    *saml.Report
	ReportXML string
	Candidate *candidateView
	// Ops is what an operator needs: SP keys, held-back metadata,
	// networks, landing page, the last day's logins.
	Ops opsView
}

type stageStep struct {
	Label       string
	Done, Now   bool
	Stage       policy.Stage
	Description string
}

type setupValue struct {
	Label, Value, ID, Hint string
}

type guide struct {
	Name, URL string
	Steps     []string
}

type certBadge struct {
	Subject, SHA1, SHA256, Text, Class string
	NotAfter                           time.Time
	// SignedLast is the time of the latest login this certificate signed,
	// when it signed the connection's latest login (zero otherwise).
	SignedLast    time.Time
	SignedLastAgo string
}

type checkItem struct {
	Label, Detail, State string
}

type candidateView struct {
	Compare     []compareRow
	Saved       time.Time
	TestURL     string
	Passed      bool
	PassedAt    time.Time
	FailedTests int
}

type compareRow struct {
	Label, Before, After string
	Changed              bool
}

// admin returns the account's policy if the request may administer it, or
// writes the login redirect or the refusal page.
func (a *App) admin(w http.ResponseWriter, r *http.Request) (policy.Policy, bool) {
	id := r.PathValue("account")
	pol, ok := a.reg.Policy(id)
	if !ok {
		a.renderProblem(w, r, http.StatusNotFound, "No such account", "There is no account "+id+" here.")
		return policy.Policy{}, false
	}
	if !a.canAdminister(r, id) {
		if a.host.current(r) == nil {
			http.Redirect(w, r, a.login.LoginURL("/admin/"+id), http.StatusSeeOther)
			return policy.Policy{}, false
		}
		name := id
		if ac := a.accounts[id]; ac != nil && ac.Name != "" {
			name = ac.Name
		}
		a.renderForbidden(w, r, id, name)
		return policy.Policy{}, false
	}
	return pol, true
}

// adminForm is admin for a POST of a small form: it also parses the
// form (at most 64 KiB) into r.PostForm, answering 400 when it cannot.
func (a *App) adminForm(w http.ResponseWriter, r *http.Request) (policy.Policy, bool) {
	pol, ok := a.admin(w, r)
	if !ok {
		return pol, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return pol, false
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

func formOf(p policy.Policy) policyForm {
	f := policyForm{Mode: string(p.Mode), ScopeKind: string(p.Scope.Kind), Domains: strings.Join(p.Scope.Domains, ", "),
		Roles: strings.Join(p.Scope.Roles, ", "), BreakGlass: p.AdminsMayUsePassword, DryRun: p.DryRun}
	if f.Mode == "" {
		f.Mode = string(policy.ModePasswordOnly)
	}
	if f.ScopeKind == "" {
		f.ScopeKind = string(policy.ScopeAllUsers)
	}
	return f
}

func (a *App) renderAdmin(w http.ResponseWriter, r *http.Request, pol policy.Policy, status int, d *adminData) {
	ctx := r.Context()
	d.ID, d.Policy = pol.Account, pol
	if d.Form.Mode == "" {
		d.Form = formOf(pol)
	}
	if d.Add == nil {
		d.Add = &addForm{Protocol: string(sso.ProtocolSAML)}
	}
	ac := a.accounts[pol.Account]
	if ac != nil {
		d.Name = ac.Name
	}
	if s := a.host.current(r); s != nil {
		d.Me = s.Result.Email
	}
	a.loadCandidates(ctx, pol)
	recent, _ := a.store.Recent(ctx, pol.Account, 1000)
	keep := map[string]*adminConn{}
	for _, c := range d.Connections {
		keep[c.ID] = c // a connection's report from the metadata form
	}
	d.Connections = nil
	a.mu.Lock()
	for _, pc := range pol.Connections {
		ci := a.connOf[pc.ID]
		if ci == nil {
			continue
		}
		c := &adminConn{ID: pc.ID, DisplayName: ci.cfg.DisplayName, Protocol: ci.cfg.Protocol, ProtocolLabel: protocolLabel(ci.cfg.Protocol),
			Stage: stageOf(pc), TestUsers: strings.Join(pc.TestUserEmails, ", "), LiveAt: pc.LiveAt, LiveBy: pc.LiveBy,
			TestLoginURL: a.login.TestLoginURL(pc.ID, "/admin/"+pol.Account), Removable: ci.added()}
		if k := keep[pc.ID]; k != nil {
			c.Report, c.ReportXML = k.Report, k.ReportXML
		}
		a.describeConnection(c, ci, ac)
		markLastSigner(c, recent, time.Now())
		a.describeOps(c, ci, pol.Account)
		d.Connections = append(d.Connections, c)
	}
	a.mu.Unlock()
	health := a.loginHealth(ctx, pol.Account, time.Now())
	for _, c := range d.Connections {
		c.Ops.Health = health[c.ID]
	}
	for _, c := range d.Connections {
		a.checklist(c, pol, ac, recent)
		if c.SAML {
			a.candidateOf(ctx, c, pol.Account, recent)
		}
		d.ConnOptions = append(d.ConnOptions, option{Value: c.ID, Label: c.DisplayName})
	}
	if pol.Mode != policy.ModePasswordOnly && (pol.Mode != policy.ModeSSORequired || pol.DryRun) {
		d.ShowWouldRefuse = true
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
	d.Filter = filterOf(r.URL.Query())
	for i := range d.ConnOptions {
		d.ConnOptions[i].Selected = d.ConnOptions[i].Value == d.Filter.Connection
	}
	d.Events, d.EventsTotal = a.eventRows(ctx, recent, d.Filter, time.Now())
	a.renderWith(w, status, adminTmpl, d, adminCSP)
}

func protocolLabel(p sso.Protocol) string {
	switch p {
	case sso.ProtocolSAML:
		return "SAML 2.0"
	case sso.ProtocolOIDC:
		return "OpenID Connect"
	case sso.ProtocolLDAP:
		return "LDAP directory"
	}
	return string(p)
}

func stageOf(pc policy.Connection) policy.Stage {
	if pc.Stage == "" {
		return policy.StageDraft
	}
	return pc.Stage
}

// describeConnection fills what to enter at the identity provider, the
// guides, what the connection knows of its identity provider and its
// stage stepper. a.mu is held.
func (a *App) describeConnection(c *adminConn, ci *connInfo, ac *AccountConfig) {
	steps := []stageStep{
		{Label: "Draft", Stage: policy.StageDraft, Description: "Nobody is offered it; administrators can run test logins."},
		{Label: "Testing", Stage: policy.StageTesting, Description: "Offered only to its test users."},
		{Label: "Live", Stage: policy.StageLive, Description: "Offered to everyone at the account's domains."},
	}
	reached := true
	for i := range steps {
		steps[i].Now = steps[i].Stage == c.Stage
		steps[i].Done = reached && !steps[i].Now
		if steps[i].Now {
			reached = false
		}
	}
	c.Steps = steps
	id := c.ID
	signOn := ""
	if ac != nil && len(ac.Aliases) > 0 {
		signOn = a.baseURL + a.login.DomainLoginURL(ac.Aliases[0], "")
	}
	switch auth := ci.auth.(type) {
	case *saml.ServiceProvider:
		c.SAML = true
		c.SPMetadataURL = a.login.MetadataURL(id) + "?download"
		sc := ci.samlCfg
		attrs := sc.Attributes.Or(saml.DefaultAttributes)
		nameID := sc.NameIDFormat
		if nameID == "" {
			nameID = saml.NameIDFormatEmailAddress
		}
		c.Setup = []setupValue{
			{Label: "Entity ID (Audience, Identifier)", Value: auth.EntityID(), ID: "entity-id"},
			{Label: "ACS URL (Reply URL, Single sign-on URL)", Value: auth.ACSURL(), ID: "acs-url"},
		}
		if sc.SLOURL != "" {
			c.Setup = append(c.Setup, setupValue{Label: "Single logout URL", Value: sc.SLOURL, ID: "slo-url"})
		}
		c.Setup = append(c.Setup,
			setupValue{Label: "NameID format", Value: nameID, ID: "nameid-format"},
			setupValue{Label: "Email attribute", Value: first(attrs.Email), ID: "attr-email", Hint: "Also read: " + strings.Join(rest(attrs.Email), ", ")},
			setupValue{Label: "First name attribute", Value: first(attrs.GivenName), ID: "attr-given"},
			setupValue{Label: "Last name attribute", Value: first(attrs.FamilyName), ID: "attr-family"},
			setupValue{Label: "SP metadata URL (for IdPs that import it)", Value: a.baseURL + a.login.MetadataURL(id), ID: "metadata-url"},
		)
		if signOn != "" {
			c.Setup = append(c.Setup, setupValue{Label: "Sign-on URL (for the IdP's app tile)", Value: signOn, ID: "sign-on-url"})
		}
		c.Guides = samlGuides
		info := auth.IdP()
		c.IdP = []setupValue{{Label: "IdP entity ID", Value: info.EntityID}, {Label: "IdP sign-in URL", Value: info.SSO.Location}}
		if info.MetadataURL != "" {
			c.IdP = append(c.IdP, setupValue{Label: "Metadata fetched from", Value: info.MetadataURL})
		}
		now := time.Now()
		for _, cert := range info.Certificates {
			c.Certificates = append(c.Certificates, badgeOf(cert, now))
		}
	case *oidc.Connection:
		c.Setup = []setupValue{{Label: "Redirect URI (callback)", Value: auth.Endpoints().Callback, ID: "redirect-uri"}}
		if u := auth.PostLogoutRedirectURL(); u != "" {
			c.Setup = append(c.Setup, setupValue{Label: "Post-logout redirect URI", Value: u, ID: "post-logout-uri"})
		}
		c.Setup = append(c.Setup, setupValue{Label: "Scopes", Value: "openid email profile", ID: "scopes"})
		if signOn != "" {
			c.Setup = append(c.Setup, setupValue{Label: "Initiate login URI (sign-on URL)", Value: signOn, ID: "sign-on-url"})
		}
		c.Guides = oidcGuides
		if ci.cfg.OIDC != nil {
			c.IdP = []setupValue{{Label: "Issuer", Value: ci.cfg.OIDC.Issuer}, {Label: "Client ID", Value: ci.cfg.OIDC.ClientID}}
		}
	default:
		c.SetupNote = "Nothing to enter at the directory: the application connects to it and looks people up as its service account. Allow connections from this server to the directory's address."
		c.Guides = ldapGuides
		if l := ci.cfg.LDAP; l != nil {
			c.IdP = []setupValue{{Label: "Directory URLs", Value: strings.Join(l.URLs, ", ")}}
			if l.Search != nil {
				c.IdP = append(c.IdP, setupValue{Label: "Base DN", Value: l.Search.BaseDN}, setupValue{Label: "Service account", Value: l.Search.BindDN})
			}
		}
	}
	for i := range c.Setup {
		c.Setup[i].ID = "setup-" + id + "-" + c.Setup[i].ID
		if c.Setup[i].Hint == "Also read: " {
			c.Setup[i].Hint = ""
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func rest(s []string) []string {
	if len(s) < 2 {
		return nil
	}
	return s[1:]
}

// badgeOf describes a certificate's expiry as a badge.
func badgeOf(c saml.CertificateInfo, now time.Time) certBadge {
	b := certBadge{Subject: c.Subject, SHA1: c.SHA1, SHA256: c.SHA256, NotAfter: c.NotAfter}
	days := int(c.NotAfter.Sub(now).Hours() / 24)
	switch {
	case !now.Before(c.NotAfter):
		b.Class, b.Text = "bad", "expired "+relative(c.NotAfter, now)
	case days < 30:
		b.Class, b.Text = "warn", fmt.Sprintf("expires in %d days", days)
	default:
		b.Class, b.Text = "ok", fmt.Sprintf("valid for %d more days", days)
	}
	return b
}

// markLastSigner marks, among c's certificates, the one that signed the
// connection's latest successful login (recent is newest first), or for
// OpenID Connect names its key ID, so that during a rollover the
// administrator sees which key the IdP uses.
func markLastSigner(c *adminConn, recent []sso.Event, now time.Time) {
	for _, e := range recent {
		if e.Connection != c.ID || (e.Type != sso.EventLoginSucceeded && e.Type != sso.EventTestLogin) || e.Attrs[sso.AttrSignedBy] == "" {
			continue
		}
		for i := range c.Certificates {
			if c.Certificates[i].SHA256 == e.Attrs[sso.AttrSignedBy] {
				c.Certificates[i].SignedLast, c.Certificates[i].SignedLastAgo = e.Time, relative(e.Time, now)
			}
		}
		if c.Protocol == sso.ProtocolOIDC {
			c.KeyOfLastLogin, c.KeyOfLastLoginAgo = e.Attrs[sso.AttrSignedBy], relative(e.Time, now)
		}
		return
	}
}

// checklist fills the go-live checklist of c.
func (a *App) checklist(c *adminConn, pol policy.Policy, ac *AccountConfig, recent []sso.Event) {
	add := func(state, label, detail string) {
		c.Checklist = append(c.Checklist, checkItem{State: state, Label: label, Detail: detail})
	}
	switch {
	case c.SAML:
		state, detail := "ok", "The IdP's sign-in URL and signing certificate are known."
		if len(c.Certificates) == 0 {
			state, detail = "bad", "No signing certificate: paste the IdP's metadata below."
		}
		for _, b := range c.Certificates {
			if b.Class == "bad" {
				state, detail = "bad", "The IdP's signing certificate has expired: paste its new metadata below."
			} else if b.Class == "warn" && state == "ok" {
				state, detail = "warn", "The IdP's signing certificate "+b.Text+": ask for the new one."
			}
		}
		add(state, "IdP metadata", detail)
	case c.Protocol == sso.ProtocolOIDC:
		add("ok", "Provider settings", "Issuer, client ID and secret are configured.")
	default:
		add("ok", "Directory settings", "Directory URL and service account are configured.")
	}
	var passed, failed *sso.Event
	for i := range recent {
		e := &recent[i]
		if e.Connection != c.ID || e.Attrs[sso.AttrTest] != "true" || e.Attrs[login.AttrCandidate] == "true" {
			continue
		}
		if e.Type == sso.EventTestLogin && e.Reason == "" && passed == nil {
			passed = e
		} else if failed == nil && passed == nil {
			failed = e
		}
	}
	switch {
	case passed != nil:
		add("ok", "A test login passed", "By "+firstNonEmpty(passed.Attrs["email"], passed.Subject)+", "+relative(passed.Time, time.Now())+".")
	case failed != nil:
		add("bad", "A test login passed", "The last test login failed ("+failed.Reason.Label()+"); fix it and run another.")
	default:
		add("bad", "A test login passed", "Run a test login.")
	}
	if ac != nil {
		var unproven, unasked []string
		for _, dm := range ac.Domains {
			switch {
			case !dm.VerifiedAt.IsZero():
			case dm.ProofToken != "":
				unproven = append(unproven, dm.Name)
			default:
				unasked = append(unasked, dm.Name)
			}
		}
		switch {
		case len(unproven) > 0:
			add("bad", "Domain verified", "Publish the DNS TXT record for "+strings.Join(unproven, ", ")+".")
		case len(unasked) > 0:
			add("warn", "Domain verified", strings.Join(unasked, ", ")+" is claimed in the configuration without a DNS proof.")
		default:
			add("ok", "Domain verified", "")
		}
	}
	if pol.AdminsMayUsePassword || pol.Mode != policy.ModeSSORequired {
		add("ok", "Break-glass present", "Administrators can still log in with a password if the identity provider fails.")
	} else {
		add("warn", "Break-glass present", "Only single sign-on: if the identity provider fails, no administrator can log in. Turn on \"Account administrators can log in with a password\".")
	}
	c.Ready = true
	for _, it := range c.Checklist {
		c.Ready = c.Ready && it.State != "bad"
	}
}

// notReady returns the go-live checklist's items still to do for the
// connection conn, as "label: detail" lines.
func (a *App) notReady(ctx context.Context, pol policy.Policy, conn string) []string {
	ac := a.accounts[pol.Account]
	recent, _ := a.store.Recent(ctx, pol.Account, 1000)
	a.mu.Lock()
	ci := a.connOf[conn]
	if ci == nil {
		a.mu.Unlock()
		return []string{"Connection: " + conn + " is not configured."}
	}
	c := &adminConn{ID: conn, DisplayName: ci.cfg.DisplayName, Protocol: ci.cfg.Protocol}
	a.describeConnection(c, ci, ac)
	a.mu.Unlock()
	a.checklist(c, pol, ac, recent)
	var todo []string
	for _, it := range c.Checklist {
		if it.State == "bad" {
			todo = append(todo, it.Label+": "+it.Detail)
		}
	}
	return todo
}

// loadCandidates builds the candidates kept in the database that the
// registry does not hold (after a restart).
func (a *App) loadCandidates(ctx context.Context, pol policy.Policy) {
	for _, pc := range pol.Connections {
		if entry, _, ok := a.reg.Connection(pc.ID); !ok || entry.Candidate != nil {
			continue
		}
		xml, err := a.settings.get(ctx, candidateKeyPrefix+pc.ID)
		if err != nil || xml == nil {
			continue
		}
		a.mu.Lock()
		ci := a.connOf[pc.ID]
		if ci != nil && ci.cfg.Protocol == sso.ProtocolSAML {
			if err := a.setCandidate(ctx, ci, xml); err != nil {
				a.log.Warn("the kept candidate metadata is refused", "connection", pc.ID, "err", err)
			}
		}
		a.mu.Unlock()
	}
}

// setCandidate builds the connection's service provider with the IdP
// metadata xml and makes it the connection's candidate (nil xml: none).
// a.mu is held.
func (a *App) setCandidate(ctx context.Context, ci *connInfo, xml []byte) error {
	entry, _, ok := a.reg.Connection(ci.cfg.ID)
	if !ok {
		return errors.New("the connection is not registered")
	}
	var sp *saml.ServiceProvider
	if xml != nil {
		sc := ci.samlCfg
		sc.IdPMetadataURL, sc.IdPEntityID, sc.IdPMetadataXML = "", "", xml
		var err error
		if sp, err = saml.New(ctx, sc); err != nil {
			return err
		}
		entry.Candidate = sp
	} else {
		entry.Candidate = nil
	}
	prev, _, err := a.reg.SetConnection(ci.account, entry)
	if err != nil {
		if sp != nil {
			_ = sp.Close()
		}
		return err
	}
	a.candidates[ci.cfg.ID] = xml
	if c, ok := prev.Candidate.(io.Closer); ok && prev.Candidate != entry.Candidate {
		_ = c.Close()
	}
	return nil
}

// candidateOf fills c's candidate: the comparison with the live IdP and
// whether a test login through it passed since it was saved.
func (a *App) candidateOf(ctx context.Context, c *adminConn, account string, recent []sso.Event) {
	entry, _, ok := a.reg.Connection(c.ID)
	if !ok || entry.Candidate == nil {
		return
	}
	cand, ok1 := entry.Candidate.(*saml.ServiceProvider)
	live, ok2 := entry.Authenticator.(*saml.ServiceProvider)
	if !ok1 || !ok2 {
		return
	}
	v := &candidateView{TestURL: a.login.CandidateTestLoginURL(c.ID, "/admin/"+account)}
	for i := range recent {
		e := recent[i]
		if e.Connection == c.ID && e.Type == sso.EventConnectionChanged && e.Attrs[login.AttrCandidate] == "saved" {
			v.Saved = e.Time
			break
		}
	}
	for i := range recent {
		e := recent[i]
		if e.Connection != c.ID || e.Attrs[login.AttrCandidate] != "true" || e.Time.Before(v.Saved) {
			continue
		}
		if e.Type == sso.EventTestLogin && e.Reason == "" {
			if !v.Passed {
				v.Passed, v.PassedAt = true, e.Time
			}
		} else if !v.Passed {
			v.FailedTests++
		}
	}
	before, after := live.IdP(), cand.IdP()
	row := func(label, b, a string) {
		v.Compare = append(v.Compare, compareRow{Label: label, Before: b, After: a, Changed: a != b})
	}
	row("IdP entity ID", before.EntityID, after.EntityID)
	row("Sign-in URL", before.SSO.Location, after.SSO.Location)
	slo := func(i saml.IdPInfo) string {
		if i.SLO == nil {
			return "none"
		}
		return i.SLO.Location
	}
	row("Single logout URL", slo(before), slo(after))
	certs := func(i saml.IdPInfo) string {
		var s []string
		for _, c := range i.Certificates {
			s = append(s, c.SHA1+" (until "+c.NotAfter.UTC().Format("2006-01-02")+")")
		}
		return strings.Join(s, "\n")
	}
	row("Signing certificates (SHA-1)", certs(before), certs(after))
	c.Candidate = v
}

// adminPolicy serves POST /admin/{account}/policy: the login method form
// (mode, who must use single sign-on, break-glass, dry run), checked by
// policy.Update, which refuses changes that would lock every
// administrator out. A refusal keeps what was submitted and offers fixes.
func (a *App) adminPolicy(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.adminForm(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	form := policyForm{Mode: f.Get("mode"), ScopeKind: f.Get("scope_kind"), Domains: f.Get("scope_domains"), Roles: f.Get("scope_roles"),
		BreakGlass: f.Get("admins_may_use_password") == "1", DryRun: f.Get("dry_run") == "1"}
	if form.ScopeKind == "" {
		form.ScopeKind = string(policy.ScopeAllUsers)
	}
	a.changePolicy(w, r, pol, "policy", form, nil, func(next *policy.Policy) error {
		next.Mode = policy.Mode(form.Mode)
		next.Scope = policy.Scope{Kind: policy.ScopeKind(form.ScopeKind)}
		switch next.Scope.Kind {
		case policy.ScopeEmailDomains:
			next.Scope.Domains = splitList(form.Domains)
		case policy.ScopeRoles:
			next.Scope.Roles = splitList(form.Roles)
		}
		next.AdminsMayUsePassword = form.BreakGlass
		next.DryRun = form.DryRun
		return nil
	})
}

// adminConnection serves POST /admin/{account}/connection: one
// connection's stage (the stepper's buttons) or its test users.
func (a *App) adminConnection(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.adminForm(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	conn := f.Get("connection")
	if _, ok := pol.Connection(conn); !ok {
		a.renderAdmin(w, r, pol, http.StatusBadRequest, &adminData{Notice: &notice{Section: "policy", Title: "Not saved: the account has no connection " + conn + "."}})
		return
	}
	if f.Get("stage") == string(policy.StageLive) && f.Get("go_live_anyway") == "" {
		if todo := a.notReady(r.Context(), pol, conn); len(todo) > 0 {
			a.renderAdmin(w, r, pol, http.StatusConflict, &adminData{Notice: &notice{Section: conn,
				Title: "Not live yet: the checklist still has items to do. Fix them, or tick \"Go live although the checklist is not complete\".", Lines: todo}})
			return
		}
	}
	a.changePolicy(w, r, pol, conn, formOf(pol), nil, func(next *policy.Policy) error {
		cs := slices.Clone(next.Connections)
		for i := range cs {
			if cs[i].ID != conn {
				continue
			}
			if s := f.Get("stage"); s != "" {
				cs[i].Stage = policy.Stage(s)
			}
			if f.Has("test_users") {
				cs[i].TestUserEmails = splitList(f.Get("test_users"))
			}
		}
		next.Connections = cs
		return nil
	})
}

// changePolicy applies change to the account's current policy, checks it
// with policy.Update, keeps it and answers with the admin page: a summary
// in the labels on screen, or the refusal with its fixes. change may
// refuse the change with an error; also, when not nil, is saved with it.
func (a *App) changePolicy(w http.ResponseWriter, r *http.Request, pol policy.Policy, section string, form policyForm, also *alsoSave, change func(*policy.Policy) error) {
	ctx := r.Context()
	var admins []policy.User
	for _, id := range a.host.knownUsers(ctx, pol.Account) {
		if facts, err := a.users.Facts(ctx, id, pol.Account); err == nil && facts.Admin {
			admins = append(admins, facts)
		}
	}
	s := a.host.current(r)
	// One change at a time, each checked against the policy it replaces:
	// the latest saved, which may not run yet.
	a.mu.Lock()
	if cur, ok := a.reg.Policy(pol.Account); ok {
		pol = cur
	}
	key := policyKeyPrefix + pol.Account
	prev, err := a.settings.get(ctx, key)
	if err == nil && prev != nil {
		var k policy.Policy
		if err = json.Unmarshal(prev, &k); err == nil {
			acct := pol.Account
			pol = mergePolicy(pol, k)
			pol.Account = acct
		}
	}
	if err != nil {
		err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonUnavailable, Detail: "the saved policy could not be read from the database: " + err.Error()}
	}
	next := pol
	if err == nil {
		err = change(&next)
	}
	var stored policy.Policy
	var ch *policy.Change
	if err == nil {
		stored, ch, err = policy.Update(pol, next, admins, s.Result.Email, time.Now())
	}
	if err == nil {
		err = stored.Validate()
	}
	// Kept in the database, from where every replica, this one included,
	// applies it (sync.go): concurrent changes share one rebuild of the
	// routing table.
	var version int64
	saved := err == nil && (!ch.Empty() || also != nil)
	if err == nil && !ch.Empty() {
		b, perr := json.Marshal(stored)
		if perr == nil {
			// Only over the value the change was based on: another
			// replica's administrator may have saved since.
			perr = a.settings.putIf(ctx, key, b, prev)
		}
		switch {
		case errors.Is(perr, errSettingChanged):
			err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonInvalidRequest, Detail: "another administrator changed this account's settings a moment ago; the page now shows their change: make yours again"}
		case perr != nil:
			err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonInternal, Detail: "the policy could not be saved in the database: " + perr.Error()}
		}
	}
	if err == nil && also != nil {
		if aerr := also.save(ctx); aerr != nil {
			if !ch.Empty() {
				a.putBack(ctx, key, prev)
			}
			err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonUnavailable, Detail: "the database did not take the change: " + aerr.Error()}
		}
	}
	if err == nil && saved {
		if version, err = a.settings.version(ctx); err != nil {
			err = &sso.Error{Op: "demo.admin", Reason: sso.ReasonUnavailable, Detail: "the change is saved but its version could not be read: " + err.Error()}
		}
	}
	a.mu.Unlock()
	if err == nil && saved {
		if err = a.waitApplied(ctx, version, policyKeyPrefix+pol.Account); sso.ReasonOf(err) == sso.ReasonInvalidConfig {
			// Refused by the registry: put the previous value back, so
			// that no replica keeps trying it.
			a.mu.Lock()
			a.putBack(ctx, key, prev)
			a.mu.Unlock()
		}
	}
	event := sso.EventPolicyChanged
	if also != nil {
		event = also.event
	}
	if err != nil {
		// A refused change is part of the account's audit trail too.
		a.events(ctx, sso.Event{Type: event, Time: time.Now(), Account: pol.Account, User: s.Result.User,
			Connection: iff(also != nil, section, ""), Reason: sso.ReasonOf(err), Detail: "refused: " + errorDetail(err)})
		n := a.refusal(r, pol, next, admins, s.Result.Email, section, form, err)
		d := &adminData{Notice: n}
		if section == "policy" {
			d.Form = form // what was submitted, not the old policy
		}
		if also != nil {
			n.Title = strings.Replace(n.Title, "Not saved", also.refused, 1)
		}
		a.renderAdmin(w, r, pol, http.StatusConflict, d)
		return
	}
	for _, e := range ch.Events() {
		a.events(ctx, e)
	}
	n := &notice{OK: true, Section: section, Title: "Saved."}
	switch {
	case also != nil:
		a.events(ctx, sso.Event{Type: event, Time: time.Now(), Account: pol.Account, Connection: section, User: s.Result.User,
			Detail: also.done + " (by " + s.Result.Email + ")"})
		n.Section, n.Title = also.section, also.done
	case ch.Empty():
		n.Title = "Nothing changed."
	default:
		n.Lines = describeChange(pol, stored, a.connNames(stored))
	}
	a.renderAdmin(w, r, stored, http.StatusOK, &adminData{Notice: n})
}

// alsoSave is what a change saves besides the account's policy, through
// changePolicy: under the same lock, after the policy is kept. Its error
// refuses the whole change and puts the previous policy back.
type alsoSave struct {
	save func(ctx context.Context) error
	// event is the type of its audit event; done the notice's title when
	// it is saved, shown in section; refused replaces "Not saved" when not.
	event         sso.EventType
	done, section string
	refused       string
}

// putBack puts the previous value of a refused change back, so that no
// replica keeps trying it. a.mu is held.
func (a *App) putBack(ctx context.Context, key string, prev []byte) {
	if err := a.settings.put(ctx, key, prev); err != nil {
		a.log.Error("a refused change could not be taken back from the database", "setting", key, "err", err)
	}
}

func errorDetail(err error) string {
	var se *sso.Error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var parts []string
		for _, e := range j.Unwrap() {
			if errors.As(e, &se) {
				parts = append(parts, se.Detail)
			}
		}
		return strings.Join(parts, " ")
	}
	if errors.As(err, &se) {
		return se.Detail
	}
	return err.Error()
}

func (a *App) connNames(p policy.Policy) map[string]string {
	out := map[string]string{}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, pc := range p.Connections {
		if ci := a.connOf[pc.ID]; ci != nil && ci.cfg.DisplayName != "" {
			out[pc.ID] = ci.cfg.DisplayName
		} else {
			out[pc.ID] = pc.ID
		}
	}
	return out
}

// The labels of the admin page's controls, used in its messages too.
var modeLabels = map[policy.Mode]string{
	policy.ModePasswordOnly: "Passwords only",
	policy.ModeSSOOptional:  "Single sign-on optional",
	policy.ModeSSORequired:  "Single sign-on required",
	"":                      "Passwords only",
}

const breakGlassLabel = "Account administrators can log in with a password"
const dryRunLabel = "Dry run: only report the passwords single sign-on would refuse"

var stageLabels = map[policy.Stage]string{policy.StageDraft: "Draft", policy.StageTesting: "Testing", policy.StageLive: "Live", "": "Draft"}

func scopeLabel(s policy.Scope) string {
	switch s.Kind {
	case policy.ScopeEmailDomains:
		return "people with the email domains " + strings.Join(s.Domains, ", ")
	case policy.ScopeRoles:
		return "people with the roles " + strings.Join(s.Roles, ", ")
	}
	return "everyone"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// describeChange says what changed from old to next in the labels on
// screen.
func describeChange(old, next policy.Policy, names map[string]string) []string {
	var out []string
	if old.Mode != next.Mode {
		out = append(out, "Login method: "+modeLabels[old.Mode]+" → "+modeLabels[next.Mode]+".")
	}
	if scopeLabel(old.Scope) != scopeLabel(next.Scope) {
		out = append(out, "Single sign-on is for "+scopeLabel(next.Scope)+" (was "+scopeLabel(old.Scope)+").")
	}
	if old.AdminsMayUsePassword != next.AdminsMayUsePassword {
		out = append(out, "“"+breakGlassLabel+"”: "+onOff(next.AdminsMayUsePassword)+".")
	}
	if old.DryRun != next.DryRun {
		out = append(out, "Dry run: "+onOff(next.DryRun)+".")
	}
	for _, nc := range next.Connections {
		oc, _ := old.Connection(nc.ID)
		if stageOf(oc) != stageOf(nc) {
			out = append(out, names[nc.ID]+": "+stageLabels[oc.Stage]+" → "+stageLabels[nc.Stage]+".")
		}
		if strings.Join(oc.TestUserEmails, ",") != strings.Join(nc.TestUserEmails, ",") {
			tu := strings.Join(nc.TestUserEmails, ", ")
			if tu == "" {
				tu = "none"
			}
			out = append(out, names[nc.ID]+": test users "+tu+".")
		}
	}
	return out
}

// refusal explains a refused policy change: who would be locked out, by
// email, in the labels on screen, with the fixes as buttons that submit the
// change again with one thing different.
func (a *App) refusal(r *http.Request, old, next policy.Policy, admins []policy.User, me, section string, form policyForm, err error) *notice {
	n := &notice{Section: section, Title: "Not saved."}
	if sso.ReasonOf(err) != sso.ReasonWouldLockOut {
		n.Lines = []string{errorDetail(err)}
		return n
	}
	names := a.connNames(next)
	acct := old.Account
	if ac := a.accounts[acct]; ac != nil && ac.Name != "" {
		acct = ac.Name
	}
	n.Title = "Not saved: after this change no administrator could log in to " + acct + "."
	for _, ad := range admins {
		who := ad.Email
		if who == me {
			who = "You (" + me + ")"
		}
		if len(ad.SSOLogins) == 0 {
			n.Lines = append(n.Lines, who+" would have to use single sign-on, and "+iff(who == "You ("+me+")", "have", "has")+" never signed in with it here.")
		} else {
			var through []string
			for _, c := range ad.SSOLogins {
				through = append(through, firstNonEmpty(names[c], c))
			}
			n.Lines = append(n.Lines, who+" would have to use single sign-on, and the connection they signed in through ("+strings.Join(through, ", ")+") is not live for them.")
		}
	}
	// The fixes: the same change with the break-glass or as a dry run; a
	// single sign-on login first; or keep single sign-on optional.
	if section == "policy" {
		base := []field{{"mode", form.Mode}, {"scope_kind", form.ScopeKind}, {"scope_domains", form.Domains}, {"scope_roles", form.Roles}}
		with := func(extra ...field) []field {
			out := slices.Clone(base)
			if form.BreakGlass {
				out = append(out, field{"admins_may_use_password", "1"})
			}
			if form.DryRun {
				out = append(out, field{"dry_run", "1"})
			}
			return append(out, extra...)
		}
		action := "/admin/" + old.Account + "/policy"
		if !form.BreakGlass {
			n.Fixes = append(n.Fixes, fix{Label: "Save with “" + breakGlassLabel + "” on", Action: action, Fields: with(field{"admins_may_use_password", "1"})})
		}
		if !form.DryRun {
			n.Fixes = append(n.Fixes, fix{Label: "Save as a dry run first", Action: action, Fields: with(field{"dry_run", "1"})})
		}
	}
	for _, pc := range next.Connections {
		if stageOf(pc) == policy.StageLive {
			n.Fixes = append(n.Fixes, fix{Label: "Sign in with " + firstNonEmpty(names[pc.ID], pc.ID) + " first", Action: "/login/start",
				Fields: []field{{"connection", pc.ID}, {"email", me}, {"return_to", "/admin/" + old.Account}}})
			break
		}
	}
	n.Fixes = append(n.Fixes, fix{Label: "Keep the current settings", Link: "/admin/" + old.Account})
	return n
}

func iff(c bool, a, b string) string {
	if c {
		return a
	}
	return b
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

// adminMetadata serves POST /admin/{account}/metadata for one SAML
// connection: action=check gives the compatibility report of pasted or
// uploaded IdP metadata (or of the document at a pasted URL, fetched
// through the guarded client); action=candidate also saves it as the
// connection's candidate, which only test logins use; action=promote makes
// the candidate live once a test login through it passed; action=discard
// drops it.
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
			a.renderAdmin(w, r, pol, http.StatusRequestEntityTooLarge, &adminData{Notice: &notice{Section: "policy", Title: "The upload is too large or malformed (at most 4 MiB)."}})
			return
		}
		if f, _, err := r.FormFile("file"); err == nil {
			data, _ = io.ReadAll(io.LimitReader(f, maxMetadataUpload))
			f.Close()
		}
	} else if err := r.ParseForm(); err != nil {
		a.renderAdmin(w, r, pol, http.StatusRequestEntityTooLarge, &adminData{Notice: &notice{Section: "policy", Title: "The metadata is too large (at most 4 MiB)."}})
		return
	}
	conn := r.PostFormValue("connection")
	action := r.PostFormValue("action")
	a.mu.Lock()
	ci := a.connOf[conn]
	a.mu.Unlock()
	if ci == nil || ci.account != pol.Account || ci.cfg.Protocol != sso.ProtocolSAML {
		a.renderAdmin(w, r, pol, http.StatusBadRequest, &adminData{Notice: &notice{Section: "policy", Title: "Choose one of this account's SAML connections."}})
		return
	}
	answer := func(status int, n *notice, c *adminConn) {
		n.Section = conn
		d := &adminData{Notice: n}
		if c != nil {
			c.ID = conn
			d.Connections = []*adminConn{c}
		}
		a.renderAdmin(w, r, pol, status, d)
	}
	switch action {
	case "promote":
		a.promoteCandidate(w, r, pol, ci, answer)
		return
	case "discard":
		a.mu.Lock()
		err := a.setCandidate(ctx, ci, nil)
		a.mu.Unlock()
		if err == nil {
			err = a.settings.put(ctx, candidateKeyPrefix+conn, nil)
		}
		if err != nil {
			answer(http.StatusInternalServerError, &notice{Title: "Not discarded: " + err.Error()}, nil)
			return
		}
		a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: conn,
			Detail: "the candidate IdP metadata was discarded", Attrs: map[string]string{login.AttrCandidate: "discarded"}})
		answer(http.StatusOK, &notice{OK: true, Title: "The new metadata was discarded; the live connection is unchanged."}, nil)
		return
	}
	typed := strings.TrimSpace(r.PostFormValue("metadata"))
	if len(data) == 0 {
		data = []byte(typed)
	}
	if len(data) == 0 {
		answer(http.StatusBadRequest, &notice{Title: "Paste the IdP's metadata XML or its URL, or choose a file."}, nil)
		return
	}
	// A pasted URL is fetched, through the guarded client with the
	// connection's own allowances.
	fetchedFrom := ""
	if isURL(string(data)) {
		fetchedFrom = string(data)
		client := safehttp.NewClient(safehttp.Options{InsecureAllowHTTP: ci.samlCfg.InsecureAllowHTTP, InsecureAllowPrivateNetwork: ci.samlCfg.InsecureAllowPrivateNetwork,
			HTTPOptionName: "insecure_allow_http", PrivateNetworkOptionName: "insecure_allow_private_network"})
		fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		resp, err := safehttp.Get(fctx, client, fetchedFrom, maxMetadataUpload)
		cancel()
		if err != nil {
			answer(http.StatusBadGateway, &notice{Title: "The metadata could not be fetched from " + fetchedFrom + ".", Lines: []string{errorDetail(err)}},
				&adminConn{ReportXML: fetchedFrom})
			return
		}
		data = resp.Body
	}
	report := saml.CheckMetadata(data, saml.CheckOptions{})
	shown := string(data)
	if fetchedFrom != "" {
		shown = fetchedFrom
	}
	c := &adminConn{Report: report, ReportXML: shown}
	if action != "candidate" {
		n := &notice{OK: report.OK(), Title: "Compatible: the metadata can be used."}
		if !report.OK() {
			n.Title = "Not compatible: see the problems below."
		}
		if fetchedFrom != "" {
			n.Lines = append(n.Lines, "Fetched from "+fetchedFrom+".")
		}
		answer(http.StatusOK, n, c)
		return
	}
	if !report.OK() {
		answer(http.StatusUnprocessableEntity, &notice{Title: "Not saved: the metadata has errors (see the report)."}, c)
		return
	}
	a.mu.Lock()
	err := a.setCandidate(ctx, ci, data)
	a.mu.Unlock()
	if err == nil {
		err = a.settings.put(ctx, candidateKeyPrefix+conn, data)
	}
	if err != nil {
		answer(http.StatusUnprocessableEntity, &notice{Title: "Not saved: " + errorDetail(err)}, c)
		return
	}
	a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: conn,
		Detail: "new IdP metadata saved as the candidate; logins still use the live metadata", Attrs: map[string]string{login.AttrCandidate: "saved", "idp_entity_id": report.EntityID}})
	answer(http.StatusOK, &notice{OK: true, Title: "Saved as a testing copy. Logins still use the live metadata.",
		Lines: []string{"Compare the two below, run a test login with the new metadata, then make it live."}}, nil)
}

// promoteCandidate makes the connection's candidate its authenticator,
// once a test login through it passed since it was saved.
func (a *App) promoteCandidate(w http.ResponseWriter, r *http.Request, pol policy.Policy, ci *connInfo, answer func(int, *notice, *adminConn)) {
	ctx := r.Context()
	conn := ci.cfg.ID
	recent, _ := a.store.Recent(ctx, pol.Account, 1000)
	c := &adminConn{ID: conn}
	a.candidateOf(ctx, c, pol.Account, recent)
	if c.Candidate == nil {
		answer(http.StatusConflict, &notice{Title: "There is no new metadata to make live."}, nil)
		return
	}
	if !c.Candidate.Passed {
		answer(http.StatusConflict, &notice{Title: "Not made live: no test login with the new metadata has passed yet.", Lines: []string{"Run a test login with the new metadata first."}}, nil)
		return
	}
	xml, err := a.settings.get(ctx, candidateKeyPrefix+conn)
	if err != nil || xml == nil {
		answer(http.StatusConflict, &notice{Title: "Not made live: the new metadata is no longer kept; save it again."}, nil)
		return
	}
	a.mu.Lock()
	entry, _, _ := a.reg.Connection(conn)
	sp, ok := entry.Candidate.(*saml.ServiceProvider)
	if !ok {
		a.mu.Unlock()
		answer(http.StatusConflict, &notice{Title: "There is no new metadata to make live."}, nil)
		return
	}
	// Kept in the database first; put back if the change cannot be made.
	prev, err := a.settings.get(ctx, metadataKeyPrefix+conn)
	if err == nil {
		err = a.settings.put(ctx, metadataKeyPrefix+conn, xml)
	}
	if err != nil {
		a.mu.Unlock()
		answer(http.StatusInternalServerError, &notice{Title: "Not made live: the database did not take the metadata: " + err.Error()}, nil)
		return
	}
	entry.Authenticator, entry.Candidate = sp, nil
	prevConn, _, err := a.reg.SetConnection(ci.account, entry)
	if err == nil {
		nci := *ci
		nci.auth = sp
		nci.samlCfg.IdPMetadataURL, nci.samlCfg.IdPEntityID, nci.samlCfg.IdPMetadataXML = "", "", xml
		a.connOf[conn] = &nci
	} else {
		_ = a.settings.put(ctx, metadataKeyPrefix+conn, prev)
	}
	a.mu.Unlock()
	if err != nil {
		answer(http.StatusInternalServerError, &notice{Title: "Not made live: " + err.Error()}, nil)
		return
	}
	_ = a.settings.put(ctx, candidateKeyPrefix+conn, nil)
	if c, ok := prevConn.Authenticator.(io.Closer); ok {
		_ = c.Close()
	}
	a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: conn,
		Detail: "the tested IdP metadata was made live from the admin page", Attrs: map[string]string{login.AttrCandidate: "promoted", "idp_entity_id": sp.IdP().EntityID}})
	answer(http.StatusOK, &notice{OK: true, Title: "The new metadata is live: " + conn + " now trusts " + sp.IdP().EntityID + "."}, nil)
}

// The identity providers' setup guides, in docs/idp.
const guideBase = "https://github.com/ssokit/sso/blob/main/docs/idp/"

var samlGuides = []guide{
	{"Microsoft Entra ID", guideBase + "entra-id.md", []string{"Enterprise applications → New application → Create your own application → SAML.", "Identifier (Entity ID) ← Entity ID; Reply URL ← ACS URL; Logout URL ← Single logout URL.", "Copy the App Federation Metadata Url and paste it below."}},
	{"Okta", guideBase + "okta.md", []string{"Applications → Create App Integration → SAML 2.0.", "Single sign-on URL ← ACS URL; Audience URI (SP Entity ID) ← Entity ID; Name ID format EmailAddress.", "Attribute statements: email, givenName, sn. Copy the Metadata URL (Sign On tab) and paste it below."}},
	{"Google Workspace", guideBase + "google-workspace.md", []string{"Admin console → Apps → Web and mobile apps → Add custom SAML app.", "ACS URL ← ACS URL; Entity ID ← Entity ID; Name ID: Primary email.", "Download the IdP metadata and upload it below."}},
	{"AD FS", guideBase + "adfs.md", []string{"Add Relying Party Trust → import data published online ← SP metadata URL.", "Claim rule: E-Mail-Addresses → email, and NameID.", "Paste https://<adfs>/FederationMetadata/2007-06/FederationMetadata.xml below."}},
	{"OneLogin", guideBase + "onelogin.md", []string{"Applications → Add App → SAML Custom Connector (Advanced).", "Audience (EntityID) ← Entity ID; ACS (Consumer) URL and Recipient ← ACS URL.", "Copy the Issuer URL (SSO tab) and paste it below."}},
	{"JumpCloud", guideBase + "jumpcloud.md", []string{"SSO Applications → Add → Custom SAML App.", "SP Entity ID ← Entity ID; ACS URL ← ACS URL.", "Export the metadata and upload it below."}},
	{"Keycloak", guideBase + "keycloak.md", []string{"Clients → Create client → SAML; Client ID ← Entity ID.", "Assertion Consumer Service POST Binding URL ← ACS URL.", "Paste https://<keycloak>/realms/<realm>/protocol/saml/descriptor below."}},
}

var oidcGuides = []guide{
	{"Microsoft Entra ID", guideBase + "entra-id.md", []string{"App registrations → New registration; Redirect URI (Web) ← Redirect URI.", "Certificates & secrets → New client secret.", "Give the application the tenant's issuer, the client ID and the secret."}},
	{"Okta", guideBase + "okta.md", []string{"Applications → Create App Integration → OIDC → Web Application.", "Sign-in redirect URIs ← Redirect URI; Sign-out redirect URIs ← Post-logout redirect URI.", "Give the application the issuer, the client ID and the secret."}},
	{"Keycloak", guideBase + "keycloak.md", []string{"Clients → Create client → OpenID Connect, Client authentication on.", "Valid redirect URIs ← Redirect URI.", "Give the application the realm's issuer, the client ID and the secret."}},
	{"Auth0", guideBase + "auth0.md", []string{"Applications → Create Application → Regular Web Application.", "Allowed Callback URLs ← Redirect URI.", "Give the application https://<tenant>/ as issuer, the client ID and the secret."}},
}

var ldapGuides = []guide{
	{"Active Directory", guideBase + "active-directory.md", []string{"Create a service account that may read users.", "Open LDAPS (636) or StartTLS (389) from this server to a domain controller.", "Give the application the URLs, the CA certificate and the base DN."}},
}

var adminTmpl = template.Must(template.New("admin").Funcs(funcs).Parse(layoutHead + `
<header class="top"><p><a href="/">Start page</a></p><p>Logged in as <strong>{{.Me}}</strong></p></header>
<h1>Single sign-on settings: {{.Name}}</h1>
<p class="note">Account <code>{{.ID}}</code>. Changes take effect at once.</p>
{{define "notice"}}<div class="notice {{if .OK}}notice-ok{{else}}notice-bad{{end}}" id="{{if .OK}}admin-message{{else}}admin-error{{end}}" role="{{if .OK}}status{{else}}alert{{end}}" tabindex="-1">
<p class="notice-title">{{.Title}}</p>{{range .Lines}}<p>{{.}}</p>{{end}}
{{if .Fixes}}<div class="fixes">{{range $i, $f := .Fixes}}{{if $f.Link}}<a class="button secondary" href="{{$f.Link}}" id="fix-{{$i}}">{{$f.Label}}</a>{{else}}<form method="post" action="{{$f.Action}}">{{range $f.Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">{{end}}<button type="submit" id="fix-{{$i}}"{{if $i}} class="secondary"{{end}}>{{$f.Label}}</button></form>{{end}}{{end}}</div>{{end}}
</div>{{end}}
<p class="sr-only" id="copy-status" role="status" aria-live="polite"></p>

<section aria-labelledby="conns"><h2 id="conns">Connections</h2>
{{if and .Notice (eq .Notice.Section "connections")}}{{template "notice" .Notice}}{{end}}
{{range .Connections}}{{$c := .}}<article class="card" id="conn-{{.ID}}" aria-labelledby="conn-title-{{.ID}}">
<div class="card-head"><h3 id="conn-title-{{.ID}}">{{.DisplayName}}</h3><span class="pill">{{.ProtocolLabel}}</span> <code>{{.ID}}</code></div>
{{if and $.Notice (eq $.Notice.Section .ID)}}{{template "notice" $.Notice}}{{end}}

<h4>Stage</h4>
<ol class="stepper" aria-label="Stage of {{.DisplayName}}">{{range .Steps}}<li class="{{if .Now}}now{{else if .Done}}done{{end}}"{{if .Now}} aria-current="step"{{end}}><span class="step-label">{{.Label}}</span><span class="hint">{{.Description}}</span></li>{{end}}</ol>
{{if not .LiveAt.IsZero}}<p class="note">Live since {{since .LiveAt}}, by {{.LiveBy}}.</p>{{end}}
<h4 id="ready-{{.ID}}">Before going live</h4>
<ul class="checks" id="checklist-{{.ID}}" aria-labelledby="ready-{{.ID}}">{{range .Checklist}}<li class="{{.State}}"><span class="sr-only">{{if eq .State "ok"}}Done:{{else if eq .State "warn"}}Check:{{else}}To do:{{end}}</span> <strong>{{.Label}}</strong>{{if .Detail}} <span class="hint">{{.Detail}}</span>{{end}}</li>{{end}}</ul>
<div class="actions">
<a class="button" href="{{.TestLoginURL}}" id="test-login-{{.ID}}">Run a test login</a>
<form method="post" action="/admin/{{$.ID}}/connection#conn-{{.ID}}"><input type="hidden" name="connection" value="{{.ID}}">
{{if eq .Stage "draft"}}<button type="submit" name="stage" value="testing" class="secondary" id="stage-testing-{{.ID}}">Start testing</button>
{{else if eq .Stage "testing"}}{{if not .Ready}}<label class="check"><input type="checkbox" name="go_live_anyway" value="on" id="go-live-anyway-{{.ID}}"> Go live although the checklist is not complete</label>
{{end}}<button type="submit" name="stage" value="live" id="stage-live-{{.ID}}"{{if not .Ready}} class="secondary"{{end}}>Go live</button> <button type="submit" name="stage" value="draft" class="secondary" id="stage-draft-{{.ID}}">Back to draft</button>
{{else}}<button type="submit" name="stage" value="testing" class="secondary" id="stage-testing-{{.ID}}">Back to testing</button>{{end}}
</form></div>
<form method="post" action="/admin/{{$.ID}}/connection#conn-{{.ID}}" class="inline-form"><input type="hidden" name="connection" value="{{.ID}}">
<label for="test_users-{{.ID}}">Test users</label>
<div class="row"><input id="test_users-{{.ID}}" name="test_users" value="{{.TestUsers}}" aria-describedby="test_users-hint-{{.ID}}">
<button type="submit" class="secondary" id="save-test-users-{{.ID}}">Save test users</button></div>
<p class="hint" id="test_users-hint-{{.ID}}">Emails, comma-separated: while testing, only they are offered this connection.</p>
</form>

<details class="setup" id="setup-{{.ID}}"{{if ne .Stage "live"}} open{{end}}><summary>Set up in your IdP</summary>
{{if .SetupNote}}<p>{{.SetupNote}}</p>{{end}}
{{if .Setup}}<p class="hint">Enter these values at the identity provider.</p>
<dl class="values">{{range .Setup}}<div><dt id="{{.ID}}-label">{{.Label}}</dt><dd><code class="value" id="{{.ID}}">{{.Value}}</code><button type="button" class="copy secondary" data-copy="{{.ID}}" aria-describedby="{{.ID}}-label" hidden>Copy</button>{{if .Hint}}<br><span class="hint">{{.Hint}}</span>{{end}}</dd></div>{{end}}</dl>{{end}}
{{if .SPMetadataURL}}<p><a href="{{.SPMetadataURL}}" id="sp-metadata-{{.ID}}">Download the SP metadata</a></p>{{end}}
<h4>Step by step</h4>
{{range .Guides}}<details class="guide"><summary>{{.Name}}</summary><ol>{{range .Steps}}<li>{{.}}</li>{{end}}</ol><p><a href="{{.URL}}">The full {{.Name}} guide</a></p></details>{{end}}
</details>

<details class="idp"><summary>What the application knows about the identity provider</summary>
<dl class="values">{{range .IdP}}<div><dt>{{.Label}}</dt><dd><code class="value">{{.Value}}</code></dd></div>{{end}}</dl>
</details>
{{if .KeyOfLastLogin}}<p class="certs" id="key-of-last-login-{{.ID}}">The latest login was signed with the provider's key <code>{{.KeyOfLastLogin}}</code> ({{.KeyOfLastLoginAgo}}).</p>{{end}}
{{if .Certificates}}<p class="certs">Signing certificates: {{range .Certificates}}<span class="badge badge-{{.Class}}" title="SHA-1 {{.SHA1}}">{{.Subject}}: {{.Text}}{{if not .SignedLast.IsZero}}; signed the last login ({{.SignedLastAgo}}){{end}}</span> {{end}}</p>{{end}}
{{with .Ops.HeldBack}}<div class="candidate" id="held-back-{{$c.ID}}" role="region" aria-labelledby="held-back-title-{{$c.ID}}">
<h4 id="held-back-title-{{$c.ID}}">New IdP certificates held back</h4>
<p>Fetched {{since .Since}}: {{.Detail}}</p>
<p>New signing certificates: {{range .Certificates}}<span class="badge badge-{{.Class}}" title="SHA-1 {{.SHA1}}">{{.Subject}}: {{.Text}}</span> {{end}}</p>
<p class="hint">Compare the SHA-1 thumbprints with what the IdP's administrator shows before you accept them. Until then, logins keep using the certificates above.</p>
<form method="post" action="/admin/{{$.ID}}/heldback#conn-{{$c.ID}}"><input type="hidden" name="connection" value="{{$c.ID}}"><button type="submit" id="accept-held-back-{{$c.ID}}">Accept the new certificates</button></form>
</div>{{end}}
{{with .Ops.Health}}<h4 id="health-{{$c.ID}}">Last 24 hours</h4>
<p id="health-summary-{{$c.ID}}">{{.Succeeded}} logins succeeded, {{.Failed}} failed.</p>
{{.Chart}}
{{if .Reasons}}<ul class="reasons" id="health-reasons-{{$c.ID}}">{{range .Reasons}}<li>{{.Label}} <code>{{.Reason}}</code>: {{.Count}}</li>{{end}}</ul>{{end}}{{end}}
{{if .Ops.SPKeys}}<details class="idp" id="sp-keys-{{.ID}}"><summary>This application's keys</summary><ul>{{range .Ops.SPKeys}}<li>{{.Subject}}{{if .SHA1}} <span class="badge badge-{{.Badge.Class}}" title="SHA-1 {{.SHA1}}">{{.Badge.Text}}</span>{{end}}: {{.State}}</li>{{end}}</ul></details>{{end}}
{{if or .Ops.Networks .Ops.AcctNetwork .Ops.LandingPage}}<dl class="values" id="ops-{{.ID}}">
{{if .Ops.AcctNetwork}}<div><dt>Account's allowed networks</dt><dd><code class="value">{{.Ops.AcctNetwork}}</code></dd></div>{{end}}
{{if .Ops.Networks}}<div><dt>Allowed networks</dt><dd><code class="value">{{.Ops.Networks}}</code></dd></div>{{end}}
{{if .Ops.LandingPage}}<div><dt>Landing page</dt><dd><code class="value">{{.Ops.LandingPage}}</code></dd></div>{{end}}
</dl>{{end}}

{{if .SAML}}<h4 id="md-{{.ID}}">Update the IdP metadata</h4>
{{with .Candidate}}<div class="candidate" id="candidate-{{$c.ID}}">
<p><strong>New metadata under test.</strong> Logins still use the live metadata; only test logins use the new one.</p>
<table class="compare"><caption class="sr-only">Live and new metadata</caption><thead><tr><th scope="col">Setting</th><th scope="col">Live</th><th scope="col">New</th></tr></thead><tbody>
{{range .Compare}}<tr{{if .Changed}} class="changed"{{end}}><th scope="row">{{.Label}}{{if .Changed}} <span class="badge badge-warn">changed</span>{{end}}</th><td><code>{{.Before}}</code></td><td><code>{{.After}}</code></td></tr>{{end}}
</tbody></table>
<p>{{if .Passed}}<span class="badge badge-ok">A test login with the new metadata passed</span>{{else if .FailedTests}}<span class="badge badge-bad">{{.FailedTests}} test login(s) with the new metadata failed</span>{{else}}<span class="badge badge-warn">Not tested yet</span>{{end}}</p>
<div class="actions">
<a class="button{{if .Passed}} secondary{{end}}" href="{{.TestURL}}" id="test-candidate-{{$c.ID}}">Test the new metadata</a>
<form method="post" action="/admin/{{$.ID}}/metadata#conn-{{$c.ID}}"><input type="hidden" name="connection" value="{{$c.ID}}"><button type="submit" name="action" value="promote" id="promote-{{$c.ID}}"{{if not .Passed}} class="secondary" aria-describedby="promote-hint-{{$c.ID}}"{{end}}>Make it live</button>
<button type="submit" name="action" value="discard" class="secondary" id="discard-{{$c.ID}}">Discard</button></form>
</div>{{if not .Passed}}<p class="hint" id="promote-hint-{{$c.ID}}">It can be made live once a test login with it passed.</p>{{end}}
</div>{{end}}
<form method="post" action="/admin/{{$.ID}}/metadata#conn-{{.ID}}" enctype="multipart/form-data" id="metadata-form-{{.ID}}">
<input type="hidden" name="connection" value="{{.ID}}">
<label for="metadata-{{.ID}}">Paste the IdP's metadata XML, or its URL</label>
<textarea id="metadata-{{.ID}}" name="metadata" rows="5" aria-describedby="metadata-hint-{{.ID}}">{{.ReportXML}}</textarea>
<p class="hint" id="metadata-hint-{{.ID}}">A URL is fetched now (https, public addresses unless the connection allows others).</p>
<label for="file-{{.ID}}">or upload the file</label>
<input type="file" id="file-{{.ID}}" name="file" accept=".xml,application/xml,application/samlmetadata+xml">
<div class="actions"><button type="submit" name="action" value="check" class="secondary" id="metadata-check-{{.ID}}">Check compatibility</button>
<button type="submit" name="action" value="candidate" id="metadata-candidate-{{.ID}}">Save as a testing copy</button></div>
</form>
{{with .Report}}<div class="report" id="report-{{$c.ID}}"><h5>Compatibility report</h5>
<p>{{if .OK}}<span class="badge badge-ok">Compatible</span>{{else}}<span class="badge badge-bad">Not compatible</span>{{end}} Entity ID <code>{{.EntityID}}</code>.</p>
<ul>{{range .SSO}}<li>Sign-in: {{.Binding}} <code>{{.Location}}</code></li>{{end}}{{range .SLO}}<li>Single logout: {{.Binding}} <code>{{.Location}}</code></li>{{end}}
{{range .SigningCertificates}}<li>Signing certificate {{.}}</li>{{end}}</ul>
{{if .Problems}}<ul class="checks">{{range .Problems}}<li class="{{if eq .Severity "error"}}bad{{else}}warn{{end}}"><strong>{{.Reason.Label}}</strong> <span class="hint">{{.Detail}}</span></li>{{end}}</ul>{{end}}
</div>{{end}}{{end}}
{{if .Removable}}<h4 id="remove-title-{{.ID}}">Remove this connection</h4>
{{if eq .Stage "live"}}<p class="hint" id="remove-hint-{{.ID}}">A live connection cannot be removed: move it back to testing first, so that nobody is cut off.</p>
{{else}}<form method="post" action="/admin/{{$.ID}}/connections/remove#conns" id="remove-form-{{.ID}}"><input type="hidden" name="connection" value="{{.ID}}">
<p class="hint" id="remove-hint-{{.ID}}">Nobody can sign in with it any more, on any replica. To use it again, add it again.</p>
<button type="submit" class="secondary" id="remove-{{.ID}}" aria-describedby="remove-hint-{{.ID}}">Remove this connection</button></form>{{end}}{{end}}
</article>{{end}}
</section>

<section aria-labelledby="add-conn" class="card" id="add-connection"><h2 id="add-conn">Add a connection</h2>
{{with .Add}}{{if or .Errors .Other}}<div class="notice notice-bad" id="add-error" role="alert" tabindex="-1"><p class="notice-title">Not added: fix what is marked below.</p>{{range .Other}}<p>{{.}}</p>{{end}}</div>{{end}}
<form method="post" action="/admin/{{$.ID}}/connections#add-connection" id="add-connection-form">
<fieldset{{if .Errors.protocol}} aria-describedby="new-protocol-error"{{end}}><legend>Protocol</legend>
<div class="radio"><input type="radio" id="new-protocol-saml" name="protocol" value="saml"{{if eq .Protocol "saml"}} checked{{end}}><label for="new-protocol-saml">SAML 2.0</label></div>
<div class="radio"><input type="radio" id="new-protocol-oidc" name="protocol" value="oidc"{{if eq .Protocol "oidc"}} checked{{end}}><label for="new-protocol-oidc">OpenID Connect</label></div>
{{if .Errors.protocol}}<p class="field-error" id="new-protocol-error">{{.Errors.protocol}}</p>{{end}}
</fieldset>
<label for="new-display_name">Display name</label>
<input id="new-display_name" name="display_name" value="{{.DisplayName}}" aria-describedby="{{if .Errors.display_name}}new-display_name-error {{end}}new-display_name-hint"{{if .Errors.display_name}} aria-invalid="true"{{end}}>
{{if .Errors.display_name}}<p class="field-error" id="new-display_name-error">{{.Errors.display_name}}</p>{{end}}
<p class="hint" id="new-display_name-hint">Shown on the sign-in button, e.g. “Acme Okta”.</p>
<fieldset><legend>SAML 2.0: the identity provider's metadata</legend>
<label for="new-metadata">Paste the IdP's metadata XML, or its https URL</label>
<textarea id="new-metadata" name="metadata" rows="5" aria-describedby="{{if .Errors.metadata}}new-metadata-error {{end}}new-metadata-hint"{{if .Errors.metadata}} aria-invalid="true"{{end}}>{{.Metadata}}</textarea>
{{if .Errors.metadata}}<p class="field-error" id="new-metadata-error">{{.Errors.metadata}}</p>{{end}}
<p class="hint" id="new-metadata-hint">A URL is fetched now and refreshed later (https, public addresses only).</p>
</fieldset>
<fieldset><legend>OpenID Connect: the provider's registration</legend>
<label for="new-issuer">Issuer URL</label>
<input id="new-issuer" name="issuer" value="{{.Issuer}}" aria-describedby="{{if .Errors.issuer}}new-issuer-error {{end}}new-issuer-hint"{{if .Errors.issuer}} aria-invalid="true"{{end}}>
{{if .Errors.issuer}}<p class="field-error" id="new-issuer-error">{{.Errors.issuer}}</p>{{end}}
<p class="hint" id="new-issuer-hint">Exactly as in the provider's tokens, e.g. https://login.microsoftonline.com/TENANT/v2.0; its discovery document is read now.</p>
<label for="new-client_id">Client ID</label>
<input id="new-client_id" name="client_id" value="{{.ClientID}}"{{if .Errors.client_id}} aria-describedby="new-client_id-error" aria-invalid="true"{{end}}>
{{if .Errors.client_id}}<p class="field-error" id="new-client_id-error">{{.Errors.client_id}}</p>{{end}}
<label for="new-client_secret">Client secret</label>
<input type="password" id="new-client_secret" name="client_secret" autocomplete="off" aria-describedby="{{if .Errors.client_secret}}new-client_secret-error {{end}}new-client_secret-hint"{{if .Errors.client_secret}} aria-invalid="true"{{end}}>
{{if .Errors.client_secret}}<p class="field-error" id="new-client_secret-error">{{.Errors.client_secret}}</p>{{end}}
<p class="hint" id="new-client_secret-hint">Never shown again; enter it again after a refusal.</p>
</fieldset>
<p class="hint">The connection starts as a draft: nobody is offered it until it goes to testing.</p>
<button type="submit" id="add-connection-submit">Add the connection</button>
</form>{{end}}
</section>

<section aria-labelledby="policy" class="card"><h2 id="policy">Login method</h2>
{{if and .Notice (eq .Notice.Section "policy")}}{{template "notice" .Notice}}{{end}}
<form method="post" action="/admin/{{.ID}}/policy#policy" id="policy-form">
<fieldset><legend>How people log in</legend>
<div class="radio"><input type="radio" id="mode-password_only" name="mode" value="password_only"{{if eq .Form.Mode "password_only"}} checked{{end}}><label for="mode-password_only">Passwords only</label></div>
<div class="radio"><input type="radio" id="mode-sso_optional" name="mode" value="sso_optional"{{if eq .Form.Mode "sso_optional"}} checked{{end}}><label for="mode-sso_optional">Single sign-on optional</label></div>
<div class="radio"><input type="radio" id="mode-sso_required" name="mode" value="sso_required"{{if eq .Form.Mode "sso_required"}} checked{{end}}><label for="mode-sso_required">Single sign-on required</label></div>
</fieldset>
<fieldset><legend>Who must use single sign-on when it is required</legend>
<div class="radio"><input type="radio" id="scope-all" name="scope_kind" value="all_users"{{if eq .Form.ScopeKind "all_users"}} checked{{end}}><label for="scope-all">Everyone</label></div>
<div class="radio"><input type="radio" id="scope-domains" name="scope_kind" value="email_domains"{{if eq .Form.ScopeKind "email_domains"}} checked{{end}}><label for="scope-domains">People with these email domains</label></div>
<input id="scope_domains" name="scope_domains" value="{{.Form.Domains}}" aria-label="Email domains, comma-separated" aria-describedby="scope_domains-hint" class="indent">
<p class="hint indent" id="scope_domains-hint">For example acme.example, acme.co.uk</p>
<div class="radio"><input type="radio" id="scope-roles" name="scope_kind" value="roles"{{if eq .Form.ScopeKind "roles"}} checked{{end}}><label for="scope-roles">People with these roles</label></div>
<input id="scope_roles" name="scope_roles" value="{{.Form.Roles}}" aria-label="Roles, comma-separated" aria-describedby="scope_roles-hint" class="indent">
<p class="hint indent" id="scope_roles-hint">For example Clerk, Staff</p>
</fieldset>
<div class="check"><input type="checkbox" id="admins_may_use_password" name="admins_may_use_password" value="1"{{if .Form.BreakGlass}} checked{{end}} aria-describedby="breakglass-hint">
<label for="admins_may_use_password">Account administrators can log in with a password</label></div>
<p class="hint indent" id="breakglass-hint">Keeps a broken identity provider from locking you out.</p>
<div class="check"><input type="checkbox" id="dry_run" name="dry_run" value="1"{{if .Form.DryRun}} checked{{end}}>
<label for="dry_run">Dry run: only report the passwords single sign-on would refuse</label></div>
<button type="submit" id="policy-save">Save login method</button>
</form>
{{if and .ShowWouldRefuse .WouldRefuse}}<p id="would-refuse">If single sign-on were required for the people above, these passwords would be refused: {{join .WouldRefuse}}.</p>{{end}}
</section>

<section aria-labelledby="events" class="card"><h2 id="events">Recent login events</h2>
<form method="get" action="/admin/{{.ID}}#events" class="filters" id="events-filter" role="search">
<div><label for="f-result">Result</label><select id="f-result" name="result">
<option value="">All</option><option value="ok"{{if eq .Filter.Result "ok"}} selected{{end}}>Succeeded</option><option value="failed"{{if eq .Filter.Result "failed"}} selected{{end}}>Failed or refused</option></select></div>
<div><label for="f-connection">Connection</label><select id="f-connection" name="connection"><option value="">All</option>{{range .ConnOptions}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></div>
<div><label for="f-user">Person</label><input id="f-user" name="user" value="{{.Filter.User}}" placeholder="email"></div>
<div><label for="f-ref">Reference</label><input id="f-ref" name="ref" value="{{.Filter.Ref}}" placeholder="K7Q2-M4XD"></div>
<div class="filter-buttons"><button type="submit" id="events-filter-submit">Filter</button>{{if .Filter.Any}} <a href="/admin/{{.ID}}#events" id="events-filter-clear">Clear</a>{{end}}</div>
</form>
<p class="note" id="events-count">{{if .Filter.Any}}{{len .Events}} of the recent events match.{{else}}The {{len .Events}} most recent events.{{end}}</p>
<table id="events-table" class="events"><caption class="sr-only">Recent login events, newest first</caption>
<colgroup><col style="width:27%"><col style="width:31%"><col style="width:12%"><col style="width:17%"><col style="width:13%"></colgroup><thead><tr><th scope="col">Who</th><th scope="col">What</th><th scope="col">When</th><th scope="col">Connection</th><th scope="col">Reference</th></tr></thead><tbody>
{{range .Events}}<tr class="ev-{{.Result}}" data-type="{{.Type}}"{{if .Code}} data-reason="{{.Code}}"{{end}}>
<td data-label="Who"><strong>{{.Who}}</strong>{{if .WhoDetail}}<br><span class="hint">{{.WhoDetail}}</span>{{end}}</td>
<td data-label="What"><span class="badge badge-{{.Result}}">{{.What}}</span>{{if .Why}}<br>{{.Why}}{{end}}{{if .Detail}}<details><summary>Detail</summary><p>{{.Detail}}</p>{{if .Code}}<p class="hint">Reason code {{.Code}}</p>{{end}}</details>{{end}}</td>
<td data-label="When"><time datetime="{{.At}}" title="{{.AtText}}">{{.When}}</time></td>
<td data-label="Connection">{{.Connection}}</td>
<td data-label="Reference">{{if .Ref}}<code>{{.Ref}}</code>{{end}}</td></tr>
{{else}}<tr><td colspan="5">No events{{if .Filter.Any}} match{{else}} yet{{end}}.</td></tr>{{end}}</tbody></table>
</section>
<script>` + copyScript + `</script>
</main></body></html>`))
