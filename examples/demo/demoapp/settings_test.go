package demoapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/policy"
	"github.com/ssokit/sso/saml"
	"github.com/ssokit/sso/saml/samltest"
	"github.com/ssokit/sso/store/sqlstore"
)

// TestAdminChangesSurviveRestart: a policy switch and IdP metadata applied
// on the admin page are kept in the database, and a restart with the same
// database file runs with them.
// startWithDB starts the demo on free ports with its database in a file
// that outlives the App, for restarts.
func startWithDB(t *testing.T) (*App, Options) {
	t.Helper()
	opts := freeOptions()
	opts.DB = filepath.Join(t.TempDir(), "demo.db")
	return startDemo(t, opts), opts
}

func TestAdminChangesSurviveRestart(t *testing.T) {
	a, opts := startWithDB(t)

	// Paula makes SSO required for Press Room, keeping the break-glass.
	paula := newBrowser(t, a)
	wantRedirect(t, paula.post("/login", form("email", "paula@pressroom.example", "password", "paula-pw")), "/")
	p := paula.post("/admin/pressroom/policy", form("mode", "sso_required", "scope_kind", "all_users", "admins_may_use_password", "1"))
	wantStatus(t, p, http.StatusOK)
	// Gina adds Greg to the staging connection's testers.
	gina := newBrowser(t, a)
	wantRedirect(t, gina.samlLogin(gina.post("/login/start", form("connection", "grantmakers-saml", "email", "gina@grantmakers.example")), "gina@grantmakers.example"), "/")
	p = gina.post("/admin/grantmakers/connection", form("connection", "grantmakers-staging", "test_users", "gina@grantmakers.example, greg@grantmakers.example"))
	wantStatus(t, p, http.StatusOK)
	wantBody(t, p, "Grantmakers staging IdP: test users gina@grantmakers.example, greg@grantmakers.example.")
	// Rachel gives HireCo's connection a new IdP.
	next := samltest.Start(t, samltest.Config{NoTLS: true, EntityID: "https://new-idp.hireco.example/metadata",
		Users: []samltest.User{{Email: "rachel@hireco.example", NameID: "HC-1001", NameIDFormat: saml.NameIDFormatPersistent}}})
	rachel := newBrowser(t, a)
	wantRedirect(t, rachel.samlLogin(rachel.post("/login", form("email", "rachel@hireco.example")), "rachel@hireco.example"), "/")
	p = rachel.post("/admin/hireco/metadata", form("action", "candidate", "connection", "hireco-saml", "metadata", string(next.Metadata())))
	wantStatus(t, p, http.StatusOK)
	p = rachel.samlLoginAt(next.URL(), rachel.get("/login/test/hireco-saml?candidate=1"), "rachel@hireco.example")
	wantBody(t, p, `class="verdict pass"`)
	p = rachel.post("/admin/hireco/metadata", form("action", "promote", "connection", "hireco-saml"))
	wantStatus(t, p, http.StatusOK)
	a.Close()

	b, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	pol, ok := b.reg.Policy("pressroom")
	if !ok {
		t.Fatal("no pressroom")
	}
	pc, _ := pol.Connection("pressroom-oidc")
	if pol.Mode != policy.ModeSSORequired || !pol.AdminsMayUsePassword || pc.Stage != policy.StageLive || pc.LiveBy != "" {
		t.Fatalf("after the restart Press Room's policy is %+v", pol)
	}
	wantStatus(t, newBrowser(t, b).post("/login", form("email", "pete@pressroom.example", "password", "pete-pw")), http.StatusUnauthorized)
	pol, _ = b.reg.Policy("grantmakers")
	if pc, _ := pol.Connection("grantmakers-staging"); pc.Stage != policy.StageTesting || !slices.Equal(pc.TestUserEmails, []string{"gina@grantmakers.example", "greg@grantmakers.example"}) {
		t.Fatalf("after the restart grantmakers-staging is %+v", pc)
	}
	// Greg is offered the staging connection now.
	if p := newBrowser(t, b).post("/login", form("email", "greg@grantmakers.example")); !strings.Contains(p.body, `id="pick-grantmakers-staging"`) {
		t.Fatalf("Greg is not offered the staging connection: %d %s", p.status, p.body)
	}
	entry, _, _ := b.reg.Connection("hireco-saml")
	if got := entry.Authenticator.(*saml.ServiceProvider).IdP().EntityID; got != next.EntityID() {
		t.Fatalf("after the restart hireco-saml trusts %q", got)
	}
	if cs, err := b.reg.Discovery().LookupIssuer(next.EntityID()); err != nil || cs[0].Connection != "hireco-saml" {
		t.Fatalf("discovery by the kept issuer: %v %v", cs, err)
	}
	// Another account is untouched.
	if pol, _ := b.reg.Policy("newsdesk"); pol.Mode != policy.ModeSSORequired {
		t.Fatalf("newsdesk %+v", pol)
	}
}

