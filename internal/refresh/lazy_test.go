package refresh

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

func (h *harness) lazy(t *testing.T) *Source[string] {
	t.Helper()
	s, err := NewLazy(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor waits until s has n callers waiting for its running fetch.
func waitFor[T any](t *testing.T, s *Source[T], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", s.waiting(), n)
		}
		runtime.Gosched()
	}
}

func TestNewLazyValidates(t *testing.T) {
	if _, err := NewLazy(Config[int]{}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("NewLazy without Fetch = %v", err)
	}
	if _, err := NewLazy(Config[int]{Fetch: func(context.Context) (int, time.Time, error) { return 0, time.Time{}, nil }, MaxRetryInterval: -1}); !errors.Is(err, sso.ReasonInvalidConfig) {
		t.Fatalf("NewLazy with a negative MaxRetryInterval = %v", err)
	}
}

func TestLazyFetchesOnFirstGetOnly(t *testing.T) {
	h := newHarness(result{v: "v1"})
	h.cfg.Accept = func(old, new string) error {
		t.Errorf("Accept(%q, %q) called for the first value", old, new)
		return nil
	}
	s := h.lazy(t)
	if n := h.fetch.count(); n != 0 || s.Current() != "" || !s.Status().Attempted.IsZero() {
		t.Fatalf("NewLazy: %d fetches, value %q, status %+v", n, s.Current(), s.Status())
	}
	ctx := context.Background()
	for i := range 3 {
		v, err := s.Get(ctx)
		if err != nil || v != "v1" {
			t.Fatalf("Get %d = %q, %v", i, v, err)
		}
		h.clock.add(19 * time.Minute) // still within Interval
	}
	if n := h.fetch.count(); n != 1 {
		t.Fatalf("%d fetches for three Gets within Interval, want 1", n)
	}
	h.timers.none(t) // no background schedule
	if st := s.Status(); !st.Updated.Equal(t0) || !st.Attempted.Equal(t0) || !st.Next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Status = %+v", st)
	}
	// The first fetch is reported: no caller may be left to see it.
	if evs := h.events.list(); len(evs) != 1 || evs[0].Kind != EventRefreshed {
		t.Fatalf("events = %+v", evs)
	}
}

func TestLazyFirstGetsShareOneFetch(t *testing.T) {
	const n = 16
	release := make(chan struct{})
	var calls atomic.Int32
	s, err := NewLazy(Config[int32]{Fetch: func(ctx context.Context) (int32, time.Time, error) {
		<-release
		return calls.Add(1), time.Time{}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	got := make([]int32, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.Get(context.Background())
		}()
	}
	waitFor(t, s, n)
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != 1 {
			t.Fatalf("Get %d = %d, %v", i, got[i], errs[i])
		}
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("%d fetches for %d concurrent first Gets, want 1", c, n)
	}
}

func TestLazyFirstFetchFailureIsRetriedOnNextGet(t *testing.T) {
	boom := errors.New("connection refused")
	h := newHarness(result{err: boom}, result{v: "v1"})
	s := h.lazy(t)
	ctx := context.Background()
	if v, err := s.Get(ctx); !errors.Is(err, boom) || v != "" {
		t.Fatalf("Get = %q, %v; want the fetch error", v, err)
	}
	if evs := h.events.list(); len(evs) != 1 || evs[0].Kind != EventFailed || !errors.Is(evs[0].Err, boom) || evs[0].Failures != 1 {
		t.Fatalf("events = %+v", evs)
	}
	// No value to fall back on: the next Get tries again at once.
	if v, err := s.Get(ctx); err != nil || v != "v1" {
		t.Fatalf("second Get = %q, %v", v, err)
	}
	if st := s.Status(); st.Failures != 0 || st.Err != nil {
		t.Fatalf("Status = %+v", st)
	}
}

// The caller's context bounds its wait, but neither cancels the shared
// fetch nor lends it its values.
func TestLazyGetContext(t *testing.T) {
	type ctxKey struct{}
	started := make(chan context.Context, 1)
	release := make(chan struct{})
	s, err := NewLazy(Config[string]{
		Fetch: func(ctx context.Context) (string, time.Time, error) {
			started <- ctx
			<-release
			if err := ctx.Err(); err != nil {
				return "", time.Time{}, err
			}
			return "v1", time.Time{}, nil
		},
		FetchTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "caller"))
	errc := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx)
		errc <- err
	}()
	fctx := <-started
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Get = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get did not return when its context ended")
	}
	if fctx.Err() != nil || fctx.Value(ctxKey{}) != nil {
		t.Fatalf("the fetch runs under the caller's context (err %v)", fctx.Err())
	}
	if dl, ok := fctx.Deadline(); !ok || time.Until(dl) > time.Minute {
		t.Fatalf("fetch deadline %v, %v; want FetchTimeout", dl, ok)
	}
	close(release)
	// The fetch goes on and is applied; this Get joins it or finds its
	// value.
	if v, err := s.Get(context.Background()); err != nil || v != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	select {
	case <-started:
		t.Fatal("a second fetch")
	default:
	}
}

