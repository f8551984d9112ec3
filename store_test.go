package sso_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ssotest"
)

func TestMemoryStateStoreConformance(t *testing.T) {
	ssotest.TestStateStore(t, func(t *testing.T, now func() time.Time) (sso.StateStore, bool) {
		return sso.NewMemoryStateStore(sso.MemoryOptions{Now: now}), true
	})
}

func TestMemoryReplayCacheConformance(t *testing.T) {
	ssotest.TestReplayCache(t, func(t *testing.T, now func() time.Time) (sso.ReplayCache, bool) {
		return sso.NewMemoryReplayCache(sso.MemoryOptions{Now: now}), true
	})
}

func TestMemoryStoresAreBounded(t *testing.T) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Unix(1_700_000_000, 0))
	s := sso.NewMemoryStateStore(sso.MemoryOptions{Capacity: 3, Now: clock.Now})
	// k0 expires first, so it is the one dropped when k3 arrives.
	for i := 0; i < 4; i++ {
		if err := s.Put(ctx, fmt.Sprint("k", i), []byte("v"), clock.Now().Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Len(); n != 3 {
		t.Fatalf("Len = %d; want 3", n)
	}
	if _, err := s.Take(ctx, "k0"); !errors.Is(err, sso.ReasonStateMissing) {
		t.Fatalf("soonest-expiring entry kept: %v", err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if _, err := s.Take(ctx, k); err != nil {
			t.Fatalf("Take(%s): %v", k, err)
		}
	}

	// Expired entries go before live ones.
	c := sso.NewMemoryReplayCache(sso.MemoryOptions{Capacity: 2, Now: clock.Now})
	c.Seen(ctx, "old", clock.Now().Add(time.Second))
	c.Seen(ctx, "live", clock.Now().Add(time.Hour))
	clock.Advance(2 * time.Second)
	c.Seen(ctx, "new", clock.Now().Add(time.Hour))
	if seen, _ := c.Seen(ctx, "live", clock.Now().Add(time.Hour)); !seen {
		t.Fatal("live entry evicted while an expired one could go")
	}
}

func TestStoreFlows(t *testing.T) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Unix(1_700_000_000, 0))
	store := sso.NewMemoryStateStore(sso.MemoryOptions{Now: clock.Now})
	binding := sso.NewBinding()
	save := func(id string) {
		t.Helper()
		f := &sso.Flow{ID: id, Connection: "acme", RequestID: "req-" + id,
			ReturnTo: "/x", Created: clock.Now(), Expires: clock.Now().Add(10 * time.Minute), Data: map[string]string{"account": "a1"}}
		if err := sso.StoreFlows(store, binding).Save(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := sso.StoreFlows(store, "").Save(ctx, &sso.Flow{ID: "x", Expires: clock.Now().Add(time.Minute)}); !errors.Is(err, sso.ReasonInvalidRequest) {
		t.Fatalf("Save without a binding = %v; want invalid_request", err)
	}
	tests := []struct {
		name, id, binding string
		advance           time.Duration
		want              sso.Reason
	}{
		{"ok", "f1", binding, 0, ""},
		{"empty id", "", binding, 0, sso.ReasonStateMissing},
		{"other browser", "f3", sso.NewBinding(), 0, sso.ReasonStateMismatch},
		{"no cookie", "f4", "", 0, sso.ReasonStateMismatch},
		{"expired", "f5", binding, 11 * time.Minute, sso.ReasonStateMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.id != "" {
				save(tc.id)
			}
			clock.Advance(tc.advance)
			f, err := sso.StoreFlows(store, tc.binding).Take(ctx, tc.id)
			if tc.want == "" {
				if err != nil || f.RequestID != "req-"+tc.id || f.Data["account"] != "a1" || f.ID != tc.id {
					t.Fatalf("Take = %+v, %v", f, err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v; want %s", err, tc.want)
			}
			// Every attempt consumes the pending login.
			if tc.id != "" {
				if _, err := sso.StoreFlows(store, binding).Take(ctx, tc.id); !errors.Is(err, sso.ReasonStateMissing) {
					t.Fatalf("pending login usable twice: %v", err)
				}
			}
		})
	}
}
