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

// heapGrowth returns the live heap bytes that build adds, after garbage
// collection, keeping its result alive while measuring.
func heapGrowth(build func() any) (any, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return v, after.HeapAlloc - before.HeapAlloc
}

// BenchmarkLookup measures lookups in a table of 1,000,000 claimed domains
// (250,000 accounts), and reports the table's heap per domain. The peer is a
// plain map[string]string from domain to account ID built from the same
// configuration, measured in the same run.
//
// B/domain is the whole Table (domain index, accounts, connections, issuers,
// connection and account ID indexes) divided by the number of domains;
// index-B/domain is the domain index alone; the map's B/domain counts its
// own copy of each domain.
func BenchmarkLookup(b *testing.B) {
	cfg := benchConfig()
	v, tableBytes := heapGrowth(func() any {
		t, err := discovery.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return t
	})
	tab := v.(*discovery.Table)
	if tab.Domains() != benchDomains {
		b.Fatalf("table has %d domains", tab.Domains())
	}
	v, mapBytes := heapGrowth(func() any {
		m := make(map[string]string)
		for _, a := range cfg.Accounts {
			for _, d := range a.Domains {
				m[strings.Clone(d.Name)] = a.ID
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
	perDomain := float64(tableBytes) / benchDomains
	indexPerDomain := float64(discovery.DomainIndexBytes(tab)) / benchDomains

	report := func(b *testing.B) {
		b.ReportMetric(perDomain, "B/domain")
		b.ReportMetric(indexPerDomain, "index-B/domain")
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
		b.ReportMetric(float64(mapBytes)/benchDomains, "B/domain")
	})
	runtime.KeepAlive(cfg)
}
