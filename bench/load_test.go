package bench

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/sso"
)

// TestLoadFaults drives concurrent logins through the handler while the
// providers and the directory misbehave (see RunLoad) and checks the
// invariants: nothing accepted that should not be, every refusal typed,
// every healthy login accepted, recovery, no goroutine left behind, and a
// bounded heap.
func TestLoadFaults(t *testing.T) {
	cfg := LoadConfig{Clients: 16, PerPhase: 300, Timeout: 2 * time.Second}
	if testing.Short() {
		cfg = LoadConfig{Clients: 8, PerPhase: 45, Timeout: time.Second}
	}
	if testing.Verbose() {
		cfg.Log = os.Stderr
	}
	rep, err := RunLoad(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range rep.Phases {
		if ph.Wrong != 0 {
			t.Errorf("%s: %d logins accepted that should have been refused", ph.Name, ph.Wrong)
		}
		if ph.Untyped != 0 {
			t.Errorf("%s: %d logins refused without a typed reason", ph.Name, ph.Untyped)
		}
		if ph.ClientErrors != 0 {
			t.Errorf("%s: %d logins failed in the browser", ph.Name, ph.ClientErrors)
		}
		for r, n := range ph.Reasons {
			if strings.HasSuffix(r, ": "+string(sso.ReasonInternal)) {
				t.Errorf("%s: %d internal errors", ph.Name, n)
			}
		}
		healthy := ph.Name == "healthy" || strings.HasPrefix(ph.Name, "recovered") || strings.Contains(ph.Name, "keys cached") || strings.Contains(ph.Name, "metadata URL fails")
		if healthy && ph.OK != ph.Attempts-ph.Tampered {
			t.Errorf("%s: %d of %d logins ok; want all but the %d tampered: reasons %v", ph.Name, ph.OK, ph.Attempts, ph.Tampered, ph.Reasons)
		}
	}
	if rep.GoroutinesAfter > rep.GoroutinesBefore+2 {
		t.Errorf("goroutines: %d before the run, %d after it", rep.GoroutinesBefore, rep.GoroutinesAfter)
	}
	if rep.PeakHeapBytes > 1<<30 {
		t.Errorf("peak heap %d MB", rep.PeakHeapBytes>>20)
	}
	t.Logf("goroutines %d before, %d idle at start, %d idle at end, %d after, peak %d; heap peak %d MB",
		rep.GoroutinesBefore, rep.GoroutinesIdleStart, rep.GoroutinesIdleEnd, rep.GoroutinesAfter, rep.PeakGoroutines, rep.PeakHeapBytes>>20)
}
