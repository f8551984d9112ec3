package demoapp

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/internal/testenv"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
)

// replicas starts n demo applications on one PostgreSQL schema behind a
// round-robin load balancer (their base URL), all using the first one's
// mock identity providers.
func replicas(t *testing.T, n int, interval time.Duration) []*App {
	t.Helper()
	pg := servertest.PostgresSchema(t)
	rr := servertest.NewRoundRobin(t, "localhost")
	var out []*App
	for i := range n {
		opts := freeOptions()
		opts.Postgres, opts.SyncInterval, opts.BaseURL = pg, interval, rr.URL()
		if i > 0 {
			opts.MockIdPsOf = out[0]
		}
		a := startDemo(t, opts)
		rr.Add(a.ListenURL())
		out = append(out, a)
	}
	return out
}

// inSync waits until every replica applied the settings' current
// version.
func inSync(t *testing.T, rs ...*App) {
	t.Helper()
	want, err := rs[0].settings.version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Second, "the replicas apply the settings", func() bool {
		for _, a := range rs {
			if a.SettingsVersion() < want {
				return false
			}
		}
		return true
	})
}

// TestReplicasSync: a change made on one replica's admin page reaches the
// other by PostgreSQL's notification, without a restart and long before
// the periodic check (an hour here) would find it: a policy switch, and
// IdP metadata made live.
func TestReplicasSync(t *testing.T) {
	rs := replicas(t, 2, time.Hour)
	a, b := rs[0], rs[1]
	testenv.Eventually(t, 5*time.Second, "B listens", b.sync.isListening)

	paula := newBrowser(t, a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	start := time.Now()
	wantStatus(t, paula.at(a).post("/admin/pressroom/policy", form("mode", "sso_required", "scope_kind", "all_users", "admins_may_use_password", "1")), http.StatusOK)
	testenv.Eventually(t, 3*time.Second, "the policy switch reaches B", func() bool {
		p, _ := b.reg.Policy("pressroom")
		return p.Mode == policy.ModeSSORequired
	})
	t.Logf("policy switch posted on A applied on B %v after the post began", time.Since(start))
	// B now refuses Pete's password, as A does.
	wantStatus(t, newBrowser(t, b).at(b).post("/login", form("email", "pete@pressroom.example", "password", "pete-pw")), http.StatusUnauthorized)

	// Rachel makes new IdP metadata live on A; B trusts the new IdP.
	next := samltest.Start(t, samltest.Config{NoTLS: true, EntityID: "https://new-idp.hireco.example/metadata",
		Users: []samltest.User{{Email: "rachel@hireco.example", NameID: "HC-1001", NameIDFormat: saml.NameIDFormatPersistent}}})
	rachel := newBrowser(t, a)
	wantRedirect(t, rachel.samlLogin(rachel.post("/login", form("email", "rachel@hireco.example")), "rachel@hireco.example"), "/")
	wantStatus(t, rachel.at(a).post("/admin/hireco/metadata", form("action", "candidate", "connection", "hireco-saml", "metadata", string(next.Metadata()))), http.StatusOK)
	inSync(t, rs...)
	wantBody(t, rachel.samlLoginAt(next.URL(), rachel.get("/login/test/hireco-saml?candidate=1"), "rachel@hireco.example"), `class="verdict pass"`)
	wantStatus(t, rachel.at(a).post("/admin/hireco/metadata", form("action", "promote", "connection", "hireco-saml")), http.StatusOK)
	testenv.Eventually(t, 3*time.Second, "the new IdP metadata reaches B", func() bool {
		c, _, _ := b.reg.Connection("hireco-saml")
		sp, ok := c.Authenticator.(*saml.ServiceProvider)
		return ok && sp.IdP().EntityID == "https://new-idp.hireco.example/metadata"
	})
	// A login through B goes to the new IdP and is accepted.
	rb := newBrowser(t, b).at(b)
	wantRedirect(t, rb.samlLoginAt(next.URL(), rb.post("/login", form("email", "rachel@hireco.example")), "rachel@hireco.example"), "/")
	rb.mustMe("rachel@hireco.example")
}

// TestReplicasSyncFallbackAndBursts: a change whose notification is lost
// arrives by the periodic version check; a burst of changes costs a
// replica a few rebuilds, not one per change.
func TestReplicasSyncFallbackAndBursts(t *testing.T) {
	rs := replicas(t, 2, 200*time.Millisecond)
	a, b := rs[0], rs[1]
	ctx := context.Background()
	pol, _ := a.reg.Policy("pressroom")

	// Written without a notification, as if it was lost.
	quiet := *a.settings
	quiet.postgres = false
	req := pol
	req.Mode = policy.ModeSSORequired
	if err := quiet.putPolicy(ctx, req); err != nil {
		t.Fatal(err)
	}
	took := testenv.Eventually(t, 3*time.Second, "a change without notification reaches B", func() bool {
		p, _ := b.reg.Policy("pressroom")
		return p.Mode == policy.ModeSSORequired
	})
	t.Logf("change without notification applied on B after %v (SyncInterval 200ms)", took)

	// A burst of 40 changes.
	before := b.Rebuilds()
	for i := range 40 {
		p := pol
		p.Mode = policy.ModeSSOOptional
		if i%2 == 0 {
			p.Mode = policy.ModeSSORequired
		}
		if err := a.settings.putPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := a.settings.version(ctx)
	testenv.Eventually(t, 5*time.Second, "B applies the burst", func() bool { return b.SettingsVersion() == want })
	if p, _ := b.reg.Policy("pressroom"); p.Mode != policy.ModeSSOOptional {
		t.Fatalf("after the burst B has mode %q; want the last change's sso_optional", p.Mode)
	}
	if n := b.Rebuilds() - before; n > 4 {
		t.Fatalf("40 changes cost B %d rebuilds; want them coalesced (at most one per %v)", n, syncMinGap)
	} else {
		t.Logf("40 changes cost B %d rebuilds", n)
	}
}

// TestConcurrentAdminEditsCoalesce: a burst of admin edits on one
// replica costs it (and the other) a few rebuilds, not one each, and
// every edit is answered once applied.
func TestConcurrentAdminEditsCoalesce(t *testing.T) {
	rs := replicas(t, 2, time.Hour)
	a, b := rs[0], rs[1]
	paula := newBrowser(t, a).at(a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	beforeA, beforeB := a.Rebuilds(), b.Rebuilds()
	const edits = 30
	statuses := make(chan int, edits)
	var wg sync.WaitGroup
	for i := range edits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := form("mode", "sso_required", "scope_kind", "all_users", "admins_may_use_password", "1")
			if i%2 == 0 {
				v.Set("dry_run", "1")
			}
			req, _ := http.NewRequest(http.MethodPost, paula.abs("/admin/pressroom/policy"), strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := paula.c.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("an edit answered %d", st)
		}
	}
	inSync(t, rs...)
	saved, _ := a.settings.policies(context.Background())
	for _, r := range rs {
		if p, _ := r.reg.Policy("pressroom"); p.DryRun != saved["pressroom"].DryRun || p.Mode != policy.ModeSSORequired {
			t.Fatalf("a replica runs dry_run=%v mode %q; the database has dry_run=%v", p.DryRun, p.Mode, saved["pressroom"].DryRun)
		}
	}
	na, nb := a.Rebuilds()-beforeA, b.Rebuilds()-beforeB
	t.Logf("%d concurrent edits on A: %d rebuilds on A, %d on B", edits, na, nb)
	if na > edits/3 || nb > edits/3 {
		t.Fatalf("%d edits cost %d rebuilds on A and %d on B; want them coalesced", edits, na, nb)
	}
}

// TestReplicaRefusesBadSetting: a saved setting a replica cannot apply
// (here IdP metadata it refuses) leaves that connection as it was, takes
// the replica out of the balancer (/healthz 503, naming the setting),
// and holds back no other change; fixed, the replica is healthy again.
func TestReplicaRefusesBadSetting(t *testing.T) {
	rs := replicas(t, 2, time.Hour)
	a, b := rs[0], rs[1]
	ctx := context.Background()
	before, _, _ := b.reg.Connection("hireco-saml")
	if err := a.settings.put(ctx, metadataKeyPrefix+"hireco-saml", []byte("<not-metadata/>")); err != nil {
		t.Fatal(err)
	}
	inSync(t, rs...)
	if c, _, _ := b.reg.Connection("hireco-saml"); c.Authenticator != before.Authenticator {
		t.Fatal("the refused metadata replaced the connection")
	}
	hb := newBrowser(t, b).at(b)
	p := hb.get("/healthz")
	wantStatus(t, p, http.StatusServiceUnavailable)
	wantBody(t, p, "down: settings", "except idp_metadata/hireco-saml, refused here")
	// Other changes still apply.
	paula := newBrowser(t, a).at(a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	wantStatus(t, paula.post("/admin/pressroom/policy", form("mode", "sso_required", "scope_kind", "all_users", "admins_may_use_password", "1")), http.StatusOK)
	testenv.Eventually(t, 3*time.Second, "the policy change reaches B", func() bool {
		p, _ := b.reg.Policy("pressroom")
		return p.Mode == policy.ModeSSORequired
	})
	// Taken back, the replica is healthy again.
	if err := a.settings.put(ctx, metadataKeyPrefix+"hireco-saml", nil); err != nil {
		t.Fatal(err)
	}
	inSync(t, rs...)
	wantStatus(t, hb.get("/healthz"), http.StatusOK)
}
