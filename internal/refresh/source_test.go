package refresh

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct{ now atomic.Pointer[time.Time] }

func newClock() *clock { c := &clock{}; c.set(t0); return c }

func (c *clock) Now() time.Time      { return *c.now.Load() }
func (c *clock) set(t time.Time)     { c.now.Store(&t) }
func (c *clock) add(d time.Duration) { c.set(c.Now().Add(d)) }

// timers replaces time.After: each wait the loop starts is handed to the
// test, which reads its duration and fires it when it wants.
type timers struct{ waits chan wait }

type wait struct {
	d    time.Duration
	fire chan time.Time
}

func newTimers() *timers { return &timers{waits: make(chan wait, 100)} }

func (f *timers) After(d time.Duration) <-chan time.Time {
	w := wait{d: d, fire: make(chan time.Time, 1)}
	f.waits <- w
	return w.fire
}

// next returns the loop's next wait.
func (f *timers) next(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-f.waits:
		return w
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh loop did not start a wait")
		return wait{}
	}
}

// none checks that the loop started no further wait.
func (f *timers) none(t *testing.T) {
	t.Helper()
	select {
	case w := <-f.waits:
		t.Fatalf("unexpected wait of %s", w.d)
	default:
	}
}

// fetcher returns scripted results in order and counts calls.
type fetcher struct {
	mu      sync.Mutex
	results []result
	calls   int
}

type result struct {
	v   string
	at  time.Duration // refresh after this long from t0-relative clock; 0 = none
	err error
}

func (f *fetcher) push(rs ...result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results = append(f.results, rs...)
}

func (f *fetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fetcher) fetch(c *clock) func(context.Context) (string, time.Time, error) {
	return func(ctx context.Context) (string, time.Time, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		if len(f.results) == 0 {
			return "", time.Time{}, errors.New("no scripted result")
		}
		r := f.results[0]
		f.results = f.results[1:]
		var at time.Time
		if r.at != 0 {
			at = c.Now().Add(r.at)
		}
		return r.v, at, r.err
	}
}

// events records OnEvent calls.
type events struct {
	mu  sync.Mutex
	evs []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.evs...)
}

// harness builds a Source driven by a fake clock and fake timers.
type harness struct {
	clock  *clock
	timers *timers
	fetch  *fetcher
	events *events
	cfg    Config[string]
}

func newHarness(first ...result) *harness {
	h := &harness{clock: newClock(), timers: newTimers(), fetch: &fetcher{}, events: &events{}}
	h.fetch.push(first...)
	h.cfg = Config[string]{
		Fetch:         h.fetch.fetch(h.clock),
		Interval:      time.Hour,
		MinInterval:   time.Minute,
		MaxInterval:   24 * time.Hour,
		RetryInterval: 30 * time.Second,
		Now:           h.clock.Now,
		After:         h.timers.After,
		OnEvent:       h.events.add,
	}
	return h
}

