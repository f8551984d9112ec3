package discovery_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
)

const (
	benchDomains    = 1_000_000
	benchPerAccount = 4 // claimed domains per account: 250,000 accounts
)

// benchConfig returns benchDomains claimed domains spread over accounts of
// benchPerAccount domains and one SAML connection each (with an issuer).
func benchConfig() discovery.Config {
	accts := make([]discovery.Account, benchDomains/benchPerAccount)
	doms := make([]discovery.Domain, benchDomains)
	for i := range accts {
		id := fmt.Sprintf("acct%06d", i)
		a := &accts[i]
		a.ID, a.Name = id, "Account "+id
		a.Domains = doms[i*benchPerAccount : (i+1)*benchPerAccount : (i+1)*benchPerAccount]
		for j := range a.Domains {
			a.Domains[j].Name = fmt.Sprintf("org%07d-%d.example", i, j)
		}
		a.Connections = []discovery.Connection{{ID: id + "-saml", Protocol: sso.ProtocolSAML,
			Issuers: []string{"https://idp.example/" + id}}}
	}
	return discovery.Config{Accounts: accts}
}

// heapGrowth returns what build returns and the live heap bytes it adds
// and keeps, measured after garbage collection, so that everything build
// allocated and dropped (a configuration, say) is not counted and everything
// its result references is.
func heapGrowth(b *testing.B, build func() any) (any, float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grew <= 0 {
		b.Fatalf("heap shrank by %d bytes while building; the measurement is unusable", -grew)
	}
	return v, float64(grew)
}

// BenchmarkLookup measures lookups in a table of 1,000,000 claimed domains
// (250,000 accounts with one SAML connection each), and the memory the table
// keeps. The peer is a plain map[string]string from domain to account ID,
// built from the same configuration and measured in the same run.
//
// Memory metrics, per claimed domain, each measured with the configuration
// built and dropped inside the measurement, so that every string a
// structure keeps is counted:
//
//   - index-B/domain: the domain index alone (the table's counterpart of the
//     peer map), exact;
//   - table-B/domain: the whole Table (domain index, account and connection
//     ID indexes, choices with their names and logos, issuers), live heap;
//     the part beyond the index grows with the number of accounts, not of
//     domains, so it depends on benchPerAccount;
//   - the peer's B/domain: the map with its keys and values, live heap.
func BenchmarkLookup(b *testing.B) {
	v, tableBytes := heapGrowth(b, func() any {
		t, err := discovery.New(benchConfig())
		if err != nil {
			b.Fatal(err)
		}
		return t
	})
	tab := v.(*discovery.Table)
	if tab.Domains() != benchDomains {
		b.Fatalf("table has %d domains", tab.Domains())
	}
	v, mapBytes := heapGrowth(b, func() any {
		m := make(map[string]string)
		for _, a := range benchConfig().Accounts {
			for _, d := range a.Domains {
				m[d.Name] = a.ID
			}
		}
		return m
	})
	peer := v.(map[string]string)

	// Sample addresses spread over the table, already normalised.
	const sample = 1 << 14
	emails := make([]string, sample)
	upper := make([]string, sample)
	misses := make([]string, sample)
	for i := range emails {
		n := (i * 7919) % (benchDomains / benchPerAccount)
		emails[i] = fmt.Sprintf("user%d@org%07d-%d.example", i, n, i%benchPerAccount)
		upper[i] = fmt.Sprintf(" User%d@ORG%07d-%d.Example", i, n, i%benchPerAccount)
		misses[i] = fmt.Sprintf("user%d@free%d.example", i, i)
	}
	perDomain := tableBytes / benchDomains
	indexPerDomain := float64(discovery.DomainIndexBytes(tab)) / benchDomains

	report := func(b *testing.B) {
		b.ReportMetric(indexPerDomain, "index-B/domain")
		b.ReportMetric(perDomain, "table-B/domain")
	}
	b.Run("LookupNormalized", func(b *testing.B) {
		b.ReportAllocs()
		var hits int
		for i := 0; b.Loop(); i++ {
			if _, ok := tab.LookupNormalized(emails[i&(sample-1)]); ok {
				hits++
			}
		}
		if hits == 0 {
			b.Fatal("no hits")
		}
		report(b)
	})
	// What a login page does with the answer: read the choice it offers
	// (the table builds it on demand) and the text of its button.
	b.Run("LookupNormalized/choice", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		for i := 0; b.Loop(); i++ {
			if r, ok := tab.LookupNormalized(emails[i&(sample-1)]); ok {
				c := r.Choice(0)
				n += int(c.Connection[len(c.Connection)-1]) + int(c.DisplayName[len(c.DisplayName)-1])
			}
		}
		if n == 0 {
			b.Fatal("no hits")
		}
	})
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := tab.Lookup(emails[i&(sample-1)]); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
	b.Run("Lookup/unnormalised", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := tab.Lookup(upper[i&(sample-1)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LookupNormalized/miss", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := tab.LookupNormalized(misses[i&(sample-1)]); ok {
				b.Fatal("hit")
			}
		}
	})
	// A miss: an address typed in normalised form whose domain nobody
	// claims, the commonest answer on a login page. The peer is the same
	// miss in the map.
	b.Run("Lookup/miss", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := tab.Lookup(misses[i&(sample-1)]); err != discovery.ErrNoSSO {
				b.Fatal(err)
			}
		}
	})
	b.Run("peer=map[string]string/miss", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := misses[i&(sample-1)]
			if _, ok := peer[e[strings.LastIndexByte(e, '@')+1:]]; ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("peer=map[string]string", func(b *testing.B) {
		b.ReportAllocs()
		var hits int
		for i := 0; b.Loop(); i++ {
			e := emails[i&(sample-1)]
			if _, ok := peer[e[strings.LastIndexByte(e, '@')+1:]]; ok {
				hits++
			}
		}
		if hits == 0 {
			b.Fatal("no hits")
		}
		b.ReportMetric(mapBytes/benchDomains, "B/domain")
	})
}
