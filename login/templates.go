package login

import (
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/provisioning"
)

// The names of the templates a Config.Templates set must define, and the
// data each one is executed with.
const (
	// TemplateLogin is the login page's email step and password step:
	// *LoginPage.
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

// LoginPage is the data of TemplateLogin, which has two steps. The email
// step's form POSTs "email" alone to {{.BasePath}}/login: single sign-on
// starts, the picker shows, or the password step follows; its second
// button (PasswordEnabled) POSTs "step=password" to go to the password step
// at once. The password step (AskPassword) POSTs "email", "password" and
// "step=password", shows the email with a way to change it, and offers the
// single sign-on of the email's domain (Choices): as the main action when
// SSORequired, below the password otherwise.
type LoginPage struct {
	Page
	// Email is the address typed so far.
	Email string
	// PasswordEnabled reports that the host has password login.
	PasswordEnabled bool
	// AskPassword selects the password step.
	AskPassword bool
	// SSORequired reports that the account whose single sign-on Choices
	// offers requires it of people at Email's domain (its policy refuses
	// their password unless, for example, they are an administrator).
	SSORequired bool
	// Choices are single sign-on connections offered for Email on the
	// password step (after a password was refused, or when the person
	// chose a password), each a button that POSTs "connection", "email"
	// and "return_to" to {{.BasePath}}/login/start.
	Choices []discovery.Choice
}

// ChangeEmailURL returns the email step's URL with the email and return
// path filled in, for the password step's "Change email" link.
func (p *LoginPage) ChangeEmailURL() string {
	q := url.Values{}
	if p.Email != "" {
		q.Set("email", p.Email)
	}
	if p.ReturnTo != "" {
		q.Set("return_to", p.ReturnTo)
	}
	u := p.BasePath + "/login"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
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
	// Test marks an administrator's test login; Candidate one through the
	// connection's Candidate (the form then POSTs "candidate" too).
	Test, Candidate bool
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

// ErrorPage is the data of TemplateError: the short user message (Page's
// Message), what the person can give an administrator to find the
// failure (Reference, Time, Account), a way to try again, and for
// administrators the failure's detail.
type ErrorPage struct {
	Page
	// Status is the HTTP status of the response.
	Status int
	// Reference is the failure's short reference (e.g. "K7Q2-M4XD"),
	// also in its audit event's Attrs[sso.AttrReference].
	Reference string
	// Time is when the login failed, on the handler's clock.
	Time time.Time
	// Account is the name of the account the login was for, "" when
	// unknown.
	Account string
	// ConfigurationFault reports that the connection's setup is wrong
	// (see sso.Reason.ConfigurationFault): trying again will not help
	// until an administrator fixes it.
	ConfigurationFault bool
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
	// RetryConnection, when set, is the connection whose single sign-on
	// "Try again" starts again directly: a form that POSTs "connection",
	// "email" (RetryEmail, the login hint) and "return_to" to
	// {{.BasePath}}/login/start.
	RetryConnection, RetryEmail string
	// RetryTestURL and BackURL are set for a failed test login: the test
	// login again, and the page the administrator started it from.
	RetryTestURL, BackURL string
}

// TestPage is the data of TemplateTestResult: what an administrator's test
// login proved, what the account's policy would decide and what
// provisioning would do. Nothing is provisioned and no session is started.
// The page opens with the verdict (Passed, Verdict), then the checklist
// (Checks) and how the identity provider's attributes fill the
// application's fields (Mapping); everything the identity provider sent
// (Attributes) comes last.
type TestPage struct {
	Page
	// Account and Connection are those the test login went through;
	// AccountName and ConnectionName their names for people.
	Account, AccountName       string
	Connection, ConnectionName string
	// Passed reports that the person could log in as the test showed.
	Passed bool
	// Verdict says it in one sentence, e.g. "Paula would sign in as
	// Administrator." or "Gus would be refused: no user here yet, and
	// users are not created at login."
	Verdict string
	// Checks are what the test checked, in order.
	Checks []TestCheck
	// Mapping lists the application's fields and where their values came
	// from.
	Mapping []FieldMapping
	// Reference is the test login's reference, in its sso.EventTestLogin
	// event's Attrs[sso.AttrReference].
	Reference string
	// RetryURL runs the test login again.
	RetryURL string
	// Candidate reports a test login through the connection's Candidate
	// (see Connection.Candidate), not its Authenticator.
	Candidate bool
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

// TestCheck is one line of a test login's checklist.
type TestCheck struct {
	// Label says what was checked; Detail adds what was found or what to
	// fix.
	Label, Detail string
	// OK reports that the check passed; Warning marks a finding that
	// does not stop the login.
	OK, Warning bool
}

// FieldMapping is one application field of a test login: its value and
// the identity provider's attribute (or protocol field) it came from.
type FieldMapping struct {
	// Field names the application's field, e.g. "Email".
	Field string
	// Value is its value ("" when the identity provider sent none).
	Value string
	// From names the source, e.g. "attribute mail", "NameID
	// (persistent)", "claim email"; "" when nothing matched.
	From string
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

// ChoiceLabel names a single sign-on choice for its button, organisation
// first: the account's name, a dash, and the connection's name without the
// words it shares with the account's name. "Key Team EU — SAML" for the
// connection "Key Team EU SAML" of the account "Key Team EU", "Newsroom
// Ltd — Entra ID" for "Newsroom Entra ID" of "Newsroom Ltd", "The Fund —
// Okta" for "The Fund's Okta" of "The Fund", "Grantmakers
// — Okta" for "Okta" of "Grantmakers", or the one name when they are the
// same. The default templates use it as the function choiceLabel.
func ChoiceLabel(c discovery.Choice) string {
	acct, name := strings.TrimSpace(c.AccountName), strings.TrimSpace(c.DisplayName)
	switch {
	case name == "":
		return acct
	case acct == "" || strings.EqualFold(acct, name):
		return name
	}
	aw, nw := strings.Fields(acct), strings.Fields(name)
	n := 0
	for n < len(aw) && n < len(nw) && (strings.EqualFold(aw[n], nw[n]) || strings.EqualFold(aw[n]+"'s", nw[n]) || strings.EqualFold(aw[n]+"’s", nw[n])) {
		n++
	}
	if n == len(nw) {
		n = 0 // nothing would be left of the connection's name
	}
	return acct + " — " + strings.Join(nw[n:], " ")
}

// templateFuncs are the functions the default templates use: choiceLabel
// (ChoiceLabel), utc (a time as "2006-01-02 15:04 UTC") and claimValue (a
// claim's value, with the date beside a Unix time of exp, iat, nbf,
// auth_time and updated_at).
var templateFuncs = template.FuncMap{
	"choiceLabel": ChoiceLabel,
	"utc":         func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"claimValue":  claimValue,
}

func claimValue(name, v string) string {
	switch name {
	case "exp", "iat", "nbf", "auth_time", "updated_at":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return v + " (" + time.Unix(n, 0).UTC().Format("2006-01-02 15:04:05 UTC") + ")"
		}
	}
	return v
}

// DefaultTemplates returns a new copy of the default pages: plain, accessible
// HTML (labelled fields with their hints and errors tied to them by
// aria-describedby and aria-invalid, one h1 per page, a lang attribute, a
// focus ring of at least 3:1 contrast, controls at least 44 pixels tall,
// no horizontal scrolling at 320 pixels) with inline styles and no scripts
// or external assets. They use the functions choiceLabel, utc and
// claimValue (see ChoiceLabel). Their elements that tests and scripts use
// have stable ids: the forms login-form (both steps of the login page),
// sso-domain-form, directory-form, bind-form and confirm-form, their submit
// buttons login-submit, sso-domain-submit, directory-submit, bind-submit
// and confirm-submit (and confirm-cancel), the login page's use-password
// button and change-email link, the confirmation's question
// confirm-question, the picker's buttons pick-{connection} (in forms
// pick-form-{connection}), the message, the error page's reference
// (error-reference, the code itself in reference), its retry (a button or
// link), login-again link and the administrator's detail, and the test
// login's test-verdict, test-checks, test-mapping, test-raw,
// test-provisioning and test-decision. Hosts may parse their own
// definitions into the copy to replace single templates, including the
// partials every page shares: "head" (up to and including the page's h1
// and Message) and "foot" (the closing tags), both executed with the
// page's data.
//
//	t := login.DefaultTemplates()
//	template.Must(t.New(login.TemplateLogin).Parse(myLoginPage))
//	template.Must(t.New("foot").Parse(`<footer>…</footer></main></body></html>`))
func DefaultTemplates() *template.Template {
	return template.Must(template.New("ssokit").Funcs(templateFuncs).Parse(defaultTemplates))
}

// The focus ring is #1a56db, 6.4:1 on white, drawn 2px outside the
// focused control so that it always sits on the page's background. Text
// colours are at least 4.5:1 on their backgrounds.
const defaultTemplates = `
{{define "who"}}{{if .IdentityEmail}}{{.IdentityEmail}}{{if ne .Subject .IdentityEmail}} (identifier {{.Subject}}){{end}}{{else}}{{.Subject}}{{end}}{{end}}

{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>
*,*::before,*::after{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;line-height:1.5;color:#1a1a1a;background:#f6f7f9}
main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d8dce3;border-radius:8px;overflow-wrap:anywhere}
@media (max-width:40rem){main{margin:0;border:0;border-radius:0;padding:1rem}}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
label{display:block;margin-top:1rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{display:block;width:100%;min-height:44px;padding:.5rem .75rem;font-size:1rem;border:1px solid #596273;border-radius:6px;background:#fff;color:#1a1a1a}
input[readonly]{background:#eef1f5;border-color:#8a93a3}
input[aria-invalid=true]{border:2px solid #b42318}
button,.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;margin-top:1rem;padding:.5rem 1.25rem;font:inherit;font-weight:600;border-radius:6px;border:2px solid #1f4e8c;background:#1f4e8c;color:#fff;cursor:pointer;text-decoration:none;text-align:center}
button.secondary,.button.secondary{background:#fff;color:#1f4e8c}
button.block,.button.block{display:flex;width:100%}
a{color:#1a4fa0}
a:not(.button){text-underline-offset:2px}
:focus-visible{outline:3px solid #1a56db;outline-offset:2px}
input:focus-visible{outline-offset:1px}
.message{padding:.75rem 1rem;border:1px solid #b42318;border-left-width:6px;background:#fef3f2;color:#7a271a;border-radius:6px}
.reference{margin-top:1rem;padding:.75rem 1rem;border:1px solid #d8dce3;background:#f6f7f9;border-radius:6px}
.reference .code{font-family:ui-monospace,monospace;font-size:1.25rem;font-weight:700;letter-spacing:.05em}
.detail{padding:.75rem;border:1px dashed #596273;background:#f4f4f4;font-family:ui-monospace,monospace;font-size:.9rem;white-space:pre-wrap;overflow-wrap:anywhere}
.choices{display:grid;gap:.5rem;margin-top:1rem}
.choices form{margin:0}
.choices button{display:flex;width:100%;margin:0;justify-content:flex-start;text-align:left}
.row{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}
.row input{flex:1 1 12rem;width:auto}
.row a{display:inline-flex;align-items:center;min-height:44px}
.links{margin-top:1.5rem;display:flex;flex-direction:column;gap:.25rem}
.links a{display:inline-flex;align-items:center;min-height:44px}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;margin-top:1rem}
.actions button,.actions .button{margin-top:0}
.reference p{margin:.25rem 0}
.actions form{margin:0}
.hint{color:#4a5160;font-size:.95rem;margin:.25rem 0 0}
.or{display:flex;align-items:center;gap:.75rem;color:#4a5160;margin:1.5rem 0 .5rem;font-size:.95rem}
.or::before,.or::after{content:"";flex:1;border-top:1px solid #d8dce3}
.verdict{padding:.75rem 1rem;border-radius:6px;border:1px solid;border-left-width:6px;font-size:1.1rem}
.verdict.pass{border-color:#067647;background:#ecfdf3;color:#054f31}
.verdict.fail{border-color:#b42318;background:#fef3f2;color:#7a271a}
.checks{list-style:none;padding:0;margin:0}
.checks li{padding:.35rem 0 .35rem 2rem;position:relative;border-bottom:1px solid #eef0f3}
.checks li::before{position:absolute;left:0;top:.35rem;width:1.5rem;text-align:center;font-weight:700}
.checks li.ok::before{content:"✓";color:#067647}
.checks li.bad::before{content:"✗";color:#b42318}
.checks li.warn::before{content:"!";color:#93370d}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
table{border-collapse:collapse;width:100%;table-layout:fixed;font-size:.95rem}
th,td{border-bottom:1px solid #d8dce3;padding:.35rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f6f7f9}
details{margin-top:1rem}
summary{cursor:pointer;min-height:44px;display:flex;align-items:center;font-weight:600;color:#1a4fa0}
dl{display:grid;grid-template-columns:minmax(6rem,auto) 1fr;gap:.25rem .75rem}
dt{font-weight:600}dd{margin:0}
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
<button type="submit" id="pick-{{.Connection}}" class="secondary">{{choiceLabel .}}</button>
</form>
{{end}}</div>{{end}}

{{define "sso-choices"}}{{$p := .}}<div class="choices" id="choices">
{{range .Choices}}<form method="post" action="{{$p.BasePath}}/login/start" id="pick-form-{{.Connection}}">
<input type="hidden" name="connection" value="{{.Connection}}">
<input type="hidden" name="email" value="{{$p.Email}}">
<input type="hidden" name="return_to" value="{{$p.ReturnTo}}">
<button type="submit" id="pick-{{.Connection}}"{{if not $p.SSORequired}} class="secondary"{{end}}>Continue with {{choiceLabel .}}</button>
</form>
{{end}}</div>{{end}}

{{define "login"}}{{template "head" .}}
{{if .AskPassword}}{{if and .Choices .SSORequired}}<p>Your organisation signs you in with single sign-on.</p>
{{template "sso-choices" .}}
<h2 class="or" id="password-heading">or with a password</h2>
<p class="hint" id="password-scope">Only for people your organisation still lets use a password, such as its administrators.</p>
{{end}}<form method="post" action="{{.BasePath}}/login" id="login-form"{{if and .Choices .SSORequired}} aria-labelledby="password-heading"{{end}}>
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<input type="hidden" name="step" value="password">
<label for="email">Email address</label>
<div class="row"><input type="email" id="email" name="email" value="{{.Email}}" autocomplete="username" readonly aria-describedby="change-email">
<a href="{{.ChangeEmailURL}}" id="change-email">Change email</a></div>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{{if not (and .Choices .SSORequired)}} autofocus{{end}}{{if .Message}} aria-invalid="true" aria-describedby="message"{{end}}>
<button type="submit" id="login-submit"{{if and .Choices .SSORequired}} class="secondary"{{end}}>Log in</button>
</form>
{{if and .Choices (not .SSORequired)}}<h2 class="or">or</h2>{{template "sso-choices" .}}{{end}}
{{else}}<form method="post" action="{{.BasePath}}/login" id="login-form">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="email">Email address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="username" required autofocus aria-describedby="{{if .Message}}message {{end}}email-hint"{{if .Message}} aria-invalid="true"{{end}}>
<p class="hint" id="email-hint">Enter your work email. If your organisation uses single sign-on, you continue there.</p>
<div class="actions"><button type="submit" id="login-submit">Continue</button>
{{if .PasswordEnabled}}<button type="submit" name="step" value="password" id="use-password" class="secondary">Use a password</button>{{end}}</div>
</form>
{{end}}<div class="links">
<a href="{{.BasePath}}/login/sso{{if .ReturnTo}}?return_to={{.ReturnTo}}{{end}}" id="sso-domain-link">Log in with your organisation's SSO domain</a>
</div>
{{template "foot" .}}{{end}}

{{define "sso_domain"}}{{template "head" .}}
<form method="get" action="{{.BasePath}}/login/sso" id="sso-domain-form">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="domain">Your organisation's SSO domain</label>
<input type="text" id="domain" name="domain" value="{{.Domain}}" autocomplete="organization" required autofocus aria-describedby="{{if .Message}}message {{end}}domain-hint"{{if .Message}} aria-invalid="true"{{end}}>
<p class="hint" id="domain-hint">For example acme or acme.example. Bookmark {{.BasePath}}/login/sso/&lt;domain&gt; to skip this step.</p>
<button type="submit" id="sso-domain-submit">Continue</button>
</form>
<div class="links"><a href="{{.BasePath}}/login">Log in with email instead</a></div>
{{template "foot" .}}{{end}}

{{define "picker"}}{{template "head" .}}
<p>{{if .Email}}Logging in as <strong>{{.Email}}</strong>. {{end}}Choose your organisation.</p>
{{template "choices" .}}
<div class="links">
{{if and .PasswordEnabled .Email}}<a href="{{.BasePath}}/login?step=password&amp;email={{.Email}}{{if .ReturnTo}}&amp;return_to={{.ReturnTo}}{{end}}" id="use-password">Log in with a password instead</a>{{end}}
<a href="{{.BasePath}}/login" id="change-email">Use another email address</a>
</div>
{{template "foot" .}}{{end}}

{{define "directory_login"}}{{template "head" .}}
{{if .Test}}<p class="hint">A test login: nothing is saved and no session starts.</p>{{end}}
<form method="post" action="{{.Action}}" id="directory-form">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
{{if .Test}}<input type="hidden" name="test" value="1">{{end}}{{if .Candidate}}<input type="hidden" name="candidate" value="1">{{end}}
<label for="email">Email address</label>
<input type="email" id="email" name="email" value="{{.Email}}" autocomplete="username" required{{if not .Email}} autofocus{{end}}>
<label for="password">Directory password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{{if .Email}} autofocus{{end}}{{if .Message}} aria-invalid="true" aria-describedby="message"{{end}}>
<button type="submit" id="directory-submit">Log in</button>
</form>
<div class="links"><a href="{{.BasePath}}/login">Log in another way</a></div>
{{template "foot" .}}{{end}}

{{define "bind"}}{{template "head" .}}
<p>You signed in with {{.DisplayName}} as <strong>{{template "who" .}}</strong>, but this identity is not connected to an account here yet.</p>
<p id="bind-hint">Log in once with the email address and password of your account here to connect it. You will be asked to confirm before anything is connected; from then on, single sign-on logs you in directly.</p>
<form method="post" action="{{.BasePath}}/login/bind" id="bind-form" aria-describedby="bind-hint">
<label for="email">Email address</label>
<input type="email" id="email" name="email" autocomplete="username" required autofocus{{if .Message}} aria-invalid="true" aria-describedby="message"{{end}}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{{if .Message}} aria-invalid="true" aria-describedby="message"{{end}}>
<button type="submit" id="bind-submit">Log in</button>
</form>
{{template "foot" .}}{{end}}

{{define "confirm"}}{{template "head" .}}
{{if .Switch}}<p id="confirm-question">You are logged in as <strong>{{.UserEmail}}</strong>. {{.DisplayName}} has just signed you in as <strong>{{template "who" .}}</strong>. Continue as {{if .IdentityEmail}}{{.IdentityEmail}}{{else}}{{.Subject}}{{end}}? This ends the session of {{.UserEmail}}.</p>
<p class="hint">If you did not just sign in with {{.DisplayName}}, another site may have sent this login: stay logged in as {{.UserEmail}}.</p>
{{else}}<p id="confirm-question">Link the single sign-on identity <strong>{{template "who" .}}</strong> from {{.DisplayName}} to your account <strong>{{.UserEmail}}</strong>?</p>
<p class="hint">From then on, whoever signs in to {{.DisplayName}} as {{if .IdentityEmail}}{{.IdentityEmail}}{{else}}{{.Subject}}{{end}} is logged in to this account without a password. If that identity is not yours, or you did not just sign in with {{.DisplayName}}, choose Cancel.</p>
{{end}}<form method="post" action="{{.Action}}" id="confirm-form" aria-describedby="confirm-question">
<input type="hidden" name="token" value="{{.Token}}">
<div class="actions"><button type="submit" id="confirm-submit">{{if .Switch}}Continue as {{if .IdentityEmail}}{{.IdentityEmail}}{{else}}{{.Subject}}{{end}}{{else}}Link and continue{{end}}</button>
<button type="submit" name="cancel" value="1" class="secondary" id="confirm-cancel">{{if .Switch}}Stay logged in as {{.UserEmail}}{{else}}Cancel{{end}}</button></div>
</form>
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<div class="reference" id="error-reference">
<p>{{if .ConfigurationFault}}Your administrator can fix this.{{else}}If this keeps happening, ask your administrator for help.{{end}} Give them this reference:</p>
<p class="code" id="reference">{{.Reference}}</p>
<p class="hint">{{utc .Time}}{{if .Account}} · {{.Account}}{{end}}</p>
</div>
<div class="actions">
{{if .RetryTestURL}}<a class="button" href="{{.RetryTestURL}}" id="retry">Run the test again</a>
<a class="button secondary" href="{{.BackURL}}" id="back">Back to the settings</a>
{{else if .RetryConnection}}<form method="post" action="{{.BasePath}}/login/start" id="retry-form">
<input type="hidden" name="connection" value="{{.RetryConnection}}">
<input type="hidden" name="email" value="{{.RetryEmail}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<button type="submit" id="retry"{{if .ConfigurationFault}} class="secondary"{{end}}>Try again</button>
</form>
<a href="{{.RetryURL}}" id="login-again">Log in another way</a>
{{else}}<a class="button" href="{{.RetryURL}}" id="retry">Back to the login page</a>
{{end}}</div>
{{if .ShowDetail}}<h2>For the administrator</h2>
<div class="detail" id="detail" role="region" aria-label="Technical detail">reason: {{.Reason}}{{if .Reason.Label}} ({{.Reason.Label}}){{end}}{{if .Connection}}
connection: {{.Connection}}{{end}}{{if .Op}}
operation: {{.Op}}{{end}}{{if .Detail}}
detail: {{.Detail}}{{end}}{{if or .Expected .Actual}}
expected: {{.Expected}}
actual: {{.Actual}}{{end}}
reference: {{.Reference}}</div>
{{end}}{{template "foot" .}}{{end}}

{{define "test_result"}}{{template "head" .}}
<div class="verdict {{if .Passed}}pass{{else}}fail{{end}}" id="test-verdict" role="status"><strong>{{if .Passed}}Passed:{{else}}Would be refused:{{end}}</strong> {{.Verdict}}</div>
<p class="hint">Through {{if .Candidate}}the candidate (testing copy) of {{end}}{{.ConnectionName}} ({{.Connection}}) of {{.AccountName}}. Nothing was saved and no session was started. Reference {{.Reference}}.</p>
<h2 id="checks-heading">Checklist</h2>
<ul class="checks" id="test-checks" aria-labelledby="checks-heading">
{{range .Checks}}<li class="{{if .Warning}}warn{{else if .OK}}ok{{else}}bad{{end}}"><span class="sr-only">{{if .Warning}}Warning:{{else if .OK}}Passed:{{else}}Failed:{{end}}</span> {{.Label}}{{if .Detail}}<br><span class="hint">{{.Detail}}</span>{{end}}</li>
{{end}}</ul>
{{with .Plan}}<p id="test-provisioning">Provisioning: {{if .Allowed}}{{with .Result}}the login would reach user <strong>{{.User.Email}}</strong>{{if .Created}} (created now){{else}} ({{.User.ID}}){{end}}, matched by {{.Match}}{{if .Joined}}, joining the account{{end}}{{if .Linked}}, linking this identity{{end}}{{if .Updated}}, updating {{range $i, $u := .Updated}}{{if $i}}, {{end}}{{$u}}{{end}}{{end}}; roles {{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{else}}none{{end}}{{if .Organisation}}; organisation {{.Organisation.Name}}{{end}}.{{end}}{{else if .BindingPossible}}no user matches; login binding would ask for the password of the account to connect the identity to, and a confirmation.{{else}}the login would be refused: {{.Reason}}{{if $.PlanDetail}}. {{$.PlanDetail}}{{end}}{{end}}</p>{{end}}
{{if .PreviewError}}<p id="test-provisioning">Provisioning could not be previewed: {{.PreviewError}}</p>{{end}}
<p id="test-decision">Policy of account {{.Account}}: {{if .Decision.Allowed}}this person may log in ({{.Decision.Rule}}){{else}}refused: {{.Decision.Reason}} ({{.Decision.Rule}}){{end}}{{if .Decision.Detail}}. {{.Decision.Detail}}{{end}}</p>
<h2 id="mapping-heading">What the application receives</h2>
<table id="test-mapping" aria-labelledby="mapping-heading"><colgroup><col style="width:30%"><col style="width:38%"><col style="width:32%"></colgroup><thead><tr><th scope="col">Application field</th><th scope="col">Value</th><th scope="col">From the identity provider</th></tr></thead><tbody>
{{range .Mapping}}<tr><th scope="row">{{.Field}}</th><td>{{if .Value}}{{.Value}}{{else}}<span class="hint">none</span>{{end}}</td><td>{{if .From}}{{.From}}{{else}}<span class="hint">not sent</span>{{end}}</td></tr>
{{end}}</tbody></table>
{{if .Attributes}}<details id="test-raw"><summary>Everything the identity provider sent ({{len .Attributes}} attributes)</summary>
<table><thead><tr><th scope="col">Name</th><th scope="col">Values</th></tr></thead><tbody>
{{range .Attributes}}{{$n := .Name}}<tr><td>{{.Name}}</td><td>{{range $i, $v := .Values}}{{if $i}}; {{end}}{{claimValue $n $v}}{{end}}</td></tr>
{{end}}</tbody></table>
<dl>
<dt>Subject</dt><dd>{{.Identity.Subject}}{{if .Identity.SubjectFormat}} ({{.Identity.SubjectFormat}}){{end}}</dd>
<dt>Issuer</dt><dd>{{.Identity.Issuer}}</dd>
</dl></details>{{end}}
<div class="actions">
<a class="button" href="{{.RetryURL}}" id="test-again">Run the test again</a>
<a class="button secondary" href="{{if .ReturnTo}}{{.ReturnTo}}{{else}}/{{end}}" id="back">Back to the settings</a>
</div>
{{template "foot" .}}{{end}}
`