func (h *harness) start(t *testing.T) *Source[string] {
	t.Helper()
	s, err := New(context.Background(), h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fire fires wait w and waits for the refresh it triggers, returning the
// next wait.
func (h *harness) fire(t *testing.T, w wait) wait {
	t.Helper()
	w.fire <- h.clock.Now()
	return h.timers.next(t)
}

func TestFirstFetchFailure(t *testing.T) {
	boom := errors.New("connection refused")
	h := newHarness(result{err: boom})
	s, err := New(context.Background(), h.cfg)
	if !errors.Is(err, boom) || s != nil {
		t.Fatalf("New = %v, %v; want the fetch error", s, err)
	}
	h.timers.none(t)
	if n := len(h.events.list()); n != 0 {
		t.Fatalf("%d events for the first fetch", n)
	}
}

func TestConfigValidate(t *testing.T) {
	fetch := func(context.Context) (int, time.Time, error) { return 1, time.Time{}, nil }
	tests := []struct {
		name string
		cfg  Config[int]
	}{
		{"no Fetch", Config[int]{}},
		{"negative MinInterval", Config[int]{Fetch: fetch, MinInterval: -1}},
		{"negative RetryInterval", Config[int]{Fetch: fetch, RetryInterval: -1}},
		{"negative MaxRetryInterval", Config[int]{Fetch: fetch, MaxRetryInterval: -1}},
		{"negative FetchTimeout", Config[int]{Fetch: fetch, FetchTimeout: -1}},
		{"min above max", Config[int]{Fetch: fetch, MinInterval: time.Hour, MaxInterval: time.Minute}},
		{"min above default max", Config[int]{Fetch: fetch, MinInterval: 48 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(context.Background(), tt.cfg); !errors.Is(err, sso.ReasonInvalidConfig) {
				t.Fatalf("New = %v, want invalid_config", err)
			}
		})
	}
	if err := (Config[int]{Fetch: fetch}).Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
}

func TestScheduleClamping(t *testing.T) {
	tests := []struct {
		name string
		at   time.Duration // refreshAt relative to now; 0 = none proposed
		want time.Duration
	}{
		{"proposed", 2 * time.Hour, 2 * time.Hour},
		{"none proposed", 0, time.Hour},
		{"too soon", 10 * time.Second, time.Minute},
		{"in the past", -time.Hour, time.Minute},
		{"too late", 30 * 24 * time.Hour, 24 * time.Hour},
		{"far future", 200 * 365 * 24 * time.Hour, 24 * time.Hour},
		{"at min", time.Minute, time.Minute},
		{"at max", 24 * time.Hour, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(result{v: "v1", at: tt.at}, result{v: "v2", at: tt.at})
			s := h.start(t)
			if w := h.timers.next(t); w.d != tt.want {
				t.Fatalf("first refresh after %s, want %s", w.d, tt.want)
			}
			if got := s.Status().Next; !got.Equal(t0.Add(tt.want)) {
				t.Fatalf("Status().Next = %s", got)
			}
			// The same clamp applies after a refresh.
			if err := s.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			if w := h.timers.next(t); w.d != tt.want {
				t.Fatalf("after a refresh: wait %s, want %s", w.d, tt.want)
			}
		})
	}

	// The Interval default is clamped too.
	h := newHarness(result{v: "v1"})
	h.cfg.Interval = time.Second
	h.start(t)
	if w := h.timers.next(t); w.d != time.Minute {
		t.Fatalf("Interval below MinInterval: wait %s", w.d)
	}
}

func TestScheduledRefresh(t *testing.T) {
	h := newHarness(result{v: "v1", at: 2 * time.Hour}, result{v: "v2", at: 3 * time.Hour})
	s := h.start(t)
	w := h.timers.next(t)
	if w.d != 2*time.Hour || s.Current() != "v1" {
		t.Fatalf("wait %s, value %q", w.d, s.Current())
	}
	h.clock.add(2 * time.Hour)
	w = h.fire(t, w)
	if s.Current() != "v2" || w.d != 3*time.Hour {
		t.Fatalf("after the scheduled refresh: value %q, next wait %s", s.Current(), w.d)
	}
	evs := h.events.list()
	if len(evs) != 1 || evs[0].Kind != EventRefreshed || evs[0].Err != nil ||
		!evs[0].Time.Equal(t0.Add(2*time.Hour)) || !evs[0].Next.Equal(t0.Add(5*time.Hour)) {
		t.Fatalf("events = %+v", evs)
	}
	if st := s.Status(); !st.Updated.Equal(t0.Add(2*time.Hour)) || st.Failures != 0 || st.Err != nil {
		t.Fatalf("Status = %+v", st)
	}
	if h.fetch.count() != 2 {
		t.Fatalf("%d fetches", h.fetch.count())
	}
}

func TestFailureKeepsLastGood(t *testing.T) {
	boom := errors.New("metadata server returned 503")
	h := newHarness(
		result{v: "good", at: time.Hour},
		result{err: boom}, result{err: boom}, result{err: boom},
		result{v: "better", at: 2 * time.Hour},
	)
	h.cfg.MaxInterval = 90 * time.Second
	h.cfg.MinInterval = 10 * time.Second
	s := h.start(t)
	w := h.timers.next(t)
	if w.d != 90*time.Second {
		t.Fatalf("first wait %s", w.d)
	}
	// Retries back off from RetryInterval, doubling, capped at MaxInterval.
	for i, want := range []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second} {
		w = h.fire(t, w)
		if w.d != want {
			t.Fatalf("after failure %d: wait %s, want %s", i+1, w.d, want)
		}
		if s.Current() != "good" {
			t.Fatalf("after failure %d: value %q, want the last good one", i+1, s.Current())
		}
		st := s.Status()
		if st.Failures != i+1 || !errors.Is(st.Err, boom) || !st.Updated.Equal(t0) {
			t.Fatalf("Status = %+v", st)
		}
	}
	w = h.fire(t, w)
	if s.Current() != "better" || w.d != 90*time.Second {
		t.Fatalf("after recovery: value %q, wait %s", s.Current(), w.d)
	}
	if st := s.Status(); st.Failures != 0 || st.Err != nil {
		t.Fatalf("Status after recovery = %+v", st)
	}
	var kinds []EventKind
	for _, ev := range h.events.list() {
		kinds = append(kinds, ev.Kind)
		if ev.Kind == EventFailed && !errors.Is(ev.Err, boom) {
			t.Errorf("failed event without the cause: %+v", ev)
		}
	}
	if fmt.Sprint(kinds) != "[failed failed failed refreshed]" {
		t.Fatalf("events %v", kinds)
	}
	if evs := h.events.list(); evs[2].Failures != 3 || evs[3].Failures != 0 {
		t.Fatalf("failure counts %d, %d", evs[2].Failures, evs[3].Failures)
	}
}

