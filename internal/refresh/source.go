package refresh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrHeldBack is wrapped, together with the error of Config.Accept, by
	// the error of a refresh whose value was refused.
	ErrHeldBack = errors.New("refresh: new value held back")
	// ErrClosed is returned by Refresh and RefreshLimited after Close, and
	// by Get after Close when there is no value.
	ErrClosed = errors.New("refresh: source closed")
	// ErrRateLimited is returned by RefreshLimited when the last fetch
	// started too recently.
	ErrRateLimited = errors.New("refresh: fetched too recently")
)

// EventKind names the outcome of a refresh.
type EventKind string

// Event kinds. Their string values are stable.
const (
	// EventRefreshed: a new value was fetched and applied.
	EventRefreshed EventKind = "refreshed"
	// EventFailed: the fetch failed; the last good value is kept.
	EventFailed EventKind = "failed"
	// EventHeldBack: a new value was fetched but Config.Accept refused it;
	// the current value is kept.
	EventHeldBack EventKind = "held_back"
)

// Event reports the outcome of one refresh. The first fetch of a Source
// from New is not reported (New returns its outcome); every fetch of a
// Source from NewLazy is, the first included.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Time is when the refresh finished.
	Time time.Time
	// Err is the failure (EventFailed), or wraps ErrHeldBack and the error
	// of Config.Accept (EventHeldBack); nil for EventRefreshed.
	Err error
	// Failures counts consecutive failed or held-back refreshes, including
	// this one; 0 for EventRefreshed.
	Failures int
	// Next is when the next scheduled refresh is due.
	Next time.Time
}

// Status describes a Source's refresh state.
type Status struct {
	// Updated is when the current value was fetched.
	Updated time.Time
	// Next is when the next scheduled refresh is due.
	Next time.Time
	// Failures counts consecutive failed or held-back refreshes.
	Failures int
	// Err is the error of the last refresh, nil if it succeeded.
	Err error
	// Attempted is when the last fetch started, whatever its outcome.
	Attempted time.Time
}

// Source holds a value of type T and keeps it fresh. It is safe for
// concurrent use. A Source from New refreshes in the background until
// Close; a Source from NewLazy fetches only when Get needs it.
type Source[T any] struct {
	cfg Config[T]
	cur atomic.Pointer[T] // nil until the first fetch succeeds

	bg     context.Context // background work; cancelled by Close
	cancel context.CancelFunc
	kick   chan struct{} // tells the loop that the schedule changed
	wg     sync.WaitGroup

	mu       sync.Mutex
	inflight *call
	closed   bool
	status   Status
}

// call is one fetch shared by every Refresh that asked while it ran.
type call struct {
	done    chan struct{}
	err     error
	waiters atomic.Int32 // Refresh calls waiting, for tests
}

