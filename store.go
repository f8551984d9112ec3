package sso

import (
	"container/heap"
	"context"
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
	// Capacity bounds the number of live entries. When full, expired entries
	// are dropped first, then the entry closest to its expiry.
	Capacity int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// MemoryStateStore is a bounded, expiring in-memory [StateStore], suitable
// for a single application instance. It is safe for concurrent use.
type MemoryStateStore struct{ m *expiringMap }

// NewMemoryStateStore returns an empty MemoryStateStore.
func NewMemoryStateStore(opts MemoryOptions) *MemoryStateStore {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultMemoryStateCapacity
	}
	return &MemoryStateStore{newExpiringMap(opts)}
}

// Put implements StateStore.
func (s *MemoryStateStore) Put(_ context.Context, key string, value []byte, expires time.Time) error {
	v := make([]byte, len(value))
	copy(v, value)
	s.m.put(key, v, expires)
	return nil
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
// for a single application instance. When it is full, the entry closest to
// its expiry is forgotten first; size it above the number of logins expected
// within the longest assertion lifetime. It is safe for concurrent use.
type MemoryReplayCache struct{ m *expiringMap }

// NewMemoryReplayCache returns an empty MemoryReplayCache.
func NewMemoryReplayCache(opts MemoryOptions) *MemoryReplayCache {
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultMemoryReplayCapacity
	}
	return &MemoryReplayCache{newExpiringMap(opts)}
}

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(_ context.Context, key string, until time.Time) (bool, error) {
	return !c.m.putIfAbsent(key, nil, until), nil
}

// Len returns the number of live entries.
func (c *MemoryReplayCache) Len() int { return c.m.len() }

// expiringMap is a map with per-entry expiry and a capacity bound. A min-heap
// on expiry finds the entries to drop.
type expiringMap struct {
	mu       sync.Mutex
	now      func() time.Time
	capacity int
	entries  map[string]*entry
	byExpiry entryHeap
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
	index   int
}

func newExpiringMap(opts MemoryOptions) *expiringMap {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &expiringMap{now: now, capacity: opts.Capacity, entries: make(map[string]*entry)}
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

// makeRoom drops expired entries, then the soonest-expiring ones, until one
// more entry fits.
func (m *expiringMap) makeRoom(now time.Time) {
	for len(m.byExpiry) > 0 && !now.Before(m.byExpiry[0].expires) {
		m.remove(m.byExpiry[0])
	}
	for len(m.entries) >= m.capacity && len(m.byExpiry) > 0 {
		m.remove(m.byExpiry[0])
	}
}

func (m *expiringMap) insert(key string, value []byte, expires time.Time, now time.Time) {
	m.makeRoom(now)
	e := &entry{key: key, value: value, expires: expires}
	heap.Push(&m.byExpiry, e)
	m.entries[key] = e
}

func (m *expiringMap) put(key string, value []byte, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e := m.entries[key]; e != nil {
		m.remove(e)
	}
	if !now.Before(expires) {
		return
	}
	m.insert(key, value, expires, now)
}

// putIfAbsent stores key unless a live entry exists; it reports whether it
// stored.
func (m *expiringMap) putIfAbsent(key string, value []byte, expires time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.live(key, now) != nil {
		return false
	}
	if now.Before(expires) {
		m.insert(key, value, expires, now)
	}
	return true
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
	now := m.now()
	for len(m.byExpiry) > 0 && !now.Before(m.byExpiry[0].expires) {
		m.remove(m.byExpiry[0])
	}
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
