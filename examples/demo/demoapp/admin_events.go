package demoapp

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
)

// The admin page's events table: the person first (by email), what
// happened in plain words, when (relative, the exact time on hover), the
// connection and the reference an error page showed. Filters by result,
// connection, person and reference.

// maxEventRows bounds the rows the table shows.
const maxEventRows = 50

type eventFilter struct {
	Result, Connection, User, Ref string
}

// Any reports whether a filter is set.
func (f eventFilter) Any() bool {
	return f.Result != "" || f.Connection != "" || f.User != "" || f.Ref != ""
}

func filterOf(q url.Values) eventFilter {
	f := eventFilter{Result: q.Get("result"), Connection: q.Get("connection"), User: strings.TrimSpace(q.Get("user")), Ref: strings.TrimSpace(q.Get("ref"))}
	if f.Result != "ok" && f.Result != "failed" {
		f.Result = ""
	}
	return f
}

type eventRow struct {
	Who, WhoDetail string
	What, Why      string
	// Result is "ok", "bad" or "info", for the badge's colour.
	Result     string
	Type, Code string
	Detail     string
	When       string
	At, AtText string
	Connection string
	Ref        string
}

// normRef makes a typed reference comparable: upper case, no dashes or
// spaces.
func normRef(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

var eventLabels = map[sso.EventType]string{
	sso.EventLoginSucceeded:       "Signed in",
	sso.EventLoginFailed:          "Login failed",
	sso.EventPasswordRefused:      "Password refused",
	sso.EventUserCreated:          "User created",
	sso.EventUserLinked:           "Identity linked",
	sso.EventUserUpdated:          "User updated",
	sso.EventOrganisationCreated:  "Organisation created",
	sso.EventPolicyChanged:        "Login method changed",
	sso.EventPolicyDryRunRefusal:  "Dry run: password would be refused",
	sso.EventConnectionChanged:    "Connection changed",
	sso.EventConnectionLive:       "Connection went live",
	sso.EventCertificateExpiring:  "Certificate expiring",
	sso.EventCertificateExpired:   "Certificate expired",
	sso.EventMetadataRefreshed:    "Metadata refreshed",
	sso.EventMetadataRefreshError: "Metadata refresh failed",
	sso.EventMetadataHeldBack:     "Metadata held back",
	sso.EventWarning:              "Warning",
	sso.EventLogout:               "Logged out by the IdP",
	sso.EventTestLogin:            "Test login",
}

// eventRows turns the account's recent events into the table's rows,
// filtered, with the users' emails looked up once each.
func (a *App) eventRows(ctx context.Context, evs []sso.Event, f eventFilter, now time.Time) ([]eventRow, int) {
	emails := map[string]string{}
	emailOf := func(id string) string {
		if id == "" {
			return ""
		}
		if e, ok := emails[id]; ok {
			return e
		}
		e := ""
		_ = a.store.Tx(ctx, func(tx provisioning.Tx) error {
			if u, err := tx.FindUser(ctx, id); err == nil {
				e = u.Email
			}
			return nil
		})
		emails[id] = e
		return e
	}
	names := map[string]string{}
	a.mu.Lock()
	for id, ci := range a.connOf {
		names[id] = firstNonEmpty(ci.cfg.DisplayName, id)
	}
	a.mu.Unlock()
	ref := normRef(f.Ref)
	user := strings.ToLower(f.User)
	var out []eventRow
	for _, e := range evs {
		row := eventRow{Type: string(e.Type), Code: string(e.Reason), Detail: e.Detail, Ref: e.Attrs[sso.AttrReference],
			Connection: names[e.Connection], At: e.Time.UTC().Format(time.RFC3339), AtText: e.Time.UTC().Format("2006-01-02 15:04:05 UTC"),
			When: relative(e.Time, now)}
		if row.Connection == "" {
			row.Connection = e.Connection
		}
		row.Who = firstNonEmpty(emailOf(e.User), e.Attrs["email"], e.Attrs["changed_by"])
		switch {
		case row.Who == "" && e.Subject != "":
			row.Who = e.Subject
		case row.Who == "" && e.Type == sso.EventPolicyChanged:
			row.Who = "an administrator"
		case row.Who == "":
			row.Who = "—"
		}
		if e.Subject != "" && e.Subject != row.Who {
			row.WhoDetail = "at the IdP: " + e.Subject
		}
		row.What = firstNonEmpty(eventLabels[e.Type], string(e.Type))
		if e.Attrs[sso.AttrTest] == "true" && e.Type != sso.EventTestLogin {
			row.What = "Test login: " + strings.ToLower(row.What[:1]) + row.What[1:]
		}
		switch {
		case e.Reason != "" || e.Type == sso.EventLoginFailed || e.Type == sso.EventPasswordRefused || e.Type == sso.EventCertificateExpired || e.Type == sso.EventMetadataRefreshError:
			row.Result = "bad"
		case e.Type == sso.EventLoginSucceeded || e.Type == sso.EventTestLogin || e.Type == sso.EventUserCreated || e.Type == sso.EventUserLinked:
			row.Result = "ok"
		default:
			row.Result = "info"
		}
		if e.Reason != "" {
			row.Why = e.Reason.Label()
		} else if e.Type == sso.EventTestLogin {
			row.Why = "Passed"
		}
		if f.Result == "ok" && row.Result != "ok" || f.Result == "failed" && row.Result != "bad" {
			continue
		}
		if f.Connection != "" && e.Connection != f.Connection {
			continue
		}
		if user != "" && !strings.Contains(strings.ToLower(row.Who+" "+e.Subject), user) {
			continue
		}
		if ref != "" && normRef(row.Ref) != ref {
			continue
		}
		if len(out) < maxEventRows {
			out = append(out, row)
		}
	}
	return out, len(evs)
}

// relative says how long ago t was: "just now", "5 min ago", "3 h ago",
// "yesterday", "4 days ago", or the date.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		switch d = -d; {
		case d < time.Hour:
			return fmt.Sprintf("in %d min", int(d.Minutes())+1)
		case d < 48*time.Hour:
			return fmt.Sprintf("in %d h", int(d.Hours()))
		default:
			return fmt.Sprintf("in %d days", int(d.Hours()/24))
		}
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 48*time.Hour:
		return "yesterday"
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return t.UTC().Format("2 Jan 2006")
}