// New validates cfg, fetches the first value synchronously under ctx and
// starts refreshing it in the background. It returns the error of
// Config.Validate, or the error of the first Fetch unchanged. ctx is used
// only for the first fetch; background fetches never use it.
func New[T any](ctx context.Context, cfg Config[T]) (*Source[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Source[T]{cfg: cfg, kick: make(chan struct{}, 1)}

	attempted := cfg.Now()
	fctx, cancel := context.WithTimeout(ctx, cfg.FetchTimeout)
	v, at, err := s.fetch(fctx)
	cancel()
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	s.cur.Store(&v)
	s.status = Status{Updated: now, Next: now.Add(cfg.interval(now, at)), Attempted: attempted}

	s.bg, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// NewLazy validates cfg and returns a Source that has fetched nothing
// yet: the first Get fetches the value, and a Get that finds it due
// refreshes it first. It starts no goroutine of its own between fetches,
// so a value nobody asks for is never refetched, and it needs no Close
// (Close still stops it). NewLazy returns only the error of
// Config.Validate and does no I/O.
func NewLazy[T any](cfg Config[T]) (*Source[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Source[T]{cfg: cfg.withDefaults(), kick: make(chan struct{}, 1)}
	s.bg, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Current returns the current value, or the zero value when none has been
// fetched yet (a Source from NewLazy before its first successful fetch).
// It never blocks and does no I/O.
func (s *Source[T]) Current() T {
	if p := s.cur.Load(); p != nil {
		return *p
	}
	var zero T
	return zero
}

// Get returns the current value, fetching it first when there is none
// yet, and refreshing it first when it is due (Status.Next has passed);
// concurrent callers share one fetch. A due value is refreshed only by
// the Get that finds no fetch running: other callers get the current
// value meanwhile. ctx bounds only the wait: the fetch runs under the
// Source's own context and is applied even if ctx ends first.
//
// Without a value, Get returns the fetch's error (or ctx's error, or
// ErrClosed after Close), and the next Get fetches again. With one, Get
// never fails: when the refresh fails or ctx ends, it returns the last
// good value, and the failure goes to Config.OnEvent and Status. A Source
// from New refreshes on its schedule anyway, so Get mostly returns
// Current there.
func (s *Source[T]) Get(ctx context.Context) (T, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	cur := s.cur.Load()
	c := s.inflight
	switch {
	case cur != nil && (now.Before(s.status.Next) || c != nil || s.closed):
		s.mu.Unlock()
		return *cur, nil
	case s.closed:
		s.mu.Unlock()
		var zero T
		return zero, ErrClosed
	case c == nil:
		c = s.startLocked(now)
	}
	s.mu.Unlock()
	if err := s.wait(ctx, c); err != nil && cur == nil {
		var zero T
		return zero, err
	}
	return s.Current(), nil
}

// Status returns the refresh state.
func (s *Source[T]) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Refresh fetches a new value now and waits for the outcome: nil when it
// was applied, an error wrapping ErrHeldBack when Config.Accept refused it,
// the fetch's error when it failed (the last good value is kept in both
// cases), or ErrClosed after Close. Calls made while a fetch is running
// share that fetch. ctx bounds only the wait: the fetch itself runs under
// the Source's own context and is applied even if ctx ends first, in which
// case Refresh returns ctx's error.
func (s *Source[T]) Refresh(ctx context.Context) error {
	c := s.start()
	if c == nil {
		return ErrClosed
	}
	return s.wait(ctx, c)
}

// RefreshLimited is Refresh for fetches that untrusted input can cause,
// such as a token naming a key the current value lacks. It joins a fetch
// that is running; otherwise, when the last fetch (of any kind, failed or
// not) started less than minInterval ago, it fetches nothing and returns
// ErrRateLimited; Status().Attempted.Add(minInterval) is when the next
// fetch is allowed.
func (s *Source[T]) RefreshLimited(ctx context.Context, minInterval time.Duration) error {
	now := s.cfg.Now()
	s.mu.Lock()
	c := s.inflight
	switch {
	case c != nil:
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case !s.status.Attempted.IsZero() && now.Before(s.status.Attempted.Add(minInterval)):
		s.mu.Unlock()
		return ErrRateLimited
	default:
		c = s.startLocked(now)
	}
	s.mu.Unlock()
	return s.wait(ctx, c)
}

// wait waits for call c, or for ctx to end.
func (s *Source[T]) wait(ctx context.Context, c *call) error {
	c.waiters.Add(1)
	defer c.waiters.Add(-1)
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the background refreshes, cancels a running fetch and waits
// for both to end. Current keeps returning the last value. Close always
// returns nil; calling it again has no effect.
func (s *Source[T]) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// start returns the running fetch, starting one if none runs, or nil after
// Close.
func (s *Source[T]) start() *call {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.inflight != nil {
		return s.inflight
	}
	return s.startLocked(now)
}

// startLocked starts a fetch; s.mu is held, no fetch runs and s is open.
func (s *Source[T]) startLocked(now time.Time) *call {
	c := &call{done: make(chan struct{})}
	s.inflight = c
	s.status.Attempted = now
	s.wg.Add(1)
	go s.run(c)
	return c
}

// run performs one refresh for call c.
func (s *Source[T]) run(c *call) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.bg, s.cfg.FetchTimeout)
	v, at, err := s.fetch(ctx)
	cancel()
	kind := EventRefreshed
	if err != nil {
		kind = EventFailed
	} else if old := s.cur.Load(); old != nil {
		if aerr := s.accept(*old, v); aerr != nil {
			kind, err = EventHeldBack, fmt.Errorf("%w: %w", ErrHeldBack, aerr)
		}
	}
	now := s.cfg.Now()

	s.mu.Lock()
	stopped := s.bg.Err() != nil
	st := &s.status
	st.Err = err
	if err == nil {
		s.cur.Store(&v)
		st.Updated, st.Failures = now, 0
		st.Next = now.Add(s.cfg.interval(now, at))
	} else {
		st.Failures++
		st.Next = now.Add(s.cfg.retry(st.Failures))
	}
	ev := Event{Kind: kind, Time: now, Err: err, Failures: st.Failures, Next: st.Next}
	s.inflight = nil
	s.mu.Unlock()

	if s.cfg.OnEvent != nil && !stopped {
		s.cfg.OnEvent(ev)
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	c.err = err
	close(c.done)
}

// loop waits for each scheduled refresh until Close.
func (s *Source[T]) loop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		next := s.status.Next
		s.mu.Unlock()
		select {
		case <-s.bg.Done():
			return
		case <-s.kick:
			continue // a refresh changed the schedule
		case <-s.cfg.After(max(next.Sub(s.cfg.Now()), 0)):
		}
		c := s.start()
		if c == nil {
			return
		}
		select {
		case <-c.done:
		case <-s.bg.Done():
			return
		}
		// The refresh kicked the loop before finishing; the schedule is
		// re-read at the top anyway.
		select {
		case <-s.kick:
		default:
		}
	}
}

// fetch calls Config.Fetch, turning a panic into an error so that a bad
// Fetch cannot take the process down from a background goroutine.
func (s *Source[T]) fetch(ctx context.Context) (v T, at time.Time, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("refresh: Fetch panicked: %v", r)
		}
	}()
	return s.cfg.Fetch(ctx)
}

// accept calls Config.Accept, if set, turning a panic into an error.
func (s *Source[T]) accept(old, new T) (err error) {
	if s.cfg.Accept == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("refresh: Accept panicked: %v", r)
		}
	}()
	return s.cfg.Accept(old, new)
}
