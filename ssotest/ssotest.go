// Package ssotest holds conformance tests that any implementation of the
// root package's interfaces can run, in the manner of testing/slogtest:
// [TestStateStore] and [TestReplayCache] for durable stores (SQL, Redis), and
// [TestAuthenticator] for a protocol connection.
package ssotest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

// Clock is a settable clock for stores that take a Now func.
// It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// StoreFactory returns a fresh, empty store using clock for the current time.
// Stores that cannot use an injected clock (a server with its own clock)
// return false as second value; expiry is then checked with real time and
// short sleeps.
type StoreFactory[T any] func(t *testing.T, clock func() time.Time) (store T, usesClock bool)

// TestStateStore checks that a StateStore keeps, expires and consumes values
// as the interface requires.
func TestStateStore(t *testing.T, newStore StoreFactory[sso.StateStore]) {
	ctx := context.Background()
	t.Run("PutTake", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		if err := s.Put(ctx, "k1", []byte("v1"), clock.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := s.Take(ctx, "k1")
		if err != nil || string(got) != "v1" {
			t.Fatalf("Take = %q, %v; want v1", got, err)
		}
		if _, err := s.Take(ctx, "k1"); !errors.Is(err, sso.ReasonStateMissing) {
			t.Fatalf("second Take err = %v; want state_missing (single use)", err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		if _, err := s.Take(ctx, "never"); !errors.Is(err, sso.ReasonStateMissing) {
			t.Fatalf("Take(unknown) err = %v; want state_missing", err)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		exp := clock.Now().Add(time.Minute)
		_ = s.Put(ctx, "k", []byte("a"), exp)
		_ = s.Put(ctx, "k", []byte("b"), exp)
		got, err := s.Take(ctx, "k")
		if err != nil || string(got) != "b" {
			t.Fatalf("Take = %q, %v; want b", got, err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, usesClock := newStore(t, clock.Now)
		ttl := time.Minute
		if !usesClock {
			ttl = 1500 * time.Millisecond
		}
		if err := s.Put(ctx, "k", []byte("v"), clock.Now().Add(ttl)); err != nil {
			t.Fatal(err)
		}
		if usesClock {
			clock.Advance(ttl)
		} else {
			time.Sleep(ttl + 600*time.Millisecond)
		}
		if _, err := s.Take(ctx, "k"); !errors.Is(err, sso.ReasonStateMissing) {
			t.Fatalf("Take after expiry err = %v; want state_missing", err)
		}
	})
	t.Run("ConcurrentTakeOnce", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		if err := s.Put(ctx, "race", []byte("v"), clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Take(ctx, "race"); err == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d concurrent Takes succeeded; want exactly 1", wins.Load())
		}
	})
	t.Run("ValueIsCopied", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		v := []byte("abc")
		_ = s.Put(ctx, "k", v, clock.Now().Add(time.Minute))
		v[0] = 'X'
		got, _ := s.Take(ctx, "k")
		if string(got) != "abc" {
			t.Fatalf("stored value changed with the caller's slice: %q", got)
		}
	})
}

// TestReplayCache checks that a ReplayCache records keys atomically until
// they expire.
func TestReplayCache(t *testing.T, newCache StoreFactory[sso.ReplayCache]) {
	ctx := context.Background()
	t.Run("FirstThenSeen", func(t *testing.T) {
		clock := NewClock(time.Now())
		c, _ := newCache(t, clock.Now)
		until := clock.Now().Add(time.Minute)
		if seen, err := c.Seen(ctx, "a", until); err != nil || seen {
			t.Fatalf("first Seen = %v, %v; want false", seen, err)
		}
		if seen, err := c.Seen(ctx, "a", until); err != nil || !seen {
			t.Fatalf("second Seen = %v, %v; want true", seen, err)
		}
		if seen, _ := c.Seen(ctx, "b", until); seen {
			t.Fatal("other key reported as seen")
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		clock := NewClock(time.Now())
		c, usesClock := newCache(t, clock.Now)
		ttl := time.Minute
		if !usesClock {
			ttl = 1500 * time.Millisecond
		}
		_, _ = c.Seen(ctx, "a", clock.Now().Add(ttl))
		if usesClock {
			clock.Advance(ttl)
		} else {
			time.Sleep(ttl + 600*time.Millisecond)
		}
		if seen, err := c.Seen(ctx, "a", clock.Now().Add(ttl)); err != nil || seen {
			t.Fatalf("Seen after expiry = %v, %v; want false", seen, err)
		}
	})
	t.Run("ConcurrentOnce", func(t *testing.T) {
		clock := NewClock(time.Now())
		c, _ := newCache(t, clock.Now)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seen, err := c.Seen(ctx, "race", clock.Now().Add(time.Minute))
				if err == nil && !seen {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("%d concurrent Seen calls reported a fresh key; want exactly 1", fresh.Load())
		}
	})
	t.Run("ManyKeys", func(t *testing.T) {
		clock := NewClock(time.Now())
		c, _ := newCache(t, clock.Now)
		for i := 0; i < 200; i++ {
			if seen, err := c.Seen(ctx, fmt.Sprint("k", i), clock.Now().Add(time.Hour)); err != nil || seen {
				t.Fatalf("key %d: Seen = %v, %v", i, seen, err)
			}
		}
		for i := 0; i < 200; i++ {
			if seen, _ := c.Seen(ctx, fmt.Sprint("k", i), clock.Now().Add(time.Hour)); !seen {
				t.Fatalf("key %d forgotten", i)
			}
		}
	})
}
