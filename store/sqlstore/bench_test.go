package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/provisioning"
	"github.com/ssokit/sso/store/sqlstore"
)

// BenchmarkProvisionLink measures a returning user's login (found by the
// link, no change) on SQLite, next to the in-memory store as the peer.
func BenchmarkProvisionLink(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, store provisioning.Store) {
		p, err := provisioning.New(provisioning.Config{Store: store})
		if err != nil {
			b.Fatal(err)
		}
		req := provisioning.Request{
			Account:    provisioning.Account{ID: "acme", Domains: []string{"acme.example"}},
			Connection: provisioning.Connection{ID: "acme-oidc", JIT: provisioning.JIT{Enabled: true, DefaultRoles: []string{"Member"}}},
			Identity:   &sso.Identity{Connection: "acme-oidc", Subject: "00u1", Email: "kim@acme.example"},
		}
		if _, err := p.Provision(ctx, req); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if res, err := p.Provision(ctx, req); err != nil || res.Match != provisioning.MatchLink {
				b.Fatal(res, err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, provisioning.NewMemoryStore(provisioning.MemoryOptions{})) })
	b.Run("sqlite", func(b *testing.B) {
		s, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"), sqlstore.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
}