func TestLazyDueRefreshKeepsLastGood(t *testing.T) {
	boom := errors.New("503")
	h := newHarness(result{v: "v1"}, result{err: boom}, result{v: "v2"})
	h.cfg.RetryInterval, h.cfg.MaxRetryInterval = time.Minute, time.Minute
	s := h.lazy(t)
	ctx := context.Background()
	if _, err := s.Get(ctx); err != nil {
		t.Fatal(err)
	}
	h.clock.add(time.Hour) // due
	if v, err := s.Get(ctx); err != nil || v != "v1" {
		t.Fatalf("Get with a failing refresh = %q, %v; want the last good value", v, err)
	}
	if evs := h.events.list(); len(evs) != 2 || evs[1].Kind != EventFailed || !evs[1].Next.Equal(t0.Add(time.Hour+time.Minute)) {
		t.Fatalf("events = %+v", evs)
	}
	// Retried after RetryInterval, not on every Get.
	if v, _ := s.Get(ctx); v != "v1" || h.fetch.count() != 2 {
		t.Fatalf("Get = %q after %d fetches", v, h.fetch.count())
	}
	h.clock.add(time.Minute)
	if v, err := s.Get(ctx); err != nil || v != "v2" || h.fetch.count() != 3 {
		t.Fatalf("Get after the retry interval = %q, %v after %d fetches", v, err, h.fetch.count())
	}
	h.timers.none(t)
}

// A due value is refreshed by one Get; the others use the current value
// meanwhile instead of waiting.
func TestLazyDueRefreshWaitsOnlyForItsStarter(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	clk := newClock()
	s, err := NewLazy(Config[int32]{
		Fetch: func(ctx context.Context) (int32, time.Time, error) {
			if n := calls.Add(1); n > 1 {
				<-release
				return n, time.Time{}, nil
			}
			return 1, time.Time{}, nil
		},
		Interval: time.Hour, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	done := make(chan int32, 1)
	go func() {
		v, _ := s.Get(context.Background())
		done <- v
	}()
	waitFor(t, s, 1)
	if v, err := s.Get(context.Background()); err != nil || v != 1 {
		t.Fatalf("Get during the refresh = %d, %v; want the current value at once", v, err)
	}
	close(release)
	if v := <-done; v != 2 {
		t.Fatalf("the Get that started the refresh got %d", v)
	}
}

func TestRefreshLimited(t *testing.T) {
	boom := errors.New("503")
	h := newHarness(result{v: "v1"}, result{v: "v2"}, result{err: boom}, result{v: "v3"})
	s := h.lazy(t)
	ctx := context.Background()
	if _, err := s.Get(ctx); err != nil {
		t.Fatal(err)
	}
	// Counted from the start of the last fetch, the first one included.
	steps := []struct {
		advance time.Duration
		want    error
		value   string
	}{
		{0, ErrRateLimited, "v1"},
		{time.Minute, nil, "v2"},
		{30 * time.Second, ErrRateLimited, "v2"},
		{30 * time.Second, boom, "v2"},
		{59 * time.Second, ErrRateLimited, "v2"}, // a failed fetch counts too
		{time.Second, nil, "v3"},
	}
	for i, st := range steps {
		h.clock.add(st.advance)
		err := s.RefreshLimited(ctx, time.Minute)
		if !errors.Is(err, st.want) || s.Current() != st.value {
			t.Fatalf("step %d: RefreshLimited = %v, value %q; want %v, %q", i, err, s.Current(), st.want, st.value)
		}
	}
	if n := h.fetch.count(); n != 4 {
		t.Fatalf("%d fetches", n)
	}
	if next := s.Status().Attempted.Add(time.Minute); !next.Equal(h.clock.Now().Add(time.Minute)) {
		t.Fatalf("next allowed at %s", next)
	}
}

// RefreshLimited joins a running fetch whatever the limit.
func TestRefreshLimitedJoinsRunningFetch(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	s, err := NewLazy(Config[int32]{Fetch: func(ctx context.Context) (int32, time.Time, error) {
		if n := calls.Add(1); n > 1 {
			<-release
			return n, time.Time{}, nil
		}
		return 1, time.Time{}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Get(ctx); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- s.Refresh(ctx) }()
	waitFor(t, s, 1)
	go func() { errs <- s.RefreshLimited(ctx, time.Hour) }()
	waitFor(t, s, 2)
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 2 || s.Current() != 2 {
		t.Fatalf("%d fetches, value %d", calls.Load(), s.Current())
	}
	if err := s.RefreshLimited(ctx, time.Hour); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("RefreshLimited after the joined fetch = %v", err)
	}
}

func TestLazyClose(t *testing.T) {
	h := newHarness(result{v: "v1"})
	s := h.lazy(t)
	s.Close()
	if _, err := s.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close without a value = %v", err)
	}
	if err := s.RefreshLimited(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("RefreshLimited after Close = %v", err)
	}

	h = newHarness(result{v: "v1"}, result{v: "v2"})
	s = h.lazy(t)
	if _, err := s.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	h.clock.add(2 * time.Hour) // due, but closed
	if v, err := s.Get(context.Background()); err != nil || v != "v1" || h.fetch.count() != 1 {
		t.Fatalf("Get after Close = %q, %v after %d fetches", v, err, h.fetch.count())
	}
}
