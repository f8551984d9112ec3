package policy_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/policy"
)

var (
	t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t1 = t0.Add(24 * time.Hour)
)

func TestCheckLockout(t *testing.T) {
	required := live(policy.ModeSSORequired)
	ssoAdmin := with1(admin, func(u *policy.User) { u.SSOLogins = []string{"acme-idp"} })
	testerAdmin := policy.User{ID: "u-tester", Email: "t@acme.example", Admin: true, SSOLogins: []string{"acme-test"}}
	elsewhere := with1(admin, func(u *policy.User) { u.SSOLogins = []string{"globex-idp", "acme-draft"} })
	external := policy.User{ID: "u-ext", Email: "ext@consult.example", Admin: true}
	roleless := policy.User{ID: "u-r", Email: "r@acme.example", Admin: true, Roles: []string{"Owner"}}

	tests := []struct {
		name  string
		p     policy.Policy
		users []policy.User
		ok    bool
		want  string
	}{
		{"password only keeps admins in", live(policy.ModePasswordOnly), []policy.User{admin}, true, ""},
		{"optional keeps admins in", live(policy.ModeSSOOptional), []policy.User{admin}, true, ""},
		{"required without break-glass and no sso login", required, []policy.User{admin, staff}, false, "has never completed a single sign-on login"},
		{"non-admins do not count", required, []policy.User{with1(staff, func(u *policy.User) { u.SSOLogins = []string{"acme-idp"} })}, false, "no administrator"},
		{"no administrators at all", live(policy.ModePasswordOnly), nil, false, "no administrator"},
		{"required with break-glass", with(required, func(p *policy.Policy) { p.AdminsMayUsePassword = true }), []policy.User{admin}, true, ""},
		{"required after an admin logged in through a live connection", required, []policy.User{admin, ssoAdmin}, true, ""},
		{"admin test user of a testing connection", required, []policy.User{testerAdmin}, true, ""},
		{"logins through other or draft connections do not count", required, []policy.User{elsewhere}, false, "globex-idp, acme-draft"},
		{"admin outside the domain scope keeps password", with(required, func(p *policy.Policy) {
			p.Scope = policy.Scope{Kind: policy.ScopeEmailDomains, Domains: []string{"acme.example"}}
		}), []policy.User{external}, true, ""},
		{"admin outside the role scope keeps password", with(required, func(p *policy.Policy) {
			p.Scope = policy.Scope{Kind: policy.ScopeRoles, Roles: []string{"Staff"}}
		}), []policy.User{roleless}, true, ""},
		{"dry run locks nobody out", with(required, func(p *policy.Policy) { p.DryRun = true }), []policy.User{admin}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := policy.CheckLockout(tc.p, tc.users)
			if tc.ok {
				if err != nil {
					t.Fatalf("CheckLockout = %v", err)
				}
				return
			}
			var e *sso.Error
			if !errors.As(err, &e) || e.Reason != sso.ReasonWouldLockOut || !strings.Contains(e.Detail, tc.want) {
				t.Fatalf("CheckLockout = %v; want would_lock_out containing %q", err, tc.want)
			}
		})
	}
	if err := policy.CheckLockout(policy.Policy{}, []policy.User{admin}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("CheckLockout(invalid) = %v", err)
	}
}

func with1(u policy.User, f func(*policy.User)) policy.User {
	f(&u)
	return u
}

func TestLockoutDetailSaysHowToFix(t *testing.T) {
	err := policy.CheckLockout(live(policy.ModeSSORequired), []policy.User{admin})
	for _, want := range []string{"admins_may_use_password", "connection acme-idp", "u-admin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("detail %q lacks %q", err, want)
		}
	}
}