func TestHeldBack(t *testing.T) {
	errDropsKeys := errors.New("new metadata drops every current signing certificate")
	h := newHarness(result{v: "cert-A"}, result{v: "cert-B"}, result{v: "cert-A cert-B"})
	var accepted [][2]string
	h.cfg.Accept = func(old, new string) error {
		accepted = append(accepted, [2]string{old, new})
		if new == "cert-B" {
			return errDropsKeys
		}
		return nil
	}
	s := h.start(t)
	h.timers.next(t)

	err := s.Refresh(context.Background())
	if !errors.Is(err, ErrHeldBack) || !errors.Is(err, errDropsKeys) {
		t.Fatalf("Refresh = %v, want ErrHeldBack wrapping the Accept error", err)
	}
	if s.Current() != "cert-A" {
		t.Fatalf("held-back value applied: %q", s.Current())
	}
	if w := h.timers.next(t); w.d != 30*time.Second {
		t.Fatalf("after hold-back: wait %s, want the retry interval", w.d)
	}
	evs := h.events.list()
	if len(evs) != 1 || evs[0].Kind != EventHeldBack || !errors.Is(evs[0].Err, errDropsKeys) || evs[0].Failures != 1 {
		t.Fatalf("events = %+v", evs)
	}

	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Current() != "cert-A cert-B" {
		t.Fatalf("value %q", s.Current())
	}
	want := [][2]string{{"cert-A", "cert-B"}, {"cert-A", "cert-A cert-B"}}
	if fmt.Sprint(accepted) != fmt.Sprint(want) {
		t.Fatalf("Accept calls %v, want %v (never for the first value)", accepted, want)
	}
}

func TestRefreshCoalesced(t *testing.T) {
	const n = 20
	release := make(chan struct{})
	var calls atomic.Int32
	cfg := Config[int]{
		Fetch: func(ctx context.Context) (int, time.Time, error) {
			if calls.Add(1) > 1 {
				<-release
			}
			return int(calls.Load()), time.Time{}, nil
		},
		After: newTimers().After,
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before Close, which waits for running fetches

	errs := make(chan error, n)
	for range n {
		go func() { errs <- s.Refresh(context.Background()) }()
	}
	// Wait until all n callers share the one running fetch.
	deadline := time.Now().Add(5 * time.Second)
	for s.waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", s.waiting(), n)
		}
		runtime.Gosched()
	}
	unblock()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 2 {
		t.Fatalf("%d fetches for %d concurrent Refresh calls, want 1 (+1 initial)", got-1, n)
	}
	if s.Current() != 2 {
		t.Fatalf("value %d", s.Current())
	}
	// A later Refresh fetches again.
	if err := s.Refresh(context.Background()); err != nil || calls.Load() != 3 {
		t.Fatalf("Refresh = %v after %d fetches", err, calls.Load())
	}
}

// waiting returns how many Refresh calls wait for the running fetch.
func (s *Source[T]) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil {
		return 0
	}
	return int(s.inflight.waiters.Load())
}

func TestManualRefreshReschedules(t *testing.T) {
	h := newHarness(result{v: "v1", at: 10 * time.Hour}, result{v: "v2", at: 2 * time.Hour})
	s := h.start(t)
	if w := h.timers.next(t); w.d != 10*time.Hour {
		t.Fatalf("wait %s", w.d)
	}
	h.clock.add(time.Hour)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := h.timers.next(t); w.d != 2*time.Hour {
		t.Fatalf("after Refresh: wait %s, want the new schedule", w.d)
	}
	if s.Current() != "v2" {
		t.Fatalf("value %q", s.Current())
	}
}

