package bench

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssokit/sso"
	"github.com/ssokit/sso/oidc/oidctest"
	"github.com/ssokit/sso/saml/samltest"
)

// LoadConfig configures RunLoad.
type LoadConfig struct {
	// Clients is the number of concurrent browsers; 16 when zero.
	Clients int
	// PerPhase is the number of logins of each phase (a third each SAML,
	// OpenID Connect and LDAP); 300 when zero.
	PerPhase int
	// Timeout bounds the application's requests to the providers and the
	// directory; 2s when zero. Slow providers are made slower than it.
	Timeout time.Duration
	// Log, when set, receives a line per phase.
	Log io.Writer
}

// PhaseReport is what happened to the logins of one phase.
type PhaseReport struct {
	// Name says what misbehaved.
	Name string
	// Attempts is the number of logins; Tampered how many of them posted
	// a SAML response whose signed NameID the client changed.
	Attempts, Tampered int
	// OK logins started a session for the right person. Wrong ones
	// started a session that should not have been (must be 0).
	OK, Wrong int
	// Refused logins got an error page with at least one audit event,
	// each with an sso.Reason; Untyped ones were refused without one
	// (must be 0). ClientErrors are logins the browser could not carry
	// to the application (the identity provider's own pages failed).
	Refused, Untyped, ClientErrors int
	// Reasons counts the Reasons of the refused logins' events, by
	// protocol ("ldap: unavailable"); Background those of events no login
	// caused (metadata refreshes).
	Reasons    map[string]int
	Background map[sso.Reason]int
	// Wall is the phase's duration; P50 and P99 the logins' latency.
	Wall, P50, P99 time.Duration
}

// LoadReport is the result of RunLoad.
type LoadReport struct {
	Clients  int
	Timeout  time.Duration
	Phases   []PhaseReport
	Duration time.Duration
	// GoroutinesBefore is counted before the world started;
	// GoroutinesIdle after the warm-up and after the last phase (idle,
	// keep-alive connections open); GoroutinesAfter once the world is
	// closed. PeakGoroutines is the most seen during the run.
	GoroutinesBefore, GoroutinesAfter       int
	GoroutinesIdleStart, GoroutinesIdleEnd  int
	PeakGoroutines                          int
	PeakHeapBytes, HeapBeforeBytes, HeapEnd uint64
}

// phase is a fault applied for one phase: set before the logins, undone
// after; during, when set, runs in the background until stop is closed.
type phase struct {
	name   string
	set    func(w *World) error
	during func(w *World, stop <-chan struct{})
	unset  func(w *World) error
}

// hostileSAML are the IdP misbehaviours a SAML connection must refuse.
var hostileSAML = []samltest.Misbehavior{
	{WrongKey: true}, {Unsigned: true}, {Expired: true}, {NotYetValid: true}, {WrongAudience: true},
	{WrongRecipient: true}, {WrongDestination: true}, {WrongIssuer: true}, {Replay: true},
	{SignatureWrapping: samltest.XSWForgedFirst}, {SignatureWrapping: samltest.XSWSignedInsideForged},
	{SignatureWrapping: samltest.XSWSignedInExtensions}, {SignatureWrapping: samltest.XSWSignedInSignatureObject},
	{TwoAssertions: true}, {SHA1: true}, {Doctype: true}, {EmptyNameID: true},
}

func every(d time.Duration, stop <-chan struct{}, f func(i int)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-t.C:
			f(i)
		}
	}
}

