package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/ssotest"
	"github.com/ssokit/sso/store/internal/servertest"
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
	s, err := redisstore.New(redisstore.Config{Client: c, Prefix: fmt.Sprintf("test%d:", prefixes.Add(1)), Now: now})
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
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	s, _ := redisstore.New(redisstore.Config{Client: c})
	ctx := context.Background()
	if _, err := s.Take(ctx, "k"); !errors.Is(err, sso.ReasonInternal) {
		t.Fatalf("Take: %v; want internal, not state_missing", err)
	}
	if _, err := s.Seen(ctx, "k", time.Now().Add(time.Minute)); !errors.Is(err, sso.ReasonInternal) {
		t.Fatalf("Seen: %v; want internal (never a silent not-seen)", err)
	}
	if err := s.Put(ctx, "k", nil, time.Now().Add(time.Minute)); !errors.Is(err, sso.ReasonInternal) {
		t.Fatalf("Put: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := redisstore.New(redisstore.Config{}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("New without client: %v", err)
	}
}
