package bench

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

const (
	discDomains    = 1_000_000
	discPerAccount = 4 // claimed domains per account: 250,000 accounts
	discSample     = 1 << 14
)

// discFixture is a discovery table of discDomains claimed domains and, as
// the peer, a Go map from domain to account ID built from the same
// configuration; with the live heap each keeps, per domain.
type discFixture struct {
	tab                   *discovery.Table
	peer                  map[string]string
	tabBytes, peerBytes   float64 // per domain
	hits, misses, tampers []string
}

func discConfig(small bool) discovery.Config {
	n := discDomains
	if small {
		n = 4000
	}
	accts := make([]discovery.Account, n/discPerAccount)
	doms := make([]discovery.Domain, n)
	for i := range accts {
		id := fmt.Sprintf("acct%06d", i)
		a := &accts[i]
		a.ID, a.Name = id, "Account "+id
		a.Domains = doms[i*discPerAccount : (i+1)*discPerAccount : (i+1)*discPerAccount]
		for j := range a.Domains {
			a.Domains[j].Name = fmt.Sprintf("org%07d-%d.example", i, j)
		}
		a.Connections = []discovery.Connection{{ID: id + "-saml", Protocol: sso.ProtocolSAML, Issuers: []string{"https://idp.example/" + id}}}
	}
	return discovery.Config{Accounts: accts}
}

// liveHeap returns build's result and the live heap it adds, after
// garbage collection (so the configuration it builds and drops is not
// counted).
func liveHeap(build func() any) (any, float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return v, float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
}

var (
	discMu    sync.Mutex
	discCache = map[bool]*discFixture{}
)

// newDiscFixture builds the fixture once per test binary (small: 4,000
// domains, for tests in short mode).
func newDiscFixture(tb testing.TB, small bool) *discFixture {
	tb.Helper()
	discMu.Lock()
	defer discMu.Unlock()
	if f := discCache[small]; f != nil {
		return f
	}
	n := discDomains
	if small {
		n = 4000
	}
	f := &discFixture{}
	var err error
	v, tabBytes := liveHeap(func() any {
		var t *discovery.Table
		t, err = discovery.New(discConfig(small))
		return t
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.tab = v.(*discovery.Table)
	if f.tab.Domains() != n {
		tb.Fatalf("table has %d domains; want %d", f.tab.Domains(), n)
	}
	v, peerBytes := liveHeap(func() any {
		m := make(map[string]string)
		for _, a := range discConfig(small).Accounts {
			for _, d := range a.Domains {
				m[d.Name] = a.ID
			}
		}
		return m
	})
	f.peer = v.(map[string]string)
	f.tabBytes, f.peerBytes = tabBytes/float64(n), peerBytes/float64(n)
	accts := n / discPerAccount
	for i := 0; i < discSample; i++ {
		a := (i * 7919) % accts
		f.hits = append(f.hits, fmt.Sprintf("user%d@org%07d-%d.example", i, a, i%discPerAccount))
		f.misses = append(f.misses, fmt.Sprintf("user%d@free%07d.example", i, i))
		// One letter changed in a claimed domain.
		f.tampers = append(f.tampers, fmt.Sprintf("user%d@orh%07d-%d.example", i, a, i%discPerAccount))
	}
	discCache[small] = f
	return f
}

// Both sides look an email address up by its domain: ssokit with
// Table.Lookup (what a login page calls with what a person typed, here
// already normalised), the peer with the domain cut at the last '@' and a
// map index. The timed lookups return whether the domain is claimed; the
// checks before timing also compare the account found.
func (f *discFixture) ssokitAccount(email string) (string, bool, error) {
	r, err := f.tab.Lookup(email)
	if err != nil {
		if errors.Is(err, sso.ReasonNoSSO) {
			return "", false, nil
		}
		return "", false, err
	}
	return r.Choice(0).Account, true, nil
}

func (f *discFixture) ssokit(email string) (bool, error) {
	r, err := f.tab.Lookup(email)
	if err != nil {
		if errors.Is(err, sso.ReasonNoSSO) {
			return false, nil
		}
		return false, err
	}
	return r.Len() > 0, nil
}

func (f *discFixture) mapAccount(email string) (string, bool, error) {
	a, ok := f.peer[email[strings.LastIndexByte(email, '@')+1:]]
	return a, ok, nil
}

func (f *discFixture) mapLookup(email string) (bool, error) {
	_, ok := f.peer[email[strings.LastIndexByte(email, '@')+1:]]
	return ok, nil
}

func (f *discFixture) check(tb testing.TB, name string, look func(string) (string, bool, error)) {
	tb.Helper()
	for i := 0; i < 64; i++ {
		a, ok, err := look(f.hits[i])
		if err != nil || !ok {
			tb.Fatalf("%s misses %s: %v", name, f.hits[i], err)
		}
		if want := f.peer[f.hits[i][strings.LastIndexByte(f.hits[i], '@')+1:]]; a != want {
			tb.Fatalf("%s routes %s to %q; want %q", name, f.hits[i], a, want)
		}
		for _, miss := range []string{f.misses[i], f.tampers[i]} {
			if _, ok, err := look(miss); err != nil || ok {
				tb.Fatalf("%s finds %s (err %v)", name, miss, err)
			}
		}
	}
}

func TestDiscoveryAcceptsAndRefuses(t *testing.T) {
	f := newDiscFixture(t, testing.Short())
	f.check(t, "ssokit", f.ssokitAccount)
	f.check(t, "map", f.mapAccount)
	t.Logf("bytes per domain: table %.0f, map %.0f", f.tabBytes, f.peerBytes)
}

// BenchmarkDiscovery times the lookup of an email's domain among 1,000,000
// claimed domains (250,000 accounts, one SAML connection each): claimed
// domains (hit) and unclaimed ones (miss), ssokit's Table against a Go map.
// B/domain is the live heap each keeps per claimed domain (for the table:
// the whole table, with accounts, connections and issuers).
func BenchmarkDiscovery(b *testing.B) {
	f := newDiscFixture(b, false)
	floorHere(b)
	for _, kind := range []struct {
		name   string
		emails []string
		hit    bool
	}{{"hit", f.hits, true}, {"miss", f.misses, false}} {
		for _, side := range []struct {
			name  string
			check func(string) (string, bool, error)
			look  func(string) (bool, error)
			bytes float64
		}{{"ssokit", f.ssokitAccount, f.ssokit, f.tabBytes}, {"map", f.mapAccount, f.mapLookup, f.peerBytes}} {
			b.Run(kind.name+"/"+side.name, func(b *testing.B) {
				f.check(b, side.name, side.check)
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if ok, err := side.look(kind.emails[i&(discSample-1)]); err != nil || ok != kind.hit {
						b.Fatalf("%s: found %v, err %v", kind.emails[i&(discSample-1)], ok, err)
					}
				}
				b.ReportMetric(side.bytes, "B/domain")
			})
		}
	}
}
