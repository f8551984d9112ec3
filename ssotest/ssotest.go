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

// BoundedFactory returns a fresh, empty store that holds at most capacity
// unexpired entries, using clock for the current time and reporting whether
// it uses the clock, as [StoreFactory] does.
type BoundedFactory[T any] func(t *testing.T, clock func() time.Time, capacity int) (store T, usesClock bool)

// Option adds optional checks to [TestStateStore] or [TestReplayCache].
type Option[T any] func(*options[T])

type options[T any] struct {
	bounded BoundedFactory[T]
}

// WithCapacity adds the checks for a store that can be built with a bound on
// its number of entries: a full store refuses a new key with an error
// matching [sso.ReasonStoreFull] and never forgets an unexpired entry to make
// room, however many new keys arrive; replacing a pending login's value
// still works; and writes succeed again once entries are taken or expire.
func WithCapacity[T any](newStore BoundedFactory[T]) Option[T] {
	return func(o *options[T]) { o.bounded = newStore }
}

func collect[T any](opts []Option[T]) options[T] {
	var o options[T]
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// testCapacity is the bound the fullness checks build stores with.
const testCapacity = 3

// ttlFor returns the lifetime of entries in an expiry check, and passes it:
// by advancing clock when the store uses it, else by sleeping.
func ttlFor(usesClock bool, clock *Clock) (ttl time.Duration, pass func()) {
	if usesClock {
		return time.Minute, func() { clock.Advance(time.Minute) }
	}
	ttl = 1500 * time.Millisecond
	return ttl, func() { time.Sleep(ttl + 600*time.Millisecond) }
}

// wantFull fails t unless err is an *sso.Error with ReasonStoreFull and a
// Detail for the administrator.
func wantFull(t *testing.T, what string, err error) {
	t.Helper()
	var e *sso.Error
	if !errors.Is(err, sso.ReasonStoreFull) || !errors.As(err, &e) || e.Detail == "" {
		t.Fatalf("%s in a full store: err = %v; want an *sso.Error with Reason store_full and a Detail", what, err)
	}
}

// TestStateStore checks that a StateStore keeps, expires and consumes values
// as the interface requires. The options add optional checks, such as
// [WithCapacity].
func TestStateStore(t *testing.T, newStore StoreFactory[sso.StateStore], opts ...Option[sso.StateStore]) {
	ctx := context.Background()
	o := collect(opts)
	t.Run("AnyBytes", func(t *testing.T) {
		// Keys are byte strings; a store keeps them apart exactly.
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		keys := []string{"flow:a\x00b", "flow:a\x00c", "\xff\xfe", "~flow:a", "flow:a"}
		for i, k := range keys {
			if err := s.Put(ctx, k, []byte{byte(i)}, clock.Now().Add(time.Minute)); err != nil {
				t.Fatalf("Put(%q): %v", k, err)
			}
		}
		for i, k := range keys {
			if v, err := s.Take(ctx, k); err != nil || len(v) != 1 || v[0] != byte(i) {
				t.Fatalf("Take(%q) = %v, %v; want [%d]", k, v, err, i)
			}
		}
	})
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
	t.Run("PutExpiredDeletes", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now)
		if err := s.Put(ctx, "k", []byte("v"), clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "k", []byte("w"), clock.Now().Add(-time.Second)); err != nil {
			t.Fatalf("Put with a past expiry: %v", err)
		}
		if _, err := s.Take(ctx, "k"); !errors.Is(err, sso.ReasonStateMissing) {
			t.Fatalf("Take after a Put with a past expiry err = %v; want state_missing", err)
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
	if o.bounded != nil {
		testBoundedStateStore(t, o.bounded)
	}
}

// fillState puts testCapacity keys k0, k1, ... that live for ttl.
func fillState(t *testing.T, s sso.StateStore, clock *Clock, ttl time.Duration) {
	t.Helper()
	for i := 0; i < testCapacity; i++ {
		if err := s.Put(context.Background(), fmt.Sprint("k", i), []byte(fmt.Sprint("v", i)), clock.Now().Add(ttl)); err != nil {
			t.Fatalf("Put(k%d) below the capacity: %v", i, err)
		}
	}
}

func testBoundedStateStore(t *testing.T, newStore BoundedFactory[sso.StateStore]) {
	ctx := context.Background()
	t.Run("FullRefusesAndKeeps", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now, testCapacity)
		fillState(t, s, clock, time.Hour)
		// A flood of new keys is refused; none pushes out a pending login.
		for i := 0; i < 3*testCapacity; i++ {
			wantFull(t, "Put of a new key", s.Put(ctx, fmt.Sprint("flood", i), []byte("x"), clock.Now().Add(2*time.Hour)))
		}
		// Replacing a pending login's value needs no new room.
		if err := s.Put(ctx, "k1", []byte("v1b"), clock.Now().Add(time.Hour)); err != nil {
			t.Fatalf("replacing a key in a full store: %v", err)
		}
		for i := 0; i < testCapacity; i++ {
			want := fmt.Sprint("v", i)
			if i == 1 {
				want = "v1b"
			}
			if got, err := s.Take(ctx, fmt.Sprint("k", i)); err != nil || string(got) != want {
				t.Fatalf("Take(k%d) after the flood = %q, %v; want %q (an unexpired entry was forgotten)", i, got, err, want)
			}
		}
		if _, err := s.Take(ctx, "flood0"); !errors.Is(err, sso.ReasonStateMissing) {
			t.Fatalf("a refused Put was stored: Take err = %v", err)
		}
	})
	t.Run("TakeMakesRoom", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, _ := newStore(t, clock.Now, testCapacity)
		fillState(t, s, clock, time.Hour)
		if _, err := s.Take(ctx, "k0"); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "new", []byte("v"), clock.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Put after a Take freed a slot: %v", err)
		}
	})
	t.Run("FullRecoversOnExpiry", func(t *testing.T) {
		clock := NewClock(time.Now())
		s, usesClock := newStore(t, clock.Now, testCapacity)
		ttl, pass := ttlFor(usesClock, clock)
		fillState(t, s, clock, ttl)
		wantFull(t, "Put of a new key", s.Put(ctx, "early", []byte("x"), clock.Now().Add(time.Hour)))
		pass()
		for i := 0; i < testCapacity; i++ {
			if err := s.Put(ctx, fmt.Sprint("new", i), []byte("v"), clock.Now().Add(time.Hour)); err != nil {
				t.Fatalf("Put(new%d) after the entries expired: %v; a full store must recover by itself", i, err)
			}
		}
		if got, err := s.Take(ctx, "new0"); err != nil || string(got) != "v" {
			t.Fatalf("Take(new0) = %q, %v", got, err)
		}
	})
}

