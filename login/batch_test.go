package login_test

import (
	"errors"
	"testing"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/login"
	"github.com/ssokit/sso/policy"
)

// TestRegistryBatch: many changes become one snapshot, swapped in whole;
// a batch that fails anywhere changes nothing.
func TestRegistryBatch(t *testing.T) {
	reg, err := login.NewRegistry(login.RegistryConfig{Accounts: benchAccounts(40)})
	if err != nil {
		t.Fatal(err)
	}
	before, gen := reg.Discovery(), reg.Generation()
	if gen != 1 {
		t.Fatalf("Generation after NewRegistry = %d; want 1", gen)
	}
	err = reg.Batch(func(b *login.Batch) error {
		for _, id := range []string{"acct0000000", "acct0000003", "acct0000007"} {
			if err := b.SetPolicy(id, policy.Policy{Mode: policy.ModeSSORequired}); err != nil {
				return err
			}
		}
		if _, ok := b.Delete("acct0000009"); !ok {
			t.Error("Delete in a batch found nothing")
		}
		a, _ := b.Account("acct0000001")
		a.Name = "Renamed"
		b.Set(a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Discovery() == before || reg.Generation() != gen+1 {
		t.Fatalf("the batch of five changes swapped in %d snapshots; want one", reg.Generation()-gen)
	}
	for _, id := range []string{"acct0000000", "acct0000003", "acct0000007"} {
		if p, _ := reg.Policy(id); p.Mode != policy.ModeSSORequired {
			t.Fatalf("%s: mode %q after the batch", id, p.Mode)
		}
	}
	if _, ok := reg.Account("acct0000009"); ok {
		t.Fatal("deleted account still there")
	}
	if a, _ := reg.Account("acct0000001"); a.Name != "Renamed" {
		t.Fatalf("Set in a batch: name %q", a.Name)
	}

	// A batch whose result does not check out changes nothing, not even
	// its valid changes.
	cur := reg.Discovery()
	err = reg.Batch(func(b *login.Batch) error {
		if err := b.SetPolicy("acct0000002", policy.Policy{Mode: policy.ModeSSORequired}); err != nil {
			return err
		}
		a, _ := b.Account("acct0000004")
		a.Connections = nil // sso_required below without a live connection
		a.Policy.Mode = policy.ModeSSORequired
		b.Set(a)
		return nil
	})
	if sso.ReasonOf(err) != sso.ReasonInvalidConfig {
		t.Fatalf("a batch that does not check out: %v", err)
	}
	if p, _ := reg.Policy("acct0000002"); p.Mode != policy.ModeSSOOptional || reg.Discovery() != cur {
		t.Fatal("a refused batch changed the registry")
	}
	// So does one whose function fails, and one naming an unknown account.
	stop := errors.New("stop")
	if err := reg.Batch(func(b *login.Batch) error {
		_ = b.SetPolicy("acct0000002", policy.Policy{Mode: policy.ModeSSORequired})
		return stop
	}); !errors.Is(err, stop) {
		t.Fatalf("Batch returned %v", err)
	}
	if err := reg.Batch(func(b *login.Batch) error { return b.SetPolicy("nosuch", policy.Policy{}) }); sso.ReasonOf(err) != sso.ReasonAccountNotFound {
		t.Fatalf("unknown account: %v", err)
	}
	if p, _ := reg.Policy("acct0000002"); p.Mode != policy.ModeSSOOptional || reg.Discovery() != cur {
		t.Fatal("a failed batch changed the registry")
	}
	// A batch that changes nothing keeps the snapshot.
	if err := reg.Batch(func(*login.Batch) error { return nil }); err != nil || reg.Discovery() != cur {
		t.Fatalf("an empty batch: %v, swapped %v", err, reg.Discovery() != cur)
	}
	if reg.Generation() != gen+1 {
		t.Fatalf("refused, failed and empty batches swapped in %d snapshots; want none", reg.Generation()-gen-1)
	}
	// Each single change is a snapshot of its own.
	if err := reg.SetPolicy("acct0000002", policy.Policy{Mode: policy.ModeSSORequired}); err != nil || reg.Generation() != gen+2 {
		t.Fatalf("SetPolicy: %v, generation %d", err, reg.Generation())
	}
}
