package demoapp

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/saml"
)

// What an operator needs on a connection's card: the SP's own keys, held-
// back IdP metadata waiting for a decision, the networks and landing page,
// and the last day's logins.

// opsView is the operations part of a connection's card.
type opsView struct {
	SPKeys      []spKeyView
	HeldBack    *heldBackView
	Networks    string // the connection's allowed networks, or ""
	AcctNetwork string // the account's
	LandingPage string
	Health      *healthView
}

type spKeyView struct {
	Subject, SHA1, State string
	Badge                certBadge
}

type heldBackView struct {
	Since        time.Time
	Detail       string
	Certificates []certBadge
}

// describeOps fills the operations part of c. a.mu is held.
func (a *App) describeOps(c *adminConn, ci *connInfo, acct string) {
	now := time.Now()
	if conn, _, ok := a.reg.Connection(c.ID); ok {
		c.Ops.Networks = networksText(conn.Networks)
		c.Ops.LandingPage = conn.LandingPage
	}
	if acc, ok := a.reg.Account(acct); ok {
		c.Ops.AcctNetwork = networksText(acc.Networks)
	}
	sp, ok := ci.auth.(*saml.ServiceProvider)
	if !ok {
		return
	}
	for _, k := range sp.SPKeys() {
		v := spKeyView{Subject: k.Certificate.Subject, SHA1: k.Certificate.SHA1}
		switch {
		case k.Current:
			v.State = "current: signs, and IdPs encrypt to it"
		case k.Published:
			v.State = "next: takes over on " + k.UseFrom.UTC().Format("2 Jan 2006 15:04 UTC") + "; published, decrypts already"
		default:
			v.State = "previous: decrypts only; remove it once the IdP encrypts to the current key"
		}
		if k.Certificate.Subject == "" {
			v.Subject, v.State = "(key without certificate)", "decrypts only"
		} else {
			v.Badge = badgeOf(k.Certificate, now)
		}
		c.Ops.SPKeys = append(c.Ops.SPKeys, v)
	}
	if hb := sp.IdP().HeldBack; hb != nil {
		h := &heldBackView{Since: hb.Since, Detail: hb.Detail}
		for _, cert := range hb.Certificates {
			h.Certificates = append(h.Certificates, badgeOf(cert, now))
		}
		c.Ops.HeldBack = h
	}
}

func networksText(n login.Networks) string {
	if len(n.Allow) == 0 {
		return ""
	}
	var s []string
	for _, p := range n.Allow {
		s = append(s, p.String())
	}
	out := strings.Join(s, ", ")
	if n.DryRun {
		out += " (dry run: others are reported, not refused)"
	}
	return out
}

// adminHeldBack serves POST /admin/{account}/heldback: an administrator
// who checked the held-back metadata's certificates accepts them.
func (a *App) adminHeldBack(w http.ResponseWriter, r *http.Request) {
	pol, ok := a.adminForm(w, r)
	if !ok {
		return
	}
	conn, ci := a.postedConnection(r)
	sp, isSAML := ci.authenticator().(*saml.ServiceProvider)
	if _, inAccount := pol.Connection(conn); !inAccount || !isSAML {
		a.renderAdmin(w, r, pol, http.StatusBadRequest, &adminData{Notice: &notice{Section: conn, Title: "The account has no SAML connection " + conn + "."}})
		return
	}
	if sp.IdP().HeldBack == nil {
		a.renderAdmin(w, r, pol, http.StatusConflict, &adminData{Notice: &notice{Section: conn, Title: "No metadata is held back for " + conn + "."}})
		return
	}
	ctx := r.Context()
	if err := sp.ForceMetadataRefresh(ctx); err != nil {
		a.renderAdmin(w, r, pol, http.StatusBadGateway, &adminData{Notice: &notice{Section: conn, Title: "Not applied: the metadata could not be fetched again.",
			Lines: []string{detailOf(err)}}})
		return
	}
	who := ""
	if s := a.host.current(r); s != nil {
		who = s.Result.Email
	}
	a.events(ctx, sso.Event{Type: sso.EventConnectionChanged, Time: time.Now(), Account: pol.Account, Connection: conn,
		Detail: "held-back IdP metadata accepted by " + who, Attrs: map[string]string{"idp_entity_id": sp.IdP().EntityID}})
	a.renderAdmin(w, r, pol, http.StatusOK, &adminData{Notice: &notice{OK: true, Section: conn,
		Title: "Applied: the connection now trusts the IdP's new certificates. Run a test login."}})
}