// TestReplayCache checks that a ReplayCache records keys atomically until
// they expire. The options add optional checks, such as [WithCapacity].
func TestReplayCache(t *testing.T, newCache StoreFactory[sso.ReplayCache], opts ...Option[sso.ReplayCache]) {
	ctx := context.Background()
	o := collect(opts)
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
	t.Run("AnyBytes", func(t *testing.T) {
		// Keys are byte strings: package saml joins the connection and
		// the assertion ID with a NUL byte, and an ID may be any bytes.
		// A store must keep them apart exactly, whatever its text rules.
		clock := NewClock(time.Now())
		c, _ := newCache(t, clock.Now)
		until := clock.Now().Add(time.Minute)
		keys := []string{"conn\x00id-1", "conn\x00id-2", "conn", "\xff\xfe not UTF-8", "\xff\xfd not UTF-8", "~conn", "é"}
		for _, k := range keys {
			if seen, err := c.Seen(ctx, k, until); err != nil || seen {
				t.Fatalf("first Seen(%q) = %v, %v; want false", k, seen, err)
			}
		}
		for _, k := range keys {
			if seen, err := c.Seen(ctx, k, until); err != nil || !seen {
				t.Fatalf("second Seen(%q) = %v, %v; want true", k, seen, err)
			}
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
		if seen, err := c.Seen(ctx, "a", clock.Now().Add(time.Hour)); err != nil || seen {
			t.Fatalf("Seen after expiry = %v, %v; want false", seen, err)
		}
		// The key is recorded again.
		if seen, err := c.Seen(ctx, "a", clock.Now().Add(time.Hour)); err != nil || !seen {
			t.Fatalf("Seen after recording again = %v, %v; want true", seen, err)
		}
	})
	t.Run("SeenKeepsExpiry", func(t *testing.T) {
		// A second Seen with an earlier until must not shorten the record:
		// a replay would otherwise make its own record expire sooner.
		clock := NewClock(time.Now())
		c, usesClock := newCache(t, clock.Now)
		_, pass := ttlFor(usesClock, clock)
		if seen, err := c.Seen(ctx, "a", clock.Now().Add(time.Hour)); err != nil || seen {
			t.Fatalf("first Seen = %v, %v; want false", seen, err)
		}
		if seen, err := c.Seen(ctx, "a", clock.Now().Add(time.Millisecond)); err != nil || !seen {
			t.Fatalf("second Seen = %v, %v; want true", seen, err)
		}
		pass()
		if seen, err := c.Seen(ctx, "a", clock.Now().Add(time.Hour)); err != nil || !seen {
			t.Fatalf("Seen after the second call's until = %v, %v; want true (the record was shortened)", seen, err)
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
	if o.bounded != nil {
		testBoundedReplayCache(t, o.bounded)
	}
}

// fillReplay records testCapacity keys k0, k1, ... that live for ttl.
func fillReplay(t *testing.T, c sso.ReplayCache, clock *Clock, ttl time.Duration) {
	t.Helper()
	for i := 0; i < testCapacity; i++ {
		if seen, err := c.Seen(context.Background(), fmt.Sprint("k", i), clock.Now().Add(ttl)); err != nil || seen {
			t.Fatalf("Seen(k%d) below the capacity = %v, %v; want false", i, seen, err)
		}
	}
}

func testBoundedReplayCache(t *testing.T, newCache BoundedFactory[sso.ReplayCache]) {
	ctx := context.Background()
	t.Run("FullRefusesAndKeeps", func(t *testing.T) {
		clock := NewClock(time.Now())
		c, _ := newCache(t, clock.Now, testCapacity)
		fillReplay(t, c, clock, time.Hour)
		// A flood of new keys is refused; none pushes out a replay record.
		for i := 0; i < 3*testCapacity; i++ {
			_, err := c.Seen(ctx, fmt.Sprint("flood", i), clock.Now().Add(2*time.Hour))
			wantFull(t, "Seen of a new key", err)
		}
		for i := 0; i < testCapacity; i++ {
			if seen, err := c.Seen(ctx, fmt.Sprint("k", i), clock.Now().Add(time.Hour)); err != nil || !seen {
				t.Fatalf("Seen(k%d) after the flood = %v, %v; want true (an unexpired record was forgotten, so it could be replayed)", i, seen, err)
			}
		}
	})
	t.Run("FullRecoversOnExpiry", func(t *testing.T) {
		clock := NewClock(time.Now())
		c, usesClock := newCache(t, clock.Now, testCapacity)
		ttl, pass := ttlFor(usesClock, clock)
		fillReplay(t, c, clock, ttl)
		_, err := c.Seen(ctx, "early", clock.Now().Add(time.Hour))
		wantFull(t, "Seen of a new key", err)
		pass()
		for i := 0; i < testCapacity; i++ {
			if seen, err := c.Seen(ctx, fmt.Sprint("new", i), clock.Now().Add(time.Hour)); err != nil || seen {
				t.Fatalf("Seen(new%d) after the records expired = %v, %v; want false (a full cache must recover by itself)", i, seen, err)
			}
		}
		if seen, err := c.Seen(ctx, "new0", clock.Now().Add(time.Hour)); err != nil || !seen {
			t.Fatalf("Seen(new0) again = %v, %v; want true", seen, err)
		}
	})
}
