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
	// ErrClosed is returned by Refresh after Close.
	ErrClosed = errors.New("refresh: source closed")
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

// Event reports the outcome of one refresh (not of the first fetch, whose
// outcome New returns).
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
}

// Source holds a value of type T and refreshes it in the background. It is
// safe for concurrent use. Call Close to stop the background refreshes.
type Source[T any] struct {
	cfg Config[T]
	cur atomic.Pointer[T]

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

	fctx, cancel := context.WithTimeout(ctx, cfg.FetchTimeout)
	v, at, err := s.fetch(fctx)
	cancel()
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	s.cur.Store(&v)
	s.status = Status{Updated: now, Next: now.Add(cfg.interval(now, at))}

	s.bg, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Current returns the current value. It never blocks and does no I/O.
func (s *Source[T]) Current() T { return *s.cur.Load() }

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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.inflight != nil {
		return s.inflight
	}
	c := &call{done: make(chan struct{})}
	s.inflight = c
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
	} else if aerr := s.accept(*s.cur.Load(), v); aerr != nil {
		kind, err = EventHeldBack, fmt.Errorf("%w: %w", ErrHeldBack, aerr)
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
