package sso_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ssotest"
)

func TestMemoryStateStoreConformance(t *testing.T) {
	ssotest.TestStateStore(t, func(t *testing.T, now func() time.Time) (sso.StateStore, bool) {
		return sso.NewMemoryStateStore(sso.MemoryOptions{Now: now}), true
	}, ssotest.WithCapacity(func(t *testing.T, now func() time.Time, n int) (sso.StateStore, bool) {
		return sso.NewMemoryStateStore(sso.MemoryOptions{Capacity: n, Now: now}), true
	}))
}

func TestMemoryReplayCacheConformance(t *testing.T) {
	ssotest.TestReplayCache(t, func(t *testing.T, now func() time.Time) (sso.ReplayCache, bool) {
		return sso.NewMemoryReplayCache(sso.MemoryOptions{Now: now}), true
	}, ssotest.WithCapacity(func(t *testing.T, now func() time.Time, n int) (sso.ReplayCache, bool) {
		return sso.NewMemoryReplayCache(sso.MemoryOptions{Capacity: n, Now: now}), true
	}))
}

// TestMemoryStoresRefuseWhenFull: a full store refuses new keys with
// store_full and keeps every unexpired entry, whatever its expiry; expired
// entries make room first.
func TestMemoryStoresRefuseWhenFull(t *testing.T) {
	ctx := context.Background()
	clock := ssotest.NewClock(time.Unix(1_700_000_000, 0))
	s := sso.NewMemoryStateStore(sso.MemoryOptions{Capacity: 3, Now: clock.Now})
	// k0 expires first: the old eviction dropped it for k3.
	for i := 0; i < 3; i++ {
		if err := s.Put(ctx, fmt.Sprint("k", i), []byte("v"), clock.Now().Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Put(ctx, "k3", []byte("v"), clock.Now().Add(time.Hour))
	var e *sso.Error
	if !errors.Is(err, sso.ReasonStoreFull) || !errors.As(err, &e) || !strings.Contains(e.Detail, "MemoryOptions.Capacity") {
		t.Fatalf("Put in a full store: %v; want store_full naming MemoryOptions.Capacity", err)
	}
	if n := s.Len(); n != 3 {
		t.Fatalf("Len = %d; want 3", n)
	}
	// k0 expires: it makes room, and only it goes.
	clock.Advance(time.Minute)
	if err := s.Put(ctx, "k3", []byte("v"), clock.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Put after k0 expired: %v", err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if _, err := s.Take(ctx, k); err != nil {
			t.Fatalf("Take(%s): %v", k, err)
		}
	}

	c := sso.NewMemoryReplayCache(sso.MemoryOptions{Capacity: 2, Now: clock.Now})
	if seen, err := c.Seen(ctx, "soon", clock.Now().Add(time.Second)); seen || err != nil {
		t.Fatal(seen, err)
	}
	if seen, err := c.Seen(ctx, "late", clock.Now().Add(time.Hour)); seen || err != nil {
		t.Fatal(seen, err)
	}
	if _, err := c.Seen(ctx, "new", clock.Now().Add(time.Hour)); !errors.Is(err, sso.ReasonStoreFull) {
		t.Fatalf("Seen in a full cache: %v; want store_full", err)
	}
	// The record closest to expiry is still there: replaying it is caught.
	if seen, err := c.Seen(ctx, "soon", clock.Now().Add(time.Second)); !seen || err != nil {
		t.Fatalf("Seen(soon) = %v, %v; an unexpired replay record was forgotten", seen, err)
	}
	clock.Advance(2 * time.Second)
	if seen, err := c.Seen(ctx, "new", clock.Now().Add(time.Hour)); seen || err != nil {
		t.Fatalf("Seen(new) after soon expired = %v, %v; want false, nil", seen, err)
	}
	if seen, _ := c.Seen(ctx, "late", clock.Now().Add(time.Hour)); !seen {
		t.Fatal("live entry forgotten while an expired one could go")
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