func TestClose(t *testing.T) {
	h := newHarness(result{v: "v1"}, result{v: "v2"})
	s := h.start(t)
	w := h.timers.next(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The loop has returned: firing its timer fetches nothing.
	w.fire <- h.clock.Now()
	h.timers.none(t)
	if n := h.fetch.count(); n != 1 {
		t.Fatalf("%d fetches after Close", n)
	}
	if err := s.Refresh(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Refresh after Close = %v", err)
	}
	if s.Current() != "v1" {
		t.Fatalf("Current after Close = %q", s.Current())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseCancelsRunningFetch(t *testing.T) {
	started := make(chan struct{})
	var first atomic.Bool
	cfg := Config[string]{
		Fetch: func(ctx context.Context) (string, time.Time, error) {
			if first.CompareAndSwap(false, true) {
				return "v1", time.Time{}, nil
			}
			close(started)
			<-ctx.Done()
			return "", time.Time{}, ctx.Err()
		},
		After: newTimers().After,
		OnEvent: func(ev Event) {
			t.Errorf("event after Close: %+v", ev)
		},
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Refresh(context.Background()) }()
	<-started
	closed := make(chan struct{})
	go func() {
		s.Close() // returns only once the fetch has ended
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the running fetch")
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Refresh = %v, want context.Canceled", err)
	}
	if s.Current() != "v1" {
		t.Fatalf("value %q", s.Current())
	}
}

func TestCallerContextNotKept(t *testing.T) {
	type ctxKey struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "caller"))
	var got []context.Context
	var mu sync.Mutex
	cfg := Config[int]{
		Fetch: func(fctx context.Context) (int, time.Time, error) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fctx)
			if err := fctx.Err(); err != nil {
				return 0, time.Time{}, err
			}
			return len(got), time.Time{}, nil
		},
		FetchTimeout: time.Minute,
		After:        newTimers().After,
	}
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cancel()

	if err := s.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh after the New context ended: %v", err)
	}
	// A caller's context bounds only its wait.
	waitCtx, waitCancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "refresher"))
	if err := s.Refresh(waitCtx); err != nil {
		t.Fatal(err)
	}
	waitCancel()

	mu.Lock()
	defer mu.Unlock()
	if got[0].Value(ctxKey{}) != "caller" {
		t.Error("the first fetch does not run under New's context")
	}
	if dl, ok := got[0].Deadline(); !ok || time.Until(dl) > time.Minute {
		t.Errorf("first fetch: deadline %v, %v; want FetchTimeout", dl, ok)
	}
	for i, fctx := range got[1:] {
		if fctx.Value(ctxKey{}) != nil {
			t.Errorf("background fetch %d runs under a caller's context", i+1)
		}
		if dl, ok := fctx.Deadline(); !ok || time.Until(dl) > time.Minute {
			t.Errorf("background fetch %d: deadline %v, %v; want FetchTimeout", i+1, dl, ok)
		}
	}
}

func TestRefreshWaitCancelled(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	cfg := Config[int32]{
		Fetch: func(ctx context.Context) (int32, time.Time, error) {
			if n := calls.Add(1); n > 1 {
				<-release
				return n, time.Time{}, nil
			}
			return 1, time.Time{}, nil
		},
		After: newTimers().After,
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Refresh(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Refresh = %v", err)
	}
	// The fetch goes on and is applied.
	close(release)
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Current() < 2 {
		t.Fatalf("value %d", s.Current())
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	h := newHarness(result{v: "v1"}, result{v: "v2"})
	inner := h.cfg.Fetch
	var n atomic.Int32
	h.cfg.Fetch = func(ctx context.Context) (string, time.Time, error) {
		if n.Add(1) == 2 {
			panic("nil map")
		}
		return inner(ctx)
	}
	h.cfg.Accept = func(old, new string) error {
		if new == "v2" {
			panic("bad accept")
		}
		return nil
	}
	s := h.start(t)
	if err := s.Refresh(context.Background()); err == nil || s.Current() != "v1" {
		t.Fatalf("Refresh = %v, value %q", err, s.Current())
	}
	if err := s.Refresh(context.Background()); !errors.Is(err, ErrHeldBack) || s.Current() != "v1" {
		t.Fatalf("Refresh = %v, value %q", err, s.Current())
	}
}

// Current is read while refreshes replace the value; run with -race.
func TestConcurrentReaders(t *testing.T) {
	var n atomic.Int64
	cfg := Config[[]int64]{
		Fetch: func(ctx context.Context) ([]int64, time.Time, error) {
			v := n.Add(1)
			return []int64{v, v}, time.Time{}, nil
		},
		After: newTimers().After,
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v := s.Current(); v[0] != v[1] {
					t.Errorf("torn value %v", v)
					return
				}
				_ = s.Status()
			}
		}()
	}
	for range 50 {
		if err := s.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestRetryBackoff(t *testing.T) {
	c := Config[int]{RetryInterval: 30 * time.Second, MaxInterval: 5 * time.Minute}.withDefaults()
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := c.retry(i + 1); got != w {
			t.Errorf("retry(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := c.retry(1000); got != 5*time.Minute {
		t.Errorf("retry(1000) = %s", got)
	}
	// A RetryInterval above MaxInterval is capped from the first retry.
	c.RetryInterval = time.Hour
	if got := c.retry(1); got != 5*time.Minute {
		t.Errorf("retry(1) = %s with RetryInterval above MaxInterval", got)
	}
	// MaxRetryInterval equal to RetryInterval retries at a fixed interval.
	c = Config[int]{RetryInterval: time.Minute, MaxRetryInterval: time.Minute}.withDefaults()
	for _, n := range []int{1, 2, 10} {
		if got := c.retry(n); got != time.Minute {
			t.Errorf("retry(%d) = %s with MaxRetryInterval = RetryInterval", n, got)
		}
	}
}