// TestKeptMetadataRefusedStartsNothing: kept metadata that no longer
// builds a connection stops the start with a problem naming the connection,
// the database and the fix.
func TestKeptMetadataRefusedStartsNothing(t *testing.T) {
	a, opts := startWithDB(t)
	db := opts.DB
	if err := a.settings.put(context.Background(), metadataKeyPrefix+"hireco-saml", []byte("<not-metadata/>")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	_, err := Start(context.Background(), opts)
	wantProblems(t, err, "accounts[4].connections[0].saml", "applied on the admin page (kept in "+db+")",
		"accounts[4].connections[0].saml", "DELETE FROM demo_settings WHERE key = 'idp_metadata/hireco-saml'")
}

// TestSettingsPutIsAtomic: a failed write leaves the old value.
func TestSettingsPutIsAtomic(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s, err := openSettings(ctx, db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.put(ctx, "k", []byte("one")); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.put(cctx, "k", []byte("two")); err == nil {
		t.Fatal("a cancelled write succeeded")
	}
	if v, err := s.get(ctx, "k"); err != nil || string(v) != "one" {
		t.Fatalf("after a failed write: %q %v", v, err)
	}
	s.now = func() time.Time { return time.Unix(0, 0) }
	if err := s.put(ctx, "k", nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.get(ctx, "k"); v != nil {
		t.Fatalf("deleted key holds %q", v)
	}
}

// TestSettingsPutIf: a write based on a value another replica replaced
// meanwhile is refused and writes nothing, so that two administrators
// cannot silently undo each other's change; of writers racing from the same
// value exactly one wins. On SQLite and, when available, PostgreSQL.
func TestSettingsPutIf(t *testing.T) {
	open := map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect){
		"sqlite": func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "s.db")+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			return db, sqlstore.SQLite
		},
		"postgres": func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, err := sql.Open("pgx", servertest.PostgresSchema(t))
			if err != nil {
				t.Fatal(err)
			}
			return db, sqlstore.Postgres
		},
	}
	for name, openDB := range open {
		t.Run(name, func(t *testing.T) {
			db, dialect := openDB(t)
			defer db.Close()
			ctx := context.Background()
			s, err := openSettings(ctx, db, dialect)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.putIf(ctx, "p", []byte("one"), nil); err != nil {
				t.Fatalf("first write of an absent key: %v", err)
			}
			if err := s.putIf(ctx, "p", []byte("two"), nil); !errors.Is(err, errSettingChanged) {
				t.Fatalf("write expecting absence over a value: %v", err)
			}
			if err := s.putIf(ctx, "p", []byte("two"), []byte("stale")); !errors.Is(err, errSettingChanged) {
				t.Fatalf("write based on a stale value: %v", err)
			}
			v0, _ := s.version(ctx)
			if v, err := s.get(ctx, "p"); err != nil || string(v) != "one" || v0 != 1 {
				t.Fatalf("after refused writes: %q %v, version %d", v, err, v0)
			}
			var wins, lost atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch err := s.putIf(ctx, "p", []byte(fmt.Sprint("w", i)), []byte("one")); {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, errSettingChanged):
						lost.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 || lost.Load() != 7 {
				t.Fatalf("racing writers: %d won, %d refused; want 1 and 7", wins.Load(), lost.Load())
			}
		})
	}
}
