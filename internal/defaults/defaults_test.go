package defaults_test

import (
	"testing"
	"time"

	"github.com/ssokit/sso/internal/defaults"
)

func TestSet(t *testing.T) {
	var d time.Duration
	defaults.Set(&d, time.Minute)
	if d != time.Minute {
		t.Fatalf("zero duration not defaulted: %v", d)
	}
	d = time.Second
	defaults.Set(&d, time.Minute)
	if d != time.Second {
		t.Fatalf("set duration overwritten: %v", d)
	}
	d = -time.Second // negative values are the caller's to refuse, never replaced
	defaults.Set(&d, time.Minute)
	if d != -time.Second {
		t.Fatalf("negative duration overwritten: %v", d)
	}
	s := ""
	defaults.Set(&s, "x")
	if s != "x" {
		t.Fatalf("empty string not defaulted: %q", s)
	}
}
