package refresh

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/internal/defaults"
)

// Defaults used for the zero values of [Config] fields.
const (
	// DefaultInterval is how long a value is kept when Fetch proposes no
	// refresh time.
	DefaultInterval = time.Hour
	// DefaultMinInterval is the shortest time between scheduled refreshes.
	DefaultMinInterval = time.Minute
	// DefaultMaxInterval is the longest time between scheduled refreshes,
	// and the longest wait between retries.
	DefaultMaxInterval = 24 * time.Hour
	// DefaultRetryInterval is the wait after the first failed refresh.
	DefaultRetryInterval = 30 * time.Second
	// DefaultFetchTimeout bounds one call of Fetch.
	DefaultFetchTimeout = 30 * time.Second
)

// Config configures a [Source]. Only Fetch is required; zero durations
// mean the Default constants.
type Config[T any] struct {
	// Fetch retrieves a new value. It returns the value, when it should be
	// refreshed (a zero time means after Interval) and an error. The
	// context carries the per-fetch timeout and is cancelled by Close; no
	// caller's cancellation reaches it, except New's for the first call.
	// The first call is made by New, or by the first Get of a Source from
	// NewLazy; calls never overlap. Required.
	Fetch func(ctx context.Context) (value T, refreshAt time.Time, err error)

	// Accept, when set, decides whether a refreshed value replaces the
	// current one. It returns nil to apply new, or an error that explains
	// why new is held back; the current value is then kept, the refresh
	// counts as failed, and the error is reported as an EventHeldBack. It
	// is not called for the first value, which Fetch alone vouches for.
	Accept func(old, new T) error

	// Interval is how long a value is kept when Fetch returns a zero
	// refreshAt. Zero means DefaultInterval. It is clamped to
	// [MinInterval, MaxInterval] like any refresh time.
	Interval time.Duration

	// MinInterval and MaxInterval bound the time between a successful
	// fetch and the next scheduled one, whatever Fetch proposes. MinInterval
	// protects the server from a value that asks to be refetched
	// constantly; MaxInterval makes changes visible even when a value
	// claims to be valid for a year. Zero means DefaultMinInterval and
	// DefaultMaxInterval.
	MinInterval, MaxInterval time.Duration

	// RetryInterval is the wait after a failed or held-back refresh; it
	// doubles with each consecutive failure up to MaxRetryInterval. Zero
	// means DefaultRetryInterval.
	RetryInterval time.Duration

	// MaxRetryInterval caps the retry backoff; setting it to RetryInterval
	// retries at a fixed interval. Zero means MaxInterval.
	MaxRetryInterval time.Duration

	// FetchTimeout bounds each call of Fetch, including the first. Zero
	// means DefaultFetchTimeout.
	FetchTimeout time.Duration

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	// After returns a channel that receives after d has passed, like
	// time.After, which nil means. Tests inject it, together with Now, to
	// drive the schedule without waiting.
	After func(d time.Duration) <-chan time.Time

	// OnEvent, when set, receives every refresh outcome (see [Event]). It
	// is called from the goroutine that refreshed, before Refresh or Get
	// returns, so it must not block for long.
	OnEvent func(Event)
}

// Validate reports a missing Fetch, a negative duration or a MinInterval
// above MaxInterval as an *sso.Error with reason [sso.ReasonInvalidConfig].
func (c Config[T]) Validate() error {
	bad := func(detail string) error {
		return &sso.Error{Op: "refresh.Config", Reason: sso.ReasonInvalidConfig, Detail: detail}
	}
	if c.Fetch == nil {
		return bad("Fetch is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"Interval", c.Interval}, {"MinInterval", c.MinInterval}, {"MaxInterval", c.MaxInterval},
		{"RetryInterval", c.RetryInterval}, {"MaxRetryInterval", c.MaxRetryInterval}, {"FetchTimeout", c.FetchTimeout},
	} {
		if d.v < 0 {
			return bad(fmt.Sprintf("%s is %s; use a positive duration, or 0 for the default", d.name, d.v))
		}
	}
	if d := c.withDefaults(); d.MinInterval > d.MaxInterval {
		return bad(fmt.Sprintf("MinInterval %s is above MaxInterval %s", d.MinInterval, d.MaxInterval))
	}
	return nil
}

func (c Config[T]) withDefaults() Config[T] {
	defaults.Set(&c.Interval, DefaultInterval)
	defaults.Set(&c.MinInterval, DefaultMinInterval)
	defaults.Set(&c.MaxInterval, DefaultMaxInterval)
	defaults.Set(&c.RetryInterval, DefaultRetryInterval)
	defaults.Set(&c.MaxRetryInterval, c.MaxInterval)
	defaults.Set(&c.FetchTimeout, DefaultFetchTimeout)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
	}
	return c
}

// interval returns the wait before the refresh Fetch proposed at refreshAt,
// clamped to [MinInterval, MaxInterval].
func (c *Config[T]) interval(now, refreshAt time.Time) time.Duration {
	d := c.Interval
	if !refreshAt.IsZero() {
		d = refreshAt.Sub(now)
	}
	return min(max(d, c.MinInterval), c.MaxInterval)
}

// retry returns the wait after the given number of consecutive failures
// (at least 1): RetryInterval doubled per further failure, up to
// MaxRetryInterval.
func (c *Config[T]) retry(failures int) time.Duration {
	d := c.RetryInterval
	for i := 1; i < failures; i++ {
		if d > c.MaxRetryInterval/2 {
			return c.MaxRetryInterval
		}
		d *= 2
	}
	return min(d, c.MaxRetryInterval)
}