func detailOf(err error) string {
	if se, ok := err.(*sso.Error); ok {
		return se.Detail
	}
	return err.Error()
}

// healthView is a connection's last 24 hours of logins.
type healthView struct {
	Succeeded, Failed int
	Chart             template.HTML // an inline SVG
	Reasons           []reasonCount
}

type reasonCount struct {
	Reason sso.Reason
	Label  string
	Count  int
}

// healthHours is the span of the chart, in hours.
const healthHours = 24

// loginHealth counts the account's logins of the last 24 hours per
// connection (one query, counted by the database).
func (a *App) loginHealth(ctx context.Context, acct string, now time.Time) map[string]*healthView {
	since := now.Truncate(time.Hour).Add(-(healthHours - 1) * time.Hour)
	counts, err := a.store.LoginCounts(ctx, acct, since, time.Hour)
	if err != nil {
		a.log.Warn("admin: counting logins failed", "account", acct, "err", err)
		return nil
	}
	type bars struct{ ok, fail [healthHours]int }
	per := map[string]*bars{}
	out := map[string]*healthView{}
	reasons := map[string]map[sso.Reason]int{}
	for _, c := range counts {
		b := per[c.Connection]
		if b == nil {
			b, out[c.Connection], reasons[c.Connection] = &bars{}, &healthView{}, map[sso.Reason]int{}
			per[c.Connection] = b
		}
		h := int(c.Start.Sub(since) / time.Hour)
		if h < 0 || h >= healthHours {
			continue
		}
		if c.Succeeded {
			b.ok[h] += c.Count
			out[c.Connection].Succeeded += c.Count
		} else {
			b.fail[h] += c.Count
			out[c.Connection].Failed += c.Count
			reasons[c.Connection][c.Reason] += c.Count
		}
	}
	for conn, hv := range out {
		b := per[conn]
		hv.Chart = healthChart(b.ok[:], b.fail[:], since)
		for r, n := range reasons[conn] {
			hv.Reasons = append(hv.Reasons, reasonCount{Reason: r, Label: r.Label(), Count: n})
		}
		sort.Slice(hv.Reasons, func(i, j int) bool {
			return hv.Reasons[i].Count > hv.Reasons[j].Count || (hv.Reasons[i].Count == hv.Reasons[j].Count && hv.Reasons[i].Reason < hv.Reasons[j].Reason)
		})
	}
	return out
}

// healthChart draws stacked hourly bars, successes green below failures
// red, as an SVG with a text alternative: readable without JavaScript or
// images.
func healthChart(ok, fail []int, since time.Time) template.HTML {
	const w, h, barW, gap = 24 * 12, 60, 10, 2
	peak := 1
	for i := range ok {
		peak = max(peak, ok[i]+fail[i])
	}
	var b strings.Builder
	total := func(xs []int) (n int) {
		for _, x := range xs {
			n += x
		}
		return
	}
	fmt.Fprintf(&b, `<svg class="health" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="Logins per hour over the last 24 hours: %d succeeded, %d failed">`,
		w, h+14, w, h+14, total(ok), total(fail))
	for i := range ok {
		x := i * (barW + gap)
		okH := ok[i] * h / peak
		failH := fail[i] * h / peak
		hour := since.Add(time.Duration(i) * time.Hour).UTC().Format("15:04")
		if ok[i] > 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#1a7f37"><title>%s UTC: %d succeeded</title></rect>`, x, h-okH, barW, max(okH, 1), hour, ok[i])
		}
		if fail[i] > 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#b42318"><title>%s UTC: %d failed</title></rect>`, x, h-okH-failH, barW, max(failH, 1), hour, fail[i])
		}
	}
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#555"/>`, h, w, h)
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10">%s</text><text x="%d" y="%d" font-size="10" text-anchor="end">now</text></svg>`,
		h+12, since.UTC().Format("15:04 UTC"), w, h+12)
	return template.HTML(b.String()) // built from numbers and fixed strings only
}
