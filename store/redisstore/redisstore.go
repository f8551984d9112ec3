package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/sso"
)

// DefaultPrefix is the prefix of every key the Store writes.
const DefaultPrefix = "sso:"

// Config configures a [Store]. Client is required.
type Config struct {
	// Client is the Redis client: a *redis.Client, a *redis.ClusterClient
	// or a failover client. The Store does not close it.
	Client redis.UniversalClient
	// Prefix is put before every key (then "state:" or "replay:");
	// DefaultPrefix when empty.
	Prefix string
	// Now is the clock used to turn absolute expiry times into Redis
	// time-to-live values; time.Now when nil. Redis itself expires the keys.
	Now func() time.Time
}

// Validate reports a missing client.
func (c *Config) Validate() error {
	if c.Client == nil {
		return &sso.Error{Op: "redisstore.New", Reason: sso.ReasonInvalidConfig, Detail: "Config.Client is nil"}
	}
	return nil
}

// Store keeps pending logins (sso.StateStore) and one-time values
// (sso.ReplayCache) in Redis, for applications that run several instances.
// It needs Redis 6.2 or later (GETDEL). It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	state  string
	replay string
	now    func() time.Time
}

// New returns a Store for cfg.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := cfg.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	s := &Store{c: cfg.Client, state: p + "state:", replay: p + "replay:", now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func redisError(op, what string, err error) error {
	return &sso.Error{Op: op, Reason: sso.ReasonInternal, Detail: "Redis failed to " + what, Err: err}
}

// Put implements sso.StateStore with SET ... PX: the value lives until
// expires, replacing any value under key.
func (s *Store) Put(ctx context.Context, key string, value []byte, expires time.Time) error {
	ttl := expires.Sub(s.now())
	var err error
	if ttl < time.Millisecond {
		err = s.c.Del(ctx, s.state+key).Err()
	} else {
		if value == nil {
			value = []byte{}
		}
		err = s.c.Set(ctx, s.state+key, value, ttl).Err()
	}
	if err != nil {
		return redisError("redisstore.Put", "store a state record", err)
	}
	return nil
}

// Take implements sso.StateStore with GETDEL, so that of concurrent Takes
// exactly one gets the value.
func (s *Store) Take(ctx context.Context, key string) ([]byte, error) {
	v, err := s.c.GetDel(ctx, s.state+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, &sso.Error{Op: "redisstore.Take", Reason: sso.ReasonStateMissing, Detail: "no pending login under this state (expired, already used, or unknown)"}
	}
	if err != nil {
		return nil, redisError("redisstore.Take", "take a state record", err)
	}
	return v, nil
}

// Seen implements sso.ReplayCache with SET ... NX PX: the key is recorded
// until the given time unless a live record exists, in one atomic command.
func (s *Store) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	ttl := max(until.Sub(s.now()), time.Millisecond)
	// SetArgs with Mode NX answers redis.Nil when the key exists.
	_, err := s.c.SetArgs(ctx, s.replay+key, "", redis.SetArgs{Mode: "NX", TTL: ttl}).Result()
	if errors.Is(err, redis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, redisError("redisstore.Seen", "record a one-time value", err)
	}
	return false, nil
}
