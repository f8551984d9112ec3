package login

import (
	"html/template"
	"sort"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// The names of the templates a Config.Templates set must define, and the
// data each one is executed with.
const (
	// TemplateLogin is the email (and password) form: *LoginPage.
	TemplateLogin = "login"
	// TemplateDomain asks for the organisation's SSO domain: *DomainPage.
	TemplateDomain = "sso_domain"
	// TemplatePicker offers several connections to choose from:
	// *PickerPage.
	TemplatePicker = "picker"
	// TemplateDirectory is an LDAP connection's email and password form:
	// *DirectoryPage.
	TemplateDirectory = "directory_login"
	// TemplateBind asks for a password to bind an unknown SSO identity to
	// the user who logs in: *BindPage.
	TemplateBind = "bind"
	// TemplateConfirm asks the person to confirm a login binding, or that
	// an IdP-initiated login replaces the current session: *ConfirmPage.
	TemplateConfirm = "confirm"
	// TemplateError explains a failed login: *ErrorPage.
	TemplateError = "error"
	// TemplateTestResult shows an administrator's test login: *TestPage.
	TemplateTestResult = "test_result"
)

var templateNames = []string{TemplateLogin, TemplateDomain, TemplatePicker, TemplateDirectory, TemplateBind, TemplateConfirm, TemplateError, TemplateTestResult}

// Page holds what every page has. Form actions are built from BasePath,
// e.g. {{.BasePath}}/login.
type Page struct {
	// Title is the page's title.
	Title string
	// BasePath is Config.BasePath.
	BasePath string
	// ReturnTo is the checked same-site path the login returns to; forms
	// carry it in a hidden field named "return_to".
	ReturnTo string
	// Message is a short message for the person, e.g. why a password was
	// refused. Empty when none.
	Message string
}

// LoginPage is the data of TemplateLogin. Its form POSTs "email", and
// "password" when PasswordEnabled, to {{.BasePath}}/login.
type LoginPage struct {
	Page
	// Email is the address typed so far.
	Email string
	// PasswordEnabled reports that the host has password login.
	PasswordEnabled bool
	// AskPassword reports that no single sign-on serves Email: the form
	// should focus the password field.
	AskPassword bool
	// Choices are single sign-on connections offered for Email (after a
	// password was refused because single sign-on is required), each a
	// button that POSTs "connection", "email" and "return_to" to
	// {{.BasePath}}/login/start.
	Choices []discovery.Choice
}

// DomainPage is the data of TemplateDomain. Its form GETs "domain" from
// {{.BasePath}}/login/sso.
type DomainPage struct {
	Page
	// Domain is the domain typed so far.
	Domain string
}

// PickerPage is the data of TemplatePicker: each choice is a button that
// POSTs "connection", "email" and "return_to" to {{.BasePath}}/login/start.
type PickerPage struct {
	Page
	// Email is the address typed, "" after an SSO domain.
	Email string
	// Choices are the connections offered, in discovery's order.
	Choices []discovery.Choice
	// PasswordEnabled reports that the host has password login, so the
	// page may link back to the login form for a password.
	PasswordEnabled bool
}

// DirectoryPage is the data of TemplateDirectory. Its form POSTs "email",
// "password", "return_to" (and "test" when Test) to Action.
type DirectoryPage struct {
	Page
	// Connection and DisplayName name the directory.
	Connection  string
	DisplayName string
	// Action is the form's URL: {{.BasePath}}/ldap/{connection}/login.
	Action string
	// Email is the address typed so far.
	Email string
	// Test marks an administrator's test login.
	Test bool
}

// BindPage is the data of TemplateBind. Its form POSTs "email" and
// "password" to {{.BasePath}}/login/bind.
type BindPage struct {
	Page
	// IdentityEmail and Subject describe the identity that is about to be
	// bound, so that the person sees which identity provider account will
	// be connected to the user whose password they type.
	IdentityEmail string
	Subject       string
	// DisplayName names the connection.
	DisplayName string
}

// ConfirmPage is the data of TemplateConfirm. Its form POSTs "token" to
// Action, and "cancel" when the person declines.
type ConfirmPage struct {
	Page
	// Action is the form's URL.
	Action string
	// Token is the one-time token the form must send back.
	Token string
	// Switch reports the question whether an IdP-initiated login replaces
	// the session of UserEmail; otherwise the question whether the
	// identity is linked to UserEmail's account.
	Switch bool
	// IdentityEmail and Subject describe the single sign-on identity, and
	// DisplayName its connection.
	IdentityEmail, Subject, DisplayName string
	// UserEmail names the application's user: the account the identity
	// would be linked to, or the user logged in now.
	UserEmail string
}

// ErrorPage is the data of TemplateError.
type ErrorPage struct {
	Page
	// Status is the HTTP status of the response.
	Status int
	// ShowDetail reports debug mode or an administrator of the account:
	// the fields below are filled only then, from the failure's *sso.Error
	// (its Reason, Op, Connection, Detail, Expected and Actual).
	ShowDetail bool
	Reason     sso.Reason
	Op         string
	Connection string
	Detail     string
	Expected   string
	Actual     string
	// RetryURL is the login page, keeping the return path.
	RetryURL string
}

// TestPage is the data of TemplateTestResult: what an administrator's test
// login proved, what the account's policy would decide and what
// provisioning would do. Nothing is provisioned and no session is started.
type TestPage struct {
	Page
	// Account and Connection are those the test login went through.
	Account    string
	Connection string
	// Identity is what the identity provider proved.
	Identity *sso.Identity
	// Attributes are the identity's attributes, sorted by name.
	Attributes []Attribute
	// Module is the identity's SSOModule (Config.ModuleAttributes), if any.
	Module string
	// Decision is the policy's decision: for the user the login would
	// reach when the Plan found one, otherwise for the identity's email.
	Decision policy.Decision
	// Plan is what provisioning would do with the identity (see
	// provisioning.Provisioner.Preview), nil when Config.Provisioner is no
	// Previewer or the preview failed. PlanDetail is the Detail of its
	// refusal; PreviewError says why the preview failed.
	Plan         *provisioning.Plan
	PlanDetail   string
	PreviewError string
}

// Attribute is one attribute of a TestPage.
type Attribute struct {
	// Name is the attribute's (or claim's) name; Values its values.
	Name   string
	Values []string
}

func sortedAttributes(m map[string][]string) []Attribute {
	out := make([]Attribute, 0, len(m))
	for k, v := range m {
		out = append(out, Attribute{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// pageCSP is the Content-Security-Policy of the default pages: no scripts,
// no external assets, no framing. Form targets are not restricted because a
// form POST may redirect to the identity provider.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; base-uri 'none'; frame-ancestors 'none'"

// DefaultTemplates returns a new copy of the default pages: plain, accessible
// HTML (labelled fields, one heading per page, a lang attribute, visible
// focus) with inline styles and no scripts or external assets. Their
// elements that tests and scripts use have stable ids: the forms
// login-form, sso-domain-form, directory-form, bind-form and confirm-form,
// their submit buttons login-submit, sso-domain-submit, directory-submit,
// bind-submit and confirm-submit (and confirm-cancel), the confirmation's
// question confirm-question, the picker's buttons pick-{connection} (in forms
// pick-form-{connection}), the message, the administrator's detail, the
// retry link and the test login's test-decision. Hosts may
// parse their own definitions into the copy to replace single templates,
// including the partials every page shares: "head" (up to and including the
// page's h1 and Message) and "foot" (the closing tags), both executed with
// the page's data.
//
//	t := login.DefaultTemplates()
//	template.Must(t.New(login.TemplateLogin).Parse(myLoginPage))
//	template.Must(t.New("foot").Parse(`<footer>…</footer></main></body></html>`))
func DefaultTemplates() *template.Template {
	return template.Must(template.New("ssokit").Parse(defaultTemplates))
}

const defaultTemplates = `
{{define "who"}}{{if .IdentityEmail}}{{.IdentityEmail}}{{if ne .Subject .IdentityEmail}} (identifier {{.Subject}}){{end}}{{else}}{{.Subject}}{{end}}{{end}}

{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
label{display:block;margin-top:1rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{display:block;width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #555;border-radius:4px}
button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem;border-radius:4px;border:1px solid #234;background:#1f4e8c;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1f4e8c}
:focus{outline:3px solid #f5a623;outline-offset:2px}
.message{padding:.75rem;border:1px solid #b35900;background:#fff4e5;border-radius:4px}
.detail{padding:.75rem;border:1px dashed #555;background:#f4f4f4;font-family:monospace;white-space:pre-wrap;word-break:break-word}
.choices form{display:block}
.hint{color:#555;font-size:.9rem}
</style></head><body><main>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="message" id="message" role="alert">{{.Message}}</p>{{end}}
{{end}}

{{define "foot"}}</main></body></html>
{{end}}

{{define "choices"}}{{$p := .}}<div class="choices" id="choices">
{{range .Choices}}<form method="post" action="{{$p.BasePath}}/login/start" id="pick-form-{{.Connection}}">
<input type="hidden" name="connection" value="{{.Connection}}">
<input type="hidden" name="email" value="{{$p.Email}}">
<input type="hidden" name="return_to" value="{{$p.ReturnTo}}">
<button type="submit" id="pick-{{.Connection}}">Continue with {{.DisplayName}}{{if and .AccountName (ne .AccountName .DisplayName)}} ({{.AccountName}}){{end}}</button>
</form>
{{end}}</div>{{end}}

{{define "login"}}{{template "head" .}}
<form method="post" action="{{.BasePath}}/login" id="login-form">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="email">Email address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="username" required{{if not .AskPassword}} autofocus{{end}}>
{{if .PasswordEnabled}}<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password"{{if .AskPassword}} autofocus{{end}}>
<p class="hint">Leave the password empty to log in with your organisation's single sign-on.</p>
{{end}}<button type="submit" id="login-submit">{{if .AskPassword}}Log in{{else}}Continue{{end}}</button>
</form>
{{if .Choices}}<h2>Or use single sign-on</h2>{{template "choices" .}}{{end}}
<p><a href="{{.BasePath}}/login/sso{{if .ReturnTo}}?return_to={{.ReturnTo}}{{end}}" id="sso-domain-link">Log in with your organisation's SSO domain</a></p>
{{template "foot" .}}{{end}}

{{define "sso_domain"}}{{template "head" .}}
<form method="get" action="{{.BasePath}}/login/sso" id="sso-domain-form">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="domain">Your organisation's SSO domain</label>
<input type="text" id="domain" name="domain" value="{{.Domain}}" autocomplete="organization" required autofocus>
<p class="hint">For example acme or acme.example. Bookmark {{.BasePath}}/login/sso/&lt;domain&gt; to skip this step.</p>
<button type="submit" id="sso-domain-submit">Continue</button>
</form>
<p><a href="{{.BasePath}}/login">Log in with email instead</a></p>
{{template "foot" .}}{{end}}

{{define "picker"}}{{template "head" .}}
<p>Choose how to log in{{if .Email}} as {{.Email}}{{end}}.</p>
{{template "choices" .}}
{{if .PasswordEnabled}}<p><a href="{{.BasePath}}/login?email={{.Email}}{{if .ReturnTo}}&amp;return_to={{.ReturnTo}}{{end}}">Log in with your password instead</a></p>{{end}}
<p><a href="{{.BasePath}}/login">Use another email address</a></p>
{{template "foot" .}}{{end}}

{{define "directory_login"}}{{template "head" .}}
<form method="post" action="{{.Action}}" id="directory-form">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
{{if .Test}}<input type="hidden" name="test" value="1">{{end}}
<label for="email">Email address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="username" required{{if not .Email}} autofocus{{end}}>
<label for="password">Directory password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{{if .Email}} autofocus{{end}}>
<button type="submit" id="directory-submit">Log in</button>
</form>
{{template "foot" .}}{{end}}

{{define "bind"}}{{template "head" .}}
<p>You signed in with {{.DisplayName}} as <strong>{{template "who" .}}</strong>, but this identity is not connected to an account here yet.</p>
<p>Log in once with the email address and password of your account here to connect it. You will be asked to confirm before anything is connected; from then on, single sign-on logs you in directly.</p>
<form method="post" action="{{.BasePath}}/login/bind" id="bind-form">
<label for="email">Email address</label>
<input type="email" id="email" name="email" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="bind-submit">Log in</button>
</form>
{{template "foot" .}}{{end}}

{{define "confirm"}}{{template "head" .}}
{{if .Switch}}<p id="confirm-question">You are logged in as <strong>{{.UserEmail}}</strong>. {{.DisplayName}} has just signed you in as <strong>{{template "who" .}}</strong>. Continue as {{if .IdentityEmail}}{{.IdentityEmail}}{{else}}{{.Subject}}{{end}}? This ends the session of {{.UserEmail}}.</p>
<p class="hint">If you did not just sign in with {{.DisplayName}}, another site may have sent this login: stay logged in as {{.UserEmail}}.</p>
{{else}}<p id="confirm-question">Link the single sign-on identity <strong>{{template "who" .}}</strong> from {{.DisplayName}} to your account <strong>{{.UserEmail}}</strong>?</p>
<p class="hint">From then on, whoever signs in to {{.DisplayName}} as {{if .IdentityEmail}}{{.IdentityEmail}}{{else}}{{.Subject}}{{end}} is logged in to this account without a password. If that identity is not yours, or you did not just sign in with {{.DisplayName}}, choose Cancel.</p>
{{end}}<form method="post" action="{{.Action}}" id="confirm-form">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit" id="confirm-submit">{{if .Switch}}Continue as {{if .IdentityEmail}}{{.IdentityEmail}}{{else}}{{.Subject}}{{end}}{{else}}Link and continue{{end}}</button>
<button type="submit" name="cancel" value="1" class="secondary" id="confirm-cancel">{{if .Switch}}Stay logged in as {{.UserEmail}}{{else}}Cancel{{end}}</button>
</form>
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
{{if .ShowDetail}}<h2>For the administrator</h2>
<div class="detail" id="detail" aria-label="Technical detail">reason: {{.Reason}}{{if .Connection}}
connection: {{.Connection}}{{end}}{{if .Op}}
operation: {{.Op}}{{end}}{{if .Detail}}
detail: {{.Detail}}{{end}}{{if or .Expected .Actual}}
expected: {{.Expected}}
actual: {{.Actual}}{{end}}</div>
{{end}}<p><a href="{{.RetryURL}}" id="retry">Back to the login page</a></p>
{{template "foot" .}}{{end}}

{{define "test_result"}}{{template "head" .}}
<p>The identity provider of connection <strong>{{.Connection}}</strong> proved the identity below. Nothing was saved and no session was started.</p>
{{with .Plan}}<p id="test-provisioning">Provisioning: {{if .Allowed}}{{with .Result}}the login would reach user <strong>{{.User.Email}}</strong>{{if .Created}} (created now){{else}} ({{.User.ID}}){{end}}, matched by {{.Match}}{{if .Joined}}, joining the account{{end}}{{if .Linked}}, linking this identity{{end}}{{if .Updated}}, updating {{range $i, $u := .Updated}}{{if $i}}, {{end}}{{$u}}{{end}}{{end}}; roles {{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{else}}none{{end}}{{if .Organisation}}; organisation {{.Organisation.Name}}{{end}}.{{end}}{{else if .BindingPossible}}no user matches; login binding would ask for the password of the account to connect the identity to, and a confirmation.{{else}}the login would be refused: {{.Reason}}{{if $.PlanDetail}}. {{$.PlanDetail}}{{end}}{{end}}</p>{{end}}
{{if .PreviewError}}<p id="test-provisioning">Provisioning could not be previewed: {{.PreviewError}}</p>{{end}}
<p id="test-decision">Policy of account {{.Account}}: {{if .Decision.Allowed}}this person may log in ({{.Decision.Rule}}){{else}}refused: {{.Decision.Reason}} ({{.Decision.Rule}}){{end}}{{if .Decision.Detail}}. {{.Decision.Detail}}{{end}}</p>
<dl>
<dt>Subject</dt><dd>{{.Identity.Subject}}{{if .Identity.SubjectFormat}} ({{.Identity.SubjectFormat}}){{end}}</dd>
<dt>Issuer</dt><dd>{{.Identity.Issuer}}</dd>
<dt>Email</dt><dd>{{.Identity.Email}}{{if .Identity.EmailVerified}} (verified){{end}}</dd>
<dt>Name</dt><dd>{{.Identity.GivenName}} {{.Identity.FamilyName}}{{if .Identity.DisplayName}} ({{.Identity.DisplayName}}){{end}}</dd>
{{if .Identity.Groups}}<dt>Groups</dt><dd>{{range $i, $g := .Identity.Groups}}{{if $i}}, {{end}}{{$g}}{{end}}</dd>{{end}}
{{if .Module}}<dt>SSOModule</dt><dd>{{.Module}}</dd>{{end}}
{{range .Identity.Warnings}}<dt>Warning</dt><dd>{{.}}</dd>{{end}}
</dl>
{{if .Attributes}}<h2>Attributes</h2><table><thead><tr><th scope="col">Name</th><th scope="col">Values</th></tr></thead><tbody>
{{range .Attributes}}<tr><td>{{.Name}}</td><td>{{range $i, $v := .Values}}{{if $i}}; {{end}}{{$v}}{{end}}</td></tr>
{{end}}</tbody></table>{{end}}
<p><a href="{{if .ReturnTo}}{{.ReturnTo}}{{else}}/{{end}}">Back</a></p>
{{template "foot" .}}{{end}}
`
