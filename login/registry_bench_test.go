package login_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/discovery"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
)

// benchAuth is a connection for building registries: only its ID and
// protocol matter.
type benchAuth struct{ id string }

func (a benchAuth) ID() string             { return a.id }
func (a benchAuth) Protocol() sso.Protocol { return sso.ProtocolSAML }
func (a benchAuth) Issuer() string         { return "https://idp.example/" + a.id }
func (a benchAuth) Endpoints() sso.Endpoints {
	return sso.Endpoints{}
}
func (a benchAuth) Debug() bool { return false }
func (a benchAuth) Begin(context.Context, sso.BeginRequest) (*sso.Step, error) {
	return nil, sso.ReasonInternal
}
func (a benchAuth) Complete(context.Context, sso.CompleteRequest) (*sso.Identity, error) {
	return nil, sso.ReasonInternal
}

// benchAccounts returns accounts claiming domains domains in all, four per
// account, each with one live SAML connection.
func benchAccounts(domains int) []login.Account {
	const per = 4
	accts := make([]login.Account, domains/per)
	for i := range accts {
		id := fmt.Sprintf("acct%07d", i)
		a := &accts[i]
		a.ID, a.Name = id, "Account "+id
		for j := range per {
			a.Domains = append(a.Domains, discovery.Domain{Name: fmt.Sprintf("org%07d-%d.example", i, j)})
		}
		a.Policy = policy.Policy{Mode: policy.ModeSSOOptional}
		a.Connections = []login.Connection{{Authenticator: benchAuth{id + "-saml"}, Policy: policy.Connection{Stage: policy.StageLive}}}
	}
	return accts
}

// BenchmarkRegistrySet measures one change to one account (Registry.Set)
// in registries of 10,000, 100,000 and 1,000,000 claimed domains (four per
// account), and the live heap each registry keeps per domain.
func BenchmarkRegistrySet(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("domains=%d", n), func(b *testing.B) {
			accts := benchAccounts(n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			reg, err := login.NewRegistry(login.RegistryConfig{Accounts: accts})
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			// Reported after the loop: ResetTimer drops metrics reported
			// before it.
			held := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
			changed := accts[len(accts)/2]
			b.ResetTimer()
			for i := range b.N {
				changed.Name = fmt.Sprintf("renamed %d", i)
				if _, _, err := reg.Set(changed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(held, "registry-B/domain")
		})
	}
}

// BenchmarkRegistryBatch measures a burst of 100 changes to 100 accounts
// (each a policy change, as the admin pages of many tenants make them)
// applied with one Registry.Batch: one rebuild, in registries of 10,000,
// 100,000 and 1,000,000 claimed domains. B/op is what one rebuild
// allocates; compare ns/op with BenchmarkRegistrySet, one change per
// rebuild, in the same run.
func BenchmarkRegistryBatch(b *testing.B) {
	const burst = 100
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("domains=%d", n), func(b *testing.B) {
			accts := benchAccounts(n)
			reg, err := login.NewRegistry(login.RegistryConfig{Accounts: accts})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				err := reg.Batch(func(bt *login.Batch) error {
					for j := range burst {
						id := accts[(j*len(accts))/burst].ID
						p := policy.Policy{Mode: policy.ModeSSOOptional}
						if i%2 == 0 {
							p.Mode = policy.ModeSSORequired
						}
						if err := bt.SetPolicy(id, p); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(burst, "changes/rebuild")
		})
	}
}
