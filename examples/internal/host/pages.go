package host

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"text/tabwriter"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/provisioning"
)

// TestLogin is one login an example offers to try.
type TestLogin struct {
	// Who is the email (or what to type) and Password the password, if
	// any ("" for single sign-on, where the identity provider's login
	// page offers the user).
	Who, Password string
	// Shows says what this login demonstrates.
	Shows string
}

// Link is a link on the start page.
type Link struct{ Text, URL string }

// Home is an example's start page: who is logged in, the logout button,
// the ways to log in and the test logins.
type Home struct {
	Title    string
	Intro    string
	Logins   []TestLogin
	Links    []Link
	Sessions *Sessions
}

var homePage = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}
button{padding:.4rem 1rem}</style></head><body><main>
<h1>{{.Title}}</h1>
<p>{{.Intro}}</p>
{{with .Login}}<p id="whoami">Logged in as <strong>{{.Email}}</strong> with {{.How}}. Accounts: {{range $i, $a := .Accounts}}{{if $i}}, {{end}}{{$a}}{{end}}.</p>
<form method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>
{{else}}<p id="whoami">Not logged in.</p>
<p><a href="/login" id="login-link">Log in</a> · <a href="/login/sso" id="sso-link">Log in with your organisation's SSO domain</a></p>{{end}}
{{if .Links}}<ul>{{range .Links}}<li><a href="{{.URL}}">{{.Text}}</a></li>{{end}}</ul>{{end}}
<h2>Test logins</h2>
<table><thead><tr><th scope="col">Who</th><th scope="col">Password</th><th scope="col">Shows</th></tr></thead><tbody>
{{range .Logins}}<tr><td>{{.Who}}</td><td>{{if .Password}}{{.Password}}{{else}}(at the identity provider){{end}}</td><td>{{.Shows}}</td></tr>
{{end}}</tbody></table>
<p><a href="/me">/me</a> shows the session as JSON.</p>
</main></body></html>
`))

type homeLogin struct {
	Email, How string
	Accounts   []string
}

// ServeHTTP renders the page.
func (h *Home) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data := struct {
		*Home
		Login *homeLogin
	}{Home: h}
	if res := h.Sessions.Current(r); res != nil {
		data.Login = &homeLogin{Email: res.Email, How: describe(res), Accounts: res.Accounts}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = homePage.Execute(w, data)
}

// Print writes the example's URL, notes (such as the mock identity
// providers' URLs) and test logins, for the terminal.
func (h *Home) Print(w io.Writer, url string, notes ...string) {
	fmt.Fprintf(w, "%s\n\n  %s\n\n", h.Title, url)
	for _, n := range notes {
		fmt.Fprintf(w, "%s\n\n", n)
	}
	fmt.Fprintln(w, "Test logins:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, l := range h.Logins {
		pw := l.Password
		if pw == "" {
			pw = "(at the identity provider)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Who, pw, l.Shows)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

// Me is the JSON answer of the /me endpoint.
type Me struct {
	User  string `json:"user"`
	Email string `json:"email"`
	// Method is "password" or "sso".
	Method     string `json:"method"`
	Connection string `json:"connection,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	// Accounts are the accounts the login granted; Refused those whose
	// policy refused a password login.
	Accounts    []string       `json:"accounts"`
	Refused     []string       `json:"refused,omitempty"`
	GivenName   string         `json:"given_name,omitempty"`
	FamilyName  string         `json:"family_name,omitempty"`
	Identity    *MeIdentity    `json:"identity,omitempty"`
	Memberships []MeMembership `json:"memberships"`
}

// MeIdentity is what the identity provider proved, in Me.
type MeIdentity struct {
	Issuer        string   `json:"issuer"`
	Subject       string   `json:"subject"`
	SubjectFormat string   `json:"subject_format,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Groups        []string `json:"groups,omitempty"`
	Module        string   `json:"module,omitempty"`
	IdPInitiated  bool     `json:"idp_initiated,omitempty"`
}

// MeMembership is one of the user's accounts in the store, in Me.
type MeMembership struct {
	Account       string   `json:"account"`
	Roles         []string `json:"roles"`
	Organisation  string   `json:"organisation,omitempty"`
	SSOIdentifier string   `json:"sso_identifier,omitempty"`
	Status        string   `json:"status"`
}

// MeHandler serves the session as JSON (401 when logged out), with the
// user's memberships read from store, so scripts and tests can check a
// login.
func (s *Sessions) MeHandler(store provisioning.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		res := s.Current(r)
		if res == nil {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"not logged in"}`+"\n")
			return
		}
		me := Me{User: res.User, Email: res.Email, Method: string(res.Method.Kind), Connection: res.Method.Connection,
			Protocol: string(res.Method.Protocol), Accounts: res.Accounts, Memberships: []MeMembership{}}
		for _, d := range res.Refused {
			me.Refused = append(me.Refused, d.Account)
		}
		if id := res.Identity; id != nil {
			me.Identity = &MeIdentity{Issuer: id.Issuer, Subject: id.Subject, SubjectFormat: id.SubjectFormat, Email: id.Email,
				EmailVerified: id.EmailVerified, Groups: id.Groups, Module: id.FirstAttribute(login.DefaultModuleAttributes...), IdPInitiated: id.IdPInitiated}
		}
		ctx := r.Context()
		err := store.Tx(ctx, func(tx provisioning.Tx) error {
			u, err := tx.FindUser(ctx, res.User)
			if err != nil {
				return err
			}
			me.GivenName, me.FamilyName = u.GivenName, u.FamilyName
			ms, err := tx.ListMemberships(ctx, res.User)
			if err != nil {
				return err
			}
			for _, m := range ms {
				mm := MeMembership{Account: m.Account, Roles: m.RoleNames(), SSOIdentifier: m.SSOIdentifier, Status: string(m.Status)}
				if m.Organisation != "" {
					if o, err := tx.FindOrganisation(ctx, m.Organisation); err == nil {
						mm.Organisation = o.Name
					}
				}
				me.Memberships = append(me.Memberships, mm)
			}
			return nil
		})
		if err != nil && sso.ReasonOf(err) != sso.ReasonNotFound {
			http.Error(w, `{"error":"reading the user failed"}`, http.StatusInternalServerError)
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(me)
	})
}