func loadPhases(timeout time.Duration) []phase {
	nothing := func(*World) error { return nil }
	oidcOK := func(w *World) error { w.OIDC.Misbehave(oidctest.Misbehavior{}); return nil }
	oidcMis := func(m oidctest.Misbehavior) func(*World) error {
		return func(w *World) error { w.OIDC.Misbehave(m); return nil }
	}
	return []phase{
		{name: "healthy", set: nothing, unset: nothing},
		{name: "OpenID provider: token endpoint slower than the timeout", set: oidcMis(oidctest.Misbehavior{Delay: 2 * timeout, Endpoint: "/token"}), unset: oidcOK},
		{name: "OpenID provider: token endpoint answers server_error", set: oidcMis(oidctest.Misbehavior{TokenError: "server_error"}), unset: oidcOK},
		{name: "OpenID provider: token endpoint down (503)", set: oidcMis(oidctest.Misbehavior{Down: true, Endpoint: "/token"}), unset: oidcOK},
		{name: "OpenID provider: JWKS and discovery down (503), keys cached", set: func(w *World) error {
			w.OIDC.Misbehave(oidctest.Misbehavior{Down: true, Endpoint: "/jwks"})
			return nil
		}, unset: oidcOK},
		{name: "SAML IdP: metadata URL fails (500, garbage, slow, refused) while refreshed", set: nothing,
			during: func(w *World, stop <-chan struct{}) {
				faults := []Fault{FaultError, FaultGarbage, FaultSlow, FaultDown}
				every(50*time.Millisecond, stop, func(i int) { _ = w.Metadata.Set(faults[i%len(faults)]) })
			},
			unset: func(w *World) error { return w.Metadata.Set(FaultNone) }},
		{name: "SAML IdP: hostile responses (wrong key, unsigned, expired, XSW, replay...)",
			set: func(w *World) error { w.SAML.Misbehave(hostileSAML[0]); return nil },
			during: func(w *World, stop <-chan struct{}) {
				every(5*time.Millisecond, stop, func(i int) { w.SAML.Misbehave(hostileSAML[(i+1)%len(hostileSAML)]) })
			},
			unset: func(w *World) error { w.SAML.Misbehave(samltest.Misbehavior{}); return nil }},
		{name: "directory: drops every connection every 100 ms", set: nothing,
			during: func(w *World, stop <-chan struct{}) {
				every(100*time.Millisecond, stop, func(int) { w.Dir.DropConnections() })
			}, unset: nothing},
		{name: "directory: answers slower than the timeout", set: func(w *World) error { w.Dir.SetDelay(2 * timeout); return nil },
			unset: func(w *World) error { w.Dir.SetDelay(0); return nil }},
		{name: "directory: down (connections refused)", set: func(w *World) error { return w.Dir.SetDown(true) },
			unset: func(w *World) error { return w.Dir.SetDown(false) }},
		{name: "recovered: every dependency back", set: nothing, unset: nothing},
	}
}

// hostilePhase reports whether every SAML login of the phase must be
// refused.
func hostilePhase(name string) bool { return len(name) > 15 && name[:15] == "SAML IdP: hosti" }