func TestUpdateRecordsGoingLive(t *testing.T) {
	draft := policy.Policy{Account: "acme", Mode: policy.ModeSSOOptional, Connections: []policy.Connection{
		{ID: "acme-idp", Stage: policy.StageDraft},
		{ID: "acme-old", Stage: policy.StageLive, LiveAt: t0, LiveBy: "zed"},
	}}
	next := with(draft, func(p *policy.Policy) {
		p.Connections = []policy.Connection{
			// The caller's own LiveAt/LiveBy are not trusted.
			{ID: "acme-idp", Stage: policy.StageLive, LiveAt: t0.Add(-time.Hour), LiveBy: "mallory"},
			{ID: "acme-old", Stage: policy.StageLive},
		}
	})
	got, ch, err := policy.Update(draft, next, []policy.User{admin}, "ada", t1)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := got.Connection("acme-idp")
	if !c.LiveAt.Equal(t1) || c.LiveBy != "ada" {
		t.Errorf("going live recorded as %v by %q; want %v by ada", c.LiveAt, c.LiveBy, t1)
	}
	c, _ = got.Connection("acme-old")
	if !c.LiveAt.Equal(t0) || c.LiveBy != "zed" {
		t.Errorf("staying live changed the record to %v by %q", c.LiveAt, c.LiveBy)
	}
	if !reflect.DeepEqual(ch.WentLive, []string{"acme-idp"}) || ch.By != "ada" || !ch.At.Equal(t1) || ch.Account != "acme" {
		t.Errorf("change = %+v", ch)
	}
	if next.Connections[0].LiveBy != "mallory" {
		t.Error("Update modified its argument")
	}
	evs := ch.Events()
	if len(evs) != 1 || evs[0].Type != sso.EventConnectionLive || evs[0].Connection != "acme-idp" ||
		evs[0].Attrs["changed_by"] != "ada" || !evs[0].Time.Equal(t1) || !strings.Contains(evs[0].Detail, "went live") {
		t.Fatalf("events = %+v", evs)
	}

	// Back to testing clears the record and says so.
	back := with(got, func(p *policy.Policy) {
		p.Connections = []policy.Connection{{ID: "acme-idp", Stage: policy.StageTesting, TestUserIDs: []string{"u-admin"}}, got.Connections[1]}
	})
	got2, ch2, err := policy.Update(got, back, []policy.User{admin}, "ada", t1.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := got2.Connection("acme-idp"); !c.LiveAt.IsZero() || c.LiveBy != "" {
		t.Errorf("a testing connection keeps a live record: %+v", c)
	}
	evs = ch2.Events()
	if len(evs) != 1 || evs[0].Type != sso.EventConnectionChanged || !strings.Contains(evs[0].Detail, `stage: "live" -> "testing"`) ||
		!strings.Contains(evs[0].Detail, "test users: none -> [u-admin]") {
		t.Fatalf("events = %+v", evs)
	}
}

func TestUpdateLockout(t *testing.T) {
	optional := live(policy.ModeSSOOptional)
	required := live(policy.ModeSSORequired)
	_, _, err := policy.Update(optional, required, []policy.User{admin, staff}, "ada", t1)
	var e *sso.Error
	if !errors.As(err, &e) || e.Reason != sso.ReasonWouldLockOut || e.Op != "policy.Update" {
		t.Fatalf("Update to required without break-glass = %v; want would_lock_out", err)
	}
	// Once the administrator has logged in through the live connection, it goes through.
	ssoAdmin := with1(admin, func(u *policy.User) { u.SSOLogins = []string{"acme-idp"} })
	got, ch, err := policy.Update(optional, required, []policy.User{ssoAdmin, staff}, "ada", t1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != policy.ModeSSORequired || len(ch.Summary) != 1 || ch.Summary[0] != `mode: "sso_optional" -> "sso_required"` {
		t.Fatalf("policy %+v, summary %q", got, ch.Summary)
	}
	evs := ch.Events()
	if len(evs) != 1 || evs[0].Type != sso.EventPolicyChanged || evs[0].Attrs["mode"] != "sso_required" || evs[0].Account != "acme" {
		t.Fatalf("events = %+v", evs)
	}
	// Taking that connection away afterwards would lock the administrator out.
	twoLive := with(required, func(p *policy.Policy) {
		p.Connections = append(p.Connections, policy.Connection{ID: "acme-new", Stage: policy.StageLive})
	})
	withoutIdP := with(twoLive, func(p *policy.Policy) {
		p.Connections = []policy.Connection{{ID: "acme-idp", Stage: policy.StageDraft}, {ID: "acme-new", Stage: policy.StageLive}}
	})
	if _, _, err := policy.Update(twoLive, withoutIdP, []policy.User{ssoAdmin}, "ada", t1); !errors.Is(err, sso.ReasonWouldLockOut) {
		t.Fatalf("Update taking the administrator's connection away = %v; want would_lock_out", err)
	}
	// Switching off the break-glass is checked too.
	glass := with(required, func(p *policy.Policy) { p.AdminsMayUsePassword = true })
	if _, _, err := policy.Update(glass, required, []policy.User{admin}, "ada", t1); !errors.Is(err, sso.ReasonWouldLockOut) {
		t.Fatalf("Update switching the break-glass off = %v; want would_lock_out", err)
	}
	// Ending a dry run is the real switch.
	dry := with(required, func(p *policy.Policy) { p.DryRun = true })
	if _, _, err := policy.Update(optional, dry, []policy.User{admin}, "ada", t1); err != nil {
		t.Fatalf("Update to a dry run = %v", err)
	}
	if _, _, err := policy.Update(dry, required, []policy.User{admin}, "ada", t1); !errors.Is(err, sso.ReasonWouldLockOut) {
		t.Fatalf("Update ending the dry run = %v; want would_lock_out", err)
	}
}

func TestUpdateRefusals(t *testing.T) {
	ok := live(policy.ModeSSOOptional)
	tests := []struct {
		name   string
		old    policy.Policy
		next   policy.Policy
		by     string
		at     time.Time
		reason sso.Reason
	}{
		{"invalid next", ok, with(ok, func(p *policy.Policy) { p.Mode = "on" }), "ada", t1, sso.ReasonInvalidConfig},
		{"another account", ok, with(ok, func(p *policy.Policy) { p.Account = "globex" }), "ada", t1, sso.ReasonInvalidConfig},
		{"no author", ok, ok, " ", t1, sso.ReasonInvalidRequest},
		{"no time", ok, ok, "ada", time.Time{}, sso.ReasonInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ch, err := policy.Update(tc.old, tc.next, []policy.User{admin}, tc.by, tc.at)
			if !errors.Is(err, tc.reason) || ch != nil || p.Account != "" {
				t.Fatalf("Update = %+v, %+v, %v; want %q", p, ch, err, tc.reason)
			}
		})
	}
}

func TestUpdateFirstPolicy(t *testing.T) {
	// A new account: the old policy is the zero value.
	next := policy.Policy{Account: "acme", Mode: policy.ModeSSOOptional,
		Connections: []policy.Connection{{ID: "acme-idp", Stage: policy.StageTesting, TestUserEmails: []string{"ada@acme.example"}}}}
	_, ch, err := policy.Update(policy.Policy{}, next, []policy.User{admin}, "support", t0)
	if err != nil {
		t.Fatal(err)
	}
	evs := ch.Events()
	if len(evs) != 2 || evs[0].Type != sso.EventPolicyChanged || evs[1].Type != sso.EventConnectionChanged ||
		!strings.Contains(evs[1].Detail, `added in stage "testing"`) {
		t.Fatalf("events = %+v", evs)
	}
	// Nothing changed: no events.
	_, ch, err = policy.Update(next, next, []policy.User{admin}, "support", t1)
	if err != nil || !ch.Empty() || len(ch.Events()) != 0 {
		t.Fatalf("no-op change = %+v, %v", ch, err)
	}
}
