package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
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
	// AllowEviction skips the check, made by New, that Redis runs with
	// maxmemory-policy noeviction (on every master of a cluster). Any other
	// policy lets Redis delete unexpired keys under memory pressure: pending
	// logins would fail, and a forgotten replay record would let a captured
	// SAML assertion or OpenID code be used again. Set it only when the
	// check cannot run and you have made sure of the policy yourself, as
	// on a managed Redis that disables CONFIG (set the policy in the
	// provider's console), or when you accept that risk.
	AllowEviction bool
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
//
// Its bound is Redis's maxmemory: with the noeviction policy New insists
// on, a write beyond it fails with sso.ReasonStoreFull and no unexpired key
// is forgotten; writes succeed again as keys expire. A Redis that cannot be
// reached is sso.ReasonUnavailable, and the Store works again when it is
// back.
type Store struct {
	c      redis.UniversalClient
	state  string
	replay string
	now    func() time.Time
}

// New returns a Store for cfg. Unless cfg.AllowEviction, it first reads
// maxmemory-policy with CONFIG GET and refuses, with sso.ReasonInvalidConfig,
// a Redis whose policy is not noeviction or that does not answer CONFIG
// GET; a Redis it cannot reach is sso.ReasonUnavailable. The policy is read
// once: keep it noeviction for as long as the Store runs.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.AllowEviction {
		if err := checkPolicy(ctx, cfg.Client); err != nil {
			return nil, err
		}
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

// checkPolicy refuses a Redis (every master of a cluster, every shard of a
// ring) whose maxmemory-policy is not noeviction.
func checkPolicy(ctx context.Context, c redis.UniversalClient) error {
	var err error
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return checkNode(ctx, n) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return checkNode(ctx, n) })
	default:
		err = checkNode(ctx, c)
	}
	var e *sso.Error
	if err != nil && !errors.As(err, &e) {
		// The cluster's or ring's own failure to list its nodes.
		return redisError("redisstore.New", "list the nodes to read maxmemory-policy", err)
	}
	return err
}

func checkNode(ctx context.Context, c redis.Cmdable) error {
	const op = "redisstore.New"
	m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		if reason(err) == sso.ReasonUnavailable {
			return redisError(op, "read maxmemory-policy", err)
		}
		return &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig, Err: err,
			Detail: "cannot verify that Redis keeps unexpired keys: CONFIG GET maxmemory-policy was refused. Make sure maxmemory-policy is noeviction (on a managed Redis, in the provider's settings), then set Config.AllowEviction to skip this check"}
	}
	policy, ok := m["maxmemory-policy"]
	if !ok {
		return &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig,
			Detail: "cannot verify that Redis keeps unexpired keys: CONFIG GET maxmemory-policy returned no policy. Make sure maxmemory-policy is noeviction, then set Config.AllowEviction to skip this check"}
	}
	if policy != "noeviction" {
		return &sso.Error{Op: op, Reason: sso.ReasonInvalidConfig, Expected: "noeviction", Actual: policy,
			Detail: "Redis may evict unexpired keys under memory pressure, forgetting pending logins and replay records (a forgotten replay record lets a captured assertion be used again); set maxmemory-policy noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf), or use a separate Redis for ssokit"}
	}
	return nil
}

// reason classifies a Redis failure: out of memory (maxmemory reached under
// noeviction) is sso.ReasonStoreFull; a connection that fails, a server
// loading, failing over or without a master is sso.ReasonUnavailable;
// anything else sso.ReasonInternal.
func reason(err error) sso.Reason {
	switch {
	case redis.IsOOMError(err):
		return sso.ReasonStoreFull
	case redis.IsLoadingError(err), redis.IsReadOnlyError(err), redis.IsClusterDownError(err),
		redis.IsTryAgainError(err), redis.IsMasterDownError(err), redis.IsMaxClientsError(err):
		return sso.ReasonUnavailable
	}
	var re redis.Error
	if errors.As(err, &re) {
		return sso.ReasonInternal
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return sso.ReasonUnavailable
	}
	return sso.ReasonInternal
}

func redisError(op, what string, err error) error {
	r := reason(err)
	detail := "Redis failed to " + what
	switch r {
	case sso.ReasonStoreFull:
		detail = "Redis is out of memory (maxmemory) and refused to " + what + "; raise maxmemory or give ssokit a Redis of its own. Writes succeed again as keys expire"
	case sso.ReasonUnavailable:
		detail = "cannot reach Redis to " + what + "; check that it is running and reachable (the store works again as soon as it is back)"
	}
	return &sso.Error{Op: op, Reason: r, Detail: detail, Err: err}
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
