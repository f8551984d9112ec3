package sso

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// StateStore keeps short-lived per-login state between Begin and Complete.
// Values are opaque to the store. Take is single use: it returns the value
// and deletes it in one atomic step, so a state handle can complete at most
// one login.
//
// Implementations must be safe for concurrent use. Package ssotest has a
// conformance test, [ssotest.TestStateStore].
type StateStore interface {
	// Put stores value under key until expires. An existing key is replaced.
	Put(ctx context.Context, key string, value []byte, expires time.Time) error
	// Take returns and deletes the value under key. It returns an error
	// matching ReasonStateMissing when the key is absent or expired.
	Take(ctx context.Context, key string) ([]byte, error)
}

// ReplayCache remembers one-time values (SAML assertion IDs, OIDC codes and
// nonces) until they expire.
//
// Implementations must be safe for concurrent use. Package ssotest has a
// conformance test.
type ReplayCache interface {
	// Seen records key until the given time and reports whether it was
	// already recorded and not yet expired. Check and record are one atomic
	// step: of two concurrent calls with the same key, exactly one returns
	// false.
	Seen(ctx context.Context, key string, until time.Time) (bool, error)
}

// Default capacities of the in-memory stores.
const (
	DefaultMemoryStateCapacity  = 100_000
	DefaultMemoryReplayCapacity = 1_000_000
)

// MemoryOptions configures [NewMemoryStateStore] and [NewMemoryReplayCache].
// The zero value means defaults.
type MemoryOptions struct {
	// Capacity bounds the number of entries; DefaultMemoryStateCapacity or
	// DefaultMemoryReplayCapacity when zero or negative. When the store is
	// full, expired entries are dropped first; if it is still full, the
	// write is refused with an error matching [ReasonStoreFull]. An
	// unexpired entry is never forgotten early, so a flood of new logins
	// cannot push out a pending login or a replay record: it is refused
	// instead, and writes succeed again as entries expire or are taken.
	// Replacing a key already in the store always succeeds.
	Capacity int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// MemoryStateStore is a bounded, expiring in-memory [StateStore], suitable
// for a single application instance. When it holds Capacity unexpired
// pending logins, Put of a new key fails with [ReasonStoreFull] until one
// expires or is taken; see [MemoryOptions.Capacity]. It is safe for
// concurrent use.
type MemoryStateStore struct{ m *expiringMap }

// NewMemoryStateStore returns an empty MemoryStateStore.
func NewMemoryStateStore(opts MemoryOptions) *MemoryStateStore {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultMemoryStateCapacity
	}
	return &MemoryStateStore{newExpiringMap(opts, "sso.MemoryStateStore.Put", "pending logins")}
}

// Put implements StateStore.
func (s *MemoryStateStore) Put(_ context.Context, key string, value []byte, expires time.Time) error {
	v := make([]byte, len(value))
	copy(v, value)
	return s.m.put(key, v, expires)
}

// Take implements StateStore.
func (s *MemoryStateStore) Take(_ context.Context, key string) ([]byte, error) {
	v, ok := s.m.take(key)
	if !ok {
		return nil, &Error{Op: "sso.MemoryStateStore.Take", Reason: ReasonStateMissing, Detail: "no pending login under this state (expired, already used, or unknown)"}
	}
	return v, nil
}

// Len returns the number of live entries.
func (s *MemoryStateStore) Len() int { return s.m.len() }

// MemoryReplayCache is a bounded, expiring in-memory [ReplayCache], suitable
// for a single application instance. It never forgets an unexpired record
// early, since that would let a captured assertion or code be replayed: when
// it holds Capacity unexpired records, Seen of a new key fails with
// [ReasonStoreFull] (and the login is refused) until records expire. Size it
// above the number of logins expected within the longest assertion
// lifetime. It is safe for concurrent use.
type MemoryReplayCache struct{ m *expiringMap }

// NewMemoryReplayCache returns an empty MemoryReplayCache.
func NewMemoryReplayCache(opts MemoryOptions) *MemoryReplayCache {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultMemoryReplayCapacity
	}
	return &MemoryReplayCache{newExpiringMap(opts, "sso.MemoryReplayCache.Seen", "replay records")}
}

// Seen implements ReplayCache. A key already recorded is reported as seen
// even when the cache is full.
func (c *MemoryReplayCache) Seen(_ context.Context, key string, until time.Time) (bool, error) {
	stored, err := c.m.putIfAbsent(key, nil, until)
	if err != nil {
		return false, err
	}
	return !stored, nil
}

// Len returns the number of live entries.
func (c *MemoryReplayCache) Len() int { return c.m.len() }

// expiringMap is a map with per-entry expiry and a capacity bound. A min-heap
// on expiry finds the expired entries to drop. When it holds capacity
// unexpired entries, inserts fail rather than drop one of them.
type expiringMap struct {
	mu       sync.Mutex
	now      func() time.Time
	capacity int
	entries  map[string]*entry
	byExpiry entryHeap
	op, what string // for the store_full error
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
	index   int
}

func newExpiringMap(opts MemoryOptions, op, what string) *expiringMap {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &expiringMap{now: now, capacity: opts.Capacity, entries: make(map[string]*entry), op: op, what: what}
}

// live returns the entry under key if present and not expired; an expired
// entry is removed.
func (m *expiringMap) live(key string, now time.Time) *entry {
	e := m.entries[key]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		m.remove(e)
		return nil
	}
	return e
}

func (m *expiringMap) remove(e *entry) {
	heap.Remove(&m.byExpiry, e.index)
	delete(m.entries, e.key)
}

// dropExpired removes every expired entry.
func (m *expiringMap) dropExpired(now time.Time) {
	for len(m.byExpiry) > 0 && !now.Before(m.byExpiry[0].expires) {
		m.remove(m.byExpiry[0])
	}
}

// insert adds an entry for a key not in the map. When the map is full it
// drops the expired entries; if it is still full, it refuses with
// ReasonStoreFull and keeps every unexpired entry.
func (m *expiringMap) insert(key string, value []byte, expires time.Time, now time.Time) error {
	if len(m.entries) >= m.capacity {
		m.dropExpired(now)
	}
	if len(m.entries) >= m.capacity {
		return &Error{Op: m.op, Reason: ReasonStoreFull, Detail: fmt.Sprintf(
			"the in-memory store holds its capacity of %d unexpired %s; raise MemoryOptions.Capacity, or use a shared store sized for the load (store/sqlstore, store/redisstore)",
			m.capacity, m.what)}
	}
	e := &entry{key: key, value: value, expires: expires}
	heap.Push(&m.byExpiry, e)
	m.entries[key] = e
	return nil
}

// put stores value under key, replacing the entry there; replacing frees
// the slot first, so it works in a full map.
func (m *expiringMap) put(key string, value []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e := m.entries[key]; e != nil {
		m.remove(e)
	}
	if !now.Before(expires) {
		return nil
	}
	return m.insert(key, value, expires, now)
}

// putIfAbsent stores key unless a live entry exists; it reports whether it
// stored. A live entry is reported even when the map is full.
func (m *expiringMap) putIfAbsent(key string, value []byte, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.live(key, now) != nil {
		return false, nil
	}
	if now.Before(expires) {
		if err := m.insert(key, value, expires, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (m *expiringMap) take(key string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(key, m.now())
	if e == nil {
		return nil, false
	}
	m.remove(e)
	return e.value, true
}

func (m *expiringMap) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropExpired(m.now())
	return len(m.entries)
}

type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
