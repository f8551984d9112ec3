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

func TestFlowRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Unix(1_700_000_000, 0))
	store := sso.NewMemoryStateStore(sso.MemoryOptions{Now: clock.Now})
	binding := sso.NewBinding()
	save := func(id string) {
		t.Helper()
		f := &sso.Flow{ID: id, Connection: "acme", BindingHash: sso.HashBinding(binding), RequestID: "req-" + id,
			ReturnTo: "/x", Created: clock.Now(), Expires: clock.Now().Add(10 * time.Minute), Data: map[string]string{"account": "a1"}}
		if err := sso.SaveFlow(ctx, store, f); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, id, conn, binding string
		advance                 time.Duration
		want                    sso.Reason
	}{
		{"ok", "f1", "acme", binding, 0, ""},
		{"empty id", "", "acme", binding, 0, sso.ReasonStateMissing},
		{"other connection", "f2", "other", binding, 0, sso.ReasonStateMismatch},
		{"other browser", "f3", "acme", sso.NewBinding(), 0, sso.ReasonStateMismatch},
		{"no cookie", "f4", "acme", "", 0, sso.ReasonStateMismatch},
		{"expired", "f5", "acme", binding, 11 * time.Minute, sso.ReasonStateMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.id != "" {
				save(tc.id)
			}
			f, err := sso.TakeFlow(ctx, store, tc.id, tc.conn, tc.binding, clock.Now().Add(tc.advance))
			if tc.want == "" {
				if err != nil || f.RequestID != "req-"+tc.id || f.Data["account"] != "a1" || f.ID != tc.id {
					t.Fatalf("TakeFlow = %+v, %v", f, err)
				}
			} else if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v; want %s", err, tc.want)
			}
			// Every attempt consumes the flow.
			if tc.id != "" {
				if _, err := sso.TakeFlow(ctx, store, tc.id, tc.conn, tc.binding, clock.Now()); !errors.Is(err, sso.ReasonStateMissing) {
					t.Fatalf("flow usable twice: %v", err)
				}
			}
		})
	}
}
