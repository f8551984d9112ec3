package discovery_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

// generation returns a configuration in which every domain d0..d99 and the
// alias "acme" route to account "gen<g>".
func generation(g int) discovery.Config {
	a := discovery.Account{ID: fmt.Sprintf("gen%d", g), Aliases: []string{"acme"},
		Connections: []discovery.Connection{{ID: fmt.Sprintf("gen%d-idp", g), Protocol: sso.ProtocolSAML}}}
	for i := 0; i < 100; i++ {
		a.Domains = append(a.Domains, discovery.Domain{Name: fmt.Sprintf("d%d.example", i)})
	}
	return discovery.Config{Accounts: []discovery.Account{a}}
}

// TestRouterSwap reloads the table while readers look up: every reader sees
// whole tables (one snapshot answers consistently) and, after the last
// reload, the last table. Run with -race.
func TestRouterSwap(t *testing.T) {
	r := discovery.NewRouter(mustNew(t, generation(0)))
	const reloads = 50
	var stop atomic.Bool
	defer stop.Store(true) // also when a reload fails the test
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := -1
			for i := 0; !stop.Load(); i++ {
				tab := r.Table()
				a, err := tab.Lookup(fmt.Sprintf("u@d%d.example", i%100))
				b, err2 := tab.LookupAlias("acme")
				if err != nil || err2 != nil {
					t.Errorf("lookup failed: %v, %v", err, err2)
					return
				}
				if a.Choice(0).Account != b.Choice(0).Account || a.Choice(0).Connection != a.Choice(0).Account+"-idp" {
					t.Errorf("one snapshot answered from two tables: %+v / %+v", a.Choices(), b.Choices())
					return
				}
				var g int
				fmt.Sscanf(a.Choice(0).Account, "gen%d", &g)
				if g < last {
					t.Errorf("went back from generation %d to %d", last, g)
					return
				}
				last = g
				if _, err := r.Lookup("u@d1.example"); err != nil {
					t.Errorf("Router.Lookup: %v", err)
					return
				}
				lookups.Add(1)
			}
		}()
	}
	// Readers must be running while the table changes: wait for the first
	// lookup before reloading, and let lookups run between reloads.
	// (Bounded, so that readers that failed and returned cannot hang it.)
	waitLookup := func() {
		n := lookups.Load()
		for deadline := time.Now().Add(5 * time.Second); lookups.Load() == n && time.Now().Before(deadline); {
			runtime.Gosched()
		}
	}
	waitLookup()
	for g := 1; g <= reloads; g++ {
		if g%10 == 0 {
			waitLookup()
		}
		if err := r.Reload(generation(g)); err != nil {
			t.Fatal(err)
		}
	}
	// A broken configuration is refused and the current table stays.
	bad := generation(reloads + 1)
	bad.Accounts = append(bad.Accounts, bad.Accounts[0])
	if err := r.Reload(bad); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Errorf("Reload(bad) = %v", err)
	}
	stop.Store(true)
	wg.Wait()
	if rt, err := r.Lookup("u@d5.example"); err != nil || rt.Choice(0).Account != fmt.Sprintf("gen%d", reloads) {
		t.Fatalf("after reloads: %+v, %v", rt, err)
	}
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
}

func TestRouterDelegates(t *testing.T) {
	r := discovery.NewRouter(nil)
	if _, err := r.Lookup("a@agency.example"); !errors.Is(err, sso.ReasonNoSSO) {
		t.Fatalf("empty router: %v", err)
	}
	old := r.Swap(mustNew(t, fixture()))
	if old == nil || old.Domains() != 0 {
		t.Fatalf("Swap returned %v", old)
	}
	if rt, ok := r.LookupNormalized("a@agency.example"); !ok || conns(rt) != "agency-entra" {
		t.Fatal("LookupNormalized")
	}
	if rt, err := r.LookupDomain("agency.example"); err != nil || conns(rt) != "agency-entra" {
		t.Fatal("LookupDomain", err)
	}
	if rt, err := r.LookupAlias("example"); err != nil || conns(rt) != "example-saml" {
		t.Fatal("LookupAlias", err)
	}
	if rt, err := r.LookupAccount("lab"); err != nil || conns(rt) != "lab-ldap" {
		t.Fatal("LookupAccount", err)
	}
	if rt, err := r.ForAccounts([]string{"lab"}); err != nil || conns(rt) != "lab-ldap" {
		t.Fatal("ForAccounts", err)
	}
	if c, err := r.Connection("lab-ldap"); err != nil || c.Account != "lab" {
		t.Fatal("Connection", err)
	}
	if cs, err := r.LookupIssuer("http://www.okta.com/exk1"); err != nil || cs[0].Connection != "hiring-okta" {
		t.Fatal("LookupIssuer", err)
	}
	if c, err := r.LookupModule("shipping", "partners"); err != nil || c.Connection != "shipping-partners" {
		t.Fatal("LookupModule", err)
	}
	r.Swap(nil)
	if r.Table() == nil || r.Table().Domains() != 0 {
		t.Fatal("Swap(nil) did not install an empty table")
	}
}
