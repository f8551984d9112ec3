package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/servertest"
	"github.com/ssokit/sso/ssotest"
	"github.com/ssokit/sso/store/redisstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.Stop()
	os.Exit(code)
}

var prefixes atomic.Int64

// newStore returns a Store on the test binary's Redis server with a key
// prefix of its own.
func newStore(t *testing.T, now func() time.Time) *redisstore.Store {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { c.Close() })
	s, err := redisstore.New(context.Background(), redisstore.Config{Client: c, Prefix: fmt.Sprintf("test%d:", prefixes.Add(1)), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStateStore(t *testing.T) {
	t.Parallel()
	// Redis expires keys by its own clock: usesClock is false.
	ssotest.TestStateStore(t, func(t *testing.T, now func() time.Time) (sso.StateStore, bool) {
		return newStore(t, nil), false
	})
}

func TestReplayCache(t *testing.T) {
	t.Parallel()
	ssotest.TestReplayCache(t, func(t *testing.T, now func() time.Time) (sso.ReplayCache, bool) {
		return newStore(t, nil), false
	})
}

func TestPrefixesSeparate(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t, nil), newStore(t, nil)
	if err := a.Put(ctx, "k", []byte("a"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Take(ctx, "k"); !errors.Is(err, sso.ReasonStateMissing) {
		t.Fatalf("other prefix saw the key: %v", err)
	}
	// State and replay keys are apart too.
	if seen, _ := a.Seen(ctx, "k", time.Now().Add(time.Minute)); seen {
		t.Fatal("a state key counted as a replay record")
	}
}

func TestPutExpiredDeletes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	_ = s.Put(ctx, "k", []byte("v"), time.Now().Add(time.Minute))
	if err := s.Put(ctx, "k", []byte("w"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(ctx, "k"); !errors.Is(err, sso.ReasonStateMissing) {
		t.Fatalf("Take after an already-expired Put: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	if _, err := redisstore.New(ctx, redisstore.Config{Client: c}); !errors.Is(err, sso.ReasonUnavailable) {
		t.Fatalf("New: %v; want unavailable", err)
	}
	s, err := redisstore.New(ctx, redisstore.Config{Client: c, AllowEviction: true})
	if err != nil {
		t.Fatalf("New with AllowEviction needs no connection: %v", err)
	}
	wantUnavailable(t, s)
}

// wantUnavailable checks that every operation of s fails with
// ReasonUnavailable: never a missing state, never a silent not-seen.
func wantUnavailable(t *testing.T, s *redisstore.Store) {
	t.Helper()
	ctx := context.Background()
	check := func(what string, err error) {
		t.Helper()
		var e *sso.Error
		if !errors.Is(err, sso.ReasonUnavailable) || !errors.As(err, &e) || !strings.Contains(e.Detail, "cannot reach Redis") {
			t.Fatalf("%s: %v; want unavailable", what, err)
		}
	}
	_, err := s.Take(ctx, "k")
	check("Take", err)
	seen, err := s.Seen(ctx, "k", time.Now().Add(time.Minute))
	if seen {
		t.Fatal("Seen reported a key as seen")
	}
	check("Seen", err)
	check("Put", s.Put(ctx, "k", nil, time.Now().Add(time.Minute)))
}

// A Redis that goes down and comes back: unavailable meanwhile, working
// again afterwards without a new Store.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	proxy := servertest.NewProxy(t, servertest.Redis(t))
	c := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	s, err := redisstore.New(ctx, redisstore.Config{Client: c, Prefix: fmt.Sprintf("test%d:", prefixes.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "before", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	proxy.Down()
	wantUnavailable(t, s)
	if _, err := redisstore.New(ctx, redisstore.Config{Client: c}); !errors.Is(err, sso.ReasonUnavailable) {
		t.Fatalf("New with Redis down: %v; want unavailable", err)
	}
	proxy.Up(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Put(ctx, "after", []byte("v"), time.Now().Add(time.Minute))
		if err == nil {
			break
		}
		if !errors.Is(err, sso.ReasonUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Put after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, k := range []string{"before", "after"} {
		if v, err := s.Take(ctx, k); err != nil || string(v) != "v" {
			t.Fatalf("Take(%s) after the outage = %q, %v", k, v, err)
		}
	}
}

// New refuses a Redis that may evict unexpired keys, unless the store is
// told to allow it.
func TestEvictionPolicy(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: servertest.StartRedis(t)})
	defer c.Close()
	tests := []struct {
		policy string
		ok     bool
	}{
		{"noeviction", true},
		{"allkeys-lru", false},
		{"allkeys-lfu", false},
		{"allkeys-random", false},
		{"volatile-lru", false}, // every key of the Store has a TTL
		{"volatile-lfu", false},
		{"volatile-random", false},
		{"volatile-ttl", false},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			if err := c.ConfigSet(ctx, "maxmemory-policy", tc.policy).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := redisstore.New(ctx, redisstore.Config{Client: c})
			if tc.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			var e *sso.Error
			if !errors.Is(err, sso.ReasonInvalidConfig) || !errors.As(err, &e) || !strings.Contains(e.Detail, "noeviction") || e.Actual != tc.policy {
				t.Fatalf("New on %s: %v; want invalid_config asking for noeviction", tc.policy, err)
			}
			if _, err := redisstore.New(ctx, redisstore.Config{Client: c, AllowEviction: true}); err != nil {
				t.Fatalf("New with AllowEviction: %v", err)
			}
		})
	}
}

// A Redis that refuses CONFIG (as managed services do) cannot be checked:
// New refuses it unless AllowEviction says the policy is taken care of.
func TestConfigCommandDisabled(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: servertest.StartRedis(t, "--rename-command", "CONFIG", "")})
	defer c.Close()
	_, err := redisstore.New(ctx, redisstore.Config{Client: c})
	var e *sso.Error
	if !errors.Is(err, sso.ReasonInvalidConfig) || !errors.As(err, &e) || !strings.Contains(e.Detail, "AllowEviction") {
		t.Fatalf("New without CONFIG: %v; want invalid_config pointing to AllowEviction", err)
	}
	s, err := redisstore.New(ctx, redisstore.Config{Client: c, AllowEviction: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Take(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Take = %q, %v", v, err)
	}
}

// A Redis at its maxmemory (under noeviction) refuses writes: store_full,
// with every unexpired key kept, and writes succeed again when there is
// room.
func TestOutOfMemory(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: servertest.StartRedis(t)})
	defer c.Close()
	s, err := redisstore.New(ctx, redisstore.Config{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if seen, err := s.Seen(ctx, "r", time.Now().Add(time.Minute)); err != nil || seen {
		t.Fatal(seen, err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	full := func(what string, err error) {
		t.Helper()
		var e *sso.Error
		if !errors.Is(err, sso.ReasonStoreFull) || !errors.As(err, &e) || !strings.Contains(e.Detail, "maxmemory") {
			t.Fatalf("%s on a Redis out of memory: %v; want store_full naming maxmemory", what, err)
		}
	}
	full("Put", s.Put(ctx, "new", []byte("v"), time.Now().Add(time.Minute)))
	seen, err := s.Seen(ctx, "new", time.Now().Add(time.Minute))
	if seen {
		t.Fatal("Seen of a new key reported as seen")
	}
	full("Seen", err)
	// Nothing was evicted.
	if n, err := c.Exists(ctx, "sso:state:k", "sso:replay:r").Result(); err != nil || n != 2 {
		t.Fatalf("keys left = %d, %v; want 2", n, err)
	}
	// A pending login can still complete: GETDEL frees memory.
	if v, err := s.Take(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Take(k) on a Redis out of memory = %q, %v", v, err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "new", []byte("v"), time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Put once there is memory again: %v", err)
	}
	if seen, err := s.Seen(ctx, "r", time.Now().Add(time.Minute)); err != nil || !seen {
		t.Fatalf("Seen(r) = %v, %v; want true", seen, err)
	}
	if v, err := s.Take(ctx, "new"); err != nil || string(v) != "v" {
		t.Fatalf("Take(new) = %q, %v", v, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := redisstore.New(context.Background(), redisstore.Config{}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("New without client: %v", err)
	}
}