// RunLoad starts a World and drives cfg.Clients concurrent browsers
// through phases in which the identity providers are slow, answer errors
// or go down, the SAML metadata URL fails, the IdP sends hostile
// responses and the directory drops connections, then recovers. It
// counts goroutines before and after, samples the heap, and classifies
// every login. It returns an error only when the world cannot start.
func RunLoad(cfg LoadConfig) (*LoadReport, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 16
	}
	if cfg.PerPhase <= 0 {
		cfg.PerPhase = 300
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	rep := &LoadReport{Clients: cfg.Clients, Timeout: cfg.Timeout}
	began := time.Now()
	runtime.GC()
	rep.GoroutinesBefore = runtime.NumGoroutine()
	rep.HeapBeforeBytes = heapBytes()

	stopSampler := make(chan struct{})
	var peakHeap atomic.Uint64
	var peakG atomic.Int64
	var samplerDone sync.WaitGroup
	samplerDone.Add(1)
	go func() {
		defer samplerDone.Done()
		every(5*time.Millisecond, stopSampler, func(int) {
			if h := heapBytes(); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
				peakG.Store(g)
			}
		})
	}()

	w, err := NewWorld(WorldConfig{Users: cfg.Clients, Timeout: cfg.Timeout, MetadataMaxAge: 100 * time.Millisecond})
	if err != nil {
		close(stopSampler)
		return nil, err
	}
	clients := make([]*Client, cfg.Clients)
	for i := range clients {
		clients[i] = w.NewClient()
	}
	// Warm-up: one login per protocol, then one per client and protocol
	// at once (connections to the providers and the directory's pools
	// open here, not in the first phase).
	for _, proto := range []sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP} {
		if a := loginAs(clients[0], proto, 0, false); !a.OK {
			w.Close()
			close(stopSampler)
			return nil, fmt.Errorf("warm-up %s login failed: status %d, err %v, reasons %v", proto, a.Status, a.Err, a.Reasons)
		}
	}
	var warm sync.WaitGroup
	for i, c := range clients {
		warm.Add(1)
		go func(i int, c *Client) {
			defer warm.Done()
			for _, proto := range []sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP} {
				loginAs(c, proto, i%w.Users(), false)
			}
		}(i, c)
	}
	warm.Wait()
	w.Host.Drop()
	time.Sleep(100 * time.Millisecond)
	rep.GoroutinesIdleStart = runtime.NumGoroutine()

	for _, ph := range loadPhases(cfg.Timeout) {
		pr := runPhase(w, clients, ph, cfg.PerPhase)
		rep.Phases = append(rep.Phases, pr)
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "%-70s %4d logins: %4d ok, %4d refused, %d wrong, %d untyped, %d client errors, p99 %v\n",
				pr.Name, pr.Attempts, pr.OK, pr.Refused, pr.Wrong, pr.Untyped, pr.ClientErrors, pr.P99.Round(time.Millisecond))
			fmt.Fprintf(cfg.Log, "    reasons %v background %v\n", pr.Reasons, pr.Background)
		}
	}
	w.Host.Drop()
	// Let the slow providers' sleeping handlers finish.
	time.Sleep(2*cfg.Timeout + 100*time.Millisecond)
	rep.GoroutinesIdleEnd = runtime.NumGoroutine()
	w.Close()
	clients, w = nil, nil
	rep.GoroutinesAfter = settledGoroutines(rep.GoroutinesBefore, 5*time.Second)
	close(stopSampler)
	samplerDone.Wait()
	runtime.GC()
	rep.HeapEnd = heapBytes()
	rep.PeakHeapBytes, rep.PeakGoroutines = peakHeap.Load(), int(peakG.Load())
	rep.Duration = time.Since(began)
	return rep, nil
}

// settledGoroutines waits up to d for the goroutine count to fall to
// target (connections closing take a moment) and returns it.
func settledGoroutines(target int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine() - 1 // the heap sampler, still running
		if n <= target || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func runPhase(w *World, clients []*Client, ph phase, n int) PhaseReport {
	pr := PhaseReport{Name: ph.name, Reasons: map[string]int{}}
	if err := ph.set(w); err != nil {
		pr.ClientErrors = n
		return pr
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	if ph.during != nil {
		bg.Add(1)
		go func() { defer bg.Done(); ph.during(w, stop) }()
	}
	w.BackgroundReasons() // reset
	start := time.Now()
	attempts := make([]*Attempt, n)
	walls := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for ci, c := range clients {
		wg.Add(1)
		go func(ci int, c *Client) {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= n {
					return
				}
				proto := []sso.Protocol{sso.ProtocolSAML, sso.ProtocolOIDC, sso.ProtocolLDAP}[k%3]
				t := time.Now()
				attempts[k] = loginAs(c, proto, ci%w.Users(), proto == sso.ProtocolSAML && k%30 == 0)
				walls[k] = time.Since(t)
			}
		}(ci, c)
	}
	wg.Wait()
	pr.Wall = time.Since(start)
	close(stop)
	bg.Wait()
	_ = ph.unset(w)
	pr.Background = w.BackgroundReasons()
	for _, a := range attempts {
		pr.Attempts++
		if a.Tampered {
			pr.Tampered++
		}
		switch {
		case a.Wrong:
			pr.Wrong++
		case a.OK:
			pr.OK++
			if a.Tampered || (hostilePhase(ph.name) && a.Protocol == sso.ProtocolSAML) {
				pr.Wrong++
			}
		case len(a.Reasons) > 0:
			pr.Refused++
			for _, r := range a.Reasons {
				pr.Reasons[string(a.Protocol)+": "+string(r)]++
			}
		case a.Err != nil:
			pr.ClientErrors++
		default:
			pr.Untyped++
		}
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	pr.P50, pr.P99 = walls[len(walls)/2], walls[len(walls)*99/100]
	w.Host.Drop()
	return pr
}
